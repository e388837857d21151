"""The declarative SQL mapping: which tables of an existing database hold whom, and how each right applies.

Loaded from YAML (docs/sql-adapter.md). Every mistake is reported at start with the mapping file and the
path inside it ("mapping crm.yaml: tables.people.rectify.phone: ..."); the columns themselves are checked
against the live database by handlers/mapping_check.py.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gdpr.retention import financial_year_close
from handlers.protocol import ADDRESS_FIELDS, MARKETING_CHANNELS
from handlers.reference.db import add_years
from schemas.intake import Channel
from schemas.tasks import KeepGround

Origin = Literal["provided", "observed", "inferred"]
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")  # a SQL identifier we may quote-free interpolate
SPECIAL_VALUES = ("$email", "$submission_id", "$now", "$kind")


class MappingError(ValueError):
    """A wrong mapping: the message names the file, the table and the column."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _identifier(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"'{value}' is not a plain SQL name (letters, digits, '_')")
    return value


class Column(_Model):
    origin: Origin | None = Field(default=None, description="Overrides the table's origin for this column.")
    export: bool = Field(default=True, description="false: an internal column left out of the export.")


class Via(_Model):
    """A table without the identity, reached through a column pointing at a mapped table's key."""

    column: str = Field(description="Column of this table holding the other table's key.", examples=["person_id"])
    table: str = Field(description="Mapped table that has the identity.", examples=["people"])

    _names = field_validator("column", "table")(_identifier)


class KeepFor(_Model):
    years: int = Field(ge=1, le=100)
    start: str = Field(description="Date column the period runs from (ISO text or date).", examples=["issued_at"])
    from_financial_year_end: str | None = Field(
        default=None,
        pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
        examples=["12-31"],
        description="MM-DD: the period runs from the close of the financial year of `start` (L123-22).",
    )

    def until(self, start: date) -> date:
        if self.from_financial_year_end:
            start = financial_year_close(start, self.from_financial_year_end)
        return add_years(start, self.years)


class Anonymise(_Model):
    """Keep the row, overwrite the listed columns (NULL or a fixed value): Art. 17(3) ground and how long."""

    anonymise: dict[str, str | int | None] = Field(min_length=1, examples=[{"email": "erased@invalid"}])
    ground: KeepGround = Field(examples=["legal_obligation"])
    keep: KeepFor | None = None


