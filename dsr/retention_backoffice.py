"""The sweep's side of a retention scan by a system with its own consumer (the back-office SDK): ask on its task
topic, collect the pages from `dsr.retention-scans` with a timeout, open the sealed addresses here only (R44)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol

from pydantic import ValidationError

from gdpr.register import Register
from handlers.protocol import (
    Capabilities,
    DueRecord,
    HoldsOf,
    RetentionScan,
    SystemUnanswered,
    UnkeyedDue,
    UnsupportedAction,
    no_holds,
)
from schemas.scans import PURGE_EXPIRED, RETENTION_SCAN, RetentionScanPage, RetentionScanRequest, ScanStatus
from schemas.sealed import Sealed

log = logging.getLogger(__name__)

Opener = Callable[[Sealed], str | None]  # the sealed address of a subject_ref; None: their key is gone (erased)


class ScanTransport(Protocol):
    """Publishes a scan request, then hands over the pages answering it as they arrive."""

    def ask(self, request: RetentionScanRequest) -> None: ...

    def pages(self, scan_id: str, wait: float) -> list[RetentionScanPage]: ...


@dataclass
class Collected:
    """The pages of one answer, by number (a page read twice is kept once), until the last one and all before it."""

    system: str
    pages: dict[int, RetentionScanPage] = field(default_factory=dict)

    def add(self, page: RetentionScanPage) -> None:
        if page.system != self.system:
            raise SystemUnanswered(f"system '{self.system}': a page of its retention scan came from '{page.system}'")
        self.pages.setdefault(page.page, page)

    @property
    def closing(self) -> RetentionScanPage | None:
        return next((p for p in self.pages.values() if p.last or p.status is not ScanStatus.DONE), None)

    def complete(self) -> bool:
        closing = self.closing
        if closing is None:
            return False
        return closing.status is not ScanStatus.DONE or set(self.pages) >= set(range(1, (closing.pages or 1) + 1))


def scan_result(collected: Collected, opener: Opener) -> RetentionScan:
    """The answer as an in-process adapter gives it; unsupported and failed answers raise, naming the system."""
    closing, system = collected.closing, collected.system
    if closing.status is ScanStatus.UNSUPPORTED:
        raise UnsupportedAction(f"system '{system}' does not scan: {closing.error}")
    if closing.status is ScanStatus.FAILED:
        raise SystemUnanswered(f"system '{system}' could not scan: {closing.error}")
    people = [person for number in sorted(collected.pages) for person in collected.pages[number].due]
    if len(people) != closing.people:
        raise SystemUnanswered(f"system '{system}' announced {closing.people} people and sent {len(people)}")
    due = []
    for person in people:
        if person.subject.subject_ref != person.subject_ref:
            raise SystemUnanswered(f"system '{system}': a subject_ref of its scan does not match its sealed address")
        email = opener(person.subject)
        if email is None:  # their key was destroyed since: nothing left to erase for them
            continue
        due += [DueRecord(email, c.category, c.rule, c.action, c.end_date, c.count) for c in person.categories]
    unkeyed = tuple(UnkeyedDue(**u.model_dump()) for u in closing.unkeyed or ())
    return RetentionScan(due=tuple(due), waiting=closing.waiting, unkeyed=unkeyed, by_category=closing.by_category)


def purge_result(collected: Collected) -> int:
    """How many records the system purged; unsupported and failed answers raise, naming the system."""
    closing, system = collected.closing, collected.system
    if closing.status is ScanStatus.UNSUPPORTED:
        raise UnsupportedAction(f"system '{system}' does not purge: {closing.error}")
    if closing.status is ScanStatus.FAILED or closing.purged is None:
        raise SystemUnanswered(f"system '{system}' could not purge: {closing.error or 'no count in its answer'}")
    return closing.purged


class BackOfficeScan:
    """A system served by a consumer of its own, seen by the sweep as an adapter with only `retention_scan`.
    It waits `timeout` seconds for the first page, and as long again for each next one."""

    def __init__(
        self,
        name: str,
        transport: ScanTransport,
        opener: Opener,
        timeout: float = 60.0,
        page_size: int = 500,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name, self.transport, self.opener = name, transport, opener
        self.timeout, self.page_size, self.clock = timeout, page_size, clock
        # Its pages say whether its erase handler takes categories (`by_category`); the sweep trusts the answer.
        caps = {"retention_scan": True, "erase_categories": True}
        self.capabilities = Capabilities(actions=frozenset(), rights=frozenset(), **caps)

    def retention_scan(self, as_of: date, register: Register, holds_of: HoldsOf = no_holds) -> RetentionScan:
        """`holds_of` is not sent: the records the system purges itself name no one (docs/backoffice-sdk.md)."""
        return scan_result(self._collect(self._ask(RETENTION_SCAN, as_of)), self.opener)

    def purge_expired(self, as_of: date, register: Register, holds_of: HoldsOf = no_holds) -> int:
        """R44, R45: the system deletes the records its scan counted `unkeyed` on `as_of`; how many."""
        return purge_result(self._collect(self._ask(PURGE_EXPIRED, as_of)))

    def _ask(self, message: str, as_of: date) -> str:
        request = RetentionScanRequest(
            message=message,
            scan_id=str(uuid.uuid4()),
            system=self.name,
            as_of=as_of,
            page_size=self.page_size,
            issued_at=datetime.now(UTC),
        )
        self.transport.ask(request)
        return request.scan_id

    def _collect(self, scan_id: str) -> Collected:
        collected, deadline = Collected(self.name), self.clock() + self.timeout
        while not collected.complete():
            left = deadline - self.clock()
            if left <= 0:
                raise SystemUnanswered(self._silence(collected))
            before = len(collected.pages)
            for page in self.transport.pages(scan_id, min(left, 1.0)):
                collected.add(page)
            if len(collected.pages) > before:
                deadline = self.clock() + self.timeout
        return collected

    def _silence(self, collected: Collected) -> str:
        got = f"{len(collected.pages)} page(s), then nothing" if collected.pages else "no answer"
        return (
            f"system '{self.name}' did not answer the retention scan within {self.timeout:g} s ({got}): is its "
            f"consumer running, with an SDK that scans? (an older SDK dead-letters the request on "
            f"dsr.tasks.{self.name}.dlq)"
        )


def parse_page(raw: bytes | None) -> RetentionScanPage | None:
    """A page, or None for a message that is not one (logged by position only; the scan then times out)."""
    try:
        return RetentionScanPage.model_validate_json(raw or b"")
    except ValidationError:
        return None
