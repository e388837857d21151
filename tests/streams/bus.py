"""An in-memory bus that delivers published messages to the same stream functions the agents call."""

from __future__ import annotations

import functools
import shutil
import tempfile
import weakref
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dsr.composition import Stores, build_context
from dsr.register import load_register
from dsr.settings import Settings
from handlers.memory import MemoryAdapter, MemoryInbox
from handlers.protocol import AdapterRegistry
from mail.transport import MemoryMailTransport
from schemas.audit import AuditRecord, parse_audit
from streams import topics
from streams.agenda import Agenda, IndexedCases
from streams.dead_letters import Origin, process_safely
from streams.doors_port import MemoryFrontDoorStore
from streams.notifications import TurnsSent, send_due_retries
from streams.ports import MemoryDocumentStore, MemoryExportStore, MemoryKeyVault
from streams.routes import on_clock, routes
from streams.web.case_directory import LocalCases, SingleWorker
from streams.web.console.records import LogRecords

SYSTEMS = ("crm", "recruitment", "newsletter")
SECRET = b"k" * 32


def bus_settings(systems: tuple[str, ...], data_dir: Path) -> Settings:
    """The settings of a worker whose systems are all in memory; its answer records go to `data_dir`."""
    return Settings(
        secret_key=SECRET.decode(),
        public_url="http://dsr.test",
        privacy_url="http://127.0.0.1:8080/privacy",
        systems=",".join(systems),
        mail_from="dpo@example.test",
        smtp_backoff=30.0,  # the mail retries wait on the bus's clock, which the tests advance
        data_dir=data_dir,
    )


def recipients() -> tuple[str, ...]:
    """The register's recipients: each gets Art. 19 notices in an in-memory inbox (R35)."""
    return tuple(load_register().recipients)


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
        self.sent: dict[str, bytes] = {}
        self.retries: dict[str, bytes] = {}  # the mailer's table of e-mails waiting for their next attempt
        self.turns_sent: TurnsSent = {}
        self.clock = Clock(start)
        self.adapters = {name: MemoryAdapter(name) for name in systems}
        self.mail = MemoryMailTransport()
        data_dir = Path(tempfile.mkdtemp(prefix="dsr-bus-"))
        weakref.finalize(self, shutil.rmtree, data_dir, True)  # the folder goes with the bus
        self.ctx = build_context(
            bus_settings(systems, data_dir),
            SECRET,
            self,
            transport=self.mail,
            registry=AdapterRegistry([*self.adapters.values(), *map(MemoryInbox, recipients())]),
            stores=Stores(
                MemoryKeyVault(),
                MemoryExportStore(clock=self.clock),
                MemoryFrontDoorStore(),
                MemoryDocumentStore(clock=self.clock),
            ),
            clock=self.clock,
        )
        self.cases = IndexedCases(
            {}, Agenda(self.ctx.config.policy)
        )  # the table and the clock's agenda, as wire() makes them
        self.directory = SingleWorker(LocalCases(self.cases))  # what the web views ask about cases

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
        """Deliver what is queued as the agents would: the same routing table (streams.routes), in order."""
        offset = 0
        while self.queue and offset < limit:
            topic, key, value, headers = self.queue.popleft()
            offset += 1
            route = {r.topic: r for r in routes(self.ctx, self.cases, self.sent, self.retries)}.get(topic)
            if route is not None:
                origin = Origin(topic, 0, offset, key.encode() if isinstance(key, str) else key, value)
                encoded = [(k, v.encode()) for k, v in headers.items()]
                await process_safely(self.ctx, origin, functools.partial(route.handler, value, encoded, 0))

    async def submit(self, raw: bytes) -> None:
        await self.publish(topics.INTAKE, None, raw)
        await self.drain()

    async def tick(self) -> None:
        await on_clock(self.ctx, self.cases)
        await send_due_retries(self.ctx, self.retries, self.clock(), self.turns_sent)
        await self.drain()

    def emails_to(self, address: str):
        return [m for m in self.mail.sent if m["To"] == address]
