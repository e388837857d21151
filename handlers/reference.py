"""Reference systems on SQLite (CRM, recruiting tool, newsletter) behind the adapter protocol."""
from __future__ import annotations

import hashlib
import hmac
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from handlers.memory import capabilities_for
from handlers.protocol import ErasureReport, Export, LookupAnswer, Subject
from schemas.identity import normalize_email
from schemas.intake import EventType
from schemas.tasks import KeepGround, KeptItem, TaskAction

Clock = Callable[[], datetime]
Conn = sqlite3.Connection

INVOICE_GROUND = KeepGround.LEGAL_OBLIGATION  # Art. 17(3)(b): Code de commerce L123-22, 10 years
SUPPRESSION_ITEM = "suppression_entry"
SUPPRESSION_GROUND = KeepGround.SUPPRESSION_LIST  # Art. 21(3), R45: at least 3 years, as a keyed hash
INVOICE_YEARS = 10  # CCOM L123-22, LEGAL §4.3
SUPPRESSION_YEARS = 3  # R45
LEAD_POINTS_PER_QUOTE = 10
CHANNELS = ("email", "sms", "phone", "post")
BOOL_FIELDS = frozenset({"granted", "talent_pool_consent"})
FORMS = frozenset({EventType.QUOTE_REQUESTED, EventType.CONTACT_SUBMITTED, EventType.JOB_APPLICATION_SUBMITTED})

# Keys of what was already written (submission ids, seed keys): kept after erasure, and holding no
# personal data, so a replayed task or a restart's seeding never brings an erased person back.
LEDGER_SQL = "CREATE TABLE IF NOT EXISTS processed (key TEXT PRIMARY KEY, at TEXT NOT NULL);"


class UnsupportedSubmission(ValueError):
    """A form this system does not own was routed to it."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class _Database:
    """One SQLite file behind a lock: the runtime calls the verbs from worker threads."""

    def __init__(self, path: str | Path, schema: str) -> None:
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA secure_delete=ON")  # erased rows are zeroed, not left in free pages
        if str(path) != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(LEDGER_SQL + schema)

    @contextmanager
    def transaction(self) -> Iterator[Conn]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def purge_wal(self) -> None:
        """Copy the WAL into the database and empty it: its old frames still hold erased rows."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


@dataclass(frozen=True)
class Category:
    """One category of the export: the table holding it and where its data come from (R23, R28)."""

    name: str
    table: str
    origin: str
    inferred: tuple[str, ...] = ()


class SqliteSystem:
    """What the three reference systems share: the verbs over tables keyed by normalized e-mail."""

    name = ""
    SCHEMA = ""
    CATEGORIES: tuple[Category, ...] = ()

    def __init__(self, path: str | Path, clock: Clock = utcnow) -> None:
        self.capabilities = capabilities_for(TaskAction)
        self._db = _Database(path, self.SCHEMA)
        self._clock = clock

    def close(self) -> None:
        self._db.close()

    def record_submission(self, submission_id: str, kind: str, subject: Subject, data: dict) -> None:
        email = normalize_email(subject.email)
        self._write_once(submission_id, lambda conn: self._record(conn, submission_id, kind, email, data))

    def lookup(self, subject: Subject) -> LookupAnswer:
        email = normalize_email(subject.email)
        with self._db.transaction() as conn:
            held = any(_exists(conn, c.table, email) for c in self.CATEGORIES)
            return LookupAnswer(holds_data=held, channels=self._channels(conn, email) if held else ())

    def export(self, subject: Subject) -> Export:
        email = normalize_email(subject.email)
        with self._db.transaction() as conn:
            records = {c.name: rows for c in self.CATEGORIES if (rows := self._rows(conn, c, email))}
            records.update(self._archived(conn, email))
        return Export(records=records)

    def erase(self, subject: Subject) -> ErasureReport:
        email = normalize_email(subject.email)
        with self._db.transaction() as conn:
            self._before_erase(conn, email)
            erased = sum(_delete(conn, c.table, email) for c in self.CATEGORIES)
            kept = self._after_erase(conn, email, erased)
        self._db.purge_wal()
        return ErasureReport(erased_items=erased, kept=kept)

    def _now(self) -> str:
        return self._clock().isoformat()

    def _write_once(self, key: str | None, write: Callable[[Conn], object]) -> None:
        """Write unless `key` was written before; the key and the write commit together."""
        with self._db.transaction() as conn:
            if key is None or conn.execute("INSERT OR IGNORE INTO processed VALUES (?, ?)",
                                           (key, self._now())).rowcount:
                write(conn)

    def _rows(self, conn: Conn, category: Category, email: str) -> list[dict]:
        rows = conn.execute(f"SELECT * FROM {category.table} WHERE email = ? ORDER BY rowid", (email,))
        tags = {"_origin": category.origin}
        if category.inferred:  # R23: derived fields are named, so the person can tell them apart
            tags["_inferred_fields"] = list(category.inferred)
        return [self._decorate(category, _plain(row)) | tags for row in rows]

    # Hooks for each system.
    def _record(self, conn: Conn, submission_id: str, kind: str, email: str, data: dict) -> None:
        raise NotImplementedError

    def _channels(self, conn: Conn, email: str) -> tuple[str, ...]:
        return ("email",)

    def _decorate(self, category: Category, record: dict) -> dict:
        return record

    def _archived(self, conn: Conn, email: str) -> dict[str, list[dict]]:
        return {}

    def _before_erase(self, conn: Conn, email: str) -> None:
        pass

    def _after_erase(self, conn: Conn, email: str, erased: int) -> tuple[KeptItem, ...]:
        return ()


