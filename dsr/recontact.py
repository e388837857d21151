"""The prospect's one re-contact (CNIL-COM): a scan ahead, one e-mail each with a signed link, who was asked kept."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from dsr.retention import scan
from gdpr.lifecycle import stable_id
from gdpr.recontact import PATH, Ask, KeepLink, expires_at, link_lease, request_id, sign_link, still_useful, to_ask
from gdpr.register import Register
from gdpr.retention import first_due_day
from gdpr.sealing import Lease
from handlers.protocol import RESTRICTION_TAG, Subject
from schemas.audit import AuditRecord
from schemas.notifications import EmailRequested, MessageType, Recipient
from schemas.sealed import Sealed
from schemas.tasks import TaskAction

MESSAGE = MessageType.RETENTION_RECONTACT
LANGUAGES = ("fr", "en")
AUDIT_KIND = "retention_recontact_sent"
REFUSALS = frozenset({"objection", "withdrawal"})  # sources of a choice the person made against marketing (R30, R31)


class AskedStore:
    """Who was asked, by subject_ref (a keyed hash, no address), with the end asked about: one small JSON file
    beside the sweep's records, pruned of ends already past (gdpr.recontact.still_useful). Workers on several
    machines share the PostgreSQL twin (dsr.retention_store.PostgresAskedStore, DSR_VAULT_DSN)."""

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / "recontact.json"
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def asked(self) -> dict[str, date]:
        if not self.path.exists():
            return {}
        return {ref: date.fromisoformat(end) for ref, end in json.loads(self.path.read_text()).items()}

    def record(self, asks: Iterable[Ask], today: date) -> None:
        asked = still_useful(self.asked() | {a.subject_ref: a.end_date for a in asks}, today)
        spare = self.path.with_suffix(".tmp")  # written beside, then renamed: a kill leaves the last record whole
        spare.write_text(json.dumps({ref: end.isoformat() for ref, end in sorted(asked.items())}, indent=1))
        spare.replace(self.path)

    def close(self) -> None:
        """Nothing held open: each call reads or writes the file."""


@dataclass(frozen=True)
class Recontact:
    """The day's people to ask; their addresses and languages stay in this process."""

    today: date
    days: int
    asks: list[Ask]
    emails: dict[str, str] = field(repr=False)
    languages: dict[str, str] = field(default_factory=dict)
    skipped: int = 0  # due for the question, but not to be asked (may_ask)


def find(
    adapters: list, register: Register, secret: bytes, today: date, days: int, asked: dict[str, date]
) -> Recontact:
    """Scan the systems that can record the person's answer for the ends up to `today + days` (as of the day after:
    data are kept through their end date, gdpr.retention.past_end) and pick who to ask (gdpr.recontact.to_ask);
    then read each one's records everywhere, for their language and for what forbids asking (`may_ask`)."""
    recording = [a for a in adapters if TaskAction.RECORD_CONTACT in a.capabilities.actions]
    scanned = scan(recording, register, secret, first_due_day(today + timedelta(days=max(days, 0))))
    rules = {rule_id for rule_id, rule in register.retention_rules.items() if rule.recontact}
    found = to_ask(scanned.due, today, days, rules, {a.name for a in recording}, asked)
    exports = {a.subject_ref: exports_of(adapters, scanned.emails[a.subject_ref]) for a in found}
    asks = [a for a in found if may_ask(exports[a.subject_ref])]
    emails = {a.subject_ref: scanned.emails[a.subject_ref] for a in asks}
    languages = {a.subject_ref: language_of(exports[a.subject_ref]) for a in asks}
    return Recontact(today, days, asks, emails, languages, skipped=len(found) - len(asks))


def exports_of(adapters: Iterable, email: str) -> list[Mapping[str, list[dict]]]:
    """The person's records in every system; one that cannot answer now is left out (it only informs the e-mail)."""
    out = []
    for adapter in adapters:
        try:
            out.append(adapter.export(Subject(email=email)).records)
        except Exception:  # noqa: BLE001, S112 - a system down must not stop the others' re-contact
            continue
    return out


