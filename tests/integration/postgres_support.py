"""What the PostgreSQL scenarios see of the systems' stores: a schema per system in the worker's database
(dsr/composition.py), read with psycopg as a DBA would, and the reference adapters on the same store."""

from __future__ import annotations

from contextlib import contextmanager

import psycopg
from psycopg.rows import dict_row

from handlers.reference import CrmAdapter, NewsletterAdapter, PostgresStore
from tests.integration.rights_support import secret

SCHEMAS = ("crm", "recruitment", "newsletter", "directives", "recipients")


def pg_select(pipeline, sql: str, *params) -> list[dict]:
    with psycopg.connect(pipeline.dsn, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def pg_count(pipeline, table: str, email: str) -> int:
    """Rows about `email` in `schema.table`."""
    return pg_select(pipeline, f"SELECT count(*) AS n FROM {table} WHERE email = %s", email.lower())[0]["n"]


def pg_rows(pipeline, table: str, email: str) -> list[dict]:
    """Her rows of `schema.table` as the system exports them: in id order, without the storage's row id."""
    rows = pg_select(pipeline, f"SELECT * FROM {table} WHERE email = %s ORDER BY id", email.lower())
    return [{k: v for k, v in row.items() if k != "id"} for row in rows]


def tables_holding(pipeline, email: str) -> dict[str, int]:
    """Every table of the systems' schemas with an `email` column that holds a row about `email`."""
    columns = pg_select(
        pipeline,
        "SELECT table_schema, table_name FROM information_schema.columns "
        "WHERE column_name = 'email' AND table_schema = ANY(%s)",
        list(SCHEMAS),
    )
    counts = {
        f"{c['table_schema']}.{c['table_name']}": pg_count(pipeline, f"{c['table_schema']}.{c['table_name']}", email)
        for c in columns
    }
    return {table: n for table, n in counts.items() if n}


@contextmanager
def pg_crm(pipeline):
    adapter = CrmAdapter(PostgresStore(pipeline.dsn, "crm"))
    try:
        yield adapter
    finally:
        adapter.close()


@contextmanager
def pg_newsletter(pipeline):
    adapter = NewsletterAdapter(PostgresStore(pipeline.dsn, "newsletter"), secret=secret(pipeline))
    try:
        yield adapter
    finally:
        adapter.close()
