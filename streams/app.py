"""Builds the faust app: topics, tables, one thin agent per consumed topic, the timer; and its two listeners."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable
from pathlib import Path

import faust
from aiokafka.errors import KafkaError
from faust.exceptions import NotReady, ProducerSendError
from faust.types.auth import CredentialsT

from streams import topics
from streams.agenda import Agenda, IndexedCases, parsed
from streams.cases import CaseTable
from streams.context import Context
from streams.dead_letters import Origin, process_safely
from streams.kafka_transport import PipelineApp
from streams.metrics import CaseGauges, ConsumerLag
from streams.notifications import TurnsSent, send_due_retries
from streams.routes import Route, on_clock, routes
from streams.web.admin import Probes, admin_app
from streams.web.case_directory import Cluster, LocalCases
from streams.web.console.accounts import ConsolePolicy
from streams.web.console.records import Records
from streams.web.console.views import ConsoleViews
from streams.web.guards import TryAgain
from streams.web.peers import FaustPeers, FaustReadiness, cluster_token
from streams.web.public import public_app
from streams.web.server import Listener, WebListeners, consuming, readiness

log = logging.getLogger(__name__)
APP_ID = "dsr-pipeline"
MAX_MESSAGE_BYTES = 2 * 1024 * 1024
# Keys stay bytes: faust decoding a key that is not UTF-8 would drop the event before our own handling runs.
RAW = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}


class NotPublished(TryAgain):
    """The brokers did not take the message now (the worker is starting or stopping, a broker was lost, a
    partition's leader is moving): the person or system asking may try again in a few seconds (503,
    Retry-After). An unacknowledged message may still have been stored: what a web view publishes is
    idempotent (IdentityConfirmed counts once per token), so the retry records it at most once."""


class FaustPublisher:
    """The Publisher port on faust topics. Inside an agent, faust flushes the producer before it commits
    the consumed offset, so what an event caused is published before the event counts as done."""

    def __init__(self, app: faust.App) -> None:
        self._app = app
        self._topics: dict[str, faust.TopicT] = {}

    async def publish(
        self, topic: str, key: str | bytes | None, value: bytes, headers: dict[str, str] | None = None
    ) -> None:
        pending = await self.send(topic, key, value, headers)
        if faust.current_event() is None:
            # Outside an agent (a web view, the timer) nothing flushes before a commit: wait for the
            # broker's ack, so that "confirmed" shown to a person is never lost in a crash.
            try:
                await pending
            except KafkaError as exc:  # a broker lost, a leader moving, the producer stopping: maybe not stored
                raise NotPublished(f"the brokers did not acknowledge the message ({type(exc).__name__})") from None

    async def send(
        self, topic: str, key: str | bytes | None, value: bytes, headers: dict[str, str] | None = None
    ) -> Awaitable:
        """Hand the message to the producer; the awaitable completes once the brokers hold it."""
        target = self._topics.get(topic) or self._topics.setdefault(topic, self._app.topic(topic, **RAW))
        encoded = [(k, v.encode()) for k, v in (headers or {}).items()]
        raw_key = key.encode() if isinstance(key, str) else key
        try:
            return await target.send(key=raw_key, value=value, headers=encoded or None)
        except (NotReady, ProducerSendError, KafkaError) as exc:
            if faust.current_event() is not None:  # inside an agent: its own retries and dead letters apply
                raise
            raise NotPublished(f"the producer cannot send now ({type(exc).__name__})") from None


def make_faust_app(
    broker: str,
    canonical_url: str,
    faust_dir: Path,
    partitions: int,
    session_timeout: float = 10.0,
    replication: int = 1,
    credentials: CredentialsT | None = None,
    allow_declare: bool = True,
    store: str = "memory",
) -> faust.App:
    """`credentials`: faust's SASL or SSL credentials (None: PLAINTEXT). `allow_declare=False`: faust creates
    no topic, changelogs included (they are made by the cluster's owners and checked before the start).
    `store`: "memory" or "rocksdb" (faust's RocksDB store through rocksdict, under `faust_dir`, the worker's own)."""
    return PipelineApp(
        APP_ID,
        broker=f"kafka://{broker}",
        # Kafka is the record either way: in memory a table is rebuilt from its changelog at each start; on disk
        # only what the changelog holds past the offset the files remember is read again.
        store=f"{store}://",
        datadir=str(faust_dir),
        canonical_url=canonical_url,  # other workers reach this one's admin listener there (table routing)
        topic_partitions=partitions,
        topic_replication_factor=replication,  # also for the changelog topics faust creates
        topic_allow_declare=allow_declare,
        broker_credentials=credentials,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        web_enabled=False,  # faust's own views (/router, /table ...) would expose case records: see WebListeners
        producer_max_request_size=MAX_MESSAGE_BYTES,  # a dead letter is the original plus its headers
        key_serializer="raw",  # every message is JSON bytes validated by pydantic (parse once at the edge)
        value_serializer="raw",
        broker_session_timeout=session_timeout,  # a killed worker's partitions move in seconds, not a minute
        broker_heartbeat_interval=min(3.0, session_timeout / 3),
    )


def origin_of(event) -> Origin:
    message = event.message
    return Origin(message.topic, message.partition, message.offset, message.key, message.value)


def headers_of(event) -> list[tuple[str, bytes]]:
    headers = event.message.headers or ()
    return list(headers.items()) if isinstance(headers, dict) else [(k, v) for k, v in headers]


def wire(app: faust.App, ctx: Context) -> CaseTable:
    """Declare every agent and table on `app`, bound to `ctx`; the case table is what the web views read."""
    agenda = Agenda(ctx.config.policy)  # what the clock reads: rebuilt from the table's changelog on recovery
    table = app.Table(
        "cases", partitions=ctx.config.partitions, key_type=str, value_type=bytes, on_changelog_event=agenda.recovered
    )
    cases = IndexedCases(table, agenda)
    sent = app.Table("sent-emails", partitions=ctx.config.partitions, key_type=str, value_type=bytes)
    retries = app.Table("mail-retries", partitions=ctx.config.partitions, key_type=str, value_type=bytes)
    _measure(app, ctx, cases)

    agents: dict[str, list[Route]] = {}
    for route in routes(ctx, cases, sent, retries):
        agents.setdefault(route.agent, []).append(route)
    for name, group in agents.items():
        _agent(app, ctx, name, group)

    @app.timer(interval=ctx.config.tick_seconds, name="clock")
    async def clock() -> None:
        await on_clock(ctx, cases)

    turns_sent: TurnsSent = {}

    @app.timer(interval=ctx.config.mail_tick_seconds, name="mail-retries")
    async def mail_retries() -> None:
        await send_due_retries(ctx, retries, ctx.clock(), turns_sent)

    if ctx.retention_sweep is not None:

        @app.timer(interval=ctx.config.tick_seconds, on_leader=True, name="retention")
        async def retention() -> None:
            # R44: at most once a day, on one worker of the group, which it is told (its state must be theirs too)
            await ctx.retention_sweep(ctx.clock(), list(app.assignor.changelog_distribution))

    return cases


def web_listeners(
    app: faust.App,
    ctx: Context,
    cases: CaseTable,
    public: tuple[str, int],
    admin: tuple[str, int],
    privacy_placeholder: bool,
    records: Records | None = None,
    console: ConsolePolicy = ConsolePolicy(),
) -> WebListeners:
    """The public listener (people, websites) and the admin listener (DPO, systems, operators), apart."""
    probes = Probes(alive=lambda: not app.crashed, ready=readiness(app), metrics=ctx.metrics.exposition)
    local = LocalCases(cases, FaustReadiness(app))  # 503, never "unknown case", while the table replays
    peers = FaustPeers(app, cluster_token(ctx.config.secret_key))
    directory = Cluster(local, peers)  # any worker answers for any case: the owner is asked
    views = ConsoleViews(ctx, directory, records, console, dlq_topics(ctx)) if records is not None else None
    return WebListeners(
        [
            Listener("public", public_app(ctx, directory, lambda: consuming(app), privacy_placeholder), *public),
            Listener("admin", admin_app(ctx, directory, local, probes, console=views), *admin),
        ],
        on_stop=[peers.close],
    )


def dlq_topics(ctx: Context) -> list[str]:
    """Every dead-letter topic the pipeline and its systems write to."""
    consumed = [topics.INTAKE, topics.CASES, topics.TASK_RESULTS, topics.NOTIFICATIONS]
    systems = [topics.tasks(s) for s in [*ctx.config.systems, *ctx.register.register.recipients]]
    return [topics.dlq(name) for name in [*consumed, *systems]]


def _measure(app: faust.App, ctx: Context, cases: CaseTable) -> None:
    """/metrics: faust's sensors, the cases this worker holds, its consumer lag."""
    app.monitor = monitor = ctx.metrics.faust_monitor()
    ctx.metrics.collect_from(CaseGauges(lambda: (parsed(raw) for raw in list(cases.values())), ctx.clock))
    ctx.metrics.collect_from(ConsumerLag(monitor))


def _agent(app: faust.App, ctx: Context, name: str, group: list[Route]) -> None:
    """A thin agent over one or more topics: each message to its topic's function, one at a time, dead-lettered
    if it cannot be processed."""
    handlers = {route.topic: route.handler for route in group}

    async def agent(stream):
        async for event in stream.events():
            message = event.message
            handler = functools.partial(handlers[message.topic], event.value, headers_of(event), message.partition)
            await process_safely(ctx, origin_of(event), handler)

    app.agent(app.topic(*handlers, **RAW), name=name)(agent)
