"""Finding PostgreSQL's server binaries, running them as the right user, and the SQL dialect rewrite."""

from __future__ import annotations

import pytest

from dsr.devstack import postgres
from dsr.devstack.postgres import PostgresMissing, find_bindir
from dsr.settings import SettingsError, load_settings
from handlers.reference.postgres import pyformat

pytestmark = pytest.mark.unit


def fake_server(root, major: str, tools=("initdb", "pg_ctl", "postgres")):
    bindir = root / major / "bin"
    bindir.mkdir(parents=True)
    for tool in tools:
        (bindir / tool).write_text("#!/bin/sh\n")
        (bindir / tool).chmod(0o755)
    return bindir


def test_missing_binaries_fail_with_the_command_that_installs_them(tmp_path, monkeypatch):
    monkeypatch.delenv(postgres.BINDIR_ENV, raising=False)
    with pytest.raises(PostgresMissing) as missing:
        find_bindir(tmp_path)  # an empty /usr/lib/postgresql
    assert "apt-get install" in str(missing.value) and "postgresql" in str(missing.value)
    assert "scripts/ensure-postgres" in str(missing.value)


def test_the_newest_complete_server_is_chosen(tmp_path, monkeypatch):
    monkeypatch.delenv(postgres.BINDIR_ENV, raising=False)
    fake_server(tmp_path, "9.6")
    newest = fake_server(tmp_path, "15")
    fake_server(tmp_path, "17", tools=("initdb",))  # a client-only or half-removed install
    assert find_bindir(tmp_path) == newest


def test_an_explicit_bindir_wins(tmp_path, monkeypatch):
    chosen = fake_server(tmp_path / "elsewhere", "16")
    monkeypatch.setenv(postgres.BINDIR_ENV, str(chosen))
    assert find_bindir(tmp_path / "empty") == chosen


def test_as_root_the_server_runs_as_the_postgres_user(monkeypatch):
    monkeypatch.setattr(postgres.os, "geteuid", lambda: 0)
    monkeypatch.setattr(postgres, "_server_user", lambda: None)
    command = postgres._as_server_user(["/usr/lib/postgresql/15/bin/initdb", "-D", "/tmp/x"])
    assert command[-3:] == ["/usr/lib/postgresql/15/bin/initdb", "-D", "/tmp/x"]
    assert "postgres" in command[:-3]
    monkeypatch.setattr(postgres.os, "geteuid", lambda: 1000)
    assert postgres._as_server_user(["initdb"]) == ["initdb"]


def test_placeholders_are_rewritten_for_psycopg():
    assert (
        pyformat("SELECT 1 FROM t WHERE a = ? AND b LIKE 'hold:%'")
        == "SELECT 1 FROM t WHERE a = %s AND b LIKE 'hold:%%'"
    )
    assert (
        pyformat("VALUES (:email, :now) ON CONFLICT (email) DO UPDATE SET x = excluded.x")
        == "VALUES (%(email)s, %(now)s) ON CONFLICT (email) DO UPDATE SET x = excluded.x"
    )


def test_a_bad_postgres_dsn_names_its_variable(monkeypatch):
    monkeypatch.setenv("DSR_POSTGRES_DSN", "localhost:5432")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "DSR_POSTGRES_DSN" in str(err.value)
    monkeypatch.setenv("DSR_POSTGRES_DSN", "postgresql://dsr@127.0.0.1:5432/dsr")
    assert load_settings().postgres_dsn == "postgresql://dsr@127.0.0.1:5432/dsr"
