"""Cases wherever they are held: this worker's partitions of the case table, or the worker that owns one.

The case table is partitioned by request id over the workers of the consumer group; an HTTP request may
reach any of them. A view asks the directory, which answers from the local table when this worker owns the
case's partition and otherwise asks the owner (or every worker, for a search) on its admin listener."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from gdpr.case_state import OPEN, CaseState
from gdpr.deadlines import receipt_day
from gdpr.identity import internal_target
from schemas.intake import Right
from streams.cases import CaseTable, parsed
from streams.intake import reference
from streams.web.guards import TryAgain

log = logging.getLogger(__name__)


class CasesUnavailable(TryAgain):
    """The worker holding a case cannot be known or reached now (a rebalance, a worker starting)."""


def summary(state: CaseState) -> dict:
    """What a list of cases shows: procedural facts only (R50)."""
    return {
        "reference": reference(state.request_id),
        "request_id": state.request_id,
        "right": state.right.value,
        "status": state.status.value,
        "received_on": receipt_day(state.received_at).isoformat(),
        "received_at": state.received_at.isoformat(),
        "deadline": state.deadline.isoformat(),
        "extended": state.extension is not None,
        "target": internal_target(state).isoformat(),
        "identity_level": state.level.value,
        "minor": state.details.minor_at_collection,
        "holds": [h.hold_id for h in state.active_holds()],
        "tasks": task_counts(state),
    }


def task_counts(state: CaseState) -> dict[str, dict]:
    """Per system: tasks awaiting an answer (the oldest's issue time) and failed ones; what the console's
    systems page adds up over every worker's cases."""
    counts: dict[str, dict] = {}
    for task in state.tasks.values():
        entry = counts.setdefault(task.system, {"open": 0, "failed": 0, "oldest": None})
        if task.status is None:
            entry["open"] += 1
            issued = task.issued_at.isoformat()
            entry["oldest"] = min(entry["oldest"] or issued, issued)
        elif task.status.value == "failed":
            entry["failed"] += 1
    return counts


def by_deadline(summaries: Iterable[dict]) -> list[dict]:
    return sorted(summaries, key=lambda s: (s["deadline"], s["received_at"]))


class Readiness(Protocol):
    """Whether this worker's copy of the case table is complete: a worker that has just started, or has just
    been given partitions, replays their changelog first, and until then "no such case" would be a lie."""

    def caught_up(self, request_id: str) -> bool:
        """The partition holding this case is replayed to its end (asked only of the case's owner)."""

    def all_caught_up(self) -> bool:
        """Every partition this worker holds is replayed to its end."""


class AlwaysReady:
    """The readiness of a table that is never recovered (tests, the in-memory bus)."""

    def caught_up(self, request_id: str) -> bool:
        return True

    def all_caught_up(self) -> bool:
        return True


ALWAYS_READY = AlwaysReady()


class LocalCases:
    """The cases in this worker's copy of the case table; CasesUnavailable while it is still being replayed."""

    def __init__(self, cases: CaseTable, readiness: Readiness = ALWAYS_READY) -> None:
        self.cases, self.readiness = cases, readiness

    def states(self) -> Iterable[CaseState]:
        if not self.readiness.all_caught_up():
            raise CasesUnavailable("this worker is still replaying the case table's changelog")
        return (parsed(raw) for raw in list(self.cases.values()))

    def get(self, request_id: str) -> CaseState | None:
        if not self.readiness.caught_up(request_id):
            raise CasesUnavailable("the case's partition is still being replayed from its changelog")
        raw = self.cases.get(request_id)
        return parsed(raw) if raw else None

    def with_reference(self, ref: str) -> CaseState | None:
        wanted = ref.strip().upper()
        return next((s for s in self.states() if reference(s.request_id) == wanted), None)

    def summaries(self, which: str) -> list[dict]:
        return [summary(s) for s in self.states() if which == "all" or s.status in OPEN]

    def requests_of(self, subject_ref: str, right: Right) -> list[datetime]:
        return [s.received_at for s in self.states() if s.subject_ref == subject_ref and s.right == right]


class CaseDirectory(Protocol):
    """What views ask about cases; every method may raise CasesUnavailable."""

    async def get(self, request_id: str) -> CaseState | None: ...

    async def find(self, ref: str) -> CaseState | None:
        """By request id or by the reference people quote (DSR-...)."""

    async def summaries(self, which: str) -> list[dict]:
        """Open (or all) cases, by deadline."""

    async def previous_request(self, state: CaseState) -> datetime | None:
        """The same person's latest earlier request of the same right: the facts R21 is judged on."""


class SingleWorker:
    """The directory of a worker that holds every partition (one worker, or a test)."""

    def __init__(self, local: LocalCases) -> None:
        self.local = local

    async def get(self, request_id: str) -> CaseState | None:
        return self.local.get(request_id)

    async def find(self, ref: str) -> CaseState | None:
        return self.local.get(ref) or self.local.with_reference(ref)

    async def summaries(self, which: str) -> list[dict]:
        return by_deadline(self.local.summaries(which))

    async def previous_request(self, state: CaseState) -> datetime | None:
        earlier = [t for t in self.local.requests_of(state.subject_ref, state.right) if t < state.received_at]
        return max(earlier, default=None)


class Peers(Protocol):
    """The other workers of the group, as the faust assignor knows them, and the calls that reach them."""

    def owner(self, request_id: str) -> str | None:
        """The admin URL of the worker owning the case's partition; None when it is this worker.
        Raises CasesUnavailable when the assignment is not known."""

    def others(self) -> list[str]: ...

    async def ask(self, url: str, query: dict) -> dict | None:
        """GET the owner's /internal/cases with `query`; None for a 404."""


class Cluster:
    """The directory of one worker among several: the owner answers for its cases; searches ask everyone."""

    def __init__(self, local: LocalCases, peers: Peers) -> None:
        self.local, self.peers = local, peers

    async def get(self, request_id: str) -> CaseState | None:
        url = self.peers.owner(request_id)
        if url is None:
            return self.local.get(request_id)
        answer = await self.peers.ask(url, {"request_id": request_id})
        return CaseState.model_validate(answer["states"][0]) if answer and answer["states"] else None

    async def find(self, ref: str) -> CaseState | None:
        if ref.upper().startswith("DSR-"):
            found = await self._everywhere({"reference": ref}, self.local.with_reference(ref))
            return found[0] if found else None
        return await self.get(ref)

    async def summaries(self, which: str) -> list[dict]:
        answers = await self._gather({"which": which})
        return by_deadline([*self.local.summaries(which), *(s for a in answers for s in a["summaries"])])

    async def previous_request(self, state: CaseState) -> datetime | None:
        query = {"subject": state.subject_ref, "right": state.right.value}
        answers = await self._gather(query)
        times = [
            *self.local.requests_of(state.subject_ref, state.right),
            *(datetime.fromisoformat(t) for a in answers for t in a["received_at"]),
        ]
        return max((t for t in times if t < state.received_at), default=None)

    async def _everywhere(self, query: dict, here: CaseState | None) -> list[CaseState]:
        found = [here] if here is not None else []
        for answer in await self._gather(query):
            found += [CaseState.model_validate(s) for s in answer["states"]]
        return found

    async def _gather(self, query: dict) -> list[dict]:
        answers = await asyncio.gather(*(self.peers.ask(url, query) for url in self.peers.others()))
        return [a for a in answers if a is not None]


def local_answer(local: LocalCases, query: dict) -> dict | None:
    """What /internal/cases answers another worker, from this worker's partitions only."""
    if "request_id" in query:
        state = local.get(query["request_id"])
        return {"states": [state.model_dump(mode="json")]} if state else None
    if "reference" in query:
        state = local.with_reference(query["reference"])
        return {"states": [state.model_dump(mode="json")] if state else []}
    if "subject" in query:
        times = local.requests_of(query["subject"], Right(query["right"]))
        return {"received_at": [t.isoformat() for t in times]}
    return {"summaries": local.summaries(query.get("which", "open"))}


async def case_or_none(cases: CaseDirectory, request_id: str | None) -> CaseState | None:
    """For choosing a page's language only: no id, or an owner that cannot answer now, leaves the browser's."""
    if request_id is None:
        return None
    try:
        return await cases.get(request_id)
    except CasesUnavailable:
        return None
