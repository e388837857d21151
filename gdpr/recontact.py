"""The prospect's one re-contact before their end (CNIL-COM, §5 row 5), pure: who is asked, and the signed link."""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from gdpr.deadlines import PARIS
from gdpr.sealing import b64url, unb64url
from gdpr.sweep import Due, sweep_request_id
from gdpr.tokens import TokenError, derived_secret

RECONTACT_NAMESPACE = uuid.UUID("9e3c1b52-7a4d-4f0e-8c61-2d5b7f9a0c34")
REQUEST_PREFIX = "recontact-"
LINK_PURPOSE = "recontact-link"  # the links' HMAC key is derived from DSR_SECRET_KEY for this purpose only
PATH = "keep"  # {DSR_PUBLIC_URL}/keep/<token>: GET asks, POST answers yes


@dataclass(frozen=True)
class Ask:
    """One person to ask, by subject_ref: the systems their yes is recorded in, and the earliest end among them."""

    subject_ref: str
    systems: tuple[str, ...]
    end_date: date


def to_ask(
    due: Iterable[Due],
    today: date,
    days: int,
    rules: Container[str],
    systems: Container[str],
    asked: Mapping[str, date],
) -> list[Ask]:
    """CNIL-COM, §5 row 5: "at 3 years the controller may re-contact once". `due` is a scan reporting the ends up to
    `today + days` (as of the day after: gdpr.retention.first_due_day). Asked: people whose data in a system able to
    record their answer (`systems`) end under a rule that allows the re-contact (`rules`) after `today` and within
    `days`; and not already asked about that end (`asked`: subject_ref -> end asked about). Data are kept through
    their end date and swept the day after (gdpr.retention.past_end), and the link works through the end date: an
    end before today is swept already, and an end today would leave less than a day to answer (the window asked
    them on an earlier day). A later end means their own contact restarted the clock since: a new period, asked
    again before it ends. `days` <= 0: the re-contact is off."""
    if days <= 0:
        return []
    horizon = today + timedelta(days=days)
    ends: dict[str, list[tuple[str, date]]] = {}
    for (ref, system), end in _system_ends(due, rules, systems).items():
        if today < end <= horizon:
            ends.setdefault(ref, []).append((system, end))
    asks = [Ask(ref, tuple(sorted(s for s, _ in found)), min(e for _, e in found)) for ref, found in ends.items()]
    return sorted((a for a in asks if not was_asked(asked, a)), key=lambda a: (a.end_date, a.subject_ref))


def _system_ends(due: Iterable[Due], rules: Container[str], systems: Container[str]) -> dict[tuple[str, str], date]:
    """A person's end in a system is the last of the ends the scan reports for them (all their categories, or in a
    system that erases by category those ending by then); kept only where one of those categories follows a rule
    that allows the re-contact."""
    ends: dict[tuple[str, str], date] = {}
    eligible: set[tuple[str, str]] = set()
    for entry in due:
        key = (entry.subject_ref, entry.system)
        ends[key] = max(ends.get(key, entry.end_date), entry.end_date)
        if entry.rule in rules and entry.system in systems:
            eligible.add(key)
    return {key: end for key, end in ends.items() if key in eligible}


def was_asked(asked: Mapping[str, date], ask: Ask) -> bool:
    """Once per end: asked about this end (or a later one) already."""
    previous = asked.get(ask.subject_ref)
    return previous is not None and ask.end_date <= previous


def still_useful(asked: Mapping[str, date], today: date) -> dict[str, date]:
    """The record of who was asked keeps the ends not yet past: the day after its end a person is swept, and
    `to_ask` never offers an end on or before today again (R44 applied to the pipeline's own record)."""
    return {ref: end for ref, end in asked.items() if end >= today}


def request_id(asked_on: date) -> str:
    """The reference the day's re-contact carries in dsr.audit, e-mails and tasks: no case has it."""
    return f"{REQUEST_PREFIX}{asked_on.isoformat()}"


def borrows_key(request: str) -> bool:
    """Whether the tasks of a request lease their person's key (gdpr.sealing.Lease) rather than use a case's: the
    sweep's and the re-contact's. The task's answer ends its lease (streams.cases)."""
    return request.startswith((sweep_request_id(""), REQUEST_PREFIX))


def link_lease(subject_ref: str, end_date: date) -> str:
    """The name of the lease a re-contact link holds on its person's key, until the link's end (`expires_at`):
    answered or not, a second click must still find the key."""
    return f"recontact-link:{subject_ref}:{end_date.isoformat()}"


def contact_task_id(subject_ref: str, system: str, end_date: date) -> str:
    """Per person, system and end asked about: a second click publishes the same task, answered from its record."""
    return str(uuid.uuid5(RECONTACT_NAMESPACE, f"record_contact:{subject_ref}:{system}:{end_date.isoformat()}"))


def expires_at(end_date: date) -> datetime:
    """The link works through the end date (Paris), the last day the data are kept: the sweep of the day after
    erases them (gdpr.retention.past_end)."""
    return datetime.combine(end_date + timedelta(days=1), time(0), tzinfo=PARIS)


# --- The signed link ----------------------------------------------------------------------------


@dataclass(frozen=True)
class KeepLink:
    """What the e-mail's link carries, signed: who (subject_ref, and their {email, name} sealed under their own key,
    never in clear), the systems to tell, the end asked about, and the language of the page."""

    subject_ref: str
    systems: tuple[str, ...]
    asked_on: date
    end_date: date
    nonce: str
    ciphertext: str
    language: str = "fr"


def sign_link(secret: bytes, link: KeepLink) -> str:
    claims = {
        "r": link.subject_ref,
        "s": list(link.systems),
        "a": link.asked_on.isoformat(),
        "d": link.end_date.isoformat(),
        "n": link.nonce,
        "c": link.ciphertext,
        "l": link.language,
    }
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    return f"{body}.{_mac(secret, body)}"


def verify_link(secret: bytes, text: str, now: datetime) -> KeepLink:
    """Signature, then expiry (the end of the end date); TokenError with a reason safe to show otherwise."""
    body, _, mac = text.partition(".")
    if not body or not mac:
        raise TokenError("malformed")
    if not _genuine(secret, body, mac):
        raise TokenError("bad_signature")
    link = _decode(body)
    if now >= expires_at(link.end_date):
        raise TokenError("expired")
    return link


def signed_language(secret: bytes, text: str) -> str | None:
    """The language a genuine link names, expired or not: for the page saying it cannot be honoured."""
    body, _, mac = text.partition(".")
    try:
        return _decode(body).language if _genuine(secret, body, mac) else None
    except TokenError:
        return None


def _genuine(secret: bytes, body: str, mac: str) -> bool:
    return mac.isascii() and hmac.compare_digest(mac, _mac(secret, body))


def _mac(secret: bytes, body: str) -> str:
    key = derived_secret(secret, LINK_PURPOSE).encode()
    return b64url(hmac.new(key, body.encode(), "sha256").digest())


def _decode(body: str) -> KeepLink:
    try:
        c = json.loads(unb64url(body))
        days = date.fromisoformat(c["a"]), date.fromisoformat(c["d"])
        return KeepLink(str(c["r"]), tuple(map(str, c["s"])), *days, str(c["n"]), str(c["c"]), str(c["l"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise TokenError("malformed") from exc
