"""The retention scan of a system with its own consumer: a request on its task topic, answered in pages (R44)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.base import WireModel
from schemas.sealed import Sealed

RETENTION_SCAN = "retention_scan"  # the `message` of a scan request: what tells it apart from a Task
PURGE_EXPIRED = "purge_expired"  # the `message` of a purge request: delete what the scan counted `unkeyed`
MAX_PAGE_PEOPLE = 1000  # people per page at most: a page stays well under Kafka's 1 MB default


class ScanStatus(StrEnum):
    """How a system answered: its scan, or why there is none (never an empty answer that looks like one)."""

    DONE = "done"
    UNSUPPORTED = "unsupported"  # the system does not scan: listed as unsupported in the plan
    FAILED = "failed"  # the scan broke: listed as unanswered, with `error`


class RetentionScanRequest(WireModel):
    """On `dsr.tasks.<system>`, keyed by scan id: report what has passed its retention end on `as_of`.
    No subject: the question is about everyone the system holds."""

    message: Literal["retention_scan", "purge_expired"] = Field(
        description="'retention_scan'; or 'purge_expired': delete the records the scan counts as `unkeyed` on `as_of`"
        " and answer with one page giving `purged`. Never a Task."
    )
    scan_id: str = Field(description="Unique per scan; every page of the answer carries it.")
    system: str = Field(examples=["accounting"])
    as_of: date = Field(description="The day the retention ends are compared with.")
    page_size: int = Field(default=500, ge=1, le=MAX_PAGE_PEOPLE, description="People per answer page, at most.")
    issued_at: AwareDatetime


class DueCategory(WireModel):
    """One category of one person past its end: the register's rule and what its end asks (delete, anonymise)."""

    category: str = Field(examples=["customer"])
    rule: str = Field(examples=["crm_contact"])
    action: str = Field(examples=["delete"])
    end_date: date
    count: int = Field(default=1, ge=1, description="Records of the category.")


class UnkeyedCategory(WireModel):
    """Records past their end that the system purges itself, not per person (R44): they name no one (a suppression
    fingerprint, R45). Counts and dates only."""

    category: str = Field(examples=["suppression"])
    rule: str = Field(examples=["suppression_3y"])
    action: str = Field(examples=["delete"])
    end_date: date = Field(description="The oldest end among them.")
    last_end_date: date
    count: int = Field(ge=1, description="Records past their end.")


class DuePerson(WireModel):
    """A person with categories past their end (every dated one, unless the page is `by_category`), named by
    subject_ref; the address travels sealed."""

    subject_ref: str = Field(description="Keyed hash of the person's e-mail (from POST /api/retention/subjects).")
    subject: Sealed = Field(description="Sealed {email} under the person's key, as /api/retention/subjects sealed it.")
    categories: list[DueCategory] = Field(min_length=1)


class RetentionScanPage(WireModel):
    """On `dsr.retention-scans`, keyed by scan id: one page of a system's answer. Pages are numbered from
    1; the last one says so, and carries the number of pages and people and the `waiting` count."""

    scan_id: str
    system: str
    as_of: date
    status: ScanStatus
    page: int = Field(ge=1, description="This page's number, from 1.")
    last: bool = Field(description="True on the last page (and on an unsupported or failed answer).")
    pages: int | None = Field(default=None, ge=1, description="Last page: how many pages the answer has.")
    people: int | None = Field(default=None, ge=0, description="Last page: how many people all pages list.")
    due: list[DuePerson] = Field(default_factory=list, max_length=MAX_PAGE_PEOPLE)
    waiting: int = Field(default=0, ge=0, description="Last page: people with part of their data still running.")
    by_category: bool = Field(
        default=False,
        description="Last page: the system erases by category, and each person's categories past their end are "
        "listed whatever else of theirs still runs; the sweep's erase task names them. False: only people whose "
        "every dated category is past its end, erased whole.",
    )
    unkeyed: list[UnkeyedCategory] | None = Field(
        default=None, description="Last page: records past their end the system purges itself (`purge_expired`)."
    )
    purged: int | None = Field(default=None, ge=0, description="The answer to `purge_expired`: records deleted.")
    error: str | None = Field(default=None, description="failed: why, without personal data.")
    answered_at: AwareDatetime


class SubjectsToSeal(WireModel):
    """`POST /api/retention/subjects`: the addresses of one page of a system's scan, to be named and sealed."""

    system: str
    emails: list[str] = Field(min_length=1, max_length=MAX_PAGE_PEOPLE)


class SealedSubject(WireModel):
    subject_ref: str
    subject: Sealed


class SealedSubjects(WireModel):
    """The answer of `POST /api/retention/subjects`: one entry per address, in the order given."""

    subjects: list[SealedSubject]


__all__ = [
    "RETENTION_SCAN",
    "PURGE_EXPIRED",
    "MAX_PAGE_PEOPLE",
    "ScanStatus",
    "RetentionScanRequest",
    "DueCategory",
    "DuePerson",
    "UnkeyedCategory",
    "RetentionScanPage",
    "SubjectsToSeal",
    "SealedSubject",
    "SealedSubjects",
]
