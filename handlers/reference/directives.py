"""The register of post-mortem directives (LIL 85-I, R38): a system like the others, so discovery finds them."""

from __future__ import annotations

from gdpr.routing import DIRECTIVE_SUBMISSION
from handlers.reference.base import Category, Conn, ReferenceSystem, unsupported

DIRECTIVES_SCHEMA = """
CREATE TABLE IF NOT EXISTS directives (id {id}, submission_id TEXT NOT NULL UNIQUE, email TEXT NOT NULL,
  instructions TEXT NOT NULL, executor_name TEXT, specific_consent BOOLEAN NOT NULL CHECK (specific_consent),
  language TEXT, recorded_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS directives_email ON directives (email);
"""


class DirectivesRegister(ReferenceSystem):
    """Directives recorded with their own consent (never the terms and conditions); revoked by erasure."""

    name = "directives"
    SCHEMA = DIRECTIVES_SCHEMA
    CATEGORIES = (Category("directives", "directives", "provided"),)

    def _record(self, conn: Conn, submission_id: str, kind: str, email: str, data: dict) -> None:
        if kind != DIRECTIVE_SUBMISSION:
            raise unsupported(self.name, kind)
        if data.get("specific_consent") is not True:  # R38: a directive needs its own, specific consent
            raise unsupported(self.name, "directive without specific consent")
        conn.execute(
            "INSERT INTO directives (submission_id, email, instructions, executor_name, specific_consent,"
            " language, recorded_at) VALUES (?, ?, ?, ?, TRUE, ?, ?)",
            (
                submission_id,
                email,
                data.get("instructions", ""),
                data.get("executor_name") or None,
                data.get("language"),
                self._now(),
            ),
        )
