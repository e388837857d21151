"""The routing table: which stream function each consumed topic's messages go to, for faust and the memory bus."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from streams import topics
from streams.access_package import expire_downloads
from streams.cases import CaseTable, due_ticks, on_case_event
from streams.context import Context, TaskRunner
from streams.documents import expire_documents
from streams.intake import on_intake_message
from streams.notifications import RetryTable, SentTable, on_mailer_command
from streams.task_results import on_task_result
from streams.tasks import on_task
from streams.web.intake_api import ANSWERS_KEPT

Headers = Iterable[tuple[str, bytes]]
Handler = Callable[[bytes, Headers, int], Awaitable[None]]  # value, headers, partition


@dataclass(frozen=True)
class Route:
    topic: str
    agent: str  # the faust agent's name; routes of one agent are consumed by one stream, one event at a time
    handler: Handler  # the message's value, headers and partition; dead-lettering is the caller's (process_safely)


def routes(ctx: Context, cases: CaseTable, sent: SentTable, retries: RetryTable) -> list[Route]:
    """Every topic this worker consumes: the four of the pipeline, and the task topic of each system it serves."""
    fixed = [
        # The Kafka binding's binary mode carries the CloudEvent's attributes in ce_ headers.
        Route(topics.INTAKE, "intake", lambda raw, headers, _: on_intake_message(ctx, raw, headers)),
        # The case table's two writers share one agent: an answer and a case event never interleave on a case.
        Route(topics.CASES, "coordinator", lambda raw, _, __: on_case_event(ctx, cases, raw)),
        Route(topics.TASK_RESULTS, "coordinator", lambda raw, _, part: on_task_result(ctx, cases, raw, part)),
        # A retry the clock sends back says in a header whose turn it is.
        Route(topics.NOTIFICATIONS, "mailer", lambda raw, mail, _: on_mailer_command(ctx, sent, retries, raw, mail)),
    ]
    return fixed + [_task_route(ctx, system, runner) for system, runner in ctx.task_runners.items()]


def _task_route(ctx: Context, system: str, runner: TaskRunner) -> Route:
    return Route(topics.tasks(system), f"tasks-{system}", lambda raw, _, __: on_task(ctx, runner, raw))


async def on_clock(ctx: Context, cases: CaseTable) -> None:
    """The timer: a tick to each case with something due, then expired downloads, documents and intake answers."""
    for tick in due_ticks(cases, ctx.clock(), ctx):
        await ctx.publisher.publish(topics.CASES, tick.request_id, tick.to_bytes())
    await expire_downloads(ctx)
    await expire_documents(ctx)
    ctx.doors.forget_expired(ctx.clock(), ANSWERS_KEPT)
