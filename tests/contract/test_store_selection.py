"""The composition root picks the key vault and the export store from the settings, and gives them its clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dsr.composition import build_context, export_store, key_vault
from dsr.devstack.kafka import free_port
from dsr.exports import FileExportStore, PostgresExportStore
from dsr.settings import load_settings
from dsr.vault import PostgresKeyVault, SqliteKeyVault
from mail.transport import MemoryMailTransport
from schemas.sealed import Sealed
from tests.streams.bus import Clock

SECRET = b"s" * 32


def test_alone_a_worker_keeps_keys_and_copies_under_its_data_dir(tmp_path):
    settings = load_settings(data_dir=tmp_path)
    assert isinstance(key_vault(settings, SECRET), SqliteKeyVault)
    assert isinstance(export_store(settings), FileExportStore)
    assert (tmp_path / "keys.sqlite3").exists() and (tmp_path / "exports").is_dir()


def test_workers_sharing_a_vault_share_the_copies_too(tmp_path, postgres_dsn):
    settings = load_settings(data_dir=tmp_path, vault_dsn=postgres_dsn)
    assert isinstance(key_vault(settings, SECRET), PostgresKeyVault)
    assert isinstance(export_store(settings), PostgresExportStore)


def test_a_mounted_directory_or_another_database_for_the_copies(tmp_path, postgres_dsn):
    mounted = load_settings(data_dir=tmp_path, vault_dsn=postgres_dsn, exports_dir=tmp_path / "shared")
    assert isinstance(export_store(mounted), FileExportStore) and (tmp_path / "shared").is_dir()
    elsewhere = load_settings(data_dir=tmp_path, exports_dsn=postgres_dsn)
    assert isinstance(export_store(elsewhere), PostgresExportStore)


@pytest.mark.parametrize("variable", ["vault_dsn", "exports_dsn"])
def test_an_unreachable_database_stops_the_start_naming_the_variable(tmp_path, variable):
    settings = load_settings(data_dir=tmp_path, **{variable: f"postgresql://dsr@127.0.0.1:{free_port()}/dsr"})
    with pytest.raises(SystemExit, match=f"DSR_{variable.upper()}"):
        key_vault(settings, SECRET) if variable == "vault_dsn" else export_store(settings)


def test_the_record_of_answered_tasks_is_shared_where_the_vault_is(tmp_path, postgres_dsn):
    from dsr.answers_store import PostgresAnswerRecord
    from dsr.composition import answer_records
    from handlers.answers import SqliteAnswerRecord

    alone = answer_records(load_settings(data_dir=tmp_path))
    assert isinstance(alone("crm"), SqliteAnswerRecord) and (tmp_path / "answers" / "crm.sqlite3").exists()
    shared = answer_records(load_settings(data_dir=tmp_path, vault_dsn=postgres_dsn))
    assert isinstance(shared("crm"), PostgresAnswerRecord) and shared("crm") is shared("telephony")


def test_shared_downloads_and_documents_expire_by_the_workers_clock(tmp_path, postgres_dsn):
    # A worker whose clock says 2030 (the tests' clock, or a host whose own clock drifts): what it stores is
    # stamped 2030, so it is not older than a cutoff in 2029 and is older than one in 2030.
    later = Clock(datetime(2030, 1, 1, 12, 0, tzinfo=UTC))
    settings = load_settings(data_dir=tmp_path, vault_dsn=postgres_dsn)
    ctx = build_context(settings, SECRET, publisher=None, transport=MemoryMailTransport(), clock=later)
    sealed = Sealed(subject_ref="ref", nonce="bm9uY2U", ciphertext="Y2lwaGVy")
    ctx.exports.put_part("request-1", "crm", sealed)
    ctx.documents.put("request-1", "application/pdf", sealed)
    for store in (ctx.exports, ctx.documents):
        assert store.delete_older_than(later.now - timedelta(days=1)) == []
        assert store.delete_older_than(later.now + timedelta(seconds=1)) == ["request-1"]
