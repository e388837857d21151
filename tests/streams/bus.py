"""An in-memory bus that delivers published messages to the same stream functions the agents call."""

from __future__ import annotations

import functools
from collections import deque
from datetime import UTC, datetime, timedelta

from dsr.register import load_register
from handlers.memory import MemoryAdapter
from handlers.runtime import run_task
from mail.transport import MemoryMailTransport
from schemas.audit import AuditRecord, parse_audit
from streams import topics
from streams.cases import on_case_event
from streams.context import Context, PipelineConfig
from streams.dead_letters import Origin, process_safely
from streams.intake import on_intake_message
from streams.notifications import on_email_requested
from streams.ports import MemoryExportStore, MemoryKeyVault
from streams.register_view import RegisterView
from streams.task_results import on_task_result
from streams.tasks import on_task
from streams.web.case_directory import LocalCases, SingleWorker
from streams.web.console.records import LogRecords

SYSTEMS = ("crm", "recruitment", "newsletter")


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


class Bus:
    """Publisher port + a loop that hands each message to its topic's stream function, like the agents do."""

    def __init__(self, start=datetime(2026, 11, 26, 10, 0, tzinfo=UTC), systems=SYSTEMS) -> None:
        self.queue: deque = deque()
        self.log: list[tuple[str, str | None, bytes, dict]] = []
        self.cases: dict[str, bytes] = {}
        self.sent: dict[str, bytes] = {}
        self.clock = Clock(start)
        self.adapters = {name: MemoryAdapter(name) for name in systems}
        self.mail = MemoryMailTransport()
        config = PipelineConfig(
            secret_key=b"k" * 32,
            public_url="http://dsr.test",
            systems=systems,
            mail_from="dpo@example.test",
            smtp_backoff=0.0,
        )
        self.ctx = Context(
            config=config,
            vault=MemoryKeyVault(),
            transport=self.mail,
            exports=MemoryExportStore(clock=self.clock),
            publisher=self,
            clock=self.clock,
            register=RegisterView(load_register()),
        )
        self.directory = SingleWorker(LocalCases(self.cases))  # what the web views ask about cases
        self.ctx.task_runners = {
            name: functools.partial(
                run_task, adapter, open_sealed=self.ctx.sealer.open, seal=self.ctx.sealer.seal_existing, backoff=0.0
            )
            for name, adapter in self.adapters.items()
        }

    async def publish(self, topic, key, value, headers=None):
        entry = (topic, key, value, dict(headers or {}))
        self.log.append(entry)
        self.queue.append(entry)

    def records(self) -> LogRecords:
        """The console's Records port over this bus: what it replays or retries is queued like any message."""

        def send(topic, key, value, headers) -> None:
            entry = (topic, key, value, dict(headers))
            self.log.append(entry)
            self.queue.append(entry)

        return LogRecords(lambda: list(self.log), send)

    def on(self, topic: str) -> list[bytes]:
        return [value for t, _, value, _ in self.log if t == topic]

    def audits(self) -> list[AuditRecord]:
        """Every audit record published, single or batched (parse_audit, as every reader of dsr.audit)."""
        return [record for value in self.on(topics.AUDIT) for record in parse_audit(value)]

    def headers_on(self, topic: str) -> list[dict]:
        return [headers for t, _, _, headers in self.log if t == topic]

    async def drain(self, limit: int = 10_000) -> None:
        offset = 0
        while self.queue and offset < limit:
            topic, key, value, headers = self.queue.popleft()
            offset += 1
            handler = self._handler(topic)
            if handler is not None:
                origin = Origin(topic, 0, offset, key.encode() if isinstance(key, str) else key, value)
                args = (value, [(k, v.encode()) for k, v in headers.items()]) if topic == topics.INTAKE else (value,)
                await process_safely(self.ctx, origin, functools.partial(handler, *args))

    def _handler(self, topic: str):
        ctx = self.ctx
        if topic == topics.INTAKE:
            return lambda raw, headers: on_intake_message(ctx, raw, headers)
        if topic == topics.CASES:
            return lambda raw: on_case_event(ctx, self.cases, raw)
        if topic == topics.TASK_RESULTS:
            return lambda raw: on_task_result(ctx, raw)
        if topic == topics.NOTIFICATIONS:
            return lambda raw: on_email_requested(ctx, self.sent, raw)
        if topic.startswith(topics.TASKS_PREFIX) and not topic.endswith(".dlq"):
            runner = ctx.task_runners.get(topic.removeprefix(topics.TASKS_PREFIX))
            return (lambda raw: on_task(ctx, runner, raw)) if runner else None
        return None

    async def submit(self, raw: bytes) -> None:
        await self.publish(topics.INTAKE, None, raw)
        await self.drain()

    async def tick(self) -> None:
        from streams.access_package import expire_downloads
        from streams.cases import due_ticks
        from streams.documents import expire_documents

        for tick in due_ticks(self.cases, self.clock(), self.ctx):
            await self.publish(topics.CASES, tick.request_id, tick.to_bytes())
        await expire_downloads(self.ctx)
        await expire_documents(self.ctx)
        await self.drain()

    def emails_to(self, address: str):
        return [m for m in self.mail.sent if m["To"] == address]
