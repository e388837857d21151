"""One contract per port of the streams, passed by the in-memory twin and by the real adapter."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from cryptography.exceptions import InvalidTag

from dsr.devstack.smtp_sink import SmtpSink
from dsr.exports import FileExportStore, PostgresExportStore
from dsr.pg_link import StoreUnreachable
from dsr.vault import PostgresKeyVault, SqliteKeyVault
from gdpr.sealing import Lease
from mail.smtp import SmtpTransport
from mail.transport import MemoryMailTransport, PermanentMailError, TransientMailError
from schemas.clock import utcnow
from schemas.sealed import Sealed
from streams.ports import MemoryExportStore, MemoryKeyVault

pytestmark = pytest.mark.contract

LATER = datetime(2030, 1, 1, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


class KeyVaultContract:
    def make(self, tmp_path):
        raise NotImplementedError

    def another_worker(self, tmp_path, vault):
        """A second vault on the same store, as a second worker process has."""
        return self.make(tmp_path)

    def test_a_key_destroyed_by_one_worker_is_gone_for_the_other_at_once(self, tmp_path):
        first = self.make(tmp_path)
        second = self.another_worker(tmp_path, first)
        key = first.key_for("ref-a")
        assert second.get("ref-a") == key and second.key_for("ref-a") == key
        first.destroy("ref-a")
        assert second.get("ref-a") is None and first.get("ref-a") is None

    def test_a_key_is_created_once_and_kept(self, tmp_path):
        vault = self.make(tmp_path)
        key = vault.key_for("ref-a")
        assert len(key) == 32 and vault.key_for("ref-a") == key and vault.get("ref-a") == key

    def test_subjects_have_distinct_keys(self, tmp_path):
        vault = self.make(tmp_path)
        assert vault.key_for("ref-a") != vault.key_for("ref-b")

    def test_a_destroyed_key_is_gone_and_destroy_is_idempotent(self, tmp_path):
        vault = self.make(tmp_path)
        vault.key_for("ref-a")
        vault.destroy("ref-a")
        vault.destroy("ref-a")
        assert vault.get("ref-a") is None

    def test_unknown_subject_has_no_key(self, tmp_path):
        assert self.make(tmp_path).get("never") is None

    # --- Leases: keys used by no case (the sweep's tasks, a re-contact link) ---------------------------

    def test_a_key_created_under_leases_goes_with_the_last_one_released(self, tmp_path):
        vault = self.make(tmp_path)
        other = self.another_worker(tmp_path, vault)
        key = vault.key_for("ref-a", Lease("task-crm", LATER))
        assert vault.key_for("ref-a", Lease("task-newsletter", LATER)) == key  # a second system's task
        assert other.release("task-crm") == [] and other.get("ref-a") == key  # one system answered
        assert other.release("task-newsletter") == ["ref-a"]  # every system answered: the key goes
        assert vault.get("ref-a") is None and other.release("task-newsletter") == []

    def test_a_key_a_case_uses_is_never_destroyed_by_a_lease(self, tmp_path):
        vault = self.make(tmp_path)
        other = self.another_worker(tmp_path, vault)
        # A case's key: the sweep's task uses it, and its answer leaves it to the case.
        case_key = vault.key_for("ref-case")
        assert vault.key_for("ref-case", Lease("sweep-task", LATER)) == case_key
        assert other.release("sweep-task") == [] and other.get("ref-case") == case_key
        # The sweep's key: a case starts using it (no lease), and the sweep's answer leaves it to the case.
        swept = vault.key_for("ref-swept", Lease("sweep-task-2", LATER))
        assert other.key_for("ref-swept") == swept
        assert vault.release("sweep-task-2") == [] and vault.expire(LATER + HOUR) == []
        assert other.get("ref-swept") == swept

    def test_a_lease_unanswered_expires_and_the_key_goes(self, tmp_path):
        vault = self.make(tmp_path)
        vault.key_for("ref-a", Lease("link", LATER))
        vault.key_for("ref-b", Lease("task", LATER + HOUR))
        assert vault.expire(LATER) == [] and vault.get("ref-a") is not None  # kept through its `until`
        assert vault.expire(LATER + HOUR / 2) == ["ref-a"] and vault.get("ref-b") is not None
        assert vault.key_for("ref-b", Lease("task", LATER)) is not None  # the same lease again: never shortened
        assert vault.expire(LATER + HOUR / 2) == [] and vault.expire(LATER + 2 * HOUR) == ["ref-b"]

    def test_destroy_ends_the_leases(self, tmp_path):
        vault = self.make(tmp_path)
        vault.key_for("ref-a", Lease("task", LATER))
        vault.destroy("ref-a")
        fresh = vault.key_for("ref-a")  # a new case, a new key, no lease of the old one
        assert vault.release("task") == [] and vault.get("ref-a") == fresh


class TestMemoryKeyVault(KeyVaultContract):
    def make(self, tmp_path):
        return MemoryKeyVault()

    def another_worker(self, tmp_path, vault):
        return vault  # one process: the twin is its own store


class TestSqliteKeyVault(KeyVaultContract):
    def make(self, tmp_path):
        return SqliteKeyVault(tmp_path / "keys.sqlite3", b"m" * 32)

    def test_keys_survive_a_restart_and_are_wrapped_at_rest(self, tmp_path):
        key = self.make(tmp_path).key_for("ref-a")
        assert self.make(tmp_path).get("ref-a") == key
        assert key not in (tmp_path / "keys.sqlite3").read_bytes()

    def test_a_wrong_master_secret_cannot_unwrap(self, tmp_path):
        self.make(tmp_path).key_for("ref-a")
        with pytest.raises(InvalidTag):
            SqliteKeyVault(tmp_path / "keys.sqlite3", b"x" * 32).get("ref-a")

    def test_destruction_leaves_no_copy_in_the_files(self, tmp_path):
        vault = self.make(tmp_path)
        vault.key_for("ref-a")
        wrapped = vault._db.execute("SELECT wrapped FROM subject_keys").fetchone()[0]
        vault.destroy("ref-a")
        files = b"".join(p.read_bytes() for p in tmp_path.iterdir())
        assert wrapped not in files


class TestPostgresKeyVault(KeyVaultContract):
    @pytest.fixture(autouse=True)
    def _database(self, postgres_dsn):
        self.dsn = postgres_dsn

    def make(self, tmp_path, secret: bytes = b"m" * 32):
        return PostgresKeyVault(self.dsn, secret)

    def stored(self) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.dsn) as conn:
            return conn.execute("SELECT subject_ref, nonce, wrapped FROM dsr_vault.subject_keys").fetchall()

    def test_keys_are_wrapped_at_rest_and_need_the_master_secret(self, tmp_path):
        key = self.make(tmp_path).key_for("ref-a")
        [(ref, _, wrapped)] = self.stored()
        assert ref == "ref-a" and key not in bytes(wrapped)
        with pytest.raises(InvalidTag):
            self.make(tmp_path, b"x" * 32).get("ref-a")

    def test_workers_creating_the_same_key_at_once_agree_on_it(self, tmp_path):
        from concurrent.futures import ThreadPoolExecutor

        vaults = [self.make(tmp_path) for _ in range(4)]
        with ThreadPoolExecutor(4) as pool:
            keys = set(pool.map(lambda vault: vault.key_for("ref-race"), vaults))
        assert len(keys) == 1 and len(self.stored()) == 1

    def test_the_destruction_removes_the_row(self, tmp_path):
        vault = self.make(tmp_path)
        vault.key_for("ref-a")
        vault.key_for("ref-b")
        vault.destroy("ref-a")
        assert [row[0] for row in self.stored()] == ["ref-b"]

    def test_a_vault_survives_the_server_closing_its_connection(self, tmp_path):
        import psycopg

        vault = self.make(tmp_path)
        key = vault.key_for("ref-a")
        with psycopg.connect(self.dsn, autocommit=True) as conn:  # as a server restart or a failover would
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        assert vault.get("ref-a") == key

    def test_an_unreachable_server_names_the_setting(self, tmp_path):
        from dsr.devstack.kafka import free_port

        with pytest.raises(StoreUnreachable, match="DSR_VAULT_DSN"):
            PostgresKeyVault(f"postgresql://nobody@127.0.0.1:{free_port()}/none", b"m" * 32)


def message(to: str = "someone@example.test") -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "dpo@example.test", to, "Référence DSR-1"
    mail.set_content("Bonjour")
    return mail


class MailTransportContract:
    """send() hands the message over, or raises TransientMailError / PermanentMailError."""

    def make(self):
        raise NotImplementedError

    def delivered(self) -> list[str]:
        raise NotImplementedError

    def fail_transiently(self) -> None:
        raise NotImplementedError

    def fail_permanently(self) -> None:
        raise NotImplementedError

    def test_a_message_is_delivered(self):
        asyncio.run(self.make().send(message()))
        assert self.delivered() == ["Référence DSR-1"]

    def test_a_transient_failure_raises_transient(self):
        self.fail_transiently()
        with pytest.raises(TransientMailError):
            asyncio.run(self.make().send(message()))

    def test_a_permanent_failure_raises_permanent(self):
        self.fail_permanently()
        with pytest.raises(PermanentMailError):
            asyncio.run(self.make().send(message()))


class TestMemoryMailTransport(MailTransportContract):
    @pytest.fixture(autouse=True)
    def transport(self):
        self.twin = MemoryMailTransport()

    def make(self):
        return self.twin

    def delivered(self):
        return [m["Subject"] for m in self.twin.sent]

    def fail_transiently(self):
        self.twin.fail_next(TransientMailError("451"))

    def fail_permanently(self):
        self.twin.fail_next(PermanentMailError("550"))


class TestSmtpTransport(MailTransportContract):
    @pytest.fixture(autouse=True)
    def server(self):
        with SmtpSink() as sink:
            self.sink = sink
            yield

    def make(self):
        return SmtpTransport("127.0.0.1", self.sink.port, timeout=5)

    def delivered(self):
        return [m.subject for m in self.sink.mailbox.all()]

    def fail_transiently(self):
        self.sink.fail_next(1, 451)

    def fail_permanently(self):
        self.sink.fail_all(554)

    def test_one_session_carries_many_messages_and_survives_a_server_restart(self):
        transport = self.make()

        async def scenario():
            for _ in range(3):
                await transport.send(message())
            port = self.sink.port
            self.sink.stop()
            with pytest.raises(TransientMailError):
                await transport.send(message())
            self.sink = SmtpSink(self.sink.mailbox, port=port).start()
            await transport.send(message())

        asyncio.run(scenario())
        assert len(self.delivered()) == 4

    def test_an_unreachable_server_is_transient(self):
        transport = self.make()
        self.sink.stop()
        with pytest.raises(TransientMailError):
            asyncio.run(transport.send(message()))


SEALED = Sealed(subject_ref="ref", nonce="bm9uY2U", ciphertext="Y2lwaGVy")


class ExportStoreContract:
    def make(self, tmp_path):
        raise NotImplementedError

    def another_worker(self, tmp_path, store):
        """A second store on the same storage, as a second worker process has."""
        return self.make(tmp_path)

    def test_what_one_worker_stores_another_serves_and_deletes(self, tmp_path):
        first = self.make(tmp_path)
        second = self.another_worker(tmp_path, first)
        first.put_part("req-1", "crm", SEALED)
        first.put_package("req-1", SEALED)
        assert second.package("req-1") == SEALED and list(second.parts("req-1")) == ["crm"]
        second.delete("req-1")
        assert first.package("req-1") is None

    def test_a_part_stored_again_replaces_the_first(self, tmp_path):
        store = self.make(tmp_path)
        other = Sealed(subject_ref="ref", nonce="bm9uY2U", ciphertext="b3RoZXI")
        store.put_part("req-1", "crm", SEALED)
        store.put_part("req-1", "crm", other)
        assert store.parts("req-1") == {"crm": other}

    def test_parts_then_package_then_delete(self, tmp_path):
        store = self.make(tmp_path)
        store.put_part("req-1", "crm", SEALED)
        store.put_part("req-1", "newsletter", SEALED)
        assert set(store.parts("req-1")) == {"crm", "newsletter"}
        assert store.package("req-1") is None
        store.put_package("req-1", SEALED)
        assert store.package("req-1") == SEALED
        store.delete("req-1")
        store.delete("req-1")
        assert store.parts("req-1") == {} and store.package("req-1") is None

    def test_exports_older_than_the_cutoff_are_deleted(self, tmp_path):
        from datetime import datetime, timedelta

        store = self.make(tmp_path)
        store.put_part("req-1", "crm", SEALED)
        store.put_package("req-1", SEALED)
        now = datetime.now(UTC)
        assert store.delete_older_than(now - timedelta(days=7)) == []
        assert store.delete_older_than(now + timedelta(seconds=1)) == ["req-1"]
        assert store.package("req-1") is None and store.parts("req-1") == {}

    def test_requests_are_separate(self, tmp_path):
        store = self.make(tmp_path)
        store.put_part("req-1", "crm", SEALED)
        assert store.parts("req-2") == {}


class TestMemoryExportStore(ExportStoreContract):
    def make(self, tmp_path):
        return MemoryExportStore()

    def another_worker(self, tmp_path, store):
        return store


class TestFileExportStore(ExportStoreContract):
    def make(self, tmp_path):
        return FileExportStore(tmp_path / "exports")

    def test_path_tricks_are_refused(self, tmp_path):
        with pytest.raises(ValueError):
            self.make(tmp_path).put_part("../escape", "crm", SEALED)


class TestPostgresExportStore(ExportStoreContract):
    @pytest.fixture(autouse=True)
    def _database(self, postgres_dsn):
        self.dsn = postgres_dsn

    def make(self, tmp_path, clock=utcnow):
        return PostgresExportStore(self.dsn, clock=clock)

    def test_expiry_counts_from_the_first_export_of_the_request(self, tmp_path):
        from datetime import datetime, timedelta

        now = [datetime(2027, 3, 1, tzinfo=UTC)]
        store = self.make(tmp_path, clock=lambda: now[0])
        store.put_part("req-old", "crm", SEALED)
        now[0] += timedelta(days=6)
        store.put_package("req-old", SEALED)
        store.put_part("req-new", "crm", SEALED)
        assert store.delete_older_than(datetime(2027, 3, 5, tzinfo=UTC)) == ["req-old"]
        assert store.package("req-old") is None and store.parts("req-new")

    def test_an_unreachable_server_names_the_setting(self, tmp_path):
        from dsr.devstack.kafka import free_port

        with pytest.raises(StoreUnreachable, match="DSR_EXPORTS_DSN"):
            PostgresExportStore(f"postgresql://nobody@127.0.0.1:{free_port()}/none")
