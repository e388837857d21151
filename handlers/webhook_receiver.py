"""The receiving end of webhook tasks, as a system's team would write it: verify, refuse replays, call an Adapter.

`WebhookReceiver.handle(headers, body) -> (status, answer)` holds all the logic and knows no web framework;
`serve` and `running` put it behind the standard library's HTTP server (what the contract tests run against).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from pydantic import ValidationError

from gdpr.register import Register
from handlers.protocol import (
    Adapter,
    InvalidTask,
    Subject,
    TaskRefused,
    UnkeyedDue,
    UnsupportedAction,
    erases_by_category,
    purges_unkeyed,
    scans_retention,
)
from handlers.webhook import (
    ACTION_FIELDS,
    COMMON_FIELDS,
    DELIVERY_HEADER,
    INVALID_TASK,
    OPTIONAL_FIELDS,
    PURGE_EXPIRED,
    REFUSED,
    RETENTION_SCAN,
    SCAN_FIELDS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    UNSUPPORTED_ACTION,
    signature,
)
from schemas.clock import utcnow
from schemas.tasks import LegalHold, TaskAction

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=5)  # a request older (or further ahead) than this is refused, whatever its signature
MAX_BODY_BYTES = 1024 * 1024
_DELIVERY_ID = re.compile(r"^[A-Za-z0-9_-]{8,100}$")

Answer = tuple[int, dict]


class BadSignature(Exception):
    """Why a request is not accepted as ours: the reason is safe to send back."""


def verify_signature(
    secret: bytes, timestamp: str, delivery: str, body: bytes, header: str, now: datetime, window: timedelta = WINDOW
) -> None:
    """Raise BadSignature unless `header` holds a v1 signature of this exact request made within the window.

    The header may list several signatures (`v1=...,v1=...`) while a secret is being rotated."""
    if not timestamp.isdigit():
        raise BadSignature(f"{TIMESTAMP_HEADER} must be unix seconds")
    expected = signature(secret, timestamp, delivery, body)
    if not any(hmac.compare_digest(expected, given.strip()) for given in header.split(",")):
        raise BadSignature(f"the signature in {SIGNATURE_HEADER} does not match the request")
    if abs(now.timestamp() - int(timestamp)) > window.total_seconds():
        raise BadSignature(f"{TIMESTAMP_HEADER} is outside the {int(window.total_seconds() // 60)}-minute window")


class DeliveryLedger:
    """Delivery ids seen within the window, so each is accepted once. Behind several instances, share it
    (a table with a unique key, or SET NX with a 10-minute expiry) instead of this in-memory one."""

    def __init__(self, window: timedelta = WINDOW) -> None:
        self._window = window.total_seconds()
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def first_time(self, delivery: str, timestamp: int, now: datetime) -> bool:
        with self._lock:
            # older entries can go: their timestamps are outside the window, so verify_signature refuses them
            self._seen = {d: t for d, t in self._seen.items() if t >= now.timestamp() - self._window}
            if delivery in self._seen:
                return False
            self._seen[delivery] = timestamp
            return True


class WebhookReceiver:
    """Answers webhook tasks for one Adapter: 401 bad signature or stale timestamp, 409 replayed delivery,
    400 malformed request, 422 refused task (with code), 500 unexpected failure (the sender retries)."""

    def __init__(
        self,
        adapter: Adapter,
        secret: bytes | str,
        clock: Callable[[], datetime] = utcnow,
        ledger: DeliveryLedger | None = None,
        register: Register | None = None,
    ) -> None:
        self.adapter = adapter
        self.register = register  # the rules retention_scan applies (R44); None: the verb is not offered
        self._secret = secret.encode() if isinstance(secret, str) else secret
        self._clock = clock
        self._ledger = ledger or DeliveryLedger()

    def handle(self, headers: Mapping[str, str], body: bytes) -> Answer:
        headers = {k.lower(): v for k, v in headers.items()}
        timestamp, delivery = headers.get(TIMESTAMP_HEADER.lower(), ""), headers.get(DELIVERY_HEADER.lower(), "")
        if not _DELIVERY_ID.match(delivery):
            return _error(400, f"{DELIVERY_HEADER} must be 8 to 100 letters, digits, '-' or '_'")
        now = self._clock()
        try:
            verify_signature(self._secret, timestamp, delivery, body, headers.get(SIGNATURE_HEADER.lower(), ""), now)
        except BadSignature as exc:
            return _error(401, str(exc), "bad_signature")
        if not self._ledger.first_time(delivery, int(timestamp), now):
            return _error(409, "this delivery was already received", "replayed")
        return self._act(body)

    def _act(self, body: bytes) -> Answer:
        verb = _retention_verb(body)
        if verb == RETENTION_SCAN:
            return self._scan(body)
        if verb == PURGE_EXPIRED:
            return self._purge(body)
        try:
            action, subject, params = _parse(body, self.adapter.name)
        except ValueError as exc:
            return _error(400, str(exc))
        if action not in self.adapter.capabilities.actions:
            return _error(422, f"'{action.value}' is not supported here", UNSUPPORTED_ACTION)
        try:
            return 200, _VERBS[action](self.adapter, subject, params)
        except UnsupportedAction as exc:  # messages of TaskRefused carry no personal data, by contract
            return _error(422, str(exc), UNSUPPORTED_ACTION)
        except InvalidTask as exc:
            return _error(422, str(exc), INVALID_TASK)
        except TaskRefused as exc:
            return _error(422, str(exc), REFUSED)
        except Exception:
            log.exception("webhook %s failed", action.value)
            return _error(500, "the system could not act")

    def _scan(self, body: bytes) -> Answer:
        """R44: the records past their end on `as_of`, each with the person's address (the answer travels
        back over the signed channel, as an export does)."""
        if self.register is None or not scans_retention(self.adapter):
            return _error(422, f"'{RETENTION_SCAN}' is not supported here", UNSUPPORTED_ACTION)
        try:
            as_of = _scan_day(json.loads(body), self.adapter.name)
        except ValueError as exc:
            return _error(400, str(exc))
        found = self.adapter.retention_scan(as_of, self.register)
        due = [{**d.__dict__, "end_date": d.end_date.isoformat()} for d in found.due]
        unkeyed = [_unkeyed_entry(u) for u in found.unkeyed]
        by_category = found.by_category and erases_by_category(self.adapter)
        answer = {"due": due, "waiting": found.waiting, "by_category": by_category}
        return 200, answer | ({"unkeyed": unkeyed} if unkeyed else {})

    def _purge(self, body: bytes) -> Answer:
        """R44, R45: the records past their end that the scan answered as `unkeyed`, deleted by the system."""
        if self.register is None or not purges_unkeyed(self.adapter):
            return _error(422, f"'{PURGE_EXPIRED}' is not supported here", UNSUPPORTED_ACTION)
        try:
            as_of = _scan_day(json.loads(body), self.adapter.name, PURGE_EXPIRED)
        except ValueError as exc:
            return _error(400, str(exc))
        return 200, {"purged": self.adapter.purge_expired(as_of, self.register)}


def _unkeyed_entry(found: UnkeyedDue) -> dict:
    dates = {"end_date": found.end_date.isoformat(), "last_end_date": found.last_end_date.isoformat()}
    return {"category": found.category, "rule": found.rule, "action": found.action, "count": found.count} | dates


def _retention_verb(body: bytes) -> str | None:
    try:
        request = json.loads(body)
    except ValueError:
        return None
    verb = request.get("action") if isinstance(request, dict) else None
    return verb if verb in (RETENTION_SCAN, PURGE_EXPIRED) else None


def _scan_day(request: dict, system: str, verb: str = RETENTION_SCAN) -> date:
    if set(request) != set(SCAN_FIELDS):
        raise ValueError(f"'{verb}' takes exactly {', '.join(SCAN_FIELDS)}")
    if request["system"] != system:
        raise ValueError("this request is for another system")
    try:
        return date.fromisoformat(request["as_of"])
    except (TypeError, ValueError):
        raise ValueError("'as_of' must be a date, YYYY-MM-DD") from None


def _error(status: int, text: str, code: str = "") -> Answer:
    return status, {"error": text, **({"code": code} if code else {})}


# --- The request: documented fields only, each of its type ---------------------------------------------

_TYPES: dict[str, type] = {
    "holds": list,
    "categories": list,
    "changes": dict,
    "reason": str,
    "channels": list,
    "source": str,
    "submission_id": str,
    "kind": str,
    "data": dict,
}


def _parse(body: bytes, system: str) -> tuple[TaskAction, Subject, dict[str, Any]]:
    try:
        request = json.loads(body)
        action = TaskAction(request["action"])
        required = set(COMMON_FIELDS) | set(ACTION_FIELDS[action])
        optional = set(OPTIONAL_FIELDS.get(action, ()))
    except (ValueError, TypeError, KeyError):
        raise ValueError("the body must be a JSON object with a known 'action'") from None
    if unknown := set(request) - required - optional:
        raise ValueError(f"unknown field(s) for '{action.value}': {', '.join(sorted(unknown))}")
    if missing := required - set(request):
        raise ValueError(f"missing field(s) for '{action.value}': {', '.join(sorted(missing))}")
    if request["system"] != system:
        raise ValueError("this endpoint serves another system")
    if bad := [k for k, kind in _TYPES.items() if k in request and not isinstance(request[k], kind)]:
        raise ValueError(f"wrong type for: {', '.join(bad)}")
    params = {k: request[k] for k in ACTION_FIELDS[action]} | {k: request[k] for k in optional & set(request)}
    return action, _subject(request["subject"]), params


def _subject(value: object) -> Subject:
    if (
        not isinstance(value, dict)
        or not set(value) <= {"email", "name"}
        or not isinstance(value.get("email"), str)
        or not isinstance(value.get("name", ""), str)
    ):
        raise ValueError("'subject' must be {email, name} as text")
    return Subject(**value)


def _holds(raw: list) -> tuple[LegalHold, ...]:
    try:
        return tuple(LegalHold.model_validate(h) for h in raw)
    except ValidationError:
        raise InvalidTask("'holds' entries are {hold_id, categories, ground, owner, review_on}") from None


# --- Verbs: the adapter's report as the documented response -------------------------------------------


def _kept(kept) -> list[dict]:
    return [k.model_dump(mode="json") for k in kept]


def _lookup(adapter: Adapter, subject: Subject, params: dict) -> dict:
    answer = adapter.lookup(subject)
    return {"holds_data": answer.holds_data, "channels": list(answer.channels)}


def _export(adapter: Adapter, subject: Subject, params: dict) -> dict:
    return {"records": adapter.export(subject).records}


def _erase(adapter: Adapter, subject: Subject, params: dict) -> dict:
    holds, named = _holds(params["holds"]), _categories(params.get("categories", []))
    if not named:
        report = adapter.erase(subject, holds=holds)
    elif erases_by_category(adapter):  # R44: the sweep's categories past their end; the others stay
        report = adapter.erase(subject, holds=holds, categories=named)
    else:  # never the whole person in their place
        raise InvalidTask("this system does not erase by category; the request names categories")
    return {"erased_items": report.erased_items, "kept": _kept(report.kept)}


def _categories(raw: list) -> tuple[str, ...]:
    if not all(isinstance(c, str) and c for c in raw):
        raise InvalidTask("'categories' is a list of category names")
    return tuple(raw)


def _rectify(adapter: Adapter, subject: Subject, params: dict) -> dict:
    changed = adapter.rectify(subject, params["changes"]).changed
    return {"changed": {name: [old, new] for name, (old, new) in changed.items()}}


def _restrict(adapter: Adapter, subject: Subject, params: dict) -> dict:
    return {"items": adapter.restrict(subject, params["reason"]).items}


def _lift_restriction(adapter: Adapter, subject: Subject, params: dict) -> dict:
    return {"items": adapter.lift_restriction(subject).items}


def _suppress_marketing(adapter: Adapter, subject: Subject, params: dict) -> dict:
    report = adapter.suppress_marketing(subject, tuple(params["channels"]), source=params["source"])
    return {"channels": list(report.channels), "kept": _kept(report.kept)}


def _record_submission(adapter: Adapter, subject: Subject, params: dict) -> dict:
    adapter.record_submission(params["submission_id"], params["kind"], subject, params["data"])
    return {}


_VERBS: dict[TaskAction, Callable[[Adapter, Subject, dict], dict]] = {
    TaskAction.LOOKUP: _lookup,
    TaskAction.EXPORT: _export,
    TaskAction.ERASE: _erase,
    TaskAction.RECTIFY: _rectify,
    TaskAction.RESTRICT: _restrict,
    TaskAction.LIFT_RESTRICTION: _lift_restriction,
    TaskAction.SUPPRESS_MARKETING: _suppress_marketing,
    TaskAction.RECORD_SUBMISSION: _record_submission,
}


# --- HTTP: the standard library's server in a thread -------------------------------------------------


class Handles(Protocol):
    def handle(self, headers: Mapping[str, str], body: bytes) -> Answer: ...


def serve(receiver: Handles, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """Start answering POSTs in a daemon thread; `server.server_address` says the port; stop with shutdown()."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                status, answer = _error(413, f"bodies are limited to {MAX_BODY_BYTES} bytes")
            else:
                status, answer = receiver.handle(dict(self.headers.items()), self.rfile.read(length))
            payload = json.dumps(answer, ensure_ascii=False, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - bodies and subjects stay out of logs
            log.debug("webhook receiver: %s", format % args)

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), name="webhook-receiver", daemon=True).start()
    return server


@contextmanager
def running(receiver: Handles, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """The receiver's URL while it runs."""
    server = serve(receiver, host, port)
    try:
        yield f"http://{host}:{server.server_address[1]}/dsr"
    finally:
        server.shutdown()
        server.server_close()
