"""Where the reference systems keep their data in contract tests: SQLite files, or PostgreSQL schemas.

A contract class for a reference system builds it at `self.location(tmp_path, name)`; mixing in
OnPostgres instead of OnSqlite runs the very same class against PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.reference import PostgresStore
from handlers.reference.db import Location


class OnSqlite:
    """A SQLite file per system under the test's tmp_path."""

    def location(self, tmp_path: Path, name: str) -> Location:
        return tmp_path / f"{name}.db"


class OnPostgres:
    """A schema per system in the test's own, fresh PostgreSQL database (the `postgres_dsn` fixture)."""

    dsn = ""

    @pytest.fixture(autouse=True)
    def _fresh_database(self, postgres_dsn: str) -> None:
        self.dsn = postgres_dsn

    def location(self, tmp_path: Path, name: str) -> Location:
        return PostgresStore(self.dsn, name)
