"""The back-office SDK: a team writes `def erase(task) -> Erased`; this consumes, validates, deduplicates,
retries, publishes the result and commits (kafka-python, no faust).

    office = BackOffice(system="billing", bootstrap="127.0.0.1:9092", api_url="http://127.0.0.1:8081",
                        token=TOKEN)  # TOKEN: `dsr system-token billing`

    @office.handles("erase")
    def erase(task: OpenedTask) -> Erased:
        return Erased(erased_items=store.delete(task.email), kept=[...])

    office.run()  # until Ctrl-C, or office.run(stop_event)

The retention sweep asks the systems of DSR_RETENTION_SCAN_SYSTEMS what is past its retention end (R44): give the
register and the system's own scan, the `retention_scan` verb of any in-process adapter (handlers/protocol.py):

    office = BackOffice(..., register=load_register(None))
    office.handles("retention_scan")(store.retention_scan)   # (as_of, register) -> RetentionScan
    office.handles("purge_expired")(store.purge_expired)     # optional: (as_of, register) -> int, its `unkeyed`

The SDK answers the scan request in pages on `dsr.retention-scans`, each page's people named by subject_ref and
their address sealed by the pipeline (docs/backoffice-sdk.md).

On a cluster that asks for TLS or credentials, give `security=KafkaSecurity(...)` (handlers/kafka_security.py;
`KafkaSecurity.from_env()` reads the pipeline's DSR_KAFKA_* variables); `kafka_options` passes anything else
to kafka-python's consumer and producer as is.

One consumer, one thread: tasks are answered one at a time, in order per partition, so a slow handler
delays the tasks behind it on its partition (never another system's). To work on several at once, start
more processes with the same system name: the consumer group `backoffice-<system>` spreads the
partitions of `dsr.tasks.<system>` among them. A handler must return within `max_poll_interval_ms`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata
from pydantic import ValidationError

from gdpr.register import Register
from handlers.kafka_security import KafkaSecurity
from handlers.sdk_ports import HttpTaskApi, SqliteAnswerRecord, SubjectErased, TaskApi, TokenRejected
from handlers.sdk_scan import PurgeHandler, ScanHandler, is_scan_request, scan_pages
from schemas.intake import describe
from schemas.scans import PURGE_EXPIRED, RETENTION_SCAN, RetentionScanRequest
from schemas.sealed import Sealed
from schemas.tasks import KeepGround, KeptItem, LegalHold, RecipientNotice, Task, TaskAction, TaskResult, TaskStatus

__all__ = [
    "BackOffice",
    "OpenedTask",
    "Lookup",
    "Exported",
    "Erased",
    "Rectified",
    "Restricted",
    "Suppressed",
    "Acknowledged",
    "Retry",
    "Refuse",
    "KeptItem",
    "KeepGround",
    "TokenRejected",
    "KafkaSecurity",
    "KafkaUnreachable",
]

log = logging.getLogger(__name__)

TASK_RESULTS = "dsr.task-results"
RETENTION_SCANS = "dsr.retention-scans"  # retention scan pages (streams/topics.py; a unit test keeps them equal)
# Dead-letter headers, the same as the pipeline's own (streams/topics.py; a unit test keeps them equal).
DLQ_REASON = "dsr-dlq-reason"
DLQ_ORIGIN_TOPIC = "dsr-dlq-origin-topic"
DLQ_ORIGIN_PARTITION = "dsr-dlq-origin-partition"
DLQ_ORIGIN_OFFSET = "dsr-dlq-origin-offset"
DLQ_AT = "dsr-dlq-at"


class Retry(Exception):
    """Raise from a handler when the system may succeed later (database down, lock timeout)."""


class Refuse(Exception):
    """Raise from a handler to answer `failed` at once, with this message: write it without personal data."""


@dataclass(frozen=True)
class OpenedTask:
    """A task with its subject opened: who it is about in clear, and the action's fields (schemas/tasks.py)."""

    task: Task
    email: str
    name: str = ""
    payload: dict | None = None

    @property
    def task_id(self) -> str:
        return self.task.task_id

    @property
    def subject_request_id(self) -> str:
        return self.task.subject_request_id

    @property
    def action(self) -> TaskAction:
        return self.task.action

    @property
    def channels(self) -> list[str]:
        """suppress_marketing: email, sms, phone, post ("all" or none: every channel)."""
        return self.task.channels

    @property
    def holds(self) -> list[LegalHold]:
        """erase: categories under a legal hold, which must stay (R46)."""
        return self.task.holds

    @property
    def categories(self) -> list[str]:
        """erase: only these categories go, the others stay (the retention sweep's, R44); empty: the whole person.
        Sent only to an office whose erase handler was declared `handles("erase", by_category=True)`."""
        return self.task.categories

    @property
    def reason(self) -> str | None:
        """restrict: the Art. 18(1) case; suppress_marketing: objection or withdrawal."""
        return self.task.reason

    @property
    def notice(self) -> RecipientNotice | None:
        """notify_recipient: the Art. 19 notice."""
        return self.task.notice

    @property
    def changes(self) -> dict:
        """rectify: {field: new value} (first_name, last_name, phone, postal_address)."""
        return (self.payload or {}).get("changes") or {}


