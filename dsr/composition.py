"""The composition root: builds concrete adapters from settings; tests call it with fakes."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import faust

from dsr.answers_store import PostgresAnswerRecord
from dsr.case_holds import PostgresCaseHolds, SqliteCaseHolds
from dsr.documents import FileDocumentStore, PostgresDocumentStore
from dsr.doors_store import postgres_store, sqlite_store
from dsr.exports import FileExportStore, PostgresExportStore
from dsr.kafka_access import faust_credentials
from dsr.kafka_records import KafkaRecords
from dsr.pg_link import StoreUnreachable
from dsr.recontact import AskedStore
from dsr.register import load_register
from dsr.retention import RetentionStore
from dsr.retention_clock import DailySweep
from dsr.retention_store import PostgresAskedStore, PostgresRetentionStore
from dsr.sent_ledger import PostgresSentLedger, SqliteSentLedger
from dsr.settings import Settings, SettingsError
from dsr.sql_adapters import sql_adapters
from dsr.vault import PostgresKeyVault, SqliteKeyVault
from dsr.webhooks import webhook_adapters
from gdpr.lifecycle import CasePolicy
from handlers.answers import AnswerRecord, SqliteAnswerRecord
from handlers.protocol import Adapter, AdapterRegistry
from handlers.reference import (
    CrmAdapter,
    DirectivesRegister,
    NewsletterAdapter,
    PostgresStore,
    RecipientInbox,
    RecruitmentAdapter,
    seed_sample_people,
)
from handlers.reference.db import Location, ScrubPolicy, StoreUnavailable
from handlers.runtime import remembered, run_task
from mail.ledger import DEFAULT_LEASE, MemorySentLedger, SentLedger
from mail.retry import RetryPolicy
from mail.smtp import SmtpTransport
from mail.transport import MailTransport
from schemas.clock import Clock, utcnow
from streams.app import FaustPublisher, dlq_topics, make_faust_app, web_listeners, wire
from streams.context import Context, Controller, PipelineConfig
from streams.doors_port import FrontDoorStore
from streams.kafka_transport import TopicSizes
from streams.metrics import DeadLetterGauges
from streams.ports import CaseHolds, DocumentStore, ExportStore, KeyVault, MemoryCaseHolds
from streams.register_view import RegisterView
from streams.web.console.accounts import ConsolePolicy
from streams.web.server import WebListeners

DEV_KEY_FILE = "secret.key"


def secret_from(settings: Settings, create: bool = False) -> bytes:
    """DSR_SECRET_KEY; else the dev stack's key under the data dir, which only `dsr dev` creates (`create`).
    A command never mints a key of its own: tokens derived from a key the worker does not have are useless."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / DEV_KEY_FILE
    if create and not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    if not path.exists():
        raise SettingsError(
            f"DSR_SECRET_KEY is not set and there is no dev key in DSR_DATA_DIR ({path.parent.resolve()}): set "
            "DSR_SECRET_KEY to the workers' key, or run this in the folder where `dsr dev` keeps its data"
        )
    return path.read_text().strip().encode()


def pipeline_config(settings: Settings, secret: bytes, register: RegisterView | None = None) -> PipelineConfig:
    named = (register.register if register else load_register(settings.register_file)).controller
    named = named or load_register(None).controller  # a register naming no controller: the packaged one's
    given = {
        "name": settings.controller_name or named.name,
        "postal_address": settings.controller_address or named.address,
        "dpo_email": settings.dpo_email,
    }  # `dsr run` has refused to start without the settings; elsewhere the register names the company (R24)
    controller = Controller(
        **{field: value for field, value in given.items() if value},
        privacy_url=settings.privacy_url or f"{settings.base_url()}/privacy",
    )
    return PipelineConfig(
        secret_key=secret,
        public_url=settings.base_url(),
        systems=settings.system_names(),
        mail_from=settings.sender() or Controller.dpo_email,
        controller=controller,
        dpo_language=settings.dpo_language,
        marketing_systems=register.marketing_systems() if register else (),
        policy=CasePolicy(
            task_timeout=timedelta(hours=settings.task_timeout_hours),
            task_resend=timedelta(minutes=settings.task_resend_minutes) if settings.task_resend_minutes else None,
            case_retention=timedelta(days=settings.case_retention_days),
            mail_wait=timedelta(hours=settings.mail_retry_hours + 1),  # sent or parked by then
            recipients_by_system=register.recipients_by_system() if register else {},
        ),
        verification_ttl=timedelta(days=settings.verification_ttl_days),
        download_ttl=timedelta(days=settings.download_ttl_days),
        mail_retry=RetryPolicy(
            first=timedelta(seconds=settings.smtp_backoff),
            cap=timedelta(seconds=max(settings.smtp_max_backoff, settings.smtp_backoff)),
            budget=timedelta(hours=settings.mail_retry_hours),
        ),
        tick_seconds=settings.tick_seconds,
        partitions=settings.topic_partitions(),
        intake_per_minute=settings.intake_per_minute,
        requests_per_address=settings.requests_per_address,
        requests_per_ip=settings.requests_per_ip,
        trust_forwarded_for=settings.trust_forwarded_for,
        submission_key_ttl=timedelta(days=settings.submission_key_days),
    )


