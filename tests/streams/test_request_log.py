"""JSON log lines logged during a case's step carry its request id (a uuid): a processing failure, a dead letter,
whatever an adapter logs meanwhile; lines of another message, or of none, do not inherit it."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from dsr.logs import _RESERVED, PipelineJsonFormatter
from schemas.sealed import Sealed
from schemas.tasks import Task
from streams import topics
from tests.streams.bus import Bus
from tests.streams.test_flow import CAMILLE, example, raw

pytestmark = pytest.mark.streams


@contextmanager
def json_lines() -> Iterator[list[dict]]:
    """What the worker writes under DSR_LOG_FORMAT=json, for the pipeline's and the adapters' loggers."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(PipelineJsonFormatter(reserved_attrs=_RESERVED))
    # Not a step of a message: the pruning timers of reference systems other tests opened (handlers.reference.postgres)
    handler.addFilter(lambda record: not record.threadName.startswith("prune-"))
    loggers = [logging.getLogger(name) for name in ("streams", "handlers", "tests")]
    for logger in loggers:
        logger.addHandler(handler)
    lines: list[dict] = []
    try:
        yield lines
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


def request_ids(bus: Bus) -> list[str]:
    return list(bus.cases)


async def test_a_failing_step_logs_its_case_request_id_and_the_next_message_does_not_inherit_it():
    bus = Bus()

    async def crm_down(task: Task):
        logging.getLogger("handlers.crm").warning("crm unreachable for task %s", task.task_id)
        raise ConnectionError("crm unreachable")

    bus.ctx.task_runners["crm"] = crm_down
    with json_lines() as lines:
        await bus.submit(raw(example("dsr.rights.requested")))
        logging.getLogger("tests").warning("between two messages")
    [request_id] = request_ids(bus)
    failed = [line for line in lines if line["event"].startswith("processing dsr.tasks.crm")]
    dead = [line for line in lines if line["event"].startswith("dead-lettered dsr.tasks.crm")]
    adapter = [line for line in lines if line["logger"] == "handlers.crm"]
    assert failed and dead and adapter
    assert all(line["request_id"] == request_id for line in [*failed, *dead, *adapter])
    assert "request_id" not in next(line for line in lines if line["event"] == "between two messages")
    assert CAMILLE not in json.dumps(lines)


async def test_a_message_that_cannot_be_read_is_logged_with_the_request_id_its_key_names():
    bus = Bus()
    request_id = str(uuid.uuid4())
    with json_lines() as lines:
        await bus.publish(topics.CASES, request_id, b"{not json")
        await bus.publish(topics.INTAKE, CAMILLE, b"{not json")  # a website keyed it by an address: not an id
        await bus.drain()
    dead_case, dead_intake = [line for line in lines if line["event"].startswith("dead-lettered")]
    assert dead_case["request_id"] == request_id
    assert "request_id" not in dead_intake and CAMILLE not in json.dumps(lines)


async def test_a_task_read_whole_names_its_case_whatever_its_key():
    bus = Bus()

    async def refuses(task: Task):
        raise RuntimeError("no")

    bus.ctx.task_runners["crm"] = refuses
    request_id = str(uuid.uuid4())
    task = Task(
        task_id=str(uuid.uuid4()),
        subject_request_id=request_id,
        system="crm",
        action="erase",
        subject_ref="ref",
        subject=Sealed(subject_ref="ref", nonce="bm9uY2U", ciphertext="Y2lwaGVy"),
        issued_at="2026-11-26T10:00:00Z",
    )
    with json_lines() as lines:
        await bus.publish(topics.tasks("crm"), None, task.to_bytes())
        await bus.drain()
    assert {line.get("request_id") for line in lines} == {request_id}
