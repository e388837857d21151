"""Pure helpers every adapter uses, so each system applies the rights verbs the same way."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from gdpr.register import Register, RetentionRule
from gdpr.retention import past_end, retention_end
from gdpr.ropa import retention_dates
from handlers.protocol import (
    ADDRESS_FIELDS,
    MARKETING_CHANNELS,
    RECTIFIABLE_FIELDS,
    RESTRICTION_TAG,
    DueRecord,
    InvalidTask,
    RetentionScan,
    UnkeyedDue,
)
from schemas.identity import normalize_email
from schemas.tasks import KeptItem, LegalHold, RecipientNotice

ALL_CATEGORIES = "*"  # a hold or a restriction on every category
ART18 = "art18"  # basis of a mark set by restrict (Art. 18(1)); holds use "hold:<hold_id>"


def safe_name(value: object) -> str:
    """A key echoed in an error only if it looks like a code, never like a value someone typed."""
    return repr(value) if isinstance(value, str) and value.isidentifier() and len(value) <= 40 else "(unnamed)"


# --- Rectification (R25) ------------------------------------------------------------------------


def check_changes(changes: object) -> dict[str, Any]:
    """A rectification payload: known fields, text or None values, known address parts."""
    if not isinstance(changes, dict) or not changes:
        raise InvalidTask("rectify needs at least one field in 'changes'")
    for name, value in changes.items():
        if name not in RECTIFIABLE_FIELDS:
            raise InvalidTask(
                f"cannot rectify field {safe_name(name)}: rectifiable fields are {', '.join(RECTIFIABLE_FIELDS)}"
            )
        if name == "postal_address":
            _check_address(value)
        elif value is not None and not isinstance(value, str):
            raise InvalidTask(f"rectify: {name} must be text")
    return changes


def _check_address(value: object) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or not set(value) <= set(ADDRESS_FIELDS):
        raise InvalidTask(f"rectify: postal_address must be a dict of {', '.join(ADDRESS_FIELDS)}")
    if any(part is not None and not isinstance(part, str) for part in value.values()):
        raise InvalidTask("rectify: postal_address parts must be text")


def normal_address(address: dict | None) -> dict | None:
    """All four parts, or None when none is known: how addresses are compared and reported."""
    parts = {k: (address or {}).get(k) for k in ADDRESS_FIELDS}
    return parts if any(v is not None for v in parts.values()) else None


def new_value(name: str, old: Any, value: Any) -> Any:
    """The value after rectification. An address is merged part by part: parts not given stay."""
    if name != "postal_address":
        return value
    return None if value is None else normal_address({**(old or {}), **value})


# --- Objection and withdrawal (R30-R32) ---------------------------------------------------------


def check_channels(channels: Iterable[str]) -> tuple[str, ...]:
    """Known marketing channels, in canonical order. Never empty: 'all' is spelled out by the caller."""
    wanted = set(channels)
    if not wanted:
        raise InvalidTask("suppress_marketing needs at least one channel")
    if unknown := wanted - set(MARKETING_CHANNELS):
        raise InvalidTask(
            f"unknown marketing channel(s) {', '.join(sorted(map(safe_name, unknown)))}; "
            f"channels are {', '.join(MARKETING_CHANNELS)}"
        )
    return tuple(c for c in MARKETING_CHANNELS if c in wanted)


def check_code(value: object, what: str) -> str:
    """A reason or source code: short, so no free text with personal data slips into a system."""
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise InvalidTask(f"{what} must be a short code")
    return value.strip()


# --- Restriction and legal holds (R27, R46) -----------------------------------------------------


def held_categories(categories: Iterable[str], holds: Iterable[LegalHold]) -> dict[str, LegalHold]:
    """Which of a system's categories are under hold, and by which hold ('*' covers all; first hold wins)."""
    held: dict[str, LegalHold] = {}
    for hold in holds:
        covered = categories if ALL_CATEGORIES in hold.categories else hold.categories
        for category in covered:
            held.setdefault(category, hold)
    return held


def hold_basis(hold: LegalHold) -> str:
    return f"hold:{hold.hold_id}"


def hold_reason(hold: LegalHold) -> str:
    return f"legal_hold:{hold.hold_id}"


def kept_by_hold(category: str, count: int, hold: LegalHold) -> KeptItem:
    """R26: what was not erased, with its 17(3) ground and the date the hold is reviewed (R46)."""
    return KeptItem(item=category, count=count, ground=hold.ground, until=hold.review_on.isoformat())


def tagged(record: dict, reasons: Iterable[str]) -> dict:
    """The record as exported: tagged with why it is restricted, if it is (R27: marked in the system)."""
    reasons = sorted(set(reasons))
    return {**record, RESTRICTION_TAG: ", ".join(reasons)} if reasons else record


