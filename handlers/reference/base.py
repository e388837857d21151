"""The shared base of the reference systems (SQLite or PostgreSQL): export categories and the adapter verbs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from gdpr.register import Register
from handlers.protocol import (
    ADDRESS_FIELDS,
    DATA_ACTIONS,
    RECTIFIABLE_FIELDS,
    ErasureReport,
    Export,
    LookupAnswer,
    RectificationReport,
    RestrictionReport,
    RetentionScan,
    Subject,
    SuppressionReport,
    TaskRefused,
    capabilities_for,
)
from handlers.reference import marks
from handlers.reference.db import (
    AddedColumn,
    Clock,
    Conn,
    Location,
    PostgresStore,
    add_years,
    count_rows,
    delete_rows,
    exists,
    open_database,
    plain_row,
    table_columns,
    utcnow,
)
from handlers.verbs import (
    ALL_CATEGORIES,
    ART18,
    check_changes,
    check_channels,
    check_code,
    erased_categories,
    held_categories,
    hold_basis,
    hold_reason,
    kept_by_hold,
    new_value,
    normal_address,
    scan_exports,
    tagged,
)
from schemas.identity import normalize_email
from schemas.tasks import KeptItem, LegalHold

__all__ = [
    "AddedColumn",
    "Category",
    "Clock",
    "Conn",
    "Location",
    "PostgresStore",
    "ReferenceSystem",
    "SqliteSystem",
    "UnsupportedSubmission",
    "add_years",
    "delete_rows",
    "plain_row",
    "unsupported",
    "utcnow",
]

SCAN_CHUNK = 2000  # people read at once by retention_scan

# Keys of what was already written (submission ids, seed keys): kept after erasure, and holding no
# personal data, so a replayed task or a restart's seeding never brings an erased person back.
LEDGER_SQL = "CREATE TABLE IF NOT EXISTS processed (key TEXT PRIMARY KEY, at TEXT NOT NULL);"
LEDGER_INSERT = "INSERT INTO processed (key, at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"

# The columns holding each rectifiable field (R25); a table holds a field if it has all its columns.
FIELD_COLUMNS = {name: (name,) for name in RECTIFIABLE_FIELDS} | {"postal_address": ADDRESS_FIELDS}


class UnsupportedSubmission(TaskRefused):
    """A form this system does not own was routed to it."""


@dataclass(frozen=True)
class Category:
    """One category of the export: the table holding it and where its data come from (R23, R28)."""

    name: str
    table: str
    origin: str
    inferred: tuple[str, ...] = ()


class ReferenceSystem:
    """What the reference systems share: the verbs over tables keyed by normalized e-mail, on a SQLite
    file or a PostgreSQL schema (`where`), with the same tables and columns on both."""

    name = ""
    SCHEMA = ""
    CATEGORIES: tuple[Category, ...] = ()
    RECTIFIABLE_TABLES: tuple[str, ...] = ()  # tables whose rows hold the person's own fields (R25)
    MARKETING_CHANNELS: tuple[str, ...] = ()  # channels this system markets on (R30-R32)
    ADDED_COLUMNS: tuple[AddedColumn, ...] = ()  # columns SCHEMA gained since databases were first made

    def __init__(self, where: Location, clock: Clock = utcnow) -> None:
        self.capabilities = capabilities_for(DATA_ACTIONS, retention_scan=True, erase_categories=True)
        self._db = open_database(where, LEDGER_SQL + marks.MARKS_SQL + self.SCHEMA, self.ADDED_COLUMNS)
        self._clock = clock

    def close(self) -> None:
        self._db.close()

    def record_submission(self, submission_id: str, kind: str, subject: Subject, data: dict) -> None:
        email = normalize_email(subject.email)
        self._write_once(submission_id, lambda conn: self._record(conn, submission_id, kind, email, data), email)

    def lookup(self, subject: Subject) -> LookupAnswer:
        email = normalize_email(subject.email)
        with self._db.transaction(email) as conn:
            held = any(exists(conn, c.table, email) for c in self.CATEGORIES)
            return LookupAnswer(holds_data=held, channels=self._channels(conn, email) if held else ())

    def export(self, subject: Subject) -> Export:
        email = normalize_email(subject.email)
        with self._db.transaction(email) as conn:
            reasons = marks.reasons_by_category(conn, email)
            records = {
                c.name: rows
                for c in self.CATEGORIES
                if (rows := self._rows(conn, c, email, marks.reasons_for(reasons, c.name)))
            }
            records.update(self._archived(conn, email))
        return Export(records=records)

    def erase(
        self, subject: Subject, holds: tuple[LegalHold, ...] = (), categories: tuple[str, ...] = ()
    ) -> ErasureReport:
        """R26: erase every category except those under a hold, which stay, marked restricted (R46). `categories`
        (the retention sweep's, R44): only those go, each as a whole-person erase treats it; the others stay."""
        email = normalize_email(subject.email)
        names = [c.name for c in self.CATEGORIES]
        held = held_categories(names, holds)
        unnamed = frozenset(names) - erased_categories(names, categories)
        spared = frozenset(held) | unnamed
        with self._db.transaction(email) as conn:
            self._before_erase(conn, email, spared)
            erased = sum(delete_rows(conn, c.table, email) for c in self.CATEGORIES if c.name not in spared)
            kept = self._after_erase(conn, email, erased, unnamed) + self._hold(conn, email, held)
        self._db.scrub()
        return ErasureReport(erased_items=erased, kept=kept)

    def rectify(self, subject: Subject, changes: dict) -> RectificationReport:
        """R25: each field the system holds is corrected in every row of the subject that has it."""
        changes, email = check_changes(changes), normalize_email(subject.email)
        changed: dict[str, tuple[Any, Any]] = {}
        with self._db.transaction(email) as conn:
            for table in self.RECTIFIABLE_TABLES:
                _rectify_table(conn, table, email, changes, changed)
        self._db.scrub()  # the old values must not linger in the WAL
        return RectificationReport(changed=changed)

    def restrict(self, subject: Subject, reason: str) -> RestrictionReport:
        """Art. 18(2), R27: every record of the subject is marked; storage only from now on."""
        reason, email = check_code(reason, "restriction reason"), normalize_email(subject.email)
        with self._db.transaction(email) as conn:
            count = self._count(conn, email)
            if count:  # nothing is recorded about someone the system does not hold
                marks.mark(conn, email, ALL_CATEGORIES, ART18, reason, self._now())
        return RestrictionReport(items=count)

    def lift_restriction(self, subject: Subject) -> RestrictionReport:
        """Art. 18(3): the person was told before this task was issued. Holds (R46) stay."""
        email = normalize_email(subject.email)
        with self._db.transaction(email) as conn:
            lifted = marks.unmark(conn, email, ART18)
            return RestrictionReport(items=self._count(conn, email) if lifted else 0)

    def suppress_marketing(
        self, subject: Subject, channels: tuple[str, ...], source: str = "objection"
    ) -> SuppressionReport:
        """R30, R31: stop the channels this system markets on; report what is kept to honour it (R45)."""
        stopped = tuple(c for c in check_channels(channels) if c in self.MARKETING_CHANNELS)
        source, email = check_code(source, "suppression source"), normalize_email(subject.email)
        with self._db.transaction(email) as conn:
            before = self._count(conn, email)
            kept = self._suppress(conn, email, stopped, source) if stopped else ()
            after = self._count(conn, email)
            if not after:  # unsubscribing may leave nothing to mark
                marks.unmark(conn, email)
            also = self._also_stopped(conn, email, source) if stopped else ()
        self._db.scrub()
        return SuppressionReport(channels=stopped + also, kept=kept, erased_items=max(0, before - after))

    def retention_scan(self, as_of: date, register: Register, chunk: int = SCAN_CHUNK) -> RetentionScan:
        """R44: every person on file, dated as the access answer dates them (handlers.verbs.scan_exports);
        read a range of people at a time, a query per table, so a million people never sit in memory at once."""
        emails = self.emails()
        by_category = self.capabilities.erase_categories
        found = [
            scan_exports(register, self.name, self._rows_of(emails[start : start + chunk]), as_of, by_category)
            for start in range(0, len(emails), chunk)
        ]
        return RetentionScan(
            due=tuple(d for part in found for d in part.due),
            waiting=sum(part.waiting for part in found),
            by_category=by_category,
        )

    def _rows_of(self, emails: list[str]) -> list[tuple[str, dict[str, list[dict]]]]:
        """The records that date a range of people, by person: the export's categories, without the archive."""
        if not emails:
            return []
        records: dict[str, dict[str, list[dict]]] = {email: {} for email in emails}
        with self._db.transaction() as conn:
            for category in self.CATEGORIES:
                rows = conn.execute(
                    f"SELECT * FROM {category.table} WHERE email >= ? AND email <= ? ORDER BY email, id",
                    (emails[0], emails[-1]),
                )
                for row in rows:
                    records[row["email"]].setdefault(category.name, []).append(plain_row(row))
        return list(records.items())

    def emails(self) -> list[str]:
        """Everyone on file (normalized e-mails), in a stable order."""
        union = " UNION ".join(f"SELECT email FROM {c.table}" for c in self.CATEGORIES)
        with self._db.transaction() as conn:
            return [row["email"] for row in conn.execute(f"SELECT email FROM ({union}) AS people ORDER BY email")]

    def _now(self) -> str:
        return self._clock().isoformat()

    def _count(self, conn: Conn, email: str) -> int:
        return sum(count_rows(conn, c.table, email) for c in self.CATEGORIES)

    def _write_once(self, key: str | None, write: Callable[[Conn], object], email: str) -> None:
        """Write unless `key` was written before; the key and the write commit together. A concurrent
        writer of the same key waits on its row (PostgreSQL) or the file lock (SQLite), then skips."""
        with self._db.transaction(email) as conn:
            if key is None or conn.execute(LEDGER_INSERT, (key, self._now())).rowcount:
                write(conn)

    def _rows(self, conn: Conn, category: Category, email: str, reasons: list[str]) -> list[dict]:
        rows = conn.execute(f"SELECT * FROM {category.table} WHERE email = ? ORDER BY id", (email,))
        tags = {"_origin": category.origin}
        if category.inferred:  # R23: derived fields are named, so the person can tell them apart
            tags["_inferred_fields"] = list(category.inferred)
        return [tagged(self._decorate(category, plain_row(row)) | tags, reasons) for row in rows]

    def _hold(self, conn: Conn, email: str, held: dict[str, LegalHold]) -> tuple[KeptItem, ...]:
        """Mark what the holds kept (restricted access, R46) and report it; with nothing left, no mark stays."""
        marks.unmark(conn, email, "hold:%")
        if not self._count(conn, email):
            marks.unmark(conn, email)
            return ()
        kept = []
        for category in (c for c in self.CATEGORIES if c.name in held):
            if count := count_rows(conn, category.table, email):
                hold = held[category.name]
                marks.mark(conn, email, category.name, hold_basis(hold), hold_reason(hold), self._now())
                kept.append(kept_by_hold(category.name, count, hold))
        return tuple(kept)

    # Hooks for each system.
    def _record(self, conn: Conn, submission_id: str, kind: str, email: str, data: dict) -> None:
        raise NotImplementedError

    def _channels(self, conn: Conn, email: str) -> tuple[str, ...]:
        return ("email",)

    def _decorate(self, category: Category, record: dict) -> dict:
        return record

    def _archived(self, conn: Conn, email: str) -> dict[str, list[dict]]:
        return {}

    def _before_erase(self, conn: Conn, email: str, spared: frozenset[str]) -> None:
        """`spared`: the categories that stay (held, R46, or not asked for, R44)."""

    def _after_erase(self, conn: Conn, email: str, erased: int, unnamed: frozenset[str]) -> tuple[KeptItem, ...]:
        """`unnamed`: the categories an erase by category did not ask for (R44); they stay."""
        return ()

    def _suppress(self, conn: Conn, email: str, channels: tuple[str, ...], source: str) -> tuple[KeptItem, ...]:
        return ()

    def _also_stopped(self, conn: Conn, email: str, source: str) -> tuple[str, ...]:
        """What else stopped with the channels, as the answer reports it (e.g. marketing profiling)."""
        return ()


def _rectify_table(conn: Conn, table: str, email: str, changes: dict, changed: dict) -> None:
    columns = table_columns(conn, table)
    names = [name for name in changes if set(FIELD_COLUMNS[name]) <= columns]
    for row in conn.execute(f"SELECT * FROM {table} WHERE email = ? ORDER BY id", (email,)).fetchall():
        for name in names:
            old = _read(row, name)
            new = new_value(name, old, changes[name])
            if new != old:
                _write(conn, table, row["id"], name, new)
                changed.setdefault(name, (old, new))


def _read(row: Any, name: str) -> Any:
    if name == "postal_address":
        return normal_address({part: row[part] for part in ADDRESS_FIELDS})
    return row[name]


def _write(conn: Conn, table: str, row_id: int, name: str, value: Any) -> None:
    parts = {part: (value or {}).get(part) for part in ADDRESS_FIELDS} if name == "postal_address" else {name: value}
    assignments = ", ".join(f"{column} = ?" for column in parts)
    conn.execute(f"UPDATE {table} SET {assignments} WHERE id = ?", (*parts.values(), row_id))


def unsupported(system: str, kind: str) -> UnsupportedSubmission:
    return UnsupportedSubmission(f"{system} does not record '{kind}' submissions")


SqliteSystem = ReferenceSystem  # its name before PostgreSQL came
