"""Parses DSR_SQL_ADAPTERS and builds one declarative SQL adapter per entry (docs/sql-adapter.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from handlers.declarative import DeclarativeSqlAdapter
from handlers.mapping import MappingError, load_mapping
from handlers.reference.db import Location, PostgresStore, StoreUnavailable
from schemas.clock import utcnow

SETTING = "DSR_SQL_ADAPTERS"
FORMAT = "'name=/path/mapping.yaml@postgresql://...[#schema];name2=/path/m.yaml@/path/db.sqlite3'"


@dataclass(frozen=True)
class SqlAdapterEntry:
    name: str
    mapping: Path
    database: str  # a PostgreSQL URI (optionally #schema, default public) or a SQLite file


def parse_sql_adapters(value: str | None) -> list[SqlAdapterEntry]:
    """`name=mapping@database;...`; a bad entry stops the start naming the setting and the entry."""
    entries: list[SqlAdapterEntry] = []
    for raw in (part.strip() for part in (value or "").split(";")):
        if not raw:
            continue
        name, _, rest = raw.partition("=")
        mapping, _, database = rest.partition("@")
        name, mapping, database = name.strip(), mapping.strip(), database.strip()
        if not (name and mapping and database) or not name.replace("-", "").replace("_", "").isalnum():
            raise SystemExit(
                f"{SETTING}: entry '{name or raw.split('@')[0]}' is not name=mapping.yaml@database; expected {FORMAT}"
            )
        if name in {e.name for e in entries}:
            raise SystemExit(f"{SETTING}: system '{name}' is given twice")
        entries.append(SqlAdapterEntry(name, Path(mapping), database))
    return entries


def location_of(database: str) -> Location:
    if database.startswith(("postgresql://", "postgres://")):
        dsn, _, schema = database.partition("#")
        return PostgresStore(dsn, schema or "public")
    return Path(database)


def sql_adapters(
    value: str | None, retention_rules: set[str] | None = None, clock: Callable[[], datetime] = utcnow
) -> list[DeclarativeSqlAdapter]:
    """One adapter per entry, each checked against its database now: a wrong mapping stops the start."""
    adapters = []
    for entry in parse_sql_adapters(value):
        try:
            mapping = load_mapping(entry.mapping, retention_rules)
            if mapping.system != entry.name:
                raise MappingError(
                    f"mapping {entry.mapping.name}: system is '{mapping.system}', but {SETTING} names it '{entry.name}'"
                )
            adapters.append(DeclarativeSqlAdapter(mapping, location_of(entry.database), clock=clock))
        except (MappingError, StoreUnavailable) as exc:
            raise SystemExit(f"{SETTING}: {exc}") from None
    return adapters
