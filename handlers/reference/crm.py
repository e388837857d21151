"""The CRM reference system: prospects and customers, with invoices archived rather than erased."""
from __future__ import annotations

from datetime import date

from handlers.reference.base import Category, Conn, SqliteSystem, add_years, plain_row, unsupported
from schemas.identity import normalize_email
from schemas.intake import EventType
from schemas.tasks import KeepGround, KeptItem

INVOICE_GROUND = KeepGround.LEGAL_OBLIGATION  # Art. 17(3)(b): Code de commerce L123-22, 10 years
INVOICE_YEARS = 10  # CCOM L123-22, LEGAL §4.3
LEAD_POINTS_PER_QUOTE = 10
CHANNELS = ("email", "sms", "phone", "post")


CRM_SCHEMA = """
CREATE TABLE IF NOT EXISTS people (email TEXT PRIMARY KEY, first_name TEXT, last_name TEXT, phone TEXT,
  street TEXT, postal_code TEXT, city TEXT, country TEXT, created_at TEXT NOT NULL, last_contact_at TEXT,
  lead_score INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS quote_requests (submission_id TEXT NOT NULL UNIQUE, email TEXT NOT NULL,
  service TEXT, message TEXT, submitted_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contact_messages (submission_id TEXT NOT NULL UNIQUE, email TEXT NOT NULL,
  message TEXT, submitted_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS call_notes (email TEXT NOT NULL, note TEXT NOT NULL, called_at TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')));
CREATE TABLE IF NOT EXISTS invoices (email TEXT NOT NULL, number TEXT NOT NULL UNIQUE,
  amount_cents INTEGER NOT NULL, issued_at TEXT NOT NULL, paid_at TEXT);
CREATE TABLE IF NOT EXISTS consents (email TEXT NOT NULL, channel TEXT NOT NULL, granted INTEGER NOT NULL,
  wording_version TEXT, recorded_at TEXT NOT NULL, source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS invoice_archive (email TEXT NOT NULL, number TEXT NOT NULL UNIQUE,
  amount_cents INTEGER NOT NULL, issued_at TEXT NOT NULL, paid_at TEXT, archived_at TEXT NOT NULL,
  retain_until TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS quote_requests_email ON quote_requests (email);
CREATE INDEX IF NOT EXISTS contact_messages_email ON contact_messages (email);
CREATE INDEX IF NOT EXISTS call_notes_email ON call_notes (email);
CREATE INDEX IF NOT EXISTS invoices_email ON invoices (email);
CREATE INDEX IF NOT EXISTS consents_email ON consents (email);
CREATE INDEX IF NOT EXISTS invoice_archive_email ON invoice_archive (email);
"""

UPSERT_PERSON = """
INSERT INTO people (email, first_name, last_name, phone, street, postal_code, city, country, created_at,
  last_contact_at) VALUES (:email, :first_name, :last_name, :phone, :street, :postal_code, :city, :country,
  :now, :now)
ON CONFLICT (email) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name,
  phone = coalesce(excluded.phone, phone), street = coalesce(excluded.street, street),
  postal_code = coalesce(excluded.postal_code, postal_code), city = coalesce(excluded.city, city),
  country = coalesce(excluded.country, country), last_contact_at = excluded.last_contact_at
"""