Seal = Callable[[dict], Sealed]


@dataclass(frozen=True)
class Lookup:
    holds_data: bool
    channels: Sequence[str] = ()

    def fields(self, seal: Seal) -> dict:
        return {"holds_data": self.holds_data, "channels": list(self.channels)}


@dataclass(frozen=True)
class Exported:
    """{category: [rows]}; tag each row with `_origin` (provided, observed, inferred), see README."""

    records: Mapping[str, list[dict]]

    def fields(self, seal: Seal) -> dict:
        records = {category: list(rows) for category, rows in self.records.items()}
        return {"exported_items": sum(map(len, records.values())), "export": seal({"export": {"records": records}})}


@dataclass(frozen=True)
class Erased:
    erased_items: int
    kept: Sequence[KeptItem] = ()  # what stays, with its Art. 17(3) ground (R26)

    def fields(self, seal: Seal) -> dict:
        return {"erased_items": self.erased_items, "kept": list(self.kept)}


@dataclass(frozen=True)
class Rectified:
    changed: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)  # {field: (old, new)}, R25

    def fields(self, seal: Seal) -> dict:
        if not self.changed:
            return {}
        changes = {name: {"old": old, "new": new} for name, (old, new) in self.changed.items()}
        return {"fields_changed": sorted(self.changed), "changes": seal({"changes": changes})}


@dataclass(frozen=True)
class Restricted:
    items: int  # records marked (restrict) or freed (lift_restriction)

    def fields(self, seal: Seal) -> dict:
        return {"restricted_items": self.items}


@dataclass(frozen=True)
class Suppressed:
    channels: Sequence[str]  # add "profiling" when marketing profiling stopped too (Art. 21(2))
    kept: Sequence[KeptItem] = ()  # e.g. the suppression entry (R45)
    erased_items: int = 0  # data erased for want of another basis once consent went (Art. 17(1)(b))

    def fields(self, seal: Seal) -> dict:
        return {"suppressed_channels": list(self.channels), "kept": list(self.kept), "erased_items": self.erased_items}


@dataclass(frozen=True)
class Acknowledged:
    """notify_recipient, record_submission: done, nothing to report."""

    def fields(self, seal: Seal) -> dict:
        return {}


EXPECTED: dict[TaskAction, type] = {
    TaskAction.LOOKUP: Lookup,
    TaskAction.EXPORT: Exported,
    TaskAction.ERASE: Erased,
    TaskAction.RECTIFY: Rectified,
    TaskAction.RESTRICT: Restricted,
    TaskAction.LIFT_RESTRICTION: Restricted,
    TaskAction.SUPPRESS_MARKETING: Suppressed,
    TaskAction.NOTIFY_RECIPIENT: Acknowledged,
    TaskAction.RECORD_SUBMISSION: Acknowledged,
}


@dataclass(frozen=True)
class Outcome:
    """What to do with one message: publish `result` (if any), dead-letter the message (if `dead_letter`)."""

    result: TaskResult | None = None
    dead_letter: str | None = None
    replayed: bool = False  # answered from the record, the handler not called


class KafkaUnreachable(Exception):
    """The consumer or producer could not start: wrong address, TLS or credentials (fatal, never a hang)."""