# --- Art. 19 notices (R35) ----------------------------------------------------------------------


def check_notice(recipient: str, notice: RecipientNotice | None) -> RecipientNotice:
    """A notice must be there and be meant for this recipient: a misrouted one is refused, not filed."""
    if notice is None:
        raise InvalidTask("notify_recipient needs a notice")
    if notice.recipient != recipient:
        raise InvalidTask(f"notice for recipient {safe_name(notice.recipient)} reached {safe_name(recipient)}")
    return notice


def subject_hash(secret: bytes, recipient: str, email: str) -> str:
    """Keyed and per recipient: links notices about one person at one recipient, reveals no address."""
    message = f"recipient:{recipient}:{normalize_email(email)}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def notice_row(recipient: str, task_id: str, notice: RecipientNotice, digest: str, received_at: str) -> dict:
    return {
        "recipient": recipient,
        "task_id": task_id,
        "change": notice.change.value,
        "systems": list(notice.systems),
        "fields": list(notice.fields),
        "subject_hash": digest,
        "received_at": received_at,
    }


# --- Retention (R44) ----------------------------------------------------------------------------

ARCHIVE_TAG = "_restricted"  # rows of the restricted archive: erase leaves them (Art. 17(3)(b))


def scan_exports(
    register: Register,
    system: str,
    exports: Iterable[tuple[str, Mapping[str, list[dict]]]],
    as_of: date,
    by_category: bool = False,
) -> RetentionScan:
    """`retention_scan` over `(email, export records)` pairs: the dates are those of the access answer
    (gdpr.ropa.retention_dates), so a scan and an answer never disagree about a person's end date. `by_category`
    (a system whose erase takes categories): every category past its end, whatever else of the person runs (R44);
    otherwise a person only once all their dated categories are, the others counted `waiting`."""
    due: list[DueRecord] = []
    waiting = 0
    for email, records in exports:
        found, running = due_of(register, system, email, records, as_of)
        due += found if by_category or not running else []
        waiting += bool(found and running and not by_category)
    return RetentionScan(due=tuple(due), waiting=waiting, by_category=by_category)


def erased_categories(categories: Iterable[str], named: Iterable[str]) -> frozenset[str]:
    """The categories an erase takes: those `named` among the system's (R44, the sweep's), all when none is named."""
    categories, named = frozenset(categories), frozenset(named)
    return categories & named if named else categories


def due_of(
    register: Register, system: str, email: str, records: Mapping[str, list[dict]], as_of: date
) -> tuple[list[DueRecord], bool]:
    """One person's categories past their end on `as_of` (gdpr.retention.past_end: kept through the end date, due
    the day after), and whether some other category still runs (undated ones count as running: never guess an end,
    R44). The restricted archive is left out."""
    live = {c: rows for c, rows in records.items() if rows and not all(r.get(ARCHIVE_TAG) for r in rows)}
    due, running = [], False
    for entry in retention_dates(register, system, live):
        until = entry["until"] and date.fromisoformat(entry["until"])
        if until and past_end(until, as_of):
            count = len(live[entry["category"]])
            due.append(DueRecord(email, entry["category"], entry["rule"], entry["action"], until, count))
        else:
            running = True
    return due, running


def category_rule(register: Register, system: str, category: str) -> RetentionRule | None:
    """The register's retention rule for one category of a system; None when the register does not describe it."""
    entry = register.systems.get(system)
    described = entry.categories.get(category) if entry else None
    return register.retention_rules[described.retention] if described else None


def expired_rows(
    register: Register, system: str, category: str, rows: Iterable[tuple[Any, dict]], as_of: date
) -> dict[Any, date]:
    """Records a system purges one by one rather than per person (R44): those of `(key, row)` past their end on
    `as_of`, each dated alone by the category's rule, as the access answer dates a record (kept through the end)."""
    rule = category_rule(register, system, category)
    if rule is None:
        return {}
    ends = {key: retention_end(rule, {category: [row]}, category) for key, row in rows}
    return {key: end for key, end in ends.items() if end and past_end(end, as_of)}


def unkeyed_due(
    register: Register, system: str, category: str, ends: Iterable[date], held: int = 0
) -> tuple[UnkeyedDue, ...]:
    """What `retention_scan` reports of such records (`RetentionScan.unkeyed`): their count and oldest and latest
    ends, and how many of them a legal hold keeps (R46); nothing that names a person; empty when none is past its
    end."""
    ends = list(ends)
    rule = category_rule(register, system, category)
    if rule is None or not ends:
        return ()
    return (UnkeyedDue(category, rule.id, rule.action.value, min(ends), max(ends), len(ends), held),)
