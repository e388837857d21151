"""The declarative SQL adapter: serves the rights over an existing SQLite or PostgreSQL database a YAML
mapping describes.

It never creates the company's tables; it creates its two side tables (handlers/sql_side.py) next to them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from gdpr.register import Register
from handlers.mapping import Anonymise, Insert, Mapping, MappingError, Table, load_mapping
from handlers.mapping_check import check_against, check_values, existing_tables, read_schema, references
from handlers.protocol import (
    ADDRESS_FIELDS,
    MARKETING_CHANNELS,
    ErasureReport,
    Export,
    LookupAnswer,
    RectificationReport,
    RestrictionReport,
    RetentionScan,
    Subject,
    SuppressionReport,
    UnsupportedAction,
    capabilities_for,
)
from handlers.reference.base import unsupported
from handlers.reference.db import Clock, Conn, Location, PostgresStore, open_database, utcnow
from handlers.sql_side import Side
from handlers.sql_verbs import MarketingWriter
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
from schemas.tasks import KeptItem, LegalHold, TaskAction

ALWAYS = (TaskAction.LOOKUP, TaskAction.EXPORT, TaskAction.ERASE, TaskAction.RESTRICT, TaskAction.LIFT_RESTRICTION)


class DeclarativeSqlAdapter:
    """A system the company already runs, served through its mapping. Checked at start: a table or column
    the mapping names and the database lacks stops the start with a MappingError naming both."""

    def __init__(self, mapping: Mapping | str | Path, where: Location, clock: Clock = utcnow) -> None:
        self._m = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
        check_values(self._m)
        if not isinstance(where, PostgresStore) and not Path(where).exists():
            raise MappingError(f"mapping {self._m.source}: database file {where} does not exist")
        self.name = self._m.system
        self._side = Side(self._m.side_tables)
        self._db = open_database(where, self._side.ddl)
        self._clock = clock
        self._booleans = self._check(isinstance(where, PostgresStore))
        self._marketing = MarketingWriter(self._m, self._match) if self._m.marketing else None
        actions = ALWAYS + self._optional_actions()
        self.capabilities = capabilities_for(actions, retention_scan=True, erase_categories=True)

    def _check(self, postgres: bool) -> dict[str, set[str]]:
        with self._db.transaction() as conn:
            named = {table for _, table, _ in references(self._m)}
            schema, tables = read_schema(conn, named, postgres), existing_tables(conn, postgres)
        check_against(self._m, schema, tables)
        return {t: {c for c, info in cols.items() if info.boolean} for t, cols in schema.items()}

    def _optional_actions(self) -> tuple[TaskAction, ...]:
        wanted = {
            TaskAction.RECTIFY: any(t.rectify for t in self._m.tables.values()),
            TaskAction.SUPPRESS_MARKETING: self._m.marketing is not None,
            TaskAction.RECORD_SUBMISSION: bool(self._m.forms),
        }
        return tuple(action for action, declared in wanted.items() if declared)

    def close(self) -> None:
        self._db.close()

    # --- Verbs ----------------------------------------------------------------------------------

    def record_submission(self, submission_id: str, kind: str, subject: Subject, data: dict) -> None:
        if kind not in self._m.forms:
            raise unsupported(self.name, kind)
        email = normalize_email(subject.email)
        specials = {"$email": email, "$submission_id": submission_id, "$now": self._now(), "$kind": kind}
        with self._db.transaction(email) as conn:
            if self._side.first_time(conn, submission_id, specials["$now"]):
                for insert in self._m.forms[kind]:
                    self._insert(conn, insert, {c: _value(v, data, specials) for c, v in insert.values.items()})

    def lookup(self, subject: Subject) -> LookupAnswer:
        email = normalize_email(subject.email)
        with self._db.transaction(email) as conn:
            held = self._count(conn, email) > 0
            return LookupAnswer(holds_data=held, channels=self._channels(conn, email) if held else ())

    def export(self, subject: Subject) -> Export:
        email = normalize_email(subject.email)
        with self._db.transaction(email) as conn:
            records = {self._m.category(t): rows for t in self._m.tables if (rows := self._export_rows(conn, t, email))}
        return Export(records=records)

    def erase(
        self, subject: Subject, holds: tuple[LegalHold, ...] = (), categories: tuple[str, ...] = ()
    ) -> ErasureReport:
        """R26: delete or anonymise each table, except categories under a hold (kept, marked: R46). `categories`
        (the retention sweep's, R44): only those tables, each by its own erase strategy; the others stay."""
        email = normalize_email(subject.email)
        held = held_categories([self._m.category(t) for t in self._m.tables], holds)
        erased, kept = 0, []
        with self._db.transaction(email) as conn:
            going = self._going(conn, email, categories)
            for table in self._m.ordered_for_erasure():
                if self._m.category(table) in held or table not in going:
                    continue
                if isinstance(self._m.tables[table].erase, Anonymise):
                    kept.extend(self._anonymise(conn, table, email))
                else:
                    erased += conn.execute(f"DELETE FROM {table} WHERE {self._match(table)}", (email,)).rowcount
            kept.extend(self._hold(conn, email, held))
        self._db.scrub()
        return ErasureReport(erased_items=erased, kept=tuple(kept))

    def rectify(self, subject: Subject, changes: dict) -> RectificationReport:
        """R25: each field the mapping declares is corrected in every row of the subject that has it."""
        self._require(TaskAction.RECTIFY)
        changes, email = check_changes(changes), normalize_email(subject.email)
        changed: dict[str, tuple[Any, Any]] = {}
        with self._db.transaction(email) as conn:
            for name, table in self._m.tables.items():
                if table.rectify:
                    self._rectify_table(conn, name, table, email, changes, changed)
        self._db.scrub()
        return RectificationReport(changed=changed)

    def restrict(self, subject: Subject, reason: str) -> RestrictionReport:
        """Art. 18(2), R27: one mark covers every table; storage only from now on."""
        reason, email = check_code(reason, "restriction reason"), normalize_email(subject.email)
        with self._db.transaction(email) as conn:
            if count := self._count(conn, email):
                self._side.mark(conn, email, ALL_CATEGORIES, ART18, reason, self._now())
        return RestrictionReport(items=count)

    def lift_restriction(self, subject: Subject) -> RestrictionReport:
        email = normalize_email(subject.email)
        with self._db.transaction(email) as conn:
            lifted = self._side.unmark(conn, email, ART18)
            return RestrictionReport(items=self._count(conn, email) if lifted else 0)

    def suppress_marketing(
        self, subject: Subject, channels: tuple[str, ...], source: str = "objection"
    ) -> SuppressionReport:
        """R30, R31: the declared channels stop: a refusal row per channel, or the consent column set false."""
        self._require(TaskAction.SUPPRESS_MARKETING)
        marketed = self._m.marketing.channels  # type: ignore[union-attr]
        stopped = tuple(c for c in check_channels(channels) if c in marketed)
        source, email = check_code(source, "suppression source"), normalize_email(subject.email)
        with self._db.transaction(email) as conn:
            if stopped and self._count(conn, email):  # nothing is created for someone not on file
                self._marketing.suppress(conn, email, stopped, source, self._now())  # type: ignore[union-attr]
        self._db.scrub()
        return SuppressionReport(channels=stopped)

    def retention_scan(self, as_of: date, register: Register) -> RetentionScan:
        """R44: everyone the identity tables name, their records dated through the mapping's `clock`
        columns as the access answer dates them (handlers.verbs.scan_exports), each category past its end on its
        own; but a table others are reached `via` only with them (its rows are how theirs are found)."""
        due = []
        for email in self.emails():
            records = self._clocked(email)
            found = scan_exports(register, self.name, [(email, records)], as_of, by_category=True).due
            ending = {d.category for d in found}
            due += [d for d in found if not self._reaches_running(self._table_of(d.category), ending, records)]
        return RetentionScan(due=tuple(due), by_category=True)

    def _going(self, conn: Conn, email: str, categories: tuple[str, ...]) -> set[str]:
        """The tables an erase takes: all, or those of `categories` (R44), less a table through which rows that
        stay are reached (it goes with them, never leaving them unreachable to access and erasure)."""
        named = erased_categories([self._m.category(t) for t in self._m.tables], categories)
        tables = {t for t in self._m.tables if self._m.category(t) in named}
        return {t for t in tables if not any(c not in tables and self._rows(conn, c, email) for c in self._via(t))}

    def _reaches_running(self, table: str | None, ending: set[str], records: dict[str, list[dict]]) -> bool:
        return any(self._m.category(c) in records and self._m.category(c) not in ending for c in self._via(table))

    def _via(self, table: str | None) -> list[str]:
        """The tables whose rows are found through `table`'s."""
        return [name for name, t in self._m.tables.items() if t.via is not None and t.via.table == table]

    def _table_of(self, category: str) -> str | None:
        return next((t for t in self._m.tables if self._m.category(t) == category), None)

    def emails(self) -> list[str]:
        """Everyone on file, in a stable order; an anonymised row's placeholder names nobody."""
        with self._db.transaction() as conn:
            found = {normalize_email(v) for table in self._m.tables for v in self._identities(conn, table)}
        return sorted(found)

    def _identities(self, conn: Conn, table: str) -> list[str]:
        t = self._m.tables[table]
        if not t.identity:
            return []
        column = t.identity["email"]
        placeholder = getattr(t.erase, "anonymise", {}).get(column)
        rows = conn.execute(f"SELECT DISTINCT {column} AS email FROM {table} WHERE {column} IS NOT NULL").fetchall()
        return [row["email"] for row in rows if row["email"] != placeholder]

    def _clocked(self, email: str) -> dict[str, list[dict]]:
        """The export, with each register field the mapping's `clock` names read from its column."""
        with self._db.transaction(email) as conn:
            return {
                self._m.category(t): [
                    self._exported(t, self._m.tables[t], row) | self._clock_fields(t, row) for row in rows
                ]
                for t in self._m.tables
                if (rows := self._rows(conn, t, email))
            }

    def _clock_fields(self, table: str, row: dict) -> dict:
        return {field: row[column] for field, column in self._m.tables[table].clock.items()}

    # --- Helpers --------------------------------------------------------------------------------

    def _require(self, action: TaskAction) -> None:
        if action not in self.capabilities.actions:
            raise UnsupportedAction(f"{self.name} declares no {action.value} in its mapping")

    def _now(self) -> str:
        return self._clock().isoformat()

    def _match(self, table: str) -> str:
        """SQL condition selecting the subject's rows of `table`; one parameter, the normalized e-mail."""
        t = self._m.tables[table]
        if t.identity:
            return self._equals(f"{table}.{t.identity['email']}")
        via = t.via
        parent = self._m.tables[via.table]  # type: ignore[union-attr]
        email_column = f"{via.table}.{parent.identity['email']}"  # type: ignore[index,union-attr]
        return f"{table}.{via.column} IN (SELECT {parent.key} FROM {via.table} WHERE {self._equals(email_column)})"  # type: ignore[union-attr]

    def _equals(self, column: str) -> str:
        return f"{column} = ?" if self._m.emails_normalized else f"lower(trim({column})) = ?"

    def _rows(self, conn: Conn, table: str, email: str) -> list[dict]:
        key = self._m.tables[table].key
        return conn.execute(f"SELECT * FROM {table} WHERE {self._match(table)} ORDER BY {key}", (email,)).fetchall()

    def _count(self, conn: Conn, email: str) -> int:
        return sum(
            conn.execute(f"SELECT count(*) AS n FROM {t} WHERE {self._match(t)}", (email,)).fetchone()["n"]
            for t in self._m.tables
        )

    def _export_rows(self, conn: Conn, table: str, email: str) -> list[dict]:
        t = self._m.tables[table]
        reasons = self._side.reasons(conn, email, self._m.category(table))
        return [tagged(self._exported(table, t, row), reasons) for row in self._rows(conn, table, email)]

    def _exported(self, name: str, t: Table, row: dict) -> dict:
        hidden = {t.key} | {c for c, spec in t.columns.items() if not spec.export}
        record = {
            c: bool(v) if c in self._booleans.get(name, ()) and v is not None else v
            for c, v in row.items()
            if c not in hidden
        }
        record["_origin"] = t.origin
        for origin in ("provided", "observed", "inferred"):  # R23: fields of another origin are named
            if fields := [c for c, spec in t.columns.items() if spec.origin == origin != t.origin and spec.export]:
                record[f"_{origin}_fields"] = fields
        return record

    def _channels(self, conn: Conn, email: str) -> tuple[str, ...]:
        on_file = {"email"}
        for name, t in self._m.tables.items():
            for channel, column in t.channels.items():
                if any(row[column] is not None for row in self._rows(conn, name, email)):
                    on_file.add(channel)
        return tuple(c for c in MARKETING_CHANNELS if c in on_file)

    def _anonymise(self, conn: Conn, table: str, email: str) -> list[KeptItem]:
        """Keep the rows with the listed columns overwritten: Art. 17(3) ground, until start + years."""
        spec: Anonymise = self._m.tables[table].erase  # type: ignore[assignment]
        rows = self._rows(conn, table, email)
        if not rows:
            return []
        until = None
        if spec.keep and (starts := [r[spec.keep.start] for r in rows if r[spec.keep.start] is not None]):
            until = spec.keep.until(date.fromisoformat(str(max(starts))[:10])).isoformat()
        assignments = ", ".join(f"{c} = ?" for c in spec.anonymise)
        conn.execute(f"UPDATE {table} SET {assignments} WHERE {self._match(table)}", (*spec.anonymise.values(), email))
        return [KeptItem(item=self._m.category(table), count=len(rows), ground=spec.ground, until=until)]

    def _hold(self, conn: Conn, email: str, held: dict[str, LegalHold]) -> list[KeptItem]:
        self._side.unmark(conn, email, "hold:%")
        if not self._count(conn, email):
            self._side.unmark(conn, email)
            return []
        kept = []
        for table in self._m.tables:
            category = self._m.category(table)
            if category in held and (count := len(self._rows(conn, table, email))):
                hold = held[category]
                self._side.mark(conn, email, category, hold_basis(hold), hold_reason(hold), self._now())
                kept.append(kept_by_hold(category, count, hold))
        return kept

    def _rectify_table(self, conn: Conn, name: str, t: Table, email: str, changes: dict, changed: dict) -> None:
        fields = {f: cols for f, cols in t.rectify_columns().items() if f in changes}
        for row in self._rows(conn, name, email):
            for field, columns in fields.items():
                old = (
                    normal_address(dict(zip(ADDRESS_FIELDS, (row[c] for c in columns), strict=False)))
                    if field == "postal_address"
                    else row[columns[0]]
                )
                new = new_value(field, old, changes[field])
                if new != old:
                    values = [(new or {}).get(p) for p in ADDRESS_FIELDS] if field == "postal_address" else [new]
                    sets = ", ".join(f"{c} = ?" for c in columns)
                    conn.execute(f"UPDATE {name} SET {sets} WHERE {t.key} = ?", (*values, row[t.key]))
                    changed.setdefault(field, (old, new))

    def _insert(self, conn: Conn, insert: Insert, values: dict[str, Any]) -> None:
        booleans = self._booleans.get(insert.table, set())
        values = {c: bool(v) if c in booleans and v is not None else v for c, v in values.items()}
        sql = f"INSERT INTO {insert.table} ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})"
        if insert.upsert_on:
            updates = ", ".join(f"{c} = coalesce(excluded.{c}, {insert.table}.{c})" for c in insert.update)
            sql += f" ON CONFLICT ({', '.join(insert.upsert_on)}) " + (
                f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
            )
        conn.execute(sql, tuple(values.values()))


def _value(spec: Any, data: dict, specials: dict[str, str]) -> Any:
    """A form value: '$email' and the like, a dotted path into the form's data, or {value} / {field, default}."""
    if isinstance(spec, dict):
        return spec["value"] if "value" in spec else _path(data, spec["field"], spec.get("default"))
    return specials[spec] if spec.startswith("$") else _path(data, spec, None)


def _path(data: Any, path: str, default: Any) -> Any:
    for part in path.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return default if data is None else data
