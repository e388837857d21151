"""In-memory twins of the systems holding personal data and of Art. 19 recipients, for unit and contract tests."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from gdpr.register import Register
from handlers.protocol import (
    DATA_ACTIONS,
    MARKETING_CHANNELS,
    Capabilities,
    ErasureReport,
    Export,
    LookupAnswer,
    RectificationReport,
    RestrictionReport,
    RetentionScan,
    Subject,
    SuppressionReport,
    capabilities_for,
)
from handlers.verbs import (
    ALL_CATEGORIES,
    ART18,
    check_changes,
    check_channels,
    check_code,
    check_notice,
    erased_categories,
    held_categories,
    hold_basis,
    hold_reason,
    kept_by_hold,
    new_value,
    normal_address,
    notice_row,
    scan_exports,
    subject_hash,
    tagged,
)
from schemas.clock import utcnow
from schemas.identity import normalize_email
from schemas.tasks import KeepGround, KeptItem, LegalHold, RecipientNotice, TaskAction

__all__ = ["MemoryAdapter", "MemoryInbox", "capabilities_for"]

ORIGINS = frozenset({"provided", "observed", "inferred"})
DEFAULT_KEPT_GROUND = KeepGround.LEGAL_OBLIGATION

Records = dict[str, list[dict]]
Marks = dict[tuple[str, str], str]  # (category or '*', basis) -> reason


class MemoryAdapter:
    """Records per normalized e-mail and category. Erase drops them, except `kept_categories`,
    which move to a restricted archive and are reported as kept (R26), like invoices in a CRM,
    and categories under a legal hold, which stay in place, marked restricted (R46).
    `marketing_channels` are the channels the system markets on (() for a system that does not)."""

    def __init__(
        self,
        name: str,
        actions: Iterable[TaskAction] = DATA_ACTIONS,
        kept_categories: Iterable[str] = (),
        kept_ground: str = DEFAULT_KEPT_GROUND,
        marketing_channels: Iterable[str] = MARKETING_CHANNELS,
        retention_scan: bool = True,
        erase_categories: bool = True,
    ) -> None:
        self.name = name
        self.capabilities = capabilities_for(actions, retention_scan, erase_categories)
        self.kept_categories = frozenset(kept_categories)
        self.kept_ground = kept_ground
        self.marketing_channels = frozenset(marketing_channels)
        self._active: dict[str, Records] = {}
        self._archive: dict[str, Records] = {}
        self._marks: dict[str, Marks] = {}
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def seed(self, email: str, category: str, record: dict) -> None:
        """Put a record on file as if the system had it already; `_origin` defaults to "provided"."""
        record = {"_origin": "provided", **copy.deepcopy(record)}
        if record["_origin"] not in ORIGINS:
            raise ValueError(f"_origin must be one of {sorted(ORIGINS)}")
        with self._lock:
            self._active.setdefault(normalize_email(email), {}).setdefault(category, []).append(record)

    def record_submission(self, submission_id: str, kind: str, subject: Subject, data: dict) -> None:
        record = {"submission_id": submission_id, "kind": kind, **copy.deepcopy(data), "_origin": "provided"}
        with self._lock:
            # the ledger outlives erasure, so a replayed submission does not bring the data back
            if submission_id in self._seen:
                return
            self._seen.add(submission_id)
            self._active.setdefault(normalize_email(subject.email), {}).setdefault("submissions", []).append(record)

    def lookup(self, subject: Subject) -> LookupAnswer:
        with self._lock:
            records = _flatten(self._active.get(normalize_email(subject.email), {}))
        return LookupAnswer(holds_data=bool(records), channels=_channels(records) if records else ())

    def export(self, subject: Subject) -> Export:
        key = normalize_email(subject.email)
        with self._lock:
            marks = self._marks.get(key, {})
            records = {
                c: [tagged(copy.deepcopy(r), _reasons(marks, c)) for r in rows]
                for c, rows in self._active.get(key, {}).items()
                if rows
            }
            for category, rows in self._archive.get(key, {}).items():
                records.setdefault(category, []).extend({**copy.deepcopy(r), "_restricted": True} for r in rows)
        return Export(records=records)

    def erase(
        self, subject: Subject, holds: tuple[LegalHold, ...] = (), categories: tuple[str, ...] = ()
    ) -> ErasureReport:
        """`categories`: only those go (R44), the others stay as they are; none named: the whole person."""
        key = normalize_email(subject.email)
        with self._lock:
            records = self._active.pop(key, {})
            held = held_categories(list(records), holds)
            going = erased_categories(records, categories)
            erased = sum(self._erase_category(key, c, rows, c in held or c not in going) for c, rows in records.items())
            self._mark_holds(key, held)
            kept = self._kept(key) + self._held(key, held)
        return ErasureReport(erased_items=erased, kept=kept)

    def rectify(self, subject: Subject, changes: dict) -> RectificationReport:
        """R25: every record holding a field gets the new value; the report says old -> new once per field."""
        changes = check_changes(changes)
        changed: dict[str, tuple[Any, Any]] = {}
        with self._lock:
            for record in _flatten(self._active.get(normalize_email(subject.email), {})):
                for name in changes.keys() & record.keys():
                    _rectify_record(record, name, changes[name], changed)
        return RectificationReport(changed=changed)

    def restrict(self, subject: Subject, reason: str) -> RestrictionReport:
        """Art. 18(2), R27: every record is marked; nothing is recorded for someone not on file."""
        reason, key = check_code(reason, "restriction reason"), normalize_email(subject.email)
        with self._lock:
            count = len(_flatten(self._active.get(key, {})))
            if count:
                self._marks.setdefault(key, {})[(ALL_CATEGORIES, ART18)] = reason
        return RestrictionReport(items=count)

    def lift_restriction(self, subject: Subject) -> RestrictionReport:
        key = normalize_email(subject.email)
        with self._lock:
            lifted = self._marks.get(key, {}).pop((ALL_CATEGORIES, ART18), None)
            count = len(_flatten(self._active.get(key, {}))) if lifted else 0
        return RestrictionReport(items=count)

    def suppress_marketing(
        self, subject: Subject, channels: tuple[str, ...], source: str = "objection"
    ) -> SuppressionReport:
        """R30, R31: a refusal per channel, shaped like a CRM consent record; nothing created for a stranger."""
        stopped = tuple(c for c in check_channels(channels) if c in self.marketing_channels)
        source = check_code(source, "suppression source")
        with self._lock:
            records = self._active.get(normalize_email(subject.email))
            if records:
                consents = records.setdefault("consents", [])
                consents.extend(_refusal(c, source) for c in stopped if not _refused(consents, c, source))
        return SuppressionReport(channels=stopped)

    def retention_scan(self, as_of: date, register: Register) -> RetentionScan:
        """R44: every person on file, dated as their export dates them (handlers.verbs.scan_exports)."""
        with self._lock:
            emails = sorted(self._active)
        exports = ((email, self.export(Subject(email=email)).records) for email in emails)
        return scan_exports(register, self.name, exports, as_of, by_category=self.capabilities.erase_categories)

    def _erase_category(self, key: str, category: str, rows: list[dict], stays: bool) -> int:
        """Rows erased; held rows (and those of categories not asked for) stay active, kept categories move to the
        archive."""
        if stays:
            self._active.setdefault(key, {})[category] = rows
        elif category in self.kept_categories:
            self._archive.setdefault(key, {}).setdefault(category, []).extend(rows)
        else:
            return len(rows)
        return 0

    def _mark_holds(self, key: str, held: dict[str, LegalHold]) -> None:
        """Marks follow the holds of the latest erase; with no data left, no mark is left either."""
        if key not in self._active:
            self._marks.pop(key, None)
            return
        marks = {k: v for k, v in self._marks.get(key, {}).items() if not k[1].startswith("hold:")}
        marks.update({(c, hold_basis(h)): hold_reason(h) for c, h in held.items() if c in self._active[key]})
        self._marks[key] = marks

    def _kept(self, key: str) -> tuple[KeptItem, ...]:
        archived = self._archive.get(key, {})
        return tuple(KeptItem(item=c, count=len(rows), ground=self.kept_ground) for c, rows in archived.items())

    def _held(self, key: str, held: dict[str, LegalHold]) -> tuple[KeptItem, ...]:
        active = self._active.get(key, {})
        return tuple(kept_by_hold(c, len(rows), held[c]) for c, rows in active.items() if c in held)


class MemoryInbox:
    """In-memory twin of RecipientInbox (handlers/reference/recipients.py): Art. 19 notices by task id (R35)."""

    def __init__(self, name: str, secret: bytes = b"memory-inbox", clock: Callable[[], datetime] = utcnow) -> None:
        self.name = name
        self.capabilities: Capabilities = capabilities_for({TaskAction.NOTIFY_RECIPIENT})
        self._secret = secret
        self._clock = clock
        self._notices: dict[str, dict] = {}
        self._lock = threading.Lock()

    def receive(self, task_id: str, notice: RecipientNotice, subject: Subject) -> None:
        notice = check_notice(self.name, notice)
        row = notice_row(
            self.name, task_id, notice, subject_hash(self._secret, self.name, subject.email), self._clock().isoformat()
        )
        with self._lock:
            self._notices.setdefault(task_id, row)

    def notices(self) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(row) for row in self._notices.values()]


def _flatten(records: Records) -> list[dict]:
    return [record for rows in records.values() for record in rows]


def _reasons(marks: Marks, category: str) -> list[str]:
    return [reason for (marked, _), reason in marks.items() if marked in (category, ALL_CATEGORIES)]


def _rectify_record(record: dict, name: str, value: Any, changed: dict[str, tuple[Any, Any]]) -> None:
    old = normal_address(record[name]) if name == "postal_address" else record[name]
    new = new_value(name, old, value)
    if new != old:
        record[name] = new
        changed.setdefault(name, (old, new))


def _refusal(channel: str, source: str) -> dict:
    return {"channel": channel, "granted": False, "source": source, "_origin": "provided"}


def _refused(consents: list[dict], channel: str, source: str) -> bool:
    latest = [c for c in consents if c.get("channel") == channel][-1:]
    return bool(latest) and latest[0].get("granted") is False and latest[0].get("source") == source


def _channels(records: list[dict]) -> tuple[str, ...]:
    """Records are filed by e-mail, so e-mail is always on file; phone and post if any record has them."""
    channels = ["email"]
    if any(r.get("phone") for r in records):
        channels.append("phone")
    if any(r.get("postal_address") or r.get("street") for r in records):
        channels.append("post")
    return tuple(channels)