def _exists(conn: Conn, table: str, email: str) -> bool:
    return conn.execute(f"SELECT 1 FROM {table} WHERE email = ? LIMIT 1", (email,)).fetchone() is not None


def _delete(conn: Conn, table: str, email: str) -> int:
    return conn.execute(f"DELETE FROM {table} WHERE email = ?", (email,)).rowcount


def _plain(row: sqlite3.Row) -> dict:
    return {k: bool(row[k]) if k in BOOL_FIELDS and row[k] is not None else row[k] for k in row.keys()}


def _unsupported(system: str, kind: str) -> UnsupportedSubmission:
    return UnsupportedSubmission(f"{system} does not record '{kind}' submissions")


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
            raise _unsupported(self.name, kind)
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
        archived = [_plain(row) | {"_origin": "observed", "_restricted": True} for row in rows]
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


RECRUITMENT_SCHEMA = """
CREATE TABLE IF NOT EXISTS candidates (email TEXT PRIMARY KEY, first_name TEXT, last_name TEXT, phone TEXT,
  candidate_kind TEXT, talent_pool_consent INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,
  last_contact_at TEXT);
CREATE TABLE IF NOT EXISTS applications (submission_id TEXT NOT NULL UNIQUE, email TEXT NOT NULL,
  position TEXT, submitted_at TEXT NOT NULL, assessment TEXT);
CREATE TABLE IF NOT EXISTS cv_files (email TEXT NOT NULL, path TEXT NOT NULL, stored_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS applications_email ON applications (email);
CREATE INDEX IF NOT EXISTS cv_files_email ON cv_files (email);
"""

UPSERT_CANDIDATE = """
INSERT INTO candidates VALUES (:email, :first_name, :last_name, :phone, :candidate_kind, :talent_pool_consent,
  :now, :now)
ON CONFLICT (email) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name,
  phone = coalesce(excluded.phone, phone), candidate_kind = excluded.candidate_kind,
  talent_pool_consent = excluded.talent_pool_consent, last_contact_at = excluded.last_contact_at
"""


class RecruitmentAdapter(SqliteSystem):
    """Candidates (employees and franchisees), their applications and CV files on disk."""

    name = "recruitment"
    SCHEMA = RECRUITMENT_SCHEMA
    CATEGORIES = (
        Category("candidate", "candidates", "provided"),
        Category("applications", "applications", "provided", inferred=("assessment",)),
        Category("cv_files", "cv_files", "provided"),
    )

    def __init__(self, path: str | Path, cv_dir: Path, clock: Clock = utcnow) -> None:
        super().__init__(path, clock)
        self.cv_dir = Path(cv_dir)
        self.cv_dir.mkdir(parents=True, exist_ok=True)

    def assess(self, submission_id: str, assessment: str) -> None:
        """A recruiter's assessment: inferred data, part of the access copy (R23)."""
        with self._db.transaction() as conn:
            conn.execute("UPDATE applications SET assessment = ? WHERE submission_id = ?", (assessment, submission_id))

    def _record(self, conn: Conn, submission_id: str, kind: str, email: str, data: dict) -> None:
        if kind != EventType.JOB_APPLICATION_SUBMITTED:
            raise _unsupported(self.name, kind)
        now = self._now()
        conn.execute(UPSERT_CANDIDATE, {"email": email, "now": now, "phone": data.get("phone"),
                                        "first_name": data.get("first_name"), "last_name": data.get("last_name"),
                                        "candidate_kind": data.get("candidate_kind", "employee"),
                                        "talent_pool_consent": int(bool(data.get("talent_pool_consent")))})
        conn.execute("INSERT INTO applications VALUES (?, ?, ?, ?, NULL)",
                     (submission_id, email, data.get("position"), now))
        if data.get("cv_ref"):
            path = self._store_cv(submission_id, data["cv_ref"])
            conn.execute("INSERT INTO cv_files VALUES (?, ?, ?)", (email, str(path), now))

    def _store_cv(self, submission_id: str, cv_ref: str) -> Path:
        """Stands for the file store: the file's content is the reference. Named without personal data."""
        path = self.cv_dir / f"cv-{hashlib.sha256(submission_id.encode()).hexdigest()[:32]}.txt"
        path.write_text(cv_ref, encoding="utf-8")
        return path

    def _channels(self, conn: Conn, email: str) -> tuple[str, ...]:
        candidate = conn.execute("SELECT phone FROM candidates WHERE email = ?", (email,)).fetchone()
        return ("email", "phone") if candidate and candidate["phone"] else ("email",)

    def _decorate(self, category: Category, record: dict) -> dict:
        """The copy includes the document itself where needed to understand the data (R23)."""
        if category.table == "cv_files" and Path(record["path"]).is_file():
            return record | {"content": Path(record["path"]).read_text(encoding="utf-8")}
        return record

    def _before_erase(self, conn: Conn, email: str) -> None:
        # Files first: if the transaction then fails, a retry finds the rows and finishes the job.
        for (path,) in conn.execute("SELECT path FROM cv_files WHERE email = ?", (email,)).fetchall():
            Path(path).unlink(missing_ok=True)


