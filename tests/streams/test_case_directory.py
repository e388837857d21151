"""Any worker answers for any case: the directory asks the worker holding a case, or every worker for lists
and searches; what travels between them is JSON, as on the admin listeners."""

from __future__ import annotations

import json

import pytest

from gdpr.case_state import CaseState
from streams.intake import reference
from streams.web.case_directory import CasesUnavailable, Cluster, LocalCases, local_answer
from tests.streams.bus import Bus
from tests.streams.test_flow import example, raw

pytestmark = pytest.mark.streams


class TwoWorkers:
    """Peers as seen from worker "a": worker "b" holds the cases of its own bus."""

    def __init__(self, here: Bus, there: Bus) -> None:
        self.there = LocalCases(there.cases)
        self.owned_there = set(there.cases)
        self.down = False

    def owner(self, request_id: str) -> str | None:
        return "http://b:8081" if request_id in self.owned_there else None

    def others(self) -> list[str]:
        return ["http://b:8081"]

    async def ask(self, url: str, query: dict) -> dict | None:
        if self.down:
            raise CasesUnavailable("b is restarting")
        answer = local_answer(self.there, {k: str(v) for k, v in query.items()})
        return json.loads(json.dumps(answer)) if answer is not None else None


async def two_workers() -> tuple[Cluster, str, str, TwoWorkers]:
    here, there = Bus(), Bus()
    await here.submit(raw(example("dsr.rights.requested", id="event-here")))
    earlier = {"language": "en", "submitted_time": "2026-11-20T09:00:00Z"}  # a week before the one here
    await there.submit(raw(example("dsr.rights.requested", id="event-there", data=earlier)))
    peers = TwoWorkers(here, there)
    (mine,), (theirs,) = list(here.cases), list(there.cases)
    return Cluster(LocalCases(here.cases), peers), mine, theirs, peers


async def test_a_case_held_by_another_worker_is_read_from_it():
    directory, mine, theirs, _ = await two_workers()
    assert (await directory.get(mine)).request_id == mine
    remote = await directory.get(theirs)
    assert isinstance(remote, CaseState) and remote.request_id == theirs and remote.language.value == "en"
    assert await directory.get("no-such-case") is None


async def test_references_and_lists_span_every_worker():
    directory, mine, theirs, _ = await two_workers()
    assert (await directory.find(reference(theirs))).request_id == theirs
    assert (await directory.find(reference(mine).lower())).request_id == mine
    assert await directory.find("DSR-0000000000") is None
    listed = await directory.summaries("open")
    assert {s["request_id"] for s in listed} == {mine, theirs}
    assert [s["deadline"] for s in listed] == sorted(s["deadline"] for s in listed)


async def test_the_previous_request_of_the_same_person_is_found_on_another_worker():
    # R21: the facts of "possibly excessive" include the same person's earlier request, wherever it is held.
    directory, mine, theirs, _ = await two_workers()
    here, there = await directory.get(mine), await directory.get(theirs)
    assert here.subject_ref == there.subject_ref and there.received_at < here.received_at  # same person, earlier
    assert await directory.previous_request(here) == there.received_at
    assert await directory.previous_request(there) is None


async def test_an_unreachable_owner_is_said_not_guessed():
    directory, _, theirs, peers = await two_workers()
    peers.down = True
    with pytest.raises(CasesUnavailable):
        await directory.get(theirs)
    with pytest.raises(CasesUnavailable):
        await directory.summaries("open")


class Replaying:
    """A worker that has just been given its partitions and is still reading their changelog."""

    def __init__(self) -> None:
        self.done = False

    def caught_up(self, request_id: str) -> bool:
        return self.done

    def all_caught_up(self) -> bool:
        return self.done


async def test_a_worker_still_replaying_its_cases_says_try_again_never_unknown_case():
    # A restarted worker owns cases its table does not hold yet: "no such case" would send a person clicking
    # their link to an error page; "try again in a few seconds" (503, Retry-After) is the truth.
    directory, mine, theirs, peers = await two_workers()
    replaying = Replaying()
    directory.local.readiness = peers.there.readiness = replaying
    for lookup in (
        directory.get(mine),
        directory.get(theirs),
        directory.find(reference(mine)),
        directory.summaries("open"),
    ):
        with pytest.raises(CasesUnavailable):
            await lookup
    replaying.done = True
    assert (await directory.get(mine)).request_id == mine and (await directory.get(theirs)).request_id == theirs