def may_ask(exports: Iterable[Mapping[str, list[dict]]]) -> bool:
    """Not whose data are restricted: storage only (Art. 18(2), R27), or under a legal hold (R46); nor who objected to
    or withdrew from e-mail marketing (Art. 21(3), R30-R31): their answer is known, their data go at the end."""
    rows = [row for records in exports for found in records.values() for row in found]
    if any(row.get(RESTRICTION_TAG) for row in rows):
        return False
    choices = [row for row in rows if row.get("channel") == "email" and "granted" in row]
    return not (choices and not choices[-1]["granted"] and choices[-1].get("source") in REFUSALS)


def language_of(exports: Iterable[Mapping[str, list[dict]]]) -> str:
    """The person's language where a system records one (the newsletter does), else French."""
    for records in exports:
        for rows in records.values():
            found = next((row["language"] for row in rows if row.get("language") in LANGUAGES), None)
            if found:
                return found
    return "fr"


Seal = Callable[..., Sealed]  # (subject_ref, value, lease=Lease) -> sealed under the person's key, no audience


@dataclass(frozen=True)
class Mailing:
    """What sending needs besides the people: sealing, the link's secret and base, the clock."""

    seal: Seal
    secret: bytes
    public_url: str
    clock: Callable[[], datetime]


def send(recontact: Recontact, mailing: Mailing, sink, store: AskedStore) -> int:
    """One e-mail per person, the day's count in dsr.audit; recorded as asked once the broker acknowledged them.
    Sent again after a crash before the record, an e-mail keeps its message id: the mailer drops the copy."""
    for ask in recontact.asks:
        sink.notify(email_of(recontact, ask, mailing))
    sink.audit(audit_of(recontact, mailing.clock()))
    sink.flush()
    store.record(recontact.asks, recontact.today)
    return len(recontact.asks)


def email_of(recontact: Recontact, ask: Ask, mailing: Mailing) -> EmailRequested:
    ref, language = ask.subject_ref, recontact.languages.get(ask.subject_ref, "fr")
    lease = Lease(link_lease(ref, ask.end_date), expires_at(ask.end_date))  # the key lives as long as the link
    person = mailing.seal(ref, {"email": recontact.emails[ref], "name": ""}, lease=lease)
    link = KeepLink(ref, ask.systems, recontact.today, ask.end_date, person.nonce, person.ciphertext, language)
    secret = {"keep_url": f"{mailing.public_url}/{PATH}/{sign_link(mailing.secret, link)}"}
    return EmailRequested(
        message_id=stable_id("email", MESSAGE, ref, ask.end_date.isoformat()),
        request_id=request_id(recontact.today),
        message_type=MESSAGE,
        language=language,
        recipient=Recipient.SUBJECT,
        to=person,
        context={"reference": request_id(recontact.today)},
        sealed_context=mailing.seal(ref, secret | {"end_date": ask.end_date.isoformat()}, lease=lease),
        requested_at=mailing.clock(),
    )


def audit_of(recontact: Recontact, now: datetime) -> AuditRecord:
    """R50: how many were asked, in which systems, how far ahead; no one's address or reference."""
    systems: dict[str, int] = {}
    for ask in recontact.asks:
        for system in ask.systems:
            systems[system] = systems.get(system, 0) + 1
    reference = request_id(recontact.today)
    return AuditRecord(
        audit_id=stable_id("audit", AUDIT_KIND, reference, str(len(recontact.asks))),
        occurred_at=now,
        kind=AUDIT_KIND,
        request_id=reference,
        action=TaskAction.RECORD_CONTACT.value,
        detail={"as_of": recontact.today.isoformat(), "days": recontact.days, "people": len(recontact.asks)}
        | {"systems": systems, "not_asked": recontact.skipped},
    )