NEWSLETTER_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscribers (email TEXT PRIMARY KEY, language TEXT, subscribed_at TEXT NOT NULL,
  consent_wording_version TEXT, source TEXT);
CREATE TABLE IF NOT EXISTS campaign_events (email TEXT NOT NULL, campaign TEXT NOT NULL,
  event TEXT NOT NULL CHECK (event IN ('sent', 'opened', 'clicked')), at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS suppression (hash TEXT PRIMARY KEY, added_at TEXT NOT NULL, reason TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS campaign_events_email ON campaign_events (email);
"""

SUBSCRIBE = """
INSERT INTO subscribers VALUES (?, ?, ?, ?, ?)
ON CONFLICT (email) DO UPDATE SET language = excluded.language,
  consent_wording_version = excluded.consent_wording_version, source = excluded.source
"""

SUPPRESS = """
INSERT INTO suppression VALUES (?, ?, ?)
ON CONFLICT (hash) DO UPDATE SET added_at = excluded.added_at, reason = excluded.reason
"""


class NewsletterAdapter(SqliteSystem):
    """E-mail marketing: subscribers with their consent proof, campaign events, and a suppression
    list that holds only a keyed hash of each address (R45)."""

    name = "newsletter"
    SCHEMA = NEWSLETTER_SCHEMA
    CATEGORIES = (
        Category("subscription", "subscribers", "provided"),
        Category("campaign_events", "campaign_events", "observed"),
    )

    def __init__(self, path: str | Path, secret: bytes, clock: Clock = utcnow) -> None:
        if not secret:
            raise ValueError("the suppression list needs a secret key, or its hashes can be reversed by guessing")
        super().__init__(path, clock)
        self._secret = secret

    def suppression_hash(self, email: str) -> str:
        return hmac.new(self._secret, b"suppression:" + normalize_email(email).encode(), hashlib.sha256).hexdigest()

    def is_suppressed(self, email: str) -> bool:
        with self._db.transaction() as conn:
            return _suppressed(conn, self.suppression_hash(email))

    def add_campaign_event(self, email: str, campaign: str, event: str,
                           at: str | None = None, key: str | None = None) -> None:
        row = (normalize_email(email), campaign, event, at or self._now())
        self._write_once(key, lambda conn: conn.execute("INSERT INTO campaign_events VALUES (?, ?, ?, ?)", row))

    def _record(self, conn: Conn, submission_id: str, kind: str, email: str, data: dict) -> None:
        if kind == EventType.CONSENT_CHANGED:
            return self._consent_changed(conn, kind, email, data)
        if kind not in FORMS:
            raise _unsupported(self.name, kind)
        consent = data.get("marketing_consent") or {}
        if consent.get("email"):  # R32: prospects need prior consent for e-mail
            self._subscribe(conn, kind, email, data.get("language"), consent.get("wording_version"))

    def _consent_changed(self, conn: Conn, kind: str, email: str, data: dict) -> None:
        if data.get("channel") != "email":
            return
        if data.get("granted"):  # a fresh, explicit consent lifts the suppression
            conn.execute("DELETE FROM suppression WHERE hash = ?", (self.suppression_hash(email),))
            return self._subscribe(conn, kind, email, data.get("language"), data.get("wording_version"))
        # R31: withdrawal unsubscribes; with no other basis the history goes too, the fingerprint stays (R45)
        _delete(conn, "subscribers", email)
        _delete(conn, "campaign_events", email)
        self._suppress(conn, email, "consent_withdrawn")

    def _subscribe(self, conn: Conn, source: str, email: str, language: str | None, wording: str | None) -> None:
        if not _suppressed(conn, self.suppression_hash(email)):
            conn.execute(SUBSCRIBE, (email, language, self._now(), wording, source))

    def _suppress(self, conn: Conn, email: str, reason: str) -> None:
        conn.execute(SUPPRESS, (self.suppression_hash(email), self._now(), reason))

    def _after_erase(self, conn: Conn, email: str, erased: int) -> tuple[KeptItem, ...]:
        """An erased address is not re-imported (R45, LEGAL §4.3); only its keyed hash is kept."""
        if erased:
            self._suppress(conn, email, "erasure")
        digest = self.suppression_hash(email)
        row = conn.execute("SELECT added_at FROM suppression WHERE hash = ?", (digest,)).fetchone()
        if row is None:
            return ()
        until = add_years(date.fromisoformat(row["added_at"][:10]), SUPPRESSION_YEARS).isoformat()
        return (KeptItem(item=SUPPRESSION_ITEM, ground=SUPPRESSION_GROUND, until=until),)


def _suppressed(conn: Conn, digest: str) -> bool:
    return conn.execute("SELECT 1 FROM suppression WHERE hash = ?", (digest,)).fetchone() is not None


def seed_sample_people(crm: CrmAdapter, recruitment: RecruitmentAdapter, newsletter: NewsletterAdapter) -> None:
    """Fictitious people for the dev stack. Safe at every start, and never brings back someone erased."""
    _seed_camille(crm, newsletter)
    _seed_lucas(recruitment)
    _seed_emma(newsletter)


CAMILLE = Subject(email="camille.durand@example.test", name="Camille Durand")
LUCAS = Subject(email="lucas.bernard@example.test", name="Lucas Bernard")
EMMA = Subject(email="emma.petit@example.test", name="Emma Petit")


def _seed_camille(crm: CrmAdapter, newsletter: NewsletterAdapter) -> None:
    person = {"first_name": "Camille", "last_name": "Durand", "email": CAMILLE.email, "phone": "+33 6 12 34 56 78",
              "language": "fr", "marketing_consent": {"email": True, "wording_version": "2026-09"},
              "postal_address": {"street": "12 rue des Lilas", "postal_code": "69003", "city": "Lyon",
                                 "country": "FR"}}
    quotes = [("sample-camille-quote-1", "plomberie", "Fuite sous l'évier."),
              ("sample-camille-quote-2", "chauffage", "Entretien annuel de la chaudière.")]
    for submission_id, service, message in quotes:
        data = person | {"service": service, "message": message}
        crm.record_submission(submission_id, EventType.QUOTE_REQUESTED.value, CAMILLE, data)
        newsletter.record_submission(submission_id, EventType.QUOTE_REQUESTED.value, CAMILLE, data)
    crm.add_call_note(CAMILLE.email, "Rappelée pour fixer la visite du technicien.", "outbound",
                      key="sample-camille-call-1")
    crm.add_invoice(CAMILLE.email, "F-2025-0142", 18900, "2025-03-14", paid_at="2025-03-28")


def _seed_lucas(recruitment: RecruitmentAdapter) -> None:
    data = {"first_name": "Lucas", "last_name": "Bernard", "email": LUCAS.email, "phone": "+33 7 98 76 54 32",
            "language": "fr", "position": "Technicien chauffagiste", "candidate_kind": "employee",
            "cv_ref": "s3://careers-uploads/sample/cv-lucas-bernard.pdf", "talent_pool_consent": True}
    submission_id = "sample-lucas-application-1"
    recruitment.record_submission(submission_id, EventType.JOB_APPLICATION_SUBMITTED.value, LUCAS, data)
    recruitment.assess(submission_id, "Profil solide en chauffage ; à recontacter.")


def _seed_emma(newsletter: NewsletterAdapter) -> None:
    consent = {"email": EMMA.email, "channel": "email", "granted": True, "wording_version": "2026-09",
               "language": "fr"}
    newsletter.record_submission("sample-emma-consent-1", EventType.CONSENT_CHANGED.value, EMMA, consent)
    events = [("2026-10-lettre", "sent"), ("2026-10-lettre", "opened"), ("2026-10-lettre", "clicked")]
    for number, (campaign, event) in enumerate(events, 1):
        newsletter.add_campaign_event(EMMA.email, campaign, event, key=f"sample-emma-event-{number}")
