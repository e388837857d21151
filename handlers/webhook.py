"""The webhook adapter: each verb is one signed HTTP POST to a system that cannot read Kafka (docs/webhooks.md)."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import re
import ssl
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from gdpr.register import Register
from handlers.protocol import (
    DATA_ACTIONS,
    MARKETING_CHANNELS,
    DueRecord,
    ErasureReport,
    Export,
    HoldsOf,
    InvalidTask,
    LookupAnswer,
    RectificationReport,
    RestrictionReport,
    RetentionScan,
    Subject,
    SuppressionReport,
    TaskRefused,
    UnkeyedDue,
    UnsupportedAction,
    capabilities_for,
    no_holds,
)
from handlers.runtime import TransientAdapterError
from schemas.clock import utcnow
from schemas.tasks import KeptItem, LegalHold, TaskAction

log = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-DSR-Timestamp"
SIGNATURE_HEADER = "X-DSR-Signature"
DELIVERY_HEADER = "X-DSR-Delivery"
SIGNATURE_VERSION = "v1"
DEFAULT_TIMEOUT = 10.0  # seconds per connect and per read; the runtime bounds the whole task
ERROR_TEXT_LIMIT = 200  # characters of the remote's error text kept in our message
MAX_ANSWER_BYTES = 32 * 1024 * 1024
RETRYABLE_4XX = frozenset({408, 429})  # request timeout, too many requests: later may work
ORIGINS = frozenset({"provided", "observed", "inferred"})

# The whole request body: these common fields, then the action's own. Nothing else is ever sent.
COMMON_FIELDS = ("action", "system", "subject")
ACTION_FIELDS: dict[TaskAction, tuple[str, ...]] = {
    TaskAction.LOOKUP: (),
    TaskAction.EXPORT: (),
    TaskAction.ERASE: ("holds",),  # and `categories`, only when the task names some (OPTIONAL_FIELDS)
    TaskAction.RECTIFY: ("changes",),
    TaskAction.RESTRICT: ("reason",),
    TaskAction.LIFT_RESTRICTION: (),
    TaskAction.SUPPRESS_MARKETING: ("channels", "source"),
    TaskAction.RECORD_SUBMISSION: ("submission_id", "kind", "data"),
}
# Fields sent only when they have a value: an erase by category names its categories (R44); a whole-person erase
# is the same request as before they existed, so a receiver that does not know them serves it unchanged.
OPTIONAL_FIELDS: dict[TaskAction, tuple[str, ...]] = {TaskAction.ERASE: ("categories",)}
# The retention verb (R44) is no task: no subject, the day in `as_of`; a receiver that does not scan answers 422
# unsupported_action, and the plan lists the system as such (docs/webhooks.md).
RETENTION_SCAN = "retention_scan"
PURGE_EXPIRED = "purge_expired"  # the same fields: delete the records the scan answered as `unkeyed` on `as_of`
SCAN_FIELDS = ("action", "system", "as_of")
# Refusal codes a receiver puts in a 4xx body, and the error each becomes here (RightsContract expects InvalidTask).
INVALID_TASK, UNSUPPORTED_ACTION, REFUSED = "invalid_task", "unsupported_action", "refused"


class RemoteRefused(TaskRefused):
    """The system answered a final 4xx (or a redirect): sending the same task again would not help."""


class RemoteInvalidTask(RemoteRefused, InvalidTask):
    """The system says the task's fields cannot be acted on (code invalid_task)."""


class RemoteUnsupportedAction(RemoteRefused, UnsupportedAction):
    """The system says it does not do this verb (code unsupported_action)."""


class MalformedAnswer(TaskRefused):
    """A 2xx whose body does not follow the verb's documented response: final, the DPO must look."""