class CrmAdapter(SqliteSystem):
    """Prospects and customers: requests, messages, call notes, invoices and per-channel consents."""

    name = "crm"
    SCHEMA = CRM_SCHEMA
    CATEGORIES = (
        Category("person", "people", "provided", inferred=("lead_score",)),
        Category("quote_requests", "quote_requests", "provided"),
        Category("contact_messages", "contact_messages", "provided"),
        Category("call_notes", "call_notes", "observed"),
        Category("invoices", "invoices", "observed"),
        Category("consents", "consents", "provided"),
    )

    def add_call_note(self, email: str, note: str, direction: str = "outbound",
                      called_at: str | None = None, key: str | None = None) -> None:
        row = (normalize_email(email), note, called_at or self._now(), direction)
        self._write_once(key, lambda conn: conn.execute("INSERT INTO call_notes VALUES (?, ?, ?, ?)", row))

    def add_invoice(self, email: str, number: str, amount_cents: int, issued_at: str,
                    paid_at: str | None = None) -> None:
        """Once per invoice number, even after the invoice moved to the archive."""
        row = (normalize_email(email), number, amount_cents, issued_at, paid_at)
        insert = "INSERT INTO invoices VALUES (?, ?, ?, ?, ?)"
        self._write_once(f"invoice:{number}", lambda conn: conn.execute(insert, row))

    def _record(self, conn: Conn, submission_id: str, kind: str, email: str, data: dict) -> None:
        if kind == EventType.CONSENT_CHANGED:
            return self._record_consent(conn, email, data["channel"], data["granted"], data, kind)
        if kind not in (EventType.QUOTE_REQUESTED, EventType.CONTACT_SUBMITTED):
            raise unsupported(self.name, kind)
        now = self._now()
        address = data.get("postal_address") or {}
        conn.execute(UPSERT_PERSON, {"email": email, "now": now, "phone": data.get("phone"),
                                     "first_name": data.get("first_name"), "last_name": data.get("last_name"),
                                     **{k: address.get(k) for k in ("street", "postal_code", "city", "country")}})
        self._record_form(conn, submission_id, kind, email, data, now)
        consent = data.get("marketing_consent") or {}
        for channel in CHANNELS:  # R32: every channel's choice, with its proof
            self._record_consent(conn, email, channel, bool(consent.get(channel)), consent, kind)

    @staticmethod
    def _record_form(conn: Conn, submission_id: str, kind: str, email: str, data: dict, now: str) -> None:
        if kind == EventType.QUOTE_REQUESTED:
            conn.execute("INSERT INTO quote_requests VALUES (?, ?, ?, ?, ?)",
                         (submission_id, email, data.get("service"), data.get("message", ""), now))
            conn.execute("UPDATE people SET lead_score = ? * (SELECT count(*) FROM quote_requests WHERE email = ?)"
                         " WHERE email = ?", (LEAD_POINTS_PER_QUOTE, email, email))
        else:
            conn.execute("INSERT INTO contact_messages VALUES (?, ?, ?, ?)",
                         (submission_id, email, data.get("message", ""), now))

    def _record_consent(self, conn: Conn, email: str, channel: str, granted: bool, proof: dict, kind: str) -> None:
        conn.execute("INSERT INTO consents VALUES (?, ?, ?, ?, ?, ?)",
                     (email, channel, int(granted), proof.get("wording_version"), self._now(), kind))

    def _channels(self, conn: Conn, email: str) -> tuple[str, ...]:
        person = conn.execute("SELECT phone, street FROM people WHERE email = ?", (email,)).fetchone()
        on_file = {"email": True, "phone": person and person["phone"], "post": person and person["street"]}
        return tuple(channel for channel, held in on_file.items() if held)

    def _archived(self, conn: Conn, email: str) -> dict[str, list[dict]]:
        rows = conn.execute("SELECT * FROM invoice_archive WHERE email = ? ORDER BY rowid", (email,))
        archived = [plain_row(row) | {"_origin": "observed", "_restricted": True} for row in rows]
        return {"archived_invoices": archived} if archived else {}

    def _before_erase(self, conn: Conn, email: str) -> None:
        """Invoices are not erased: they move to the restricted archive for 10 years (R26, §5 row 6)."""
        now = self._now()
        for invoice in conn.execute("SELECT * FROM invoices WHERE email = ?", (email,)).fetchall():
            until = add_years(date.fromisoformat(invoice["issued_at"][:10]), INVOICE_YEARS).isoformat()
            conn.execute("INSERT INTO invoice_archive VALUES (?, ?, ?, ?, ?, ?, ?)", (*invoice, now, until))
        conn.execute("DELETE FROM invoices WHERE email = ?", (email,))

    def _after_erase(self, conn: Conn, email: str, erased: int) -> tuple[KeptItem, ...]:
        count, until = conn.execute("SELECT count(*), max(retain_until) FROM invoice_archive WHERE email = ?",
                                    (email,)).fetchone()
        return (KeptItem(item="invoices", count=count, ground=INVOICE_GROUND, until=until),) if count else ()