def reference_adapters(
    settings: Settings, secret: bytes, recipients: tuple[str, ...] = (), clock: Clock = utcnow
) -> AdapterRegistry:
    """The built-in CRM, recruitment, newsletter and directives systems, on SQLite files under the data dir
    or, with DSR_POSTGRES_DSN, in a PostgreSQL schema each; and an inbox standing in for each recipient that
    gets Art. 19 notices (R35). CV files stay under the data dir: the file store the records point to."""
    try:
        return _reference_adapters(settings, secret, recipients, clock)
    except StoreUnavailable as exc:
        raise SystemExit(f"DSR_POSTGRES_DSN: {exc}") from exc


def _reference_adapters(
    settings: Settings, secret: bytes, recipients: tuple[str, ...], clock: Clock
) -> AdapterRegistry:
    root = settings.data_dir / "systems"
    root.mkdir(parents=True, exist_ok=True)
    crm = CrmAdapter(store_of(settings, "crm"), clock=clock)
    recruitment = RecruitmentAdapter(store_of(settings, "recruitment"), cv_dir=root / "cv-files", clock=clock)
    newsletter = NewsletterAdapter(store_of(settings, "newsletter"), secret=secret, clock=clock)
    directives = DirectivesRegister(store_of(settings, "directives"), clock=clock)
    if settings.sample_data:
        seed_sample_people(crm, recruitment, newsletter)
    wanted = set(settings.builtin_names())
    systems = [a for a in (crm, recruitment, newsletter, directives) if a.name in wanted]
    inboxes = [RecipientInbox(store_of(settings, "recipients"), name, secret, clock=clock) for name in recipients]
    return AdapterRegistry(systems + inboxes)


def store_of(settings: Settings, system: str) -> Location:
    """Where a reference system keeps its data: `<data dir>/systems/<system>.sqlite3`, or schema `<system>`, its
    erased rows pruned within DSR_POSTGRES_SCRUB_ERASURES erasures or DSR_POSTGRES_SCRUB_SECONDS."""
    if settings.postgres_dsn:
        scrub = ScrubPolicy(settings.postgres_scrub_erasures, settings.postgres_scrub_seconds)
        return PostgresStore(settings.postgres_dsn, system, scrub)
    return settings.data_dir / "systems" / f"{system}.sqlite3"


def register_view(settings: Settings) -> RegisterView:
    return RegisterView(load_register(settings.register_file))


def builtin_recipients(settings: Settings, register: RegisterView) -> tuple[str, ...]:
    return settings.builtin_recipient_names(tuple(register.register.recipients))


@dataclass(frozen=True)
class Stores:
    """The context's stores, when a test gives its fakes (each one passes the contract suite of its port)."""

    vault: KeyVault
    exports: ExportStore
    doors: FrontDoorStore
    documents: DocumentStore
    sent_ledger: SentLedger = field(default_factory=MemorySentLedger)
    case_holds: CaseHolds = field(default_factory=MemoryCaseHolds)


def real_stores(settings: Settings, secret: bytes, clock: Clock = utcnow) -> Stores:
    return Stores(
        key_vault(settings, secret),
        export_store(settings, clock),
        doors_store(settings),
        document_store(settings, clock),
        sent_ledger(settings, clock),
        case_holds(settings),
    )