def signature(secret: bytes, timestamp: str, delivery: str, body: bytes) -> str:
    """`v1=` + hex HMAC-SHA256 of "<timestamp>.<delivery>.<body>": the delivery id is signed, so a replay
    cannot dodge the receiver's ledger by changing it."""
    mac = hmac.new(secret, f"{timestamp}.{delivery}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def signed_headers(secret: bytes, body: bytes, now: datetime, delivery: str | None = None) -> dict[str, str]:
    timestamp, delivery = str(int(now.timestamp())), delivery or uuid.uuid4().hex
    return {
        TIMESTAMP_HEADER: timestamp,
        DELIVERY_HEADER: delivery,
        SIGNATURE_HEADER: signature(secret, timestamp, delivery, body),
    }


class WebhookAdapter:
    """A system behind an HTTPS endpoint. 2xx: the answer; 5xx, 408, 429, timeouts and connection errors:
    TransientAdapterError (the runtime retries); other 4xx: RemoteRefused, final. `actions`: the verbs the
    remote system supports, declared here so the runtime refuses the others without a call."""

    def __init__(
        self,
        name: str,
        url: str,
        secret: bytes | str,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], datetime] = utcnow,
        actions: Iterable[TaskAction] = DATA_ACTIONS,
    ) -> None:
        actions = frozenset(actions)
        if not actions <= DATA_ACTIONS:
            others = sorted(a.value for a in actions - DATA_ACTIONS)
            raise ValueError(f"a webhook system takes data verbs only, not {others}")
        self.name, self.url, self.timeout, self._clock = name, url, timeout, clock
        # It sends an erase's categories; a receiver whose system cannot erase by category says so in its scan
        # (`by_category` false: the sweep then asks it for whole people only) and refuses an erase naming some.
        self.capabilities = capabilities_for(actions, retention_scan=True, erase_categories=True)
        self._secret = secret.encode() if isinstance(secret, str) else secret
        self._target = _split_url(url)

    # --- Verbs ------------------------------------------------------------------------------------

    def record_submission(self, submission_id: str, kind: str, subject: Subject, data: dict) -> None:
        self._call(TaskAction.RECORD_SUBMISSION, subject, submission_id=submission_id, kind=kind, data=data)

    def lookup(self, subject: Subject) -> LookupAnswer:
        with self._reading(TaskAction.LOOKUP, subject) as answer:
            return LookupAnswer(
                holds_data=_field(answer, "holds_data", bool), channels=tuple(_texts(answer, "channels", default=[]))
            )

    def export(self, subject: Subject) -> Export:
        with self._reading(TaskAction.EXPORT, subject) as answer:
            return Export(records=_records(_field(answer, "records", dict)))

    def erase(
        self, subject: Subject, holds: tuple[LegalHold, ...] = (), categories: tuple[str, ...] = ()
    ) -> ErasureReport:
        held = [h.model_dump(mode="json") for h in holds]
        named = {"categories": list(categories)} if categories else {}
        with self._reading(TaskAction.ERASE, subject, holds=held, **named) as answer:
            return ErasureReport(erased_items=_count(answer, "erased_items"), kept=_kept(answer))

    def rectify(self, subject: Subject, changes: dict) -> RectificationReport:
        with self._reading(TaskAction.RECTIFY, subject, changes=changes) as answer:
            return RectificationReport(changed=_changed(_field(answer, "changed", dict)))

    def restrict(self, subject: Subject, reason: str) -> RestrictionReport:
        with self._reading(TaskAction.RESTRICT, subject, reason=reason) as answer:
            return RestrictionReport(items=_count(answer, "items"))

    def lift_restriction(self, subject: Subject) -> RestrictionReport:
        with self._reading(TaskAction.LIFT_RESTRICTION, subject) as answer:
            return RestrictionReport(items=_count(answer, "items"))

    def suppress_marketing(
        self, subject: Subject, channels: tuple[str, ...], source: str = "objection"
    ) -> SuppressionReport:
        with self._reading(TaskAction.SUPPRESS_MARKETING, subject, channels=list(channels), source=source) as answer:
            stopped = _texts(answer, "channels")
            if not set(stopped) <= set(MARKETING_CHANNELS):
                raise _Malformed(f"'channels' must be among {', '.join(MARKETING_CHANNELS)}")
            return SuppressionReport(channels=tuple(stopped), kept=_kept(answer))

    def retention_scan(
        self, as_of: date, register: Register | None = None, holds_of: HoldsOf = no_holds
    ) -> RetentionScan:
        """R44: the system applies its own copy of the rules; `register` stays here, and so does `holds_of`: the
        records the system answers as `unkeyed` name no one, so no hold on a person reaches them."""
        with self._retention(RETENTION_SCAN, as_of) as answer:
            due = tuple(_due(entry) for entry in _field(answer, "due", list))
            unkeyed = tuple(_unkeyed(entry) for entry in _field(answer, "unkeyed", list, []))
            by_category = _field(answer, "by_category", bool, False)
            return RetentionScan(due=due, waiting=_waiting(answer), unkeyed=unkeyed, by_category=by_category)

    def purge_expired(self, as_of: date, register: Register | None = None, holds_of: HoldsOf = no_holds) -> int:
        """R44, R45: the system deletes the records its scan answered as `unkeyed` on `as_of`; how many."""
        with self._retention(PURGE_EXPIRED, as_of) as answer:
            return _count(answer, "purged")

    @contextmanager
    def _retention(self, verb: str, as_of: date) -> Iterator[dict]:
        answer = self._send(verb, {"action": verb, "system": self.name, "as_of": as_of.isoformat()})
        try:
            yield answer
        except _Malformed as exc:
            raise MalformedAnswer(
                f"system '{self.name}' answered '{verb}' off the documented schema: {exc} (docs/webhooks.md)"
            ) from None

    # --- HTTP ---------------------------------------------------------------------------------------

    @contextmanager
    def _reading(self, action: TaskAction, subject: Subject, **params: Any) -> Iterator[dict]:
        """The verb's answer; a body off the documented schema becomes MalformedAnswer, never a crash."""
        answer = self._call(action, subject, **params)
        try:
            yield answer
        except _Malformed as exc:
            raise MalformedAnswer(
                f"system '{self.name}' answered '{action.value}' off the documented schema: {exc} (docs/webhooks.md)"
            ) from None

    def _call(self, action: TaskAction, subject: Subject, **params: Any) -> dict:
        if action not in self.capabilities.actions:
            raise UnsupportedAction(f"webhook system '{self.name}' does not declare '{action.value}'")
        payload = {
            "action": action.value,
            "system": self.name,
            "subject": {"email": subject.email, "name": subject.name},
            **params,
        }
        return self._send(action, payload)

    def _send(self, action: TaskAction | str, payload: dict) -> dict:
        verb = getattr(action, "value", action)
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = signed_headers(self._secret, body, self._clock())
        status, answer = self._post(body, {"Content-Type": "application/json", **headers})
        # Never the subject: system, verb, status and the delivery id to match the receiver's logs.
        log.info("webhook %s %s: HTTP %s, delivery %s", self.name, verb, status, headers[DELIVERY_HEADER])
        if 200 <= status < 300:
            return self._decode(action, answer)
        if status >= 500 or status in RETRYABLE_4XX:
            raise TransientAdapterError(f"system '{self.name}' answered '{verb}' with HTTP {status}")
        raise _refusal(self.name, action, status, answer, payload)

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        scheme, host, port, path = self._target
        if scheme == "https":
            connection = http.client.HTTPSConnection(
                host, port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read(MAX_ANSWER_BYTES + 1)
        except ssl.SSLCertVerificationError:
            raise RemoteRefused(f"system '{self.name}': the webhook's TLS certificate does not verify") from None
        except (OSError, http.client.HTTPException) as exc:  # timeouts, refused or reset connections
            raise TransientAdapterError(f"system '{self.name}': {type(exc).__name__} calling the webhook") from None
        finally:
            connection.close()

    def _decode(self, action: TaskAction | str, answer: bytes) -> dict:
        if action is TaskAction.RECORD_SUBMISSION and not answer.strip():
            return {}
        try:
            if len(answer) > MAX_ANSWER_BYTES:
                raise ValueError("too large")
            decoded = json.loads(answer)
        except ValueError:
            decoded = None
        if not isinstance(decoded, dict):
            raise MalformedAnswer(
                f"system '{self.name}' answered '{getattr(action, 'value', action)}' with a body that is not a "
                f"JSON object (docs/webhooks.md)"
            )
        return decoded


def _split_url(url: str) -> tuple[str, str, int | None, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("a webhook URL is http(s)://host[:port]/path")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, parts.port, path


# --- Refusals: status, the remote's code and its text, short and without what we sent ---------------


def _refusal(system: str, action: TaskAction | str, status: int, answer: bytes, sent: dict) -> RemoteRefused:
    code, text = _error_of(answer)
    kind = {INVALID_TASK: RemoteInvalidTask, UNSUPPORTED_ACTION: RemoteUnsupportedAction}.get(code, RemoteRefused)
    if 300 <= status < 400:
        text = "webhooks do not follow redirects: configure the final URL"
    reason = redact(text, sent) or "no reason given"
    return kind(f"system '{system}' refused '{getattr(action, 'value', action)}' (HTTP {status}): {reason}")


def _error_of(answer: bytes) -> tuple[str, str]:
    try:
        decoded = json.loads(answer)
    except ValueError:
        return "", answer.decode("utf-8", "replace")
    if isinstance(decoded, dict):
        return str(decoded.get("code", "")), str(decoded.get("error", ""))
    return "", str(decoded)


_EMAIL = re.compile(r"[^\s@<>\"']+@[^\s@<>\"']+")


def redact(text: str, sent: dict) -> str:
    """The remote's text, one line, truncated, with every personal value we sent (and any address) masked."""
    for value in sorted(_personal_values(sent), key=len, reverse=True):
        text = re.sub(re.escape(value), "[redacted]", text, flags=re.IGNORECASE)
    text = " ".join(_EMAIL.sub("[redacted]", text).split())
    return text if len(text) <= ERROR_TEXT_LIMIT else text[:ERROR_TEXT_LIMIT] + "…"


def _personal_values(sent: dict) -> set[str]:
    """The strings of subject, changes and data, and the words of names and address local parts."""
    values: set[str] = set()
    for part in (sent.get("subject"), sent.get("changes"), sent.get("data")):
        values.update(_strings(part))
    words = {w for v in values for w in re.split(r"[\s.@_+\-]+", v)}
    return {v for v in values | words if len(v) >= 3}


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


# --- Answers: each verb's documented response, checked field by field --------------------------------


class _Malformed(Exception):
    """Why an answer is off the schema; names fields, never echoes values."""


_REQUIRED = object()


def _field(answer: dict, key: str, kind: type, default: Any = _REQUIRED) -> Any:
    value = answer.get(key)
    value = default if value is None else value  # null reads as absent
    if value is _REQUIRED:
        raise _Malformed(f"'{key}' is missing")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Malformed(f"'{key}' must be {_KINDS[kind]}")
    return value


_KINDS = {bool: "true or false", int: "an integer", dict: "an object", list: "a list", str: "text"}


def _count(answer: dict, key: str) -> int:
    value = _field(answer, key, int)
    if value < 0:
        raise _Malformed(f"'{key}' must not be negative")
    return value


def _texts(answer: dict, key: str, default: Any = _REQUIRED) -> list[str]:
    values = _field(answer, key, list, default)
    if not all(isinstance(v, str) for v in values):
        raise _Malformed(f"'{key}' must be a list of text")
    return values


def _kept(answer: dict) -> tuple[KeptItem, ...]:
    try:
        return tuple(KeptItem.model_validate(item) for item in _field(answer, "kept", list, []))
    except ValidationError:
        raise _Malformed("'kept' entries are {item, count, ground, until} with an Art. 17(3) ground") from None


def _records(records: dict) -> dict[str, list[dict]]:
    for rows in records.values():
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise _Malformed("'records' maps each category to a list of objects")
        if not all(r.get("_origin") in ORIGINS for r in rows):
            raise _Malformed(f"every record needs '_origin': one of {', '.join(sorted(ORIGINS))}")
    return records


def _changed(changed: dict) -> dict[str, tuple[Any, Any]]:
    if not all(isinstance(pair, list) and len(pair) == 2 for pair in changed.values()):
        raise _Malformed("'changed' maps each field to [old, new]")
    return {name: (old, new) for name, (old, new) in changed.items()}


def _due(entry: object) -> DueRecord:
    """One `due` entry: {email, category, rule, action, end_date, count}."""
    if not isinstance(entry, dict):
        raise _Malformed("'due' is a list of objects")
    try:
        end = date.fromisoformat(_field(entry, "end_date", str))
    except ValueError:
        raise _Malformed("'end_date' must be a date, YYYY-MM-DD") from None
    texts = {key: _field(entry, key, str) for key in ("email", "category", "rule", "action")}
    return DueRecord(**texts, end_date=end, count=_field(entry, "count", int, 1))


def _unkeyed(entry: object) -> UnkeyedDue:
    """One `unkeyed` entry: {category, rule, action, end_date, last_end_date, count}; records of no person."""
    if not isinstance(entry, dict):
        raise _Malformed("'unkeyed' is a list of objects")
    try:
        ends = {key: date.fromisoformat(_field(entry, key, str)) for key in ("end_date", "last_end_date")}
    except ValueError:
        raise _Malformed("'end_date' and 'last_end_date' must be dates, YYYY-MM-DD") from None
    texts = {key: _field(entry, key, str) for key in ("category", "rule", "action")}
    return UnkeyedDue(**texts, **ends, count=_count(entry, "count"))


def _waiting(answer: dict) -> int:
    value = _field(answer, "waiting", int, 0)
    if value < 0:
        raise _Malformed("'waiting' must not be negative")
    return value
