"""The composition root: builds concrete adapters from settings; tests call it with fakes."""

from __future__ import annotations

import functools
import secrets
from datetime import timedelta
from pathlib import Path

import faust

from dsr.exports import FileExportStore, PostgresExportStore
from dsr.kafka_access import faust_credentials
from dsr.mail import SmtpTransport
from dsr.pg_link import StoreUnreachable
from dsr.register import load_register
from dsr.settings import Settings
from dsr.sql_adapters import sql_adapters
from dsr.vault import PostgresKeyVault, SqliteKeyVault
from dsr.webhooks import webhook_adapters
from gdpr.lifecycle import CasePolicy
from handlers.answers import AnswerRecord
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
from handlers.reference.db import Location, StoreUnavailable
from handlers.runtime import remembered, run_task
from streams.app import FaustPublisher, make_faust_app, wire
from streams.context import Context, Controller, PipelineConfig
from streams.ports import ExportStore, KeyVault, MailTransport
from streams.register_view import RegisterView


def secret_from(settings: Settings, dev: bool) -> bytes:
    """DSR_SECRET_KEY; in dev only, a random one kept under the data dir."""
    if settings.secret_key:
        return settings.secret_key.encode()
    if not dev:
        raise SystemExit(
            "DSR_SECRET_KEY is not set: give at least 32 random characters (it signs links "
            "and keys subject hashes; keep it stable across restarts)"
        )
    path = settings.data_dir / "secret.key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def pipeline_config(settings: Settings, secret: bytes, register: RegisterView | None = None) -> PipelineConfig:
    controller = Controller(
        name=settings.controller_name,
        dpo_email=settings.dpo_email,
        postal_address=settings.controller_address,
        privacy_url=settings.privacy_url or f"{settings.base_url()}/privacy",
    )
    return PipelineConfig(
        secret_key=secret,
        public_url=settings.base_url(),
        systems=settings.system_names(),
        mail_from=settings.mail_from,
        controller=controller,
        dpo_language=settings.dpo_language,
        marketing_systems=register.marketing_systems() if register else (),
        policy=CasePolicy(
            task_timeout=timedelta(hours=settings.task_timeout_hours),
            case_retention=timedelta(days=settings.case_retention_days),
            recipients_by_system=register.recipients_by_system() if register else {},
        ),
        verification_ttl=timedelta(days=settings.verification_ttl_days),
        download_ttl=timedelta(days=settings.download_ttl_days),
        smtp_attempts=settings.smtp_attempts,
        smtp_backoff=settings.smtp_backoff,
        tick_seconds=settings.tick_seconds,
        partitions=settings.partitions,
    )


def reference_adapters(settings: Settings, secret: bytes, recipients: tuple[str, ...] = ()) -> AdapterRegistry:
    """The built-in CRM, recruitment, newsletter and directives systems, on SQLite files under the data dir
    or, with DSR_POSTGRES_DSN, in a PostgreSQL schema each; and an inbox standing in for each recipient that
    gets Art. 19 notices (R35). CV files stay under the data dir: the file store the records point to."""
    try:
        return _reference_adapters(settings, secret, recipients)
    except StoreUnavailable as exc:
        raise SystemExit(f"DSR_POSTGRES_DSN: {exc}") from exc


def _reference_adapters(settings: Settings, secret: bytes, recipients: tuple[str, ...]) -> AdapterRegistry:
    root = settings.data_dir / "systems"
    root.mkdir(parents=True, exist_ok=True)
    crm = CrmAdapter(store_of(settings, "crm"))
    recruitment = RecruitmentAdapter(store_of(settings, "recruitment"), cv_dir=root / "cv-files")
    newsletter = NewsletterAdapter(store_of(settings, "newsletter"), secret=secret)
    directives = DirectivesRegister(store_of(settings, "directives"))
    if settings.sample_data:
        seed_sample_people(crm, recruitment, newsletter)
    wanted = set(settings.builtin_names())
    systems = [a for a in (crm, recruitment, newsletter, directives) if a.name in wanted]
    inboxes = [RecipientInbox(store_of(settings, "recipients"), name, secret) for name in recipients]
    return AdapterRegistry(systems + inboxes)


