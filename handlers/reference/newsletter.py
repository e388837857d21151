"""The newsletter reference system: subscribers, campaign events and a keyed-hash suppression list."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import date

from gdpr.register import Register
from gdpr.routing import ERASURE_PENDING
from handlers.protocol import HoldsOf, RetentionScan, no_holds
from handlers.reference import marks
from handlers.reference.base import (
    SCAN_CHUNK,
    Category,
    Clock,
    Conn,
    Location,
    ReferenceSystem,
    add_years,
    delete_rows,
    plain_row,
    unsupported,
    utcnow,
)
from handlers.reference.marks import NOT_RESTRICTED
from handlers.verbs import ALL_CATEGORIES, expired_rows, unkeyed_due
from schemas.identity import normalize_email
from schemas.intake import EventType
from schemas.tasks import KeepGround, KeptItem

SUPPRESSION_ITEM = "suppression_entry"
SUPPRESSION_GROUND = KeepGround.SUPPRESSION_LIST  # Art. 21(3), R45: at least 3 years, as a keyed hash
SUPPRESSION_YEARS = 3  # R45
FORMS = frozenset({EventType.QUOTE_REQUESTED, EventType.CONTACT_SUBMITTED, EventType.JOB_APPLICATION_SUBMITTED})


NEWSLETTER_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscribers (id {id}, email TEXT NOT NULL UNIQUE, language TEXT,
  subscribed_at TEXT NOT NULL, consent_wording_version TEXT, source TEXT);
CREATE TABLE IF NOT EXISTS campaign_events (id {id}, email TEXT NOT NULL, campaign TEXT NOT NULL,
  event TEXT NOT NULL CHECK (event IN ('sent', 'opened', 'clicked')), at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS suppression (hash TEXT PRIMARY KEY, added_at TEXT NOT NULL, reason TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS campaign_events_email ON campaign_events (email);
"""

SUBSCRIBE = """
INSERT INTO subscribers (email, language, subscribed_at, consent_wording_version, source)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (email) DO UPDATE SET language = excluded.language,
  consent_wording_version = excluded.consent_wording_version, source = excluded.source
"""

SUPPRESS = """
INSERT INTO suppression (hash, added_at, reason) VALUES (?, ?, ?)
ON CONFLICT (hash) DO UPDATE SET added_at = excluded.added_at, reason = excluded.reason
"""


SEND_LIST = f"""
SELECT email FROM subscribers WHERE {NOT_RESTRICTED.format(table="subscribers")}
  AND NOT EXISTS (SELECT 1 FROM campaign_events e WHERE e.email = subscribers.email AND e.campaign = ?
                  AND e.event = 'sent')
ORDER BY email
"""


