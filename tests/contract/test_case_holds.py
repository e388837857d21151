"""The holds placed on cases: the memory twin, SQLite and PostgreSQL pass the same suite; a second instance on the
same store stands for the retention sweep in another process, which must read what the workers wrote."""

from __future__ import annotations

from datetime import date

import pytest

from dsr.case_holds import PostgresCaseHolds, SqliteCaseHolds
from schemas.tasks import KeepGround, LegalHold
from streams.ports import MemoryCaseHolds


def hold(hold_id: str, categories=("*",)) -> LegalHold:
    return LegalHold(
        hold_id=hold_id, categories=list(categories), ground=KeepGround.LEGAL_CLAIMS, owner="legal",
        review_on=date(2028, 1, 1),
    )  # fmt: skip


class CaseHoldsContract:
    def make(self, tmp_path):
        raise NotImplementedError

    def another_process(self, tmp_path, store):
        raise NotImplementedError

    def test_nothing_held_at_first(self, tmp_path):
        assert self.make(tmp_path).all() == []

    def test_the_holds_of_every_case_are_read_by_another_process(self, tmp_path):
        store = self.make(tmp_path)
        store.put("case-1", "ref-a", [hold("dispute", ["quote_requests"]), hold("audit")])
        store.put("case-2", "ref-b", [hold("claim")])
        read = self.another_process(tmp_path, store).all()
        assert sorted((ref, h.hold_id, tuple(h.categories)) for ref, h in read) == [
            ("ref-a", "audit", ("*",)),
            ("ref-a", "dispute", ("quote_requests",)),
            ("ref-b", "claim", ("*",)),
        ]

    def test_a_case_s_holds_are_replaced_as_a_whole_and_an_empty_list_clears_them(self, tmp_path):
        store = self.make(tmp_path)
        store.put("case-1", "ref-a", [hold("dispute"), hold("audit")])
        store.put("case-2", "ref-b", [hold("claim")])
        store.put("case-1", "ref-a", [hold("audit")])  # the dispute's hold released
        assert sorted(h.hold_id for _, h in store.all()) == ["audit", "claim"]
        store.put("case-1", "ref-a", [])
        store.put("case-1", "ref-a", [])  # a replay changes nothing
        assert [(ref, h.hold_id) for ref, h in self.another_process(tmp_path, store).all()] == [("ref-b", "claim")]


class TestMemoryCaseHolds(CaseHoldsContract):
    def make(self, tmp_path):
        return MemoryCaseHolds()

    def another_process(self, tmp_path, store):
        return store


class TestSqliteCaseHolds(CaseHoldsContract):
    def make(self, tmp_path):
        return SqliteCaseHolds(tmp_path / "holds.sqlite3")

    def another_process(self, tmp_path, store):
        return SqliteCaseHolds(tmp_path / "holds.sqlite3")


class TestPostgresCaseHolds(CaseHoldsContract):
    @pytest.fixture(autouse=True)
    def _database(self, postgres_dsn):
        self.dsn = postgres_dsn

    def make(self, tmp_path):
        return PostgresCaseHolds(self.dsn)

    def another_process(self, tmp_path, store):
        return PostgresCaseHolds(self.dsn)
