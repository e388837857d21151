"""The sent-e-mail ledger: the memory twin, SQLite and PostgreSQL pass the same suite; a second instance on the same
store stands for a second worker, which must see the first one's claims and sendings."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from dsr.sent_ledger import KEEP_DAYS, PostgresSentLedger, SqliteSentLedger
from mail.ledger import Claim, MemorySentLedger

NOW = datetime(2027, 3, 5, 10, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


class SentLedgerContract:
    def make(self, tmp_path, now=NOW):
        raise NotImplementedError

    def another_worker(self, tmp_path, ledger):
        raise NotImplementedError

    def test_a_new_message_is_the_claimants_to_send(self, tmp_path):
        assert self.make(tmp_path).claim("m1", "r1", NOW) == Claim.SEND

    def test_a_message_claimed_by_one_worker_is_held_for_the_other(self, tmp_path):
        ledger = self.make(tmp_path)
        ledger.claim("m1", "r1", NOW)
        assert self.another_worker(tmp_path, ledger).claim("m1", "r1", NOW + timedelta(seconds=5)) == Claim.HELD

    def test_a_message_sent_by_one_worker_is_sent_for_the_other_for_good(self, tmp_path):
        ledger = self.make(tmp_path)
        ledger.claim("m1", "r1", NOW)
        ledger.mark_sent("m1", NOW)
        other = self.another_worker(tmp_path, ledger)
        assert other.claim("m1", "r1", NOW + timedelta(days=1)) == Claim.SENT
        other.release("m1")  # a late failure report of a stale copy cannot undo a sending
        assert other.claim("m1", "r1", NOW + timedelta(days=1)) == Claim.SENT

    def test_a_claim_never_followed_by_a_sending_lapses_after_the_lease(self, tmp_path):
        ledger = self.make(tmp_path)
        ledger.claim("m1", "r1", NOW)  # the worker died mid-send
        other = self.another_worker(tmp_path, ledger)
        assert other.claim("m1", "r1", NOW + LEASE - timedelta(seconds=1)) == Claim.HELD
        assert other.claim("m1", "r1", NOW + LEASE) == Claim.SEND
        assert ledger.claim("m1", "r1", NOW + LEASE) == Claim.HELD  # and now the other one holds it

    def test_a_released_claim_is_free_at_once(self, tmp_path):
        ledger = self.make(tmp_path)
        ledger.claim("m1", "r1", NOW)
        ledger.release("m1")  # the SMTP server refused for now: the retry may claim it
        assert self.another_worker(tmp_path, ledger).claim("m1", "r1", NOW) == Claim.SEND

    def test_forgetting_a_case_removes_its_messages_only(self, tmp_path):
        ledger = self.make(tmp_path)
        for message, case in (("m1", "r1"), ("m2", "r1"), ("m3", "r2")):
            ledger.claim(message, case, NOW)
            ledger.mark_sent(message, NOW)
        assert ledger.forget_case("r1") == 2
        assert ledger.claim("m1", "r1", NOW) == Claim.SEND
        assert ledger.claim("m3", "r2", NOW) == Claim.SENT

    def test_of_some_messages_it_tells_those_that_went_out(self, tmp_path):
        ledger = self.make(tmp_path)
        for message in ("m1", "m2"):
            ledger.claim(message, "r1", NOW)
        ledger.mark_sent("m1", NOW)  # m2 is being sent, m3 was never claimed
        assert self.another_worker(tmp_path, ledger).sent(["m1", "m2", "m3"]) == {"m1"}
        assert ledger.sent([]) == set()


class SharedLedgerContract(SentLedgerContract):
    """What only a ledger that several processes share can be asked: concurrent claims."""

    def test_of_workers_claiming_together_exactly_one_wins(self, tmp_path):
        ledger = self.make(tmp_path)
        workers = [ledger, *(self.another_worker(tmp_path, ledger) for _ in range(3))]
        for round_ in range(20):
            claims: list[Claim] = []

            def claim(worker, message_id=f"m{round_}", into=claims) -> None:
                into.append(worker.claim(message_id, "r1", NOW))

            threads = [threading.Thread(target=claim, args=(w,)) for w in workers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(claims) == sorted([Claim.SEND, Claim.HELD, Claim.HELD, Claim.HELD])


class TestMemorySentLedger(SentLedgerContract):
    def make(self, tmp_path, now=NOW):
        return MemorySentLedger(LEASE)

    def another_worker(self, tmp_path, ledger):
        return ledger  # one process: the same object


class TestSqliteSentLedger(SharedLedgerContract):
    def make(self, tmp_path, now=NOW):
        return SqliteSentLedger(tmp_path / "sent.sqlite3", now, LEASE)

    def another_worker(self, tmp_path, ledger):
        return SqliteSentLedger(tmp_path / "sent.sqlite3", NOW, LEASE)

    def test_entries_untouched_for_a_month_are_pruned_at_start(self, tmp_path):
        self.make(tmp_path).claim("m1", "r1", NOW)
        later = self.make(tmp_path, NOW + timedelta(days=KEEP_DAYS, seconds=1))
        assert later.claim("m1", "r1", NOW) == Claim.SEND


class TestPostgresSentLedger(SharedLedgerContract):
    @pytest.fixture(autouse=True)
    def _database(self, postgres_dsn):
        self.dsn = postgres_dsn

    def make(self, tmp_path, now=NOW):
        return PostgresSentLedger(self.dsn, now, LEASE)

    def another_worker(self, tmp_path, ledger):
        return PostgresSentLedger(self.dsn, NOW, LEASE)

    def test_entries_untouched_for_a_month_are_pruned_at_start(self, tmp_path):
        self.make(tmp_path).claim("m1", "r1", NOW)
        assert self.make(tmp_path, NOW + timedelta(days=KEEP_DAYS - 1)).claim("m1", "r1", NOW) == Claim.HELD
        later = self.make(tmp_path, NOW + timedelta(days=KEEP_DAYS, seconds=1))
        assert later.claim("m1", "r1", NOW) == Claim.SEND