def build_context(
    settings: Settings,
    secret: bytes,
    publisher,
    *,
    transport: MailTransport | None = None,
    registry: AdapterRegistry | None = None,
    stores: Stores | None = None,
    clock: Clock | None = None,
) -> Context:
    """The context every stream function shares, from the settings; tests give fakes for the ports and a clock."""
    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    register = register_view(settings)
    clock = clock or utcnow  # one clock for everything that stamps a time (tests give theirs)
    stores = stores or real_stores(settings, secret, clock)
    ctx = Context(
        config=pipeline_config(settings, secret, register),
        vault=stores.vault,
        transport=transport or smtp_transport(settings),
        exports=stores.exports,
        publisher=publisher,
        register=register,
        doors=stores.doors,
        documents=stores.documents,
        sent_ledger=stores.sent_ledger,
        case_holds=stores.case_holds,
        clock=clock,
    )
    recipients = builtin_recipients(settings, register)
    registry = registry if registry is not None else reference_adapters(settings, secret, recipients, clock)
    webhooks = webhook_adapters(
        settings.webhooks, settings.system_names(), secret, settings.webhook_timeout, clock=ctx.clock
    )
    mapped = sql_adapters(settings.sql_adapters, set(register.register.retention_rules), clock=ctx.clock)
    for adapter in [*webhooks, *mapped]:  # in-process whatever DSR_BUILTIN_ADAPTERS says; replaces a built-in
        registry.register(adapter)
    names = [*dict.fromkeys([*settings.builtin_names(), *(a.name for a in [*webhooks, *mapped])]), *recipients]
    answers = answer_records(settings, ctx.clock)  # idempotency by task id, every action
    ctx.task_runners = {name: _runner(ctx, registry.get(name), answers(name)) for name in names}
    if settings.kafka_bootstrap and settings.retention_clock:
        ctx.retention_sweep = DailySweep(settings, secret)
    return ctx


def answer_records(settings: Settings, clock: Clock = utcnow) -> Callable[[str], AnswerRecord]:
    """The record of answered tasks, per system: where the key vault is, so that a task redelivered to another
    worker is answered from it (DSR_VAULT_DSN: one PostgreSQL table, schema dsr_answers), else a SQLite file per
    system under `$DSR_DATA_DIR/answers/`."""
    if settings.vault_dsn:
        try:
            shared = PostgresAnswerRecord(settings.vault_dsn, clock=clock)
        except StoreUnreachable as exc:
            raise SystemExit(str(exc)) from None
        return lambda system: shared
    folder = Path(settings.data_dir) / "answers"
    return lambda system: SqliteAnswerRecord(folder / f"{system}.sqlite3", clock=clock)


def sent_ledger(settings: Settings, clock: Clock = utcnow) -> SentLedger:
    """Which e-mails went out, where the key vault is (DSR_VAULT_DSN: schema dsr_mail, every worker), else a
    SQLite file under the data dir. A claim lasts well beyond one SMTP exchange (DSR_SMTP_TIMEOUT)."""
    lease = max(DEFAULT_LEASE, timedelta(seconds=4 * settings.smtp_timeout))
    if not settings.vault_dsn:
        return SqliteSentLedger(Path(settings.data_dir) / "sent-emails.sqlite3", clock(), lease)
    try:
        return PostgresSentLedger(settings.vault_dsn, clock(), lease)
    except StoreUnreachable as exc:
        raise SystemExit(str(exc)) from None


def case_holds(settings: Settings) -> CaseHolds:
    """The holds placed on cases, for the retention sweep (R46): where the key vault is (DSR_VAULT_DSN, schema
    dsr_holds), else a SQLite file beside the vault's."""
    if not settings.vault_dsn:
        return SqliteCaseHolds(Path(settings.data_dir) / "case-holds.sqlite3")
    try:
        return PostgresCaseHolds(settings.vault_dsn)
    except StoreUnreachable as exc:
        raise SystemExit(str(exc)) from None


def retention_store(settings: Settings) -> RetentionStore | PostgresRetentionStore:
    """The retention sweep's plans, the DPO's approvals and each day's sweep: where the key vault is (DSR_VAULT_DSN,
    schema dsr_retention), so that whichever worker leads the group sees them, else files under the data dir."""
    if not settings.vault_dsn:
        return RetentionStore(Path(settings.data_dir) / "retention")
    try:
        return PostgresRetentionStore(settings.vault_dsn)
    except StoreUnreachable as exc:
        raise SystemExit(str(exc)) from None


def asked_store(settings: Settings) -> AskedStore | PostgresAskedStore:
    """Who was asked once whether to keep hearing from us (CNIL-COM), beside the sweep's records."""
    if not settings.vault_dsn:
        return AskedStore(Path(settings.data_dir) / "retention")
    try:
        return PostgresAskedStore(settings.vault_dsn)
    except StoreUnreachable as exc:
        raise SystemExit(str(exc)) from None


def key_vault(settings: Settings, secret: bytes) -> KeyVault:
    """PostgreSQL when workers share it (DSR_VAULT_DSN), else the SQLite file under the data dir."""
    if not settings.vault_dsn:
        return SqliteKeyVault(Path(settings.data_dir) / "keys.sqlite3", secret)
    try:
        return PostgresKeyVault(settings.vault_dsn, secret)
    except StoreUnreachable as exc:
        raise SystemExit(str(exc)) from None


def doors_store(settings: Settings) -> FrontDoorStore:
    """Console accounts, sessions, rate limits and intake answers: where the key vault is (DSR_VAULT_DSN, schema
    dsr_doors, when workers share it), else a SQLite file beside the vault's."""
    if not settings.vault_dsn:
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
        return sqlite_store(Path(settings.data_dir) / "doors.sqlite3")
    try:
        return postgres_store(settings.vault_dsn)
    except StoreUnreachable as exc:
        raise SystemExit(str(exc)) from None


