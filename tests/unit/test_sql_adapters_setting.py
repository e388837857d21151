"""DSR_SQL_ADAPTERS: parsing the setting and building the declarative adapters it names."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dsr.sql_adapters import SqlAdapterEntry, location_of, parse_sql_adapters, sql_adapters
from handlers.reference.db import PostgresStore

pytestmark = pytest.mark.unit
MAPPING = "system: legacy\ntables:\n  customers:\n    identity: {email: mail}\n"


def test_entries_are_split_on_semicolons_and_the_first_at_sign():
    value = " billing=/etc/dsr/billing.yaml@postgresql://dsr:pw@db:5432/erp ; legacy=legacy.yaml@/srv/legacy.sqlite3;"
    assert parse_sql_adapters(value) == [
        SqlAdapterEntry("billing", Path("/etc/dsr/billing.yaml"), "postgresql://dsr:pw@db:5432/erp"),
        SqlAdapterEntry("legacy", Path("legacy.yaml"), "/srv/legacy.sqlite3"),
    ]
    assert parse_sql_adapters(None) == parse_sql_adapters("") == []


@pytest.mark.parametrize("value", ["billing=/b.yaml", "billing@x", "=b.yaml@x", "bil ling=b.yaml@x"])
def test_a_malformed_entry_names_the_setting(value):
    with pytest.raises(SystemExit, match="DSR_SQL_ADAPTERS: entry .* is not name=mapping.yaml@database"):
        parse_sql_adapters(value)


def test_a_system_given_twice_is_refused():
    with pytest.raises(SystemExit, match="system 'a' is given twice"):
        parse_sql_adapters("a=x.yaml@db.sqlite3;a=y.yaml@db.sqlite3")


def test_a_postgres_database_may_name_its_schema():
    assert location_of("postgresql://h/erp#billing") == PostgresStore("postgresql://h/erp", "billing")
    assert location_of("postgresql://h/erp") == PostgresStore("postgresql://h/erp", "public")
    assert location_of("/srv/legacy.sqlite3") == Path("/srv/legacy.sqlite3")


def test_adapters_are_built_and_checked_at_start(tmp_path):
    db = tmp_path / "legacy.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, mail TEXT)")
    (tmp_path / "legacy.yaml").write_text(MAPPING)
    [legacy] = sql_adapters(f"legacy={tmp_path / 'legacy.yaml'}@{db}")
    assert legacy.name == "legacy"
    (tmp_path / "legacy.yaml").write_text(MAPPING.replace("mail}", "email}"))
    with pytest.raises(
        SystemExit,
        match="DSR_SQL_ADAPTERS: mapping legacy.yaml: tables.customers.identity.email: "
        "no such column email in table customers",
    ):
        sql_adapters(f"legacy={tmp_path / 'legacy.yaml'}@{db}")


def test_the_mappings_system_must_be_the_name_in_the_setting(tmp_path):
    (tmp_path / "legacy.yaml").write_text(MAPPING)
    with pytest.raises(SystemExit, match="system is 'legacy', but DSR_SQL_ADAPTERS names it 'old'"):
        sql_adapters(f"old={tmp_path / 'legacy.yaml'}@{tmp_path / 'x.sqlite3'}")