class NewsletterAdapter(ReferenceSystem):
    """E-mail marketing: subscribers with their consent proof, campaign events, and a suppression
    list that holds only a keyed hash of each address (R45). No name, phone or address: rectify
    finds nothing to change here."""

    name = "newsletter"
    SCHEMA = NEWSLETTER_SCHEMA
    MARKETING_CHANNELS = ("email",)
    CATEGORIES = (
        Category("subscription", "subscribers", "provided"),
        Category("campaign_events", "campaign_events", "observed"),
    )

    def __init__(self, where: Location, secret: bytes, clock: Clock = utcnow) -> None:
        if not secret:
            raise ValueError("the suppression list needs a secret key, or its hashes can be reversed by guessing")
        super().__init__(where, clock)
        self._secret = secret

    def suppression_hash(self, email: str) -> str:
        return hmac.new(self._secret, b"suppression:" + normalize_email(email).encode(), hashlib.sha256).hexdigest()

    def is_suppressed(self, email: str) -> bool:
        with self._db.transaction() as conn:
            return _suppressed(conn, self.suppression_hash(email))

    def send_list(self, campaign: str) -> list[str]:
        """Who a campaign goes to: subscribers not yet sent it, minus the suppressed (R30, R45, GS-07)
        and the restricted (Art. 18(2), R27)."""
        with self._db.transaction() as conn:
            emails = [row["email"] for row in conn.execute(SEND_LIST, (campaign,))]
            return [email for email in emails if not _suppressed(conn, self.suppression_hash(email))]

    def retention_scan(
        self, as_of: date, register: Register, chunk: int = SCAN_CHUNK, holds_of: HoldsOf = no_holds
    ) -> RetentionScan:
        """R44 for the people on file; the suppression fingerprints past their end (R45) counted apart, `unkeyed`:
        a fingerprint names no address, so the sweep cannot ask for it person by person (`purge_expired` does), nor
        can a legal hold name it (`holds_of` has no e-mail to be asked with)."""
        found = super().retention_scan(as_of, register, chunk)
        with self._db.transaction() as conn:
            ends = self._expired(conn, as_of, register).values()
        return replace(found, unkeyed=unkeyed_due(register, self.name, SUPPRESSION_ITEM, ends))

    def purge_expired(self, as_of: date, register: Register, holds_of: HoldsOf = no_holds) -> int:
        """R44, R45: the fingerprints past their end on `as_of` (the register's rule for them, `suppression_3y`) are
        deleted; the newer ones keep their people out of campaigns. Idempotent: a second purge finds none."""
        with self._db.transaction() as conn:
            expired = self._expired(conn, as_of, register)
            for digest in expired:
                conn.execute("DELETE FROM suppression WHERE hash = ?", (digest,))
        self._db.scrub()
        return len(expired)

    def _expired(self, conn: Conn, as_of: date, register: Register) -> dict[str, date]:
        """Fingerprints past their end on `as_of`, by hash, dated by the register's rule as any record is."""
        rows = conn.execute("SELECT hash, added_at FROM suppression ORDER BY hash").fetchall()
        return expired_rows(register, self.name, SUPPRESSION_ITEM, ((r["hash"], plain_row(r)) for r in rows), as_of)

    def add_campaign_event(
        self, email: str, campaign: str, event: str, at: str | None = None, key: str | None = None
    ) -> None:
        row = (normalize_email(email), campaign, event, at or self._now())
        insert = "INSERT INTO campaign_events (email, campaign, event, at) VALUES (?, ?, ?, ?)"
        self._write_once(key, lambda conn: conn.execute(insert, row), row[0])

    def _record(self, conn: Conn, submission_id: str, kind: str, email: str, data: dict) -> None:
        if kind == EventType.CONSENT_CHANGED:
            return self._consent_changed(conn, kind, email, data)
        if kind not in FORMS:
            raise unsupported(self.name, kind)
        consent = data.get("marketing_consent") or {}
        if consent.get("email"):  # R32: prospects need prior consent for e-mail
            self._subscribe(conn, kind, email, data.get("language"), consent.get("wording_version"))

    def _consent_changed(self, conn: Conn, kind: str, email: str, data: dict) -> None:
        if data.get("channel") != "email":
            return
        if data.get("granted"):  # a fresh, explicit consent lifts the suppression
            conn.execute("DELETE FROM suppression WHERE hash = ?", (self.suppression_hash(email),))
            return self._subscribe(conn, kind, email, data.get("language"), data.get("wording_version"))
        self._unsubscribe(conn, email, "consent_withdrawn")

    def _subscribe(self, conn: Conn, source: str, email: str, language: str | None, wording: str | None) -> None:
        if not _suppressed(conn, self.suppression_hash(email)):
            conn.execute(SUBSCRIBE, (email, language, self._now(), wording, source))

    def _unsubscribe(self, conn: Conn, email: str, reason: str) -> None:
        """R30, R31: marketing stops; with no other basis the history goes too, the fingerprint stays (R45).
        Data under a legal hold stay until it is released (R46); the suppression keeps them out of campaigns."""
        on_hold = marks.held(conn, email)
        for category in self.CATEGORIES:
            if not on_hold & {category.name, ALL_CATEGORIES}:
                delete_rows(conn, category.table, email)
        self._add_suppression(conn, email, reason)

    def _add_suppression(self, conn: Conn, email: str, reason: str) -> None:
        conn.execute(SUPPRESS, (self.suppression_hash(email), self._now(), reason))

    def _suppress(self, conn: Conn, email: str, channels: tuple[str, ...], source: str) -> tuple[KeptItem, ...]:
        """Objection or withdrawal for e-mail (GS-07): unsubscribed, suppressed even if not on file (R45).
        Before an erasure is verified, only the suppression: the data wait for the verified erase (§3.2)."""
        if source == ERASURE_PENDING:
            self._add_suppression(conn, email, source)
        else:
            self._unsubscribe(conn, email, source)
        return self._suppression_kept(conn, email)

    def _after_erase(self, conn: Conn, email: str, erased: int, unnamed: frozenset[str]) -> tuple[KeptItem, ...]:
        """An erased address is not re-imported (R45, LEGAL §4.3); only its keyed hash is kept. A subscription an
        erase by category does not name is still running (R44): no fingerprint stops it."""
        if erased and "subscription" not in unnamed:
            self._add_suppression(conn, email, "erasure")
        return self._suppression_kept(conn, email)

    def _suppression_kept(self, conn: Conn, email: str) -> tuple[KeptItem, ...]:
        digest = self.suppression_hash(email)
        row = conn.execute("SELECT added_at FROM suppression WHERE hash = ?", (digest,)).fetchone()
        if row is None:
            return ()
        until = add_years(date.fromisoformat(row["added_at"][:10]), SUPPRESSION_YEARS).isoformat()
        return (KeptItem(item=SUPPRESSION_ITEM, ground=SUPPRESSION_GROUND, until=until),)


def _suppressed(conn: Conn, digest: str) -> bool:
    return conn.execute("SELECT 1 FROM suppression WHERE hash = ?", (digest,)).fetchone() is not None
