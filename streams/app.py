"""Builds the faust app: topics, tables, one thin agent per consumed topic, the timer; and its two listeners."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import faust
from faust.types.auth import CredentialsT

from streams import topics
from streams.access_package import expire_downloads
from streams.cases import CaseTable, due_ticks, on_case_event, parsed
from streams.context import Context, TaskRunner
from streams.dead_letters import Origin, process_safely
from streams.documents import expire_documents
from streams.intake import on_intake_message
from streams.kafka_transport import PipelineApp
from streams.metrics import CaseGauges, ConsumerLag
from streams.notifications import on_email_requested
from streams.task_results import on_task_result
from streams.tasks import on_task
from streams.web.admin import Probes, admin_app
from streams.web.case_directory import Cluster, LocalCases
from streams.web.console.accounts import ConsolePolicy
from streams.web.console.records import Records
from streams.web.console.views import ConsoleViews
from streams.web.intake_api import ANSWERS_KEPT
from streams.web.peers import FaustPeers, cluster_token
from streams.web.public import public_app
from streams.web.server import BrokerProbe, Listener, WebListeners, consuming

log = logging.getLogger(__name__)
APP_ID = "dsr-pipeline"
MAX_MESSAGE_BYTES = 2 * 1024 * 1024
# Keys stay bytes: faust decoding a key that is not UTF-8 would drop the event before our own handling runs.
RAW = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}


class FaustPublisher:
    """The Publisher port on faust topics. Inside an agent, faust flushes the producer before it commits
    the consumed offset, so what an event caused is published before the event counts as done."""

    def __init__(self, app: faust.App) -> None:
        self._app = app
        self._topics: dict[str, faust.TopicT] = {}

    async def publish(
        self, topic: str, key: str | bytes | None, value: bytes, headers: dict[str, str] | None = None
    ) -> None:
        target = self._topics.get(topic) or self._topics.setdefault(topic, self._app.topic(topic, **RAW))
        encoded = [(k, v.encode()) for k, v in (headers or {}).items()]
        raw_key = key.encode() if isinstance(key, str) else key
        pending = await target.send(key=raw_key, value=value, headers=encoded or None)
        if faust.current_event() is None:
            # Outside an agent (a web view, the timer) nothing flushes before a commit: wait for the
            # broker's ack, so that "confirmed" shown to a person is never lost in a crash.
            await pending


def make_faust_app(
    broker: str,
    canonical_url: str,
    data_dir: Path,
    partitions: int,
    session_timeout: float = 10.0,
    replication: int = 1,
    credentials: CredentialsT | None = None,
    allow_declare: bool = True,
) -> faust.App:
    """`credentials`: faust's SASL or SSL credentials (None: PLAINTEXT). `allow_declare=False`: faust creates
    no topic, changelogs included (they are made by the cluster's owners and checked before the start)."""
    return PipelineApp(
        APP_ID,
        broker=f"kafka://{broker}",
        store="memory://",  # tables are rebuilt from their changelog topics: Kafka is the record
        datadir=str(data_dir / "faust"),
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
    cases = app.Table("cases", partitions=ctx.config.partitions, key_type=str, value_type=bytes)
    sent = app.Table("sent-emails", partitions=ctx.config.partitions, key_type=str, value_type=bytes)
    _measure(app, ctx, cases)

    def agent_on(topic_name: str, name: str, handler, with_headers: bool = False):
        async def agent(stream):
            async for event in stream.events():
                args = (event.value, headers_of(event)) if with_headers else (event.value,)
                await process_safely(ctx, origin_of(event), functools.partial(handler, *args))

        return app.agent(app.topic(topic_name, **RAW), name=name)(agent)

    # The Kafka binding's binary mode carries the CloudEvent's attributes in ce_ headers.
    agent_on(topics.INTAKE, "intake", lambda raw, headers: on_intake_message(ctx, raw, headers), with_headers=True)
    agent_on(topics.CASES, "coordinator", lambda raw: on_case_event(ctx, cases, raw))
    agent_on(topics.TASK_RESULTS, "task-results", lambda raw: on_task_result(ctx, raw))
    agent_on(topics.NOTIFICATIONS, "mailer", lambda raw: on_email_requested(ctx, sent, raw))
    for system, runner in ctx.task_runners.items():
        _task_agent(agent_on, system, runner, ctx)

    @app.timer(interval=ctx.config.tick_seconds, name="clock")
    async def clock() -> None:
        for tick in due_ticks(cases, ctx.clock(), ctx):
            await ctx.publisher.publish(topics.CASES, tick.request_id, tick.to_bytes())
        await expire_downloads(ctx)
        await expire_documents(ctx)
        ctx.doors.forget_expired(ctx.clock(), ANSWERS_KEPT)

    if ctx.retention_sweep is not None:

        @app.timer(interval=ctx.config.tick_seconds, on_leader=True, name="retention")
        async def retention() -> None:
            await ctx.retention_sweep(ctx.clock())  # R44: at most once a day, on one worker of the group

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
    broker = BrokerProbe(app)

    async def ready() -> bool:
        return consuming(app) and await broker.reachable()

    probes = Probes(alive=lambda: not app.crashed, ready=ready, metrics=ctx.metrics.exposition)
    local = LocalCases(cases)
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


def _task_agent(agent_on, system: str, runner: TaskRunner, ctx: Context) -> None:
    agent_on(topics.tasks(system), f"tasks-{system}", lambda raw: on_task(ctx, runner, raw))
