"""What every stream function receives: configuration, ports and a clock, built by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gdpr.lifecycle import CasePolicy
from mail.ledger import MemorySentLedger, SentLedger
from mail.retry import RetryPolicy
from mail.templates import EmailRenderer
from mail.transport import MailTransport
from schemas.clock import Clock, utcnow
from schemas.tasks import Task, TaskResult
from streams.doors_port import FrontDoorStore, MemoryFrontDoorStore
from streams.metrics import PipelineMetrics
from streams.ports import (
    CaseHolds,
    DocumentStore,
    ExportStore,
    KeyVault,
    MemoryCaseHolds,
    MemoryDocumentStore,
    Publisher,
)
from streams.register_view import RegisterView
from streams.sealing import Sealer

TaskRunner = Callable[[Task], Awaitable[TaskResult]]


@dataclass(frozen=True)
class Controller:
    """The company answering requests, as named in e-mails. Its name and address have no default: the composition
    root gives those of the settings, else of the register's controller (R24), never a sample company's."""

    name: str
    postal_address: str
    dpo_email: str = "dpo@example.test"
    privacy_url: str = "http://127.0.0.1:8080/privacy"

    def as_context(self) -> dict:
        return {
            "name": self.name,
            "dpo_email": self.dpo_email,
            "postal_address": self.postal_address,
            "privacy_url": self.privacy_url,
        }


@dataclass(frozen=True)
class PipelineConfig:
    secret_key: bytes
    public_url: str
    systems: tuple[str, ...]
    mail_from: str
    controller: Controller
    marketing_systems: tuple[str, ...] = ("crm", "newsletter")  # from the register: told to stop on objection
    dpo_language: str = "fr"
    policy: CasePolicy = CasePolicy()
    verification_ttl: timedelta = timedelta(days=14)
    download_ttl: timedelta = timedelta(days=7)
    mail_retry: RetryPolicy = RetryPolicy()  # transient SMTP failures: capped backoff within a budget
    processing_attempts: int = 3  # transient failures of a stream function before dead-lettering
    tick_seconds: float = 30.0
    partitions: int = 1
    intake_per_minute: int = 120  # events a website may post a minute (POST /intake), every worker counted
    requests_per_address: int = 5  # privacy center: submissions per address per hour
    requests_per_ip: int = 20  # privacy center: submissions per client address per hour
    trust_forwarded_for: bool = False  # per-IP limits count the client X-Forwarded-For names (behind a proxy)
    document_ttl: timedelta = timedelta(days=30)  # an uploaded document nobody checked is deleted after this (R16)
    status_ttl: timedelta = timedelta(days=400)  # the receipt's status link: the longest a case stays open
    # A form submission's key (no case): leased this long, then destroyed by the clock unless a case claimed it.
    submission_key_ttl: timedelta = timedelta(days=30)

    @property
    def mail_tick_seconds(self) -> float:
        """How often the clock looks for e-mails due again: as often as the first pause, within [0.5 s, tick]."""
        return max(0.5, min(self.tick_seconds, self.mail_retry.first.total_seconds()))


@dataclass
class Context:
    config: PipelineConfig
    vault: KeyVault
    transport: MailTransport
    exports: ExportStore
    publisher: Publisher
    register: RegisterView  # the record of processing (R44): purposes, recipients, bases, retention
    renderer: EmailRenderer = field(default_factory=EmailRenderer)
    task_runners: dict[str, TaskRunner] = field(default_factory=dict)
    clock: Clock = utcnow
    metrics: PipelineMetrics = field(default_factory=PipelineMetrics)
    doors: FrontDoorStore = field(default_factory=MemoryFrontDoorStore)  # shared by every worker (composition)
    documents: DocumentStore = field(default_factory=MemoryDocumentStore)  # uploaded IDs and proofs, sealed
    sent_ledger: SentLedger = field(default_factory=MemorySentLedger)  # which e-mails went out, every worker's
    case_holds: CaseHolds = field(default_factory=MemoryCaseHolds)  # what the retention sweep must keep (R46)
    # The daily retention sweep (dsr/retention_clock.py), called by a timer on the group's leader (R44).
    retention_sweep: Callable[[datetime, list[str]], Awaitable[None]] | None = None  # (now, the group's admin URLs)
    sealer: Sealer = field(init=False)

    def __post_init__(self) -> None:
        self.sealer = Sealer(self.vault, self.config.secret_key)
