"""The recruitment reference system: candidates, their applications and CV files on disk."""

from __future__ import annotations

import hashlib
from pathlib import Path

from handlers.reference.base import (
    AddedColumn,
    Category,
    Clock,
    Conn,
    Location,
    ReferenceSystem,
    unsupported,
    utcnow,
)
from schemas.identity import normalize_email
from schemas.intake import EventType

RECRUITMENT_SCHEMA = """
CREATE TABLE IF NOT EXISTS candidates (id {id}, email TEXT NOT NULL UNIQUE, first_name TEXT, last_name TEXT,
  phone TEXT, candidate_kind TEXT CHECK (candidate_kind IN ('employee', 'franchisee')),
  talent_pool_consent BOOLEAN NOT NULL DEFAULT FALSE, created_at TEXT NOT NULL, last_contact_at TEXT,
  process_ended_at TEXT);
CREATE TABLE IF NOT EXISTS applications (id {id}, submission_id TEXT NOT NULL UNIQUE, email TEXT NOT NULL,
  position TEXT, submitted_at TEXT NOT NULL, assessment TEXT);
CREATE TABLE IF NOT EXISTS cv_files (id {id}, email TEXT NOT NULL, path TEXT NOT NULL, stored_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS applications_email ON applications (email);
CREATE INDEX IF NOT EXISTS cv_files_email ON cv_files (email);
"""

UPSERT_CANDIDATE = """
INSERT INTO candidates (email, first_name, last_name, phone, candidate_kind, talent_pool_consent, created_at,
  last_contact_at) VALUES (:email, :first_name, :last_name, :phone, :candidate_kind, :talent_pool_consent,
  :now, :now)
ON CONFLICT (email) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name,
  phone = coalesce(excluded.phone, candidates.phone), candidate_kind = excluded.candidate_kind,
  talent_pool_consent = excluded.talent_pool_consent, last_contact_at = excluded.last_contact_at,
  process_ended_at = NULL
"""

# §5 row 7, CNIL-RECR: an employee candidate outside the talent pool is kept 3 months from here (`candidate` rule).
# A new application opens a new process (the upsert above clears it); an erased candidate is not brought back.
END_PROCESS = "UPDATE candidates SET process_ended_at = ? WHERE email = ?"


class RecruitmentAdapter(ReferenceSystem):
    """Candidates (employees and franchisees), their applications and CV files on disk."""

    name = "recruitment"
    SCHEMA = RECRUITMENT_SCHEMA
    RECTIFIABLE_TABLES = ("candidates",)  # no postal address here; no marketing either
    # A database made before the column gains it on open; its candidates have no end yet, so they stay running.
    ADDED_COLUMNS = (AddedColumn("candidates", "process_ended_at", "TEXT"),)
    CATEGORIES = (
        Category("candidate", "candidates", "provided"),
        Category("applications", "applications", "provided", inferred=("assessment",)),
        Category("cv_files", "cv_files", "provided"),
    )

    def __init__(self, where: Location, cv_dir: Path, clock: Clock = utcnow) -> None:
        super().__init__(where, clock)
        self.cv_dir = Path(cv_dir)
        self.cv_dir.mkdir(parents=True, exist_ok=True)

    def assess(self, submission_id: str, assessment: str) -> None:
        """A recruiter's assessment: inferred data, part of the access copy (R23)."""
        with self._db.transaction() as conn:
            conn.execute("UPDATE applications SET assessment = ? WHERE submission_id = ?", (assessment, submission_id))

    def end_process(self, email: str, ended_at: str | None = None) -> int:
        """The recruiter closes the person's recruitment process (position filled, application declined or
        withdrawn): from this day an employee candidate who did not join the talent pool is kept 3 months, then
        swept (`candidate` rule, §5 row 7, CNIL-RECR). How many candidates were closed: 0 for someone not on file."""
        email = normalize_email(email)
        with self._db.transaction(email) as conn:
            return conn.execute(END_PROCESS, (ended_at or self._now(), email)).rowcount

    def _record(self, conn: Conn, submission_id: str, kind: str, email: str, data: dict) -> None:
        if kind != EventType.JOB_APPLICATION_SUBMITTED:
            raise unsupported(self.name, kind)
        now = self._now()
        conn.execute(
            UPSERT_CANDIDATE,
            {
                "email": email,
                "now": now,
                "phone": data.get("phone"),
                "first_name": data.get("first_name"),
                "last_name": data.get("last_name"),
                "candidate_kind": data.get("candidate_kind", "employee"),
                "talent_pool_consent": bool(data.get("talent_pool_consent")),
            },
        )
        conn.execute(
            "INSERT INTO applications (submission_id, email, position, submitted_at) VALUES (?, ?, ?, ?)",
            (submission_id, email, data.get("position"), now),
        )
        if data.get("cv_ref"):
            path = self._store_cv(submission_id, data["cv_ref"])
            conn.execute("INSERT INTO cv_files (email, path, stored_at) VALUES (?, ?, ?)", (email, str(path), now))

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

    def _before_erase(self, conn: Conn, email: str, spared: frozenset[str]) -> None:
        # Files first: if the transaction then fails, a retry finds the rows and finishes the job.
        if "cv_files" in spared:  # R46: a held CV stays, with its file; so does one an erase by category spares
            return
        for row in conn.execute("SELECT path FROM cv_files WHERE email = ?", (email,)).fetchall():
            Path(row["path"]).unlink(missing_ok=True)
