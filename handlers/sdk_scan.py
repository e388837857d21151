"""The back-office SDK's answer to a retention scan: the system's own scan, in bounded pages, people sealed (R44)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

from gdpr.register import Register
from handlers.protocol import DueRecord, RetentionScan, UnkeyedDue
from handlers.sdk_ports import TaskApi, TokenRejected
from schemas.identity import normalize_email
from schemas.scans import (
    PURGE_EXPIRED,
    RETENTION_SCAN,
    DueCategory,
    DuePerson,
    RetentionScanPage,
    RetentionScanRequest,
    ScanStatus,
    UnkeyedCategory,
)

log = logging.getLogger(__name__)

ScanHandler = Callable[[date, Register], RetentionScan]
PurgeHandler = Callable[[date, Register], int]  # deletes what the scan counts `unkeyed` on that date; how many
Person = tuple[str, list[DueCategory]]


def is_scan_request(raw: bytes | None) -> bool:
    """A scan request, not a Task: its `message` says so. (An SDK older than the scan dead-letters it as an
    invalid task and serves the next message; the sweep then lists the system as unanswered.)"""
    if not raw or b'"message"' not in raw:
        return False
    try:
        body = json.loads(raw)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("message") in (RETENTION_SCAN, PURGE_EXPIRED)


def scan_pages(
    request: RetentionScanRequest,
    scan: ScanHandler | None,
    register: Register | None,
    api: TaskApi,
    purge: PurgeHandler | None = None,
    by_category: bool = False,
) -> Iterator[RetentionScanPage]:
    """Every page of the answer, built one at a time (each page's people are sealed when it is built). A system
    without a scan answers `unsupported`; a scan or a seal that breaks ends the answer with a `failed` page. A
    `purge_expired` request is answered by one page.
    `by_category`: the office's erase handler takes the task's categories; a scan that reports by category for an
    office whose erase does not fails, since the sweep's whole-person erase would take what still runs (R44)."""
    if request.message == PURGE_EXPIRED:
        yield purge_page(request, purge, register)
        return
    if scan is None or register is None:
        yield closing(request, ScanStatus.UNSUPPORTED, 1, f"system '{request.system}' has no retention_scan handler")
        return
    try:
        found = scan(request.as_of, register)
        if not isinstance(found, RetentionScan):
            raise TypeError(f"the retention_scan handler returned {type(found).__name__}, not RetentionScan")
    except Exception as exc:  # noqa: BLE001 - the sweep must hear about it; only the type is logged
        log.warning("retention scan %s failed: %s", request.scan_id, type(exc).__name__)
        yield closing(request, ScanStatus.FAILED, 1, f"{type(exc).__name__} in the system's retention scan")
        return
    if found.by_category and not by_category:
        why = "its scan reports by category, its erase handler is not declared by_category=True"
        yield closing(request, ScanStatus.FAILED, 1, why)
        return
    yield from _pages(
        request, due_people(found.due), found.waiting, api, found.by_category, [_unkeyed(u) for u in found.unkeyed]
    )


def purge_page(
    request: RetentionScanRequest, purge: PurgeHandler | None, register: Register | None
) -> RetentionScanPage:
    """R44, R45: the system deletes the records past their end it counts apart; the page says how many."""
    if purge is None or register is None:
        return closing(request, ScanStatus.UNSUPPORTED, 1, f"system '{request.system}' has no purge_expired handler")
    try:
        purged = purge(request.as_of, register)
        if not isinstance(purged, int) or isinstance(purged, bool) or purged < 0:
            raise TypeError(f"the purge_expired handler returned {type(purged).__name__}, not a count")
    except Exception as exc:  # noqa: BLE001 - the sweep must hear about it; only the type is logged
        log.warning("purge %s failed: %s", request.scan_id, type(exc).__name__)
        return closing(request, ScanStatus.FAILED, 1, f"{type(exc).__name__} in the system's purge_expired")
    return _page(request, ScanStatus.DONE, 1, True, pages=1, people=0, purged=purged)


def _unkeyed(found: UnkeyedDue) -> UnkeyedCategory:
    return UnkeyedCategory(**{k: v for k, v in vars(found).items() if k != "held"})  # held: a hold names a person


def _pages(
    request: RetentionScanRequest,
    people: list[Person],
    waiting: int,
    api: TaskApi,
    by_category: bool,
    unkeyed: list[UnkeyedCategory],
) -> Iterator[RetentionScanPage]:
    size = request.page_size
    chunks = [people[start : start + size] for start in range(0, len(people), size)] or [[]]
    for number, chunk in enumerate(chunks, 1):
        try:
            due = sealed_people(request.system, chunk, api)
        except TokenRejected:
            raise
        except Exception as exc:  # noqa: BLE001 - the pipeline is down or refused: the answer ends here, failed
            yield closing(request, ScanStatus.FAILED, number, f"{type(exc).__name__} while sealing page {number}")
            return
        last = number == len(chunks)
        totals = {"pages": len(chunks), "people": len(people), "waiting": waiting, "by_category": by_category}
        totals = totals if last else {}
        totals |= {"unkeyed": unkeyed} if last and unkeyed else {}
        yield _page(request, ScanStatus.DONE, number, last, due=due, **totals)


def due_people(due: tuple[DueRecord, ...]) -> list[Person]:
    """The scan's records grouped by person (one entry each, in the order the scan found them)."""
    people: dict[str, list[DueCategory]] = {}
    for record in due:
        people.setdefault(normalize_email(record.email), []).append(
            DueCategory(
                category=record.category,
                rule=record.rule,
                action=record.action,
                end_date=record.end_date,
                count=record.count,
            )
        )
    return list(people.items())


def sealed_people(system: str, chunk: list[Person], api: TaskApi) -> list[DuePerson]:
    """One call to the pipeline per page: the addresses come back as subject_refs and sealed values."""
    if not chunk:
        return []
    subjects = api.seal_subjects(system, [email for email, _ in chunk])
    return [
        DuePerson(subject_ref=sealed.subject_ref, subject=sealed.subject, categories=categories)
        for sealed, (_, categories) in zip(subjects, chunk, strict=True)
    ]


def closing(request: RetentionScanRequest, status: ScanStatus, number: int, error: str) -> RetentionScanPage:
    """The one page of an answer that is not a scan (unsupported), or the page a broken scan ends on (failed)."""
    return _page(request, status, number, True, error=error)


def _page(request: RetentionScanRequest, status: ScanStatus, number: int, last: bool, **fields) -> RetentionScanPage:
    return RetentionScanPage(
        scan_id=request.scan_id,
        system=request.system,
        as_of=request.as_of,
        status=status,
        page=number,
        last=last,
        answered_at=datetime.now(UTC),
        **fields,
    )