class Table(_Model):
    category: str | None = Field(default=None, description="Export category; default: the table name.")
    key: str = Field(default="id", description="Row key: orders rows, targets updates; never exported.")
    identity: dict[Literal["email"], str] | None = Field(default=None, examples=[{"email": "email"}])
    via: Via | None = None
    origin: Origin = "provided"
    columns: dict[str, Column] = Field(default_factory=dict)
    legal_basis: str | None = Field(default=None, examples=["contract"])
    retention: str | None = Field(default=None, description="Retention rule id in the register.")
    clock: dict[str, str] = Field(
        default_factory=dict,
        examples=[{"last_contact_at": "last_seen"}],
        description="Register field -> this table's column holding it, where the names differ: the column "
        "that starts each retention clock (R44). Fields named like their column need no entry.",
    )
    erase: Literal["delete"] | Anonymise = "delete"
    rectify: dict[str, str | dict[str, str]] = Field(default_factory=dict)
    channels: dict[Literal["phone", "sms", "post"], str] = Field(
        default_factory=dict, description="Contact channels on file when the column is not NULL."
    )

    @field_validator("erase", mode="before")
    @classmethod
    def _strategy(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "delete":
            raise ValueError(
                f"unknown erase strategy '{value}': use delete, or {{anonymise: {{column: value}}, ground: ...}}}}"
            )
        return value

    @model_validator(mode="after")
    def _rules(self) -> Table:
        if bool(self.identity) == bool(self.via):
            raise ValueError("give exactly one of identity ({email: column}) or via ({column, table})")
        if isinstance(self.erase, Anonymise) and self.key in self.erase.anonymise:
            raise ValueError(f"erase.anonymise.{self.key}: the key column cannot be anonymised")
        if isinstance(self.erase, Anonymise):
            linking = set((self.identity or {}).values()) | ({self.via.column} if self.via else set())
            if missing := linking - set(self.erase.anonymise):
                raise ValueError(
                    f"erase.anonymise must overwrite {', '.join(sorted(missing))}: "
                    "otherwise the kept row still points at the person"
                )
        for field, target in self.rectify.items():
            _check_rectify(field, target)
        return self

    def rectify_columns(self) -> dict[str, tuple[str, ...]]:
        """Field -> its columns (postal_address: the four parts, in ADDRESS_FIELDS order)."""
        return {
            f: tuple(t[p] for p in ADDRESS_FIELDS) if isinstance(t, dict) else (t,) for f, t in self.rectify.items()
        }


def _check_rectify(field: str, target: str | dict[str, str]) -> None:
    if field not in ("first_name", "last_name", "phone", "postal_address"):
        raise ValueError(f"rectify.{field}: not a rectifiable field (first_name, last_name, phone, postal_address)")
    if (field == "postal_address") != isinstance(target, dict):
        raise ValueError(
            f"rectify.{field}: postal_address maps its parts {list(ADDRESS_FIELDS)}, the other fields one column"
        )
    if isinstance(target, dict) and set(target) != set(ADDRESS_FIELDS):
        raise ValueError(f"rectify.postal_address: map exactly {', '.join(ADDRESS_FIELDS)}")


class ConsentLog(_Model):
    """Marketing choices as rows (channel, granted): a refusal is a new row, the latest row counts."""

    table: str
    key: str = "id"
    identity: str = Field(default="email", description="E-mail column of the log.")
    channel: str = "channel"
    granted: str = "granted"
    source: str | None = Field(default=None, description="Column that receives the suppression's source.")
    values: dict[str, str] = Field(default_factory=dict, description="Other columns of a refusal row, e.g. $now.")


class ConsentColumns(_Model):
    """Marketing choices as one boolean column per channel on a mapped table: suppressing sets false."""

    table: str
    columns: dict[Channel, str] = Field(min_length=1)


class Marketing(_Model):
    channels: tuple[Channel, ...] = MARKETING_CHANNELS
    consent_log: ConsentLog | None = None
    consent_columns: ConsentColumns | None = None

    @model_validator(mode="after")
    def _one(self) -> Marketing:
        if bool(self.consent_log) == bool(self.consent_columns):
            raise ValueError("give exactly one of consent_log or consent_columns")
        return self


class Insert(_Model):
    """One row written by a form. Values: '$email', '$submission_id', '$now', '$kind', a path into the
    form's data ('postal_address.city'), or {value: literal}."""

    table: str
    values: dict[str, str | dict[str, Any]] = Field(min_length=1)
    upsert_on: tuple[str, ...] = Field(default=(), description="Unique columns: update instead of failing.")
    update: tuple[str, ...] = Field(default=(), description="Columns an upsert overwrites when given.")


class SideTables(_Model):
    ledger: str = Field(default="dsr_processed", description="Ids of submissions written (never erased).")
    marks: str = Field(default="dsr_restrictions", description="Art. 18 marks and legal holds.")


class Mapping(_Model):
    system: str = Field(examples=["crm"])
    emails_normalized: bool = Field(default=True, description="false: compare lower(trim(column)).")
    tables: dict[str, Table] = Field(min_length=1)
    marketing: Marketing | None = None
    forms: dict[str, list[Insert]] = Field(default_factory=dict, description="Form kind -> rows to insert.")
    side_tables: SideTables = SideTables()
    source: str = Field(default="mapping", exclude=True)

    @model_validator(mode="after")
    def _cross(self) -> Mapping:
        for error in _cross_errors(self):
            raise ValueError(error)
        return self

    def category(self, table: str) -> str:
        return self.tables[table].category or table

    def ordered_for_erasure(self) -> list[str]:
        """Tables reached through another first: their rows are found through rows erased after them."""
        return sorted(self.tables, key=lambda t: self.tables[t].via is None)


def _cross_errors(m: Mapping):
    for name in [*m.tables, m.side_tables.ledger, m.side_tables.marks]:
        if not _NAME.match(name):
            yield f"tables.{name}: not a plain SQL name"
    seen: dict[str, str] = {}
    for name in m.tables:
        category = m.category(name)
        if category in seen:
            yield f"tables.{name}.category: '{category}' is already the category of table {seen[category]}"
        seen[category] = name
        via = m.tables[name].via
        if via and (via.table not in m.tables or m.tables[via.table].via is not None):
            yield f"tables.{name}.via.table: '{via.table}' is not a mapped table with an identity"
    if clash := {m.side_tables.ledger, m.side_tables.marks} & set(m.tables):
        yield f"side_tables: {', '.join(sorted(clash))} is a mapped table; the adapter's own tables need other names"


def load_mapping(path: str | Path, retention_rules: set[str] | None = None) -> Mapping:
    """The mapping at `path`; errors name the file and the path inside it. With `retention_rules` (the
    register's ids), each table's retention must be one of them."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"mapping {path}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise MappingError(f"mapping {path}: not valid YAML: {exc}") from None
    mapping = parse_mapping(data, source=path.name)
    for name, table in mapping.tables.items():
        if retention_rules is not None and table.retention and table.retention not in retention_rules:
            raise MappingError(
                f"mapping {path.name}: tables.{name}.retention: unknown rule '{table.retention}' "
                f"(register: {', '.join(sorted(retention_rules))})"
            )
    return mapping


def parse_mapping(data: Any, source: str = "mapping") -> Mapping:
    if not isinstance(data, dict):
        raise MappingError(f"mapping {source}: expected a mapping with system and tables")
    try:
        return Mapping.model_validate({**data, "source": source})
    except ValidationError as exc:
        lines = [
            f"{'.'.join(str(p) for p in e['loc'] if not _is_union_branch(p))}: {_message(e)}" for e in exc.errors()
        ]
        raise MappingError(f"mapping {source}: " + "; ".join(dict.fromkeys(lines))) from None


def _is_union_branch(part: Any) -> bool:
    return isinstance(part, str) and ("[" in part or part in ("Anonymise", "literal['delete']", "str", "dict[str,str]"))


def _message(error: dict) -> str:
    return error["msg"].removeprefix("Value error, ")
