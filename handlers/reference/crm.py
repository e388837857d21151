"""The CRM reference system: prospects and customers, with invoices archived rather than erased."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from gdpr import routing
from gdpr.register import Register
from gdpr.retention import ACCOUNTING_YEARS, INITIATOR, ContactKind, Initiator, accounting_end
from handlers.protocol import (
    DATA_ACTIONS,
    MARKETING_CHANNELS,
    HoldsOf,
    InvalidTask,
    RetentionScan,
    Subject,
    capabilities_for,
    no_holds,
)
from handlers.reference.base import (
    SCAN_CHUNK,
    Category,
    Clock,
    Conn,
    Location,
    ReferenceSystem,
    plain_row,
    unsupported,
    utcnow,
)
from handlers.reference.db import exists
from handlers.reference.marks import NOT_RESTRICTED, is_restricted
from handlers.verbs import ARCHIVE_TAG, expired_rows, safe_name, unkeyed_due
from schemas.identity import normalize_email
from schemas.intake import EventType
from schemas.tasks import KeepGround, KeptItem, LegalHold, TaskAction

INVOICE_GROUND = KeepGround.LEGAL_OBLIGATION  # Art. 17(3)(b): Code de commerce L123-22, 10 years
INVOICE_YEARS = ACCOUNTING_YEARS.years  # from the close of the financial year, LEGAL §4.3, §5 row 6
ARCHIVE = "archived_invoices"  # the export category of the restricted archive (rule accounting_10y)
HELD_WITH_ARCHIVE = frozenset({"*", "invoices", ARCHIVE})  # a legal hold's categories that keep archived invoices
LEAD_POINTS_PER_QUOTE = 10
CHANNELS = MARKETING_CHANNELS
# Art. 21(2): an objection to direct marketing covers the profiling behind it (GS-08); reported as such.
PROFILING = routing.PROFILING
# CCONS L223-1 as amended by loi 2025-594 art. 13: telephone prospecting needs prior consent (R32, GS-09).
PHONE_CONSENT_REQUIRED_FROM = datetime(2026, 8, 11, tzinfo=ZoneInfo("Europe/Paris"))


CRM_SCHEMA = """
CREATE TABLE IF NOT EXISTS people (id {id}, email TEXT NOT NULL UNIQUE, first_name TEXT, last_name TEXT,
  phone TEXT, street TEXT, postal_code TEXT, city TEXT, country TEXT, created_at TEXT NOT NULL,
  last_contact_at TEXT, lead_score INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS quote_requests (id {id}, submission_id TEXT NOT NULL UNIQUE, email TEXT NOT NULL,
  service TEXT, message TEXT, submitted_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contact_messages (id {id}, submission_id TEXT NOT NULL UNIQUE, email TEXT NOT NULL,
  message TEXT, submitted_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS call_notes (id {id}, email TEXT NOT NULL, note TEXT NOT NULL, called_at TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  positive_answer BOOLEAN NOT NULL DEFAULT FALSE);
CREATE TABLE IF NOT EXISTS contact_events (id {id}, email TEXT NOT NULL, kind TEXT NOT NULL,
  initiated_by TEXT NOT NULL CHECK (initiated_by IN ('person', 'company')), at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS invoices (id {id}, email TEXT NOT NULL, number TEXT NOT NULL UNIQUE,
  amount_cents INTEGER NOT NULL, issued_at TEXT NOT NULL, paid_at TEXT);
CREATE TABLE IF NOT EXISTS consents (id {id}, email TEXT NOT NULL, channel TEXT NOT NULL, granted BOOLEAN NOT NULL,
  wording_version TEXT, recorded_at TEXT NOT NULL, source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS invoice_archive (id {id}, email TEXT NOT NULL, number TEXT NOT NULL UNIQUE,
  amount_cents INTEGER NOT NULL, issued_at TEXT NOT NULL, paid_at TEXT, archived_at TEXT NOT NULL,
  retain_until TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS quote_requests_email ON quote_requests (email);
CREATE INDEX IF NOT EXISTS contact_messages_email ON contact_messages (email);
CREATE INDEX IF NOT EXISTS call_notes_email ON call_notes (email);
CREATE INDEX IF NOT EXISTS contact_events_email ON contact_events (email);
CREATE INDEX IF NOT EXISTS invoices_email ON invoices (email);
CREATE INDEX IF NOT EXISTS consents_email ON consents (email, channel);
CREATE INDEX IF NOT EXISTS invoice_archive_email ON invoice_archive (email);
"""

# The latest phone choice counts: a later refusal (objection, withdrawal) overrides an earlier grant.
CALL_LIST = f"""
SELECT email, phone FROM people
WHERE phone IS NOT NULL AND {NOT_RESTRICTED.format(table="people")}
  AND coalesce((SELECT granted FROM consents c WHERE c.email = people.email AND c.channel = 'phone'
                ORDER BY c.id DESC LIMIT 1), :no_record_allows)
ORDER BY email
"""

SCORE = "UPDATE people SET lead_score = ? * (SELECT count(*) FROM quote_requests WHERE email = ?) WHERE email = ?"

RECORD_CONSENT = """INSERT INTO consents (email, channel, granted, wording_version, recorded_at, source)
VALUES (?, ?, ?, ?, ?, ?)"""

ARCHIVE_INVOICE = """
INSERT INTO invoice_archive (email, number, amount_cents, issued_at, paid_at, archived_at, retain_until)
VALUES (:email, :number, :amount_cents, :issued_at, :paid_at, :archived_at, :retain_until)
"""

UPSERT_PERSON = """
INSERT INTO people (email, first_name, last_name, phone, street, postal_code, city, country, created_at,
  last_contact_at) VALUES (:email, :first_name, :last_name, :phone, :street, :postal_code, :city, :country,
  :now, :now)
ON CONFLICT (email) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name,
  phone = coalesce(excluded.phone, people.phone), street = coalesce(excluded.street, people.street),
  postal_code = coalesce(excluded.postal_code, people.postal_code), city = coalesce(excluded.city, people.city),
  country = coalesce(excluded.country, people.country), last_contact_at = excluded.last_contact_at
"""


class CrmAdapter(ReferenceSystem):
    """Prospects and customers: requests, messages, call notes, invoices and per-channel consents.
    Restricted people (R27) and people who objected are left out of call lists and lead scoring."""

    name = "crm"
    SCHEMA = CRM_SCHEMA
    RECTIFIABLE_TABLES = ("people",)
    MARKETING_CHANNELS = CHANNELS
    CATEGORIES = (
        Category("person", "people", "provided", inferred=("lead_score",)),
        Category("quote_requests", "quote_requests", "provided"),
        Category("contact_messages", "contact_messages", "provided"),
        Category("call_notes", "call_notes", "observed"),
        Category("contact_events", "contact_events", "observed"),
        Category("invoices", "invoices", "observed"),
        Category("consents", "consents", "provided"),
    )

    def __init__(self, where: Location, clock: Clock = utcnow) -> None:
        super().__init__(where, clock)
        actions = DATA_ACTIONS | {TaskAction.RECORD_CONTACT}
        self.capabilities = capabilities_for(actions, retention_scan=True, erase_categories=True)

    def add_call_note(
        self,
        email: str,
        note: str,
        direction: str = "outbound",
        called_at: str | None = None,
        key: str | None = None,
        positive_answer: bool = False,
    ) -> None:
        """`positive_answer`: the person said yes to hearing from us during the call (§5 row 5)."""
        row = (normalize_email(email), note, called_at or self._now(), direction, positive_answer)
        insert = "INSERT INTO call_notes (email, note, called_at, direction, positive_answer) VALUES (?, ?, ?, ?, ?)"
        self._write_once(key, lambda conn: conn.execute(insert, row), row[0])

    def add_contact_event(self, email: str, kind: ContactKind, at: str | None = None, key: str | None = None) -> None:
        """An exchange with the person, recorded with who initiated it: only the person's own restart the
        3-year prospect clock (§5 row 5, CNIL-COM)."""
        row = (normalize_email(email), ContactKind(kind).value, INITIATOR[ContactKind(kind)].value, at or self._now())
        insert = "INSERT INTO contact_events (email, kind, initiated_by, at) VALUES (?, ?, ?, ?)"
        self._write_once(key, lambda conn: conn.execute(insert, row), row[0])

    def record_contact(self, subject: Subject, kind: str, at: datetime) -> int:
        """The `record_contact` verb: a contact from the person (their yes to our re-contact), which restarts the
        3-year prospect clock from `at` (§5 row 5, CNIL-COM). Only for someone on file: an erased person stays gone."""
        contact = _person_contact(kind)
        email = normalize_email(subject.email)
        row = (email, contact.value, Initiator.PERSON.value, at.isoformat())
        insert = "INSERT INTO contact_events (email, kind, initiated_by, at) VALUES (?, ?, ?, ?)"
        with self._db.transaction(email) as conn:
            if not exists(conn, "people", email):
                return 0
            conn.execute(insert, row)
        return 1

    def add_invoice(
        self, email: str, number: str, amount_cents: int, issued_at: str, paid_at: str | None = None
    ) -> None:
        """Once per invoice number, even after the invoice moved to the archive."""
        row = (normalize_email(email), number, amount_cents, issued_at, paid_at)
        insert = "INSERT INTO invoices (email, number, amount_cents, issued_at, paid_at) VALUES (?, ?, ?, ?, ?)"
        self._write_once(f"invoice:{number}", lambda conn: conn.execute(insert, row), row[0])

    def call_list(self, now: datetime) -> list[tuple[str, str]]:
        """(e-mail, phone) of the people a phone campaign may call at `now`: not restricted (Art. 18(2)),
        not objected, and since 11 Aug 2026 with a phone-marketing consent on record (R32, GS-09).
        Calls about an ongoing contract are not campaigns and are not listed here."""
        no_record_allows = now < PHONE_CONSENT_REQUIRED_FROM  # before: opt-out, a refusal excludes
        with self._db.transaction() as conn:
            rows = conn.execute(CALL_LIST, {"no_record_allows": no_record_allows}).fetchall()
        return [(row["email"], row["phone"]) for row in rows]

    def _record(self, conn: Conn, submission_id: str, kind: str, email: str, data: dict) -> None:
        if kind == EventType.CONSENT_CHANGED:
            return self._record_consent(conn, email, data["channel"], data["granted"], data, kind)
        if kind not in (EventType.QUOTE_REQUESTED, EventType.CONTACT_SUBMITTED):
            raise unsupported(self.name, kind)
        now = self._now()
        address = data.get("postal_address") or {}
        conn.execute(
            UPSERT_PERSON,
            {
                "email": email,
                "now": now,
                "phone": data.get("phone"),
                "first_name": data.get("first_name"),
                "last_name": data.get("last_name"),
                **{k: address.get(k) for k in ("street", "postal_code", "city", "country")},
            },
        )
        self._record_form(conn, submission_id, kind, email, data, now)
        consent = data.get("marketing_consent") or {}
        for channel in CHANNELS:  # R32: every channel's choice, with its proof
            self._record_consent(conn, email, channel, bool(consent.get(channel)), consent, kind)

    @staticmethod
    def _record_form(conn: Conn, submission_id: str, kind: str, email: str, data: dict, now: str) -> None:
        if kind == EventType.QUOTE_REQUESTED:
            conn.execute(
                "INSERT INTO quote_requests (submission_id, email, service, message, submitted_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (submission_id, email, data.get("service"), data.get("message", ""), now),
            )
            if _may_score(conn, email):
                conn.execute(SCORE, (LEAD_POINTS_PER_QUOTE, email, email))
        else:
            conn.execute(
                "INSERT INTO contact_messages (submission_id, email, message, submitted_at) VALUES (?, ?, ?, ?)",
                (submission_id, email, data.get("message", ""), now),
            )

    def _record_consent(self, conn: Conn, email: str, channel: str, granted: bool, proof: dict, kind: str) -> None:
        conn.execute(RECORD_CONSENT, (email, channel, bool(granted), proof.get("wording_version"), self._now(), kind))

    def _channels(self, conn: Conn, email: str) -> tuple[str, ...]:
        person = conn.execute("SELECT phone, street FROM people WHERE email = ?", (email,)).fetchone()
        on_file = {"email": True, "phone": person and person["phone"], "post": person and person["street"]}
        return tuple(channel for channel, held in on_file.items() if held)

    def retention_scan(
        self, as_of: date, register: Register, chunk: int = SCAN_CHUNK, holds_of: HoldsOf = no_holds
    ) -> RetentionScan:
        """R44 for the people on file; the archived invoices past their end (`accounting_10y`, L123-22) counted apart,
        `unkeyed`: each goes 10 years after the close of its own financial year, whatever else the person has here
        or not, so the sweep does not ask for them person by person (`purge_expired` deletes them); those a legal
        hold keeps (`holds_of`, R46) counted as `held`."""
        found = super().retention_scan(as_of, register, chunk)
        with self._db.transaction() as conn:
            expired, held = self._archive_expired(conn, as_of, register, holds_of)
        return replace(found, unkeyed=unkeyed_due(register, self.name, ARCHIVE, expired.values(), len(held)))

    def purge_expired(self, as_of: date, register: Register, holds_of: HoldsOf = no_holds) -> int:
        """R44, Art. 17(3)(b) spent: the archived invoices past their end on `as_of` are deleted; the accounting
        obligation that kept them is over. R46: those of a person under a legal hold on their invoices (or all their
        data) stay until it is released; the next sweep purges them then. Idempotent: a second purge finds none."""
        with self._db.transaction() as conn:
            expired, held = self._archive_expired(conn, as_of, register, holds_of)
            purged = [row_id for row_id in expired if row_id not in held]
            for row_id in purged:
                conn.execute("DELETE FROM invoice_archive WHERE id = ?", (row_id,))
        self._db.scrub()
        return len(purged)

    def _archive_expired(
        self, conn: Conn, as_of: date, register: Register, holds_of: HoldsOf
    ) -> tuple[dict[int, date], set[int]]:
        """Archived invoices past their end on `as_of`, by row id, dated by the register's rule as the access answer
        dates them (from `issued_at`; `retain_until`, written at archiving, is the same date under the packaged one);
        and the ids of those a hold keeps, asked by the row's e-mail, which `holds_of` matches by subject_ref."""
        rows = conn.execute("SELECT id, email, issued_at FROM invoice_archive ORDER BY id").fetchall()
        dated = ((r["id"], {"issued_at": plain_row(r)["issued_at"]}) for r in rows)
        expired = expired_rows(register, self.name, ARCHIVE, dated, as_of)
        held = {r["id"] for r in rows if r["id"] in expired and _holds_archive(holds_of(r["email"]))}
        return expired, held

    def _archived(self, conn: Conn, email: str) -> dict[str, list[dict]]:
        rows = conn.execute("SELECT * FROM invoice_archive WHERE email = ? ORDER BY id", (email,))
        archived = [plain_row(row) | {"_origin": "observed", ARCHIVE_TAG: True} for row in rows]
        return {ARCHIVE: archived} if archived else {}

    def _before_erase(self, conn: Conn, email: str, spared: frozenset[str]) -> None:
        """Invoices are not erased: they move to the restricted archive until 10 years after the close of their
        financial year (L123-22, R26, §5 row 6); invoices under a legal hold stay where they are, marked, until the
        hold is released (R46), and so do invoices an erase by category does not name (R44)."""
        if "invoices" in spared:
            return
        now = self._now()
        for invoice in conn.execute("SELECT * FROM invoices WHERE email = ? ORDER BY id", (email,)).fetchall():
            until = accounting_end(date.fromisoformat(invoice["issued_at"][:10])).isoformat()
            conn.execute(ARCHIVE_INVOICE, {**invoice, "archived_at": now, "retain_until": until})
        conn.execute("DELETE FROM invoices WHERE email = ?", (email,))

    def _after_erase(self, conn: Conn, email: str, erased: int, unnamed: frozenset[str]) -> tuple[KeptItem, ...]:
        row = conn.execute(
            "SELECT count(*) AS n, max(retain_until) AS until FROM invoice_archive WHERE email = ?", (email,)
        ).fetchone()
        count, until = row["n"], row["until"]
        return (KeptItem(item="invoices", count=count, ground=INVOICE_GROUND, until=until),) if count else ()

    def _suppress(self, conn: Conn, email: str, channels: tuple[str, ...], source: str) -> tuple[KeptItem, ...]:
        """R30, R31: a refusal per channel, proof of the choice. Nothing is created for someone not on file."""
        if not (exists(conn, "people", email) or exists(conn, "consents", email)):
            return ()
        # Art. 21(2): an objection to direct marketing also stops the profiling that serves it (GS-08).
        for channel in channels + ((PROFILING,) if source == "objection" else ()):
            if not _refused(conn, email, channel, source):
                conn.execute(RECORD_CONSENT, (email, channel, False, None, self._now(), source))
        return ()

    def _also_stopped(self, conn: Conn, email: str, source: str) -> tuple[str, ...]:
        return _stopped_profiling(conn, email, source) if source == "objection" else ()


def _holds_archive(holds: tuple[LegalHold, ...]) -> bool:
    """R46: a hold on the person's invoices, on the archive they moved to, or on all their data keeps them there."""
    return any(HELD_WITH_ARCHIVE & set(hold.categories) for hold in holds)


def _person_contact(kind: str) -> ContactKind:
    """Only a contact the person initiated may be recorded through the verb: ours never restart a clock."""
    try:
        contact = ContactKind(kind)
    except ValueError:
        raise InvalidTask(f"record_contact: unknown kind {safe_name(kind)}") from None
    if INITIATOR[contact] is not Initiator.PERSON:
        raise InvalidTask(f"record_contact: a '{contact.value}' is not a contact from the person (LEGAL §5 row 5)")
    return contact


def _stopped_profiling(conn: Conn, email: str, source: str) -> tuple[str, ...]:
    return (PROFILING,) if _refused(conn, email, PROFILING, source) else ()


def _latest_choice(conn: Conn, email: str, channel: str):
    return conn.execute(
        "SELECT granted, source FROM consents WHERE email = ? AND channel = ? ORDER BY id DESC LIMIT 1",
        (email, channel),
    ).fetchone()


def _refused(conn: Conn, email: str, channel: str, source: str) -> bool:
    latest = _latest_choice(conn, email, channel)
    return latest is not None and not latest["granted"] and latest["source"] == source


def _may_score(conn: Conn, email: str) -> bool:
    """No lead scoring while restricted (Art. 18(2), R27) or after an objection to marketing profiling (21(2))."""
    latest = _latest_choice(conn, email, PROFILING)
    return not is_restricted(conn, email) and (latest is None or bool(latest["granted"]))
