"""The clock's agenda: when each case next needs a look, so that a tick reads only the cases that are due."""

from __future__ import annotations

import functools
import heapq
from collections.abc import Iterator, MutableMapping
from datetime import datetime

from gdpr.lifecycle import CasePolicy, CaseState
from gdpr.reminders import next_look


@functools.lru_cache(maxsize=1024)
def parsed(raw: bytes) -> CaseState:
    """The state a stored value holds. Cached by the bytes themselves: the coordinator reads back what it just
    wrote on almost every event, and parsing the whole case is its largest cost. States are frozen."""
    return CaseState.from_bytes(raw)


class Agenda:
    """Cases by the time of their next look (gdpr.reminders.next_look): open ones at every tick, closed ones on
    their purge date (R51). Held in memory, rebuilt from the case table's writes and its changelog."""

    def __init__(self, policy: CasePolicy) -> None:
        self._policy = policy
        self._at: dict[str, datetime] = {}
        self._queue: list[tuple[datetime, str]] = []  # a heap; entries whose time is no longer `_at`'s are stale

    def note(self, request_id: str, raw: bytes | None) -> None:
        """The case as now stored (None: gone)."""
        at = next_look(parsed(raw), self._policy) if raw else None
        if at is None:
            self._at.pop(request_id, None)
        elif self._at.get(request_id) != at:
            self._at[request_id] = at
            heapq.heappush(self._queue, (at, request_id))

    def due(self, now: datetime) -> list[str]:
        """The cases due a look at `now`, in time order; they stay on the agenda until their case changes."""
        due: dict[str, datetime] = {}
        while self._queue and self._queue[0][0] <= now:
            at, request_id = heapq.heappop(self._queue)
            if self._at.get(request_id) == at:
                due[request_id] = at
        for request_id, at in due.items():
            heapq.heappush(self._queue, (at, request_id))
        return list(due)

    def __len__(self) -> int:
        return len(self._at)

    async def recovered(self, event) -> None:
        """faust's changelog callback: a worker rebuilding its partitions notes each case as it comes back."""
        key = event.key.decode() if isinstance(event.key, bytes) else event.key
        self.note(key, event.value)


class IndexedCases(MutableMapping[str, bytes]):
    """The case table with its agenda kept in step: the coordinator's writes and deletes note the case anew."""

    def __init__(self, table: MutableMapping[str, bytes], agenda: Agenda) -> None:
        self.table = table
        self.agenda = agenda

    def __getitem__(self, request_id: str) -> bytes:
        return self.table[request_id]

    def __setitem__(self, request_id: str, raw: bytes) -> None:
        self.table[request_id] = raw
        self.agenda.note(request_id, raw)

    def __delitem__(self, request_id: str) -> None:
        del self.table[request_id]  # faust: a delete sends a tombstone to the changelog (`pop` would not)
        self.agenda.note(request_id, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)