def store_of(settings: Settings, system: str) -> Location:
    """Where a reference system keeps its data: `<data dir>/systems/<system>.sqlite3`, or schema `<system>`."""
    if settings.postgres_dsn:
        return PostgresStore(settings.postgres_dsn, system)
    return settings.data_dir / "systems" / f"{system}.sqlite3"


def register_view(settings: Settings) -> RegisterView:
    return RegisterView(load_register(settings.register_file))


def builtin_recipients(settings: Settings, register: RegisterView) -> tuple[str, ...]:
    return settings.builtin_recipient_names(tuple(register.register.recipients))


def build_context(
    settings: Settings,
    secret: bytes,
    publisher,
    *,
    transport: MailTransport | None = None,
    registry: AdapterRegistry | None = None,
) -> Context:
    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    register = register_view(settings)
    ctx = Context(
        config=pipeline_config(settings, secret, register),
        vault=key_vault(settings, secret),
        transport=transport or smtp_transport(settings),
        exports=export_store(settings),
        publisher=publisher,
        register=register,
    )
    recipients = builtin_recipients(settings, register)
    registry = registry if registry is not None else reference_adapters(settings, secret, recipients)
    webhooks = webhook_adapters(settings.webhooks, settings.system_names(), secret, settings.webhook_timeout)
    mapped = sql_adapters(settings.sql_adapters, set(register.register.retention_rules))
    for adapter in [*webhooks, *mapped]:  # in-process whatever DSR_BUILTIN_ADAPTERS says; replaces a built-in
        registry.register(adapter)
    names = [*dict.fromkeys([*settings.builtin_names(), *(a.name for a in [*webhooks, *mapped])]), *recipients]
    answers = data_dir / "answers"  # idempotency by task id, per system
    ctx.task_runners = {name: _runner(ctx, registry.get(name), answers) for name in names}
    return ctx


def key_vault(settings: Settings, secret: bytes) -> KeyVault:
    """PostgreSQL when workers share it (DSR_VAULT_DSN), else the SQLite file under the data dir."""
    if not settings.vault_dsn:
        return SqliteKeyVault(Path(settings.data_dir) / "keys.sqlite3", secret)
    try:
        return PostgresKeyVault(settings.vault_dsn, secret)
    except StoreUnreachable as exc:
        raise SystemExit(str(exc)) from None


def export_store(settings: Settings) -> ExportStore:
    """Where access copies wait for their download: DSR_EXPORTS_DSN, else DSR_EXPORTS_DIR, else beside
    a shared vault (DSR_VAULT_DSN: workers that share keys share downloads), else under the data dir."""
    if settings.exports_dsn or (settings.vault_dsn and not settings.exports_dir):
        setting = "DSR_EXPORTS_DSN" if settings.exports_dsn else "DSR_VAULT_DSN"
        try:
            return PostgresExportStore(settings.exports_dsn or settings.vault_dsn, setting)
        except StoreUnreachable as exc:
            raise SystemExit(str(exc)) from None
    return FileExportStore(settings.exports_dir or Path(settings.data_dir) / "exports")


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


def build_app(settings: Settings, secret: bytes, **ports) -> tuple[faust.App, Context]:
    """The whole pipeline as a faust app, nothing connected yet."""
    if not settings.kafka_bootstrap:
        raise SystemExit("DSR_KAFKA_BOOTSTRAP is not set: give host:port of a Kafka broker (or use `dsr dev`)")
    app = make_faust_app(
        settings.kafka_bootstrap,
        settings.web_host,
        settings.web_port,
        settings.data_dir,
        settings.partitions,
        settings.kafka_session_timeout,
        settings.replication_factor,
        credentials=faust_credentials(settings.kafka_security()),
        allow_declare=settings.create_topics,
    )
    ctx = build_context(settings, secret, FaustPublisher(app), **ports)
    return wire(app, ctx), ctx


def _runner(ctx: Context, adapter: Adapter, answers: Path):
    run = functools.partial(run_task, adapter, open_sealed=ctx.sealer.open, seal=ctx.sealer.seal_existing)
    return remembered(run, AnswerRecord(answers / f"{adapter.name}.sqlite3"))