def export_store(settings: Settings, clock: Clock = utcnow) -> ExportStore:
    """Where access copies wait for their download: DSR_EXPORTS_DSN, else DSR_EXPORTS_DIR, else beside
    a shared vault (DSR_VAULT_DSN: workers that share keys share downloads), else under the data dir."""
    if settings.exports_dsn or (settings.vault_dsn and not settings.exports_dir):
        setting = "DSR_EXPORTS_DSN" if settings.exports_dsn else "DSR_VAULT_DSN"
        try:
            return PostgresExportStore(settings.exports_dsn or settings.vault_dsn, setting, clock)
        except StoreUnreachable as exc:
            raise SystemExit(str(exc)) from None
    return FileExportStore(settings.exports_dir or Path(settings.data_dir) / "exports")


def document_store(settings: Settings, clock: Clock = utcnow) -> DocumentStore:
    """Uploaded documents go where the access copies go: the same PostgreSQL database (schema dsr_documents), or
    a directory beside DSR_EXPORTS_DIR (`<it>-documents`), or `$DSR_DATA_DIR/documents`."""
    if settings.exports_dsn or (settings.vault_dsn and not settings.exports_dir):
        setting = "DSR_EXPORTS_DSN" if settings.exports_dsn else "DSR_VAULT_DSN"
        try:
            return PostgresDocumentStore(settings.exports_dsn or settings.vault_dsn, setting, clock)
        except StoreUnreachable as exc:
            raise SystemExit(str(exc)) from None
    if settings.exports_dir:
        return FileDocumentStore(settings.exports_dir.with_name(settings.exports_dir.name + "-documents"))
    return FileDocumentStore(Path(settings.data_dir) / "documents")


def smtp_transport(settings: Settings) -> SmtpTransport:
    if not settings.smtp_host:
        raise SystemExit("DSR_SMTP_HOST is not set: name the SMTP server that sends e-mails (or use `dsr dev`)")
    return SmtpTransport(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_username,
        settings.smtp_password,
        settings.smtp_starttls,
        settings.smtp_timeout,
    )


@dataclass(frozen=True)
class Assembly:
    """A worker ready to run: the faust app, the context its streams share, its two HTTP listeners."""

    app: faust.App
    ctx: Context
    listeners: WebListeners


def build_app(settings: Settings, secret: bytes, **ports) -> Assembly:
    """The whole pipeline as a faust app and its listeners, nothing connected yet."""
    if not settings.kafka_bootstrap:
        raise SystemExit("DSR_KAFKA_BOOTSTRAP is not set: give host:port of a Kafka broker (or use `dsr dev`)")
    app = make_faust_app(
        settings.kafka_bootstrap,
        settings.advertised_admin_url(),
        settings.faust_directory(),
        settings.topic_partitions(),
        settings.kafka_session_timeout,
        settings.replication_factor,
        credentials=faust_credentials(settings.kafka_security()),
        allow_declare=settings.create_topics,
        store=settings.table_store,
    )
    ctx = build_context(settings, secret, FaustPublisher(app), **ports)
    cases = wire(app, ctx)
    _measure_dead_letters(ctx, TopicSizes(settings.kafka_bootstrap, **settings.kafka_security().client_kwargs()))
    listeners = web_listeners(
        app,
        ctx,
        cases,
        public=(settings.web_host, settings.web_port),
        admin=(settings.admin_host, settings.admin_port),
        privacy_placeholder=not settings.privacy_url,
        records=KafkaRecords(settings.kafka_bootstrap, settings.kafka_security()),
        console=console_policy(settings),
    )
    return Assembly(app, ctx, listeners)


def console_policy(settings: Settings) -> ConsolePolicy:
    return ConsolePolicy(
        max_failures=settings.console_max_failures,
        lock_for=timedelta(minutes=settings.console_lock_minutes),
        session_for=timedelta(hours=settings.console_session_hours),
    )


def _measure_dead_letters(ctx: Context, sizes: TopicSizes) -> None:
    """/metrics counts the messages in every dead-letter topic the pipeline and its systems write to."""
    gauges = DeadLetterGauges(dlq_topics(ctx), sizes)
    ctx.metrics.collect_from(gauges, gauges.refresh)


def _runner(ctx: Context, adapter: Adapter, record: AnswerRecord):
    run = functools.partial(
        run_task, adapter, open_sealed=ctx.sealer.open, seal=ctx.sealer.seal_existing, clock=ctx.clock
    )
    return remembered(run, record)
