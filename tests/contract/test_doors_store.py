"""The front doors' shared state: the in-memory twin, SQLite and PostgreSQL pass the same suite; a second
instance on the same store stands for a second worker, which must see every write at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dsr.doors_store import postgres_store, sqlite_store
from streams.doors_port import AccountExists, MemoryFrontDoorStore, Role, Session

NOW = datetime(2027, 3, 5, 10, 0, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


class FrontDoorStoreContract:
    def make(self, tmp_path):
        raise NotImplementedError

    def another_worker(self, tmp_path, store):
        raise NotImplementedError

    def test_accounts_are_created_once(self, tmp_path):
        store = self.make(tmp_path)
        store.add_account("alice", Role.DPO, "$argon2id$hash")
        with pytest.raises(AccountExists):
            self.another_worker(tmp_path, store).add_account("alice", Role.VIEWER, "x")
        account = store.account("alice")
        assert (account.role, account.password_hash, account.enabled, account.failures) == (
            Role.DPO,
            "$argon2id$hash",
            True,
            0,
        )
        assert store.account("nobody") is None

    def test_failed_logins_lock_the_account_for_every_worker_until_enabled_again(self, tmp_path):
        store = self.make(tmp_path)
        other = self.another_worker(tmp_path, store)
        store.add_account("bob", Role.VIEWER, "h")
        for _ in range(2):
            store.login_failed("bob", NOW, 3, timedelta(minutes=15))
        assert not other.account("bob").locked(NOW)
        other.login_failed("bob", NOW, 3, timedelta(minutes=15))  # the third failure, on the other worker
        assert store.account("bob").locked(NOW + timedelta(minutes=14))
        assert not store.account("bob").locked(NOW + timedelta(minutes=16))
        assert other.set_enabled("bob", True)
        assert store.account("bob").failures == 0 and not store.account("bob").locked(NOW)

    def test_a_success_resets_the_count(self, tmp_path):
        store = self.make(tmp_path)
        store.add_account("carol", Role.DPO, "h")
        store.login_failed("carol", NOW, 3, MINUTE)
        store.login_succeeded("carol")
        assert store.account("carol").failures == 0

    def test_a_session_closed_or_disabled_on_one_worker_is_refused_by_the_other(self, tmp_path):
        store = self.make(tmp_path)
        other = self.another_worker(tmp_path, store)
        store.add_account("dan", Role.DPO, "h")
        store.open_session("k1", Session("dan", "csrf1", NOW + timedelta(hours=8)))
        store.open_session("k2", Session("dan", "csrf2", NOW + timedelta(hours=8)))
        assert other.session("k1", NOW) == Session("dan", "csrf1", NOW + timedelta(hours=8))
        assert other.session("k1", NOW + timedelta(hours=9)) is None  # expired
        store.close_session("k1")
        assert other.session("k1", NOW) is None and other.session("k2", NOW) is not None
        assert store.set_enabled("dan", False)
        assert other.session("k2", NOW) is None  # disabling closes every session
        assert not store.set_enabled("nobody", False)

    def test_token_serials_increase(self, tmp_path):
        store = self.make(tmp_path)
        store.add_account("erin", Role.DPO, "h")
        assert store.new_token_serial("erin") == 1
        assert self.another_worker(tmp_path, store).new_token_serial("erin") == 2
        assert store.account("erin").token_serial == 2

    def test_rate_limits_count_every_workers_hits_in_one_window(self, tmp_path):
        store = self.make(tmp_path)
        other = self.another_worker(tmp_path, store)
        assert store.hit("site:shop", NOW, MINUTE, 3) == 0
        assert other.hit("site:shop", NOW, MINUTE, 3, count=2) == 0
        wait = store.hit("site:shop", NOW, MINUTE, 3)
        assert 1 <= wait <= 30  # the window ends at 10:01:00
        assert store.hit("site:other", NOW, MINUTE, 3) == 0
        assert store.hit("site:shop", NOW + MINUTE, MINUTE, 3) == 0  # a new window

    def test_the_first_answer_is_kept(self, tmp_path):
        store = self.make(tmp_path)
        store.remember_answer("event-1", '{"reference": "DSR-1"}', NOW)
        self.another_worker(tmp_path, store).remember_answer("event-1", '{"reference": "other"}', NOW)
        assert store.answer("event-1") == '{"reference": "DSR-1"}' and store.answer("event-2") is None

    def test_expired_state_is_forgotten(self, tmp_path):
        store = self.make(tmp_path)
        store.add_account("fay", Role.DPO, "h")
        store.open_session("k", Session("fay", "c", NOW + MINUTE))
        store.remember_answer("old", "a", NOW - timedelta(days=40))
        store.remember_answer("new", "b", NOW)
        store.forget_expired(NOW + 2 * MINUTE, timedelta(days=30))
        assert store.answer("old") is None and store.answer("new") == "b"
        assert store.session("k", NOW) is None


class TestMemoryFrontDoorStore(FrontDoorStoreContract):
    def make(self, tmp_path):
        return MemoryFrontDoorStore()

    def another_worker(self, tmp_path, store):
        return store  # one process: the same object


class TestSqliteFrontDoorStore(FrontDoorStoreContract):
    def make(self, tmp_path):
        return sqlite_store(tmp_path / "doors.sqlite3")

    def another_worker(self, tmp_path, store):
        return sqlite_store(tmp_path / "doors.sqlite3")  # another process on this machine


class TestPostgresFrontDoorStore(FrontDoorStoreContract):
    @pytest.fixture(autouse=True)
    def _database(self, postgres_dsn):
        self.dsn = postgres_dsn

    def make(self, tmp_path):
        return postgres_store(self.dsn)

    def another_worker(self, tmp_path, store):
        return postgres_store(self.dsn)