class Stopped(Exception):
    """run() was asked to stop during a backoff: the task stays uncommitted and comes back on restart."""


class BackOffice:
    """Serves `dsr.tasks.<system>` with the handlers registered through `handles`."""

    def __init__(
        self,
        system: str,
        bootstrap: str = "127.0.0.1:9092",
        api_url: str = "http://127.0.0.1:8081",
        token: str = "",
        *,
        state_dir: Path | str = Path("var") / "backoffice",
        answers_db: Path | str | None = None,
        api: TaskApi | None = None,
        attempts: int = 3,
        backoff: float = 0.5,
        publish_timeout: float = 30.0,
        max_poll_interval_ms: int = 300_000,
        security: KafkaSecurity | None = None,
        kafka_options: Mapping[str, Any] | None = None,
        register: Register | None = None,
    ) -> None:
        self.system, self.bootstrap = system, bootstrap
        self.register = register  # the rules a retention_scan handler applies (R44)
        self._scan: ScanHandler | None = None
        self._purge: PurgeHandler | None = None  # records of no person past their end (R44, R45)
        self.security = security or KafkaSecurity()
        self.kafka_options = dict(kafka_options or {})
        self.topic = f"dsr.tasks.{system}"
        self.api = api or HttpTaskApi(api_url, token)
        self.answers = SqliteAnswerRecord(
            Path(answers_db) if answers_db else Path(state_dir) / f"{system}-answers.sqlite3"
        )
        self.attempts, self.backoff, self.publish_timeout = attempts, backoff, publish_timeout
        self.max_poll_interval_ms = max_poll_interval_ms
        self._handlers: dict[TaskAction, Callable[[OpenedTask], Any]] = {}
        self.erase_by_category = False  # the erase handler honours `task.categories` (R44)
        self._stop = threading.Event()

    def handles(self, action: str | TaskAction, *, by_category: bool = False) -> Callable:
        """Decorator: `@office.handles("erase")` on `def erase(task: OpenedTask) -> Erased`; and
        `@office.handles("retention_scan")` on `def scan(as_of: date, register: Register) -> RetentionScan`;
        `@office.handles("purge_expired")` on `def purge(as_of: date, register: Register) -> int`, deleting what
        the scan counts as `unkeyed` on that date; and `@office.handles("erase", by_category=True)`: the handler
        erases only `task.categories` when the task names some, so the retention sweep may ask for each category
        at its own end (R44)."""
        if action == RETENTION_SCAN:
            return self._handles_scan()
        if action == PURGE_EXPIRED:
            return self._handles_purge()
        if by_category and action != TaskAction.ERASE:
            raise ValueError("by_category is for the erase handler only")
        try:
            verb = TaskAction(action)
        except ValueError:
            raise ValueError(f"unknown action '{action}'; actions: {', '.join(a.value for a in TaskAction)}") from None
        if verb in self._handlers:
            raise ValueError(f"'{verb.value}' already has a handler: {self._handlers[verb].__name__}")

        def register(handler: Callable[[OpenedTask], Any]) -> Callable[[OpenedTask], Any]:
            self._handlers[verb] = handler
            self.erase_by_category |= by_category
            return handler

        return register

    def _handles_scan(self) -> Callable:
        if self.register is None:
            raise ValueError(
                "a retention_scan handler needs the register: BackOffice(..., register=load_register(...))"
            )
        if self._scan is not None:
            raise ValueError(f"'retention_scan' already has a handler: {self._scan.__name__}")

        def register(handler: ScanHandler) -> ScanHandler:
            self._scan = handler
            return handler

        return register

    def _handles_purge(self) -> Callable:
        if self.register is None:
            raise ValueError("a purge_expired handler needs the register: BackOffice(..., register=load_register(...))")
        if self._purge is not None:
            raise ValueError(f"'purge_expired' already has a handler: {self._purge.__name__}")

        def register(handler: PurgeHandler) -> PurgeHandler:
            self._purge = handler
            return handler

        return register

    # --- one message: no Kafka here, so tests call it with a fake API ----------------------------------
    def answer(self, raw: bytes | None) -> Outcome:
        """Validate, deduplicate by task id, run the handler with retries; never raises but TokenRejected/Stopped."""
        try:
            task = Task.model_validate_json(raw or b"")
        except ValidationError as exc:
            return Outcome(dead_letter=f"invalid task: {describe(exc)}")
        if task.system != self.system:
            return Outcome(dead_letter=f"task for system '{task.system}' on {self.topic}")
        recorded = self.answers.get(task.task_id)
        if recorded is not None:
            return Outcome(result=recorded, replayed=True)
        handler = self._handlers.get(task.action)
        if handler is None:  # a clear answer, never silence: the DPO is told and the case waits
            handled = ", ".join(sorted(a.value for a in self._handlers)) or "nothing"
            return Outcome(
                result=_result(
                    task,
                    TaskStatus.FAILED,
                    error=(
                        f"unsupported action: system '{self.system}' has no handler for '{task.action.value}' "
                        f"(it handles: {handled})"
                    ),
                )
            )
        if task.categories and not self.erase_by_category:  # never the whole person in their place (R44)
            error = f"system '{self.system}' does not erase by category; the task names categories"
            return Outcome(result=_result(task, TaskStatus.FAILED, error=error))
        return self._attempts(task, handler)

    def _attempts(self, task: Task, handler: Callable[[OpenedTask], Any]) -> Outcome:
        error = "not attempted"
        for attempt in range(1, self.attempts + 1):
            try:
                result = _result(task, TaskStatus.DONE, **self._act(task, handler))
                self.answers.put(result)  # before publishing: a crash after this replays, never re-runs
                return Outcome(result=result)
            except (Refuse, SubjectErased) as exc:  # their messages carry no personal data
                return Outcome(result=_result(task, TaskStatus.FAILED, error=f"{type(exc).__name__}: {exc}"))
            except TokenRejected:
                raise
            except Exception as exc:  # noqa: BLE001 - the case must hear about it; only the type is logged
                error = f"{type(exc).__name__} after {attempt} attempt(s)"
                log.warning("task %s (%s) failed: %s", task.task_id, task.action.value, error)
                if attempt < self.attempts and self._stop.wait(self.backoff * 2 ** (attempt - 1)):
                    raise Stopped() from None
        return Outcome(result=_result(task, TaskStatus.FAILED, error=error), dead_letter=f"handler failed: {error}")

    def _act(self, task: Task, handler: Callable[[OpenedTask], Any]) -> dict:
        opened = self.api.open(task)
        subject = opened.get("subject") or {}
        answer = handler(OpenedTask(task, subject.get("email", ""), subject.get("name", ""), opened.get("payload")))
        expected = EXPECTED[task.action]
        if not isinstance(answer, expected):
            raise TypeError(
                f"the '{task.action.value}' handler returned {type(answer).__name__}, not {expected.__name__}"
            )
        return answer.fields(lambda value: self.api.seal(task, value))

    # --- Kafka ------------------------------------------------------------------------------------
    def serve(self, message: Any, consumer: Any, producer: Any) -> None:
        """Answer one consumed message, publish (waiting for the acks), then commit its offset."""
        if is_scan_request(message.value):
            self.serve_scan(message, consumer, producer)
            return
        outcome = self.answer(message.value)
        if outcome.replayed:
            log.info("task %s answered again from the record", outcome.result.task_id)
        if outcome.result is not None:
            key = outcome.result.subject_request_id.encode()
            producer.send(TASK_RESULTS, key=key, value=outcome.result.to_bytes()).get(self.publish_timeout)
        if outcome.dead_letter is not None:
            self._dead_letter(message, outcome.dead_letter, producer)
        consumer.commit({_partition(message): _offset_after(message)})
        if outcome.result is not None:
            log.info(
                "answered task %s (%s): %s",
                outcome.result.task_id,
                outcome.result.action.value,
                outcome.result.status.value,
            )

    def serve_scan(self, message: Any, consumer: Any, producer: Any) -> None:
        """A retention scan request: every page published (each acked) before the request is committed. A
        request read again after a crash is scanned again; the sweep keeps the first copy of each page."""
        try:
            request = RetentionScanRequest.model_validate_json(message.value)
        except ValidationError as exc:
            self._dead_letter(message, f"invalid retention scan request: {describe(exc)}", producer)
        else:
            if request.system != self.system:
                self._dead_letter(message, f"retention scan for system '{request.system}' on {self.topic}", producer)
            else:
                self._publish_pages(request, producer)
        consumer.commit({_partition(message): _offset_after(message)})

    def _publish_pages(self, request: RetentionScanRequest, producer: Any) -> None:
        pages = 0
        for page in scan_pages(request, self._scan, self.register, self.api, self._purge, self.erase_by_category):
            key = request.scan_id.encode()
            producer.send(RETENTION_SCANS, key=key, value=page.to_bytes()).get(self.publish_timeout)
            pages, status = pages + 1, page.status.value
        log.info("answered retention scan %s in %d page(s): %s", request.scan_id, pages, status)

    def _dead_letter(self, message: Any, reason: str, producer: Any) -> None:
        headers = _dlq_headers(message, reason)
        producer.send(f"{self.topic}.dlq", key=message.key, value=message.value, headers=headers).get(
            self.publish_timeout
        )
        log.warning("dead-lettered %s[%s]@%s: %s", message.topic, message.partition, message.offset, reason)

    def run(self, stop: threading.Event | None = None) -> None:
        """Consume until `stop` is set (or Ctrl-C). A message is committed only once answered."""
        self._stop = stop or threading.Event()
        consumer, producer = self._clients()
        try:
            self._loop(consumer, producer)
        except Stopped:
            pass
        finally:
            consumer.close(autocommit=False)
            producer.close()

    def _clients(self) -> tuple[KafkaConsumer, KafkaProducer]:
        common = {
            "bootstrap_servers": self.bootstrap,
            "client_id": f"backoffice-{self.system}",
            **self.security.client_kwargs(),
            **self.kafka_options,
        }
        try:
            consumer = KafkaConsumer(
                self.topic,
                group_id=f"backoffice-{self.system}",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_interval_ms=self.max_poll_interval_ms,
                **common,
            )
        except KafkaError as exc:  # kafka-python gives up on the bootstrap after its timeout (30 s)
            raise KafkaUnreachable(self._unreachable(exc)) from None
        try:
            return consumer, KafkaProducer(acks="all", **common)
        except KafkaError as exc:
            consumer.close(autocommit=False)
            raise KafkaUnreachable(self._unreachable(exc)) from None

    def _unreachable(self, exc: KafkaError) -> str:
        return (
            f"no Kafka broker accepted us at {self.bootstrap} with {self.security!r} ({type(exc).__name__}): check "
            "`bootstrap`, then `security` (security_protocol, ca_file, username and password)"
        )

    def _loop(self, consumer: Any, producer: Any) -> None:
        while not self._stop.is_set():
            for message in [m for batch in consumer.poll(timeout_ms=500, max_records=1).values() for m in batch]:
                try:
                    self.serve(message, consumer, producer)
                except KafkaError as exc:  # not committed: read it again (a recorded answer is replayed)
                    log.warning(
                        "could not publish the answer to %s@%s: %s", message.topic, message.offset, type(exc).__name__
                    )
                    with suppress(KafkaError, AssertionError):  # revoked meanwhile: its new owner reads it
                        consumer.seek(_partition(message), message.offset)
                    self._stop.wait(self.backoff)


def _result(task: Task, status: TaskStatus, **fields) -> TaskResult:
    return TaskResult(
        task_id=task.task_id,
        subject_request_id=task.subject_request_id,
        system=task.system,
        action=task.action,
        status=status,
        completed_at=datetime.now(UTC),
        **fields,
    )


def _dlq_headers(message: Any, reason: str) -> list[tuple[str, bytes]]:
    values = {
        DLQ_REASON: reason[:1000],
        DLQ_ORIGIN_TOPIC: message.topic,
        DLQ_ORIGIN_PARTITION: str(message.partition),
        DLQ_ORIGIN_OFFSET: str(message.offset),
        DLQ_AT: datetime.now(UTC).isoformat(),
    }
    return [(name, value.encode()) for name, value in values.items()]


def _partition(message: Any) -> TopicPartition:
    return TopicPartition(message.topic, message.partition)


def _offset_after(message: Any) -> OffsetAndMetadata:
    return OffsetAndMetadata(message.offset + 1, "", -1)
