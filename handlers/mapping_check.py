"""Checks a declarative mapping against the live database: every table and column it names must exist."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from handlers.mapping import SPECIAL_VALUES, Mapping, MappingError
from handlers.reference.db import Conn

PG_COLUMNS = """SELECT column_name AS name, data_type AS type, is_nullable = 'NO' AS notnull
FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?
ORDER BY ordinal_position"""
PG_TABLES = "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()"
SQLITE_TABLES = "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"


@dataclass(frozen=True)
class ColumnInfo:
    type: str
    notnull: bool

    @property
    def boolean(self) -> bool:
        return self.type.lower() in ("boolean", "bool")


Schema = dict[str, dict[str, ColumnInfo]]  # table -> column -> info


def read_schema(conn: Conn, tables: set[str], postgres: bool) -> Schema:
    """The columns of the tables that exist, from information_schema (PostgreSQL) or PRAGMA (SQLite)."""
    schema: Schema = {}
    for table in tables:
        if postgres:
            rows = conn.execute(PG_COLUMNS, (table,)).fetchall()
        else:
            rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
        if rows:
            schema[table] = {r["name"]: ColumnInfo(r["type"] or "", bool(r["notnull"])) for r in rows}
    return schema


def existing_tables(conn: Conn, postgres: bool) -> list[str]:
    return sorted(r["name"] for r in conn.execute(PG_TABLES if postgres else SQLITE_TABLES).fetchall())


def check_against(mapping: Mapping, schema: Schema, tables: list[str]) -> None:
    """Raise MappingError for the first table or column the mapping names and the database lacks."""
    for path, table, column in references(mapping):
        if table not in schema:
            raise MappingError(
                f"mapping {mapping.source}: {path}: no such table {table} "
                f"(tables: {', '.join(t for t in tables if not t.startswith('sqlite_'))})"
            )
        if column is not None and column not in schema[table]:
            raise MappingError(
                f"mapping {mapping.source}: {path}: no such column {column} in table {table} "
                f"(columns: {', '.join(schema[table])})"
            )
    for name, table in mapping.tables.items():
        erase = table.erase
        for column, value in getattr(erase, "anonymise", {}).items():
            if value is None and schema[name][column].notnull:
                raise MappingError(
                    f"mapping {mapping.source}: tables.{name}.erase.anonymise.{column}: column "
                    f"{column} of table {name} is NOT NULL; give a fixed value instead of null"
                )


def references(m: Mapping) -> Iterator[tuple[str, str, str | None]]:
    """(path in the mapping, table, column or None) for everything the mapping names in the database."""
    for name, t in m.tables.items():
        where = f"tables.{name}"
        yield where, name, None
        yield f"{where}.key", name, t.key
        for kind, column in (t.identity or {}).items():
            yield f"{where}.identity.{kind}", name, column
        if t.via:
            yield f"{where}.via.column", name, t.via.column
        yield from ((f"{where}.columns.{c}", name, c) for c in t.columns)
        yield from ((f"{where}.erase.anonymise.{c}", name, c) for c in getattr(t.erase, "anonymise", {}))
        if keep := getattr(t.erase, "keep", None):
            yield f"{where}.erase.keep.start", name, keep.start
        for field, columns in t.rectify_columns().items():
            yield from ((f"{where}.rectify.{field}", name, c) for c in columns)
        yield from ((f"{where}.channels.{ch}", name, c) for ch, c in t.channels.items())
        yield from ((f"{where}.clock.{field}", name, c) for field, c in t.clock.items())
    yield from _marketing_references(m)
    for kind, inserts in m.forms.items():
        for i, insert in enumerate(inserts):
            where = f"forms.{kind}[{i}]"
            yield f"{where}.table", insert.table, None
            for column in (*insert.values, *insert.upsert_on, *insert.update):
                yield f"{where}.values.{column}", insert.table, column


def _marketing_references(m: Mapping) -> Iterator[tuple[str, str, str | None]]:
    if m.marketing is None:
        return
    if log := m.marketing.consent_log:
        yield "marketing.consent_log.table", log.table, None
        for attr in ("key", "identity", "channel", "granted", "source"):
            if (column := getattr(log, attr)) is not None:
                yield f"marketing.consent_log.{attr}", log.table, column
        yield from ((f"marketing.consent_log.values.{c}", log.table, c) for c in log.values)
    if cols := m.marketing.consent_columns:
        yield "marketing.consent_columns.table", cols.table, None
        yield from ((f"marketing.consent_columns.columns.{ch}", cols.table, c) for ch, c in cols.columns.items())


def check_values(m: Mapping) -> None:
    """A form value starting with '$' must be one of the known ones."""
    for kind, inserts in m.forms.items():
        for i, insert in enumerate(inserts):
            for column, value in insert.values.items():
                if isinstance(value, str) and value.startswith("$") and value not in SPECIAL_VALUES:
                    raise MappingError(
                        f"mapping {m.source}: forms.{kind}[{i}].values.{column}: unknown '{value}' "
                        f"(known: {', '.join(SPECIAL_VALUES)})"
                    )
