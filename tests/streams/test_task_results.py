"""`dsr.task-results`: an answer that arrives on its case's partition is applied to the case at once; one that
arrives elsewhere (a system that keyed it otherwise) goes to its case through `dsr.cases`."""

from pathlib import Path

import pytest

from schemas.cases import TaskAnswered, parse_case_event
from schemas.tasks import TaskResult
from streams import topics
from streams.cases import load
from streams.task_results import on_task_result
from streams.web.center.verify import publish_confirmation, verification
from tests.streams.bus import Bus
from tests.streams.test_flow import CAMILLE, body, link

pytestmark = pytest.mark.streams

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"


async def first_task_result(bus: Bus) -> bytes:
    """Camille asks for erasure and confirms; the messages flow until a system's first answer, held back."""
    for name in ("dsr.form.quote_requested", "dsr.rights.requested"):
        await bus.submit((EXAMPLES / f"{name}.json").read_bytes())
    await bus.drain()
    token = link(next(m for m in bus.emails_to(CAMILLE) if "verify/" in body(m)), "verify")
    await verification(bus.ctx, bus.directory, token, confirm=True)
    await publish_confirmation(bus.ctx, token)
    while bus.queue and bus.queue[0][0] != topics.TASK_RESULTS:
        await bus.drain(limit=1)
    assert bus.queue, "no task result came"
    return bus.queue.popleft()[2]


def answered(bus: Bus, result: TaskResult) -> bool:
    return load(bus.cases, result.subject_request_id).tasks[result.task_id].status is not None


def forwarded(bus: Bus, since: int) -> list:
    return [parse_case_event(value) for topic, _, value, _ in bus.log[since:] if topic == topics.CASES]


async def test_an_answer_on_its_cases_partition_is_applied_without_a_second_hop():
    bus = Bus()
    raw = await first_task_result(bus)
    result = TaskResult.model_validate_json(raw)
    own = topics.partition_of(result.subject_request_id, bus.ctx.config.partitions)
    since = len(bus.log)
    await on_task_result(bus.ctx, bus.cases, raw, own)
    assert answered(bus, result)  # the case moved on at once
    assert forwarded(bus, since) == []  # and nothing went through dsr.cases


async def test_an_answer_on_another_partition_is_forwarded_to_its_case():
    bus = Bus()
    raw = await first_task_result(bus)
    result = TaskResult.model_validate_json(raw)
    partitions = bus.ctx.config.partitions
    assert partitions > 1
    other = (topics.partition_of(result.subject_request_id, partitions) + 1) % partitions
    since = len(bus.log)
    await on_task_result(bus.ctx, bus.cases, raw, other)
    assert not answered(bus, result)  # another worker may own the case: this one does not touch it
    [event] = forwarded(bus, since)
    assert isinstance(event, TaskAnswered) and event.result.task_id == result.task_id
    await bus.drain()  # dsr.cases takes it to the case
    assert answered(bus, result)
