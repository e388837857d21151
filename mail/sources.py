"""The port the template values read beside the case: durations, the register, sealed values, links, records."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from gdpr.lifecycle import CaseState
from schemas.sealed import Sealed

Records = dict[str, list[dict]]  # category -> rows, as one system answered an export


class RegisterFacts(Protocol):
    """The record of processing as the e-mails quote it (R24, R28, R35); a system it does not describe is
    named, never a crash."""

    def category_label(self, system: str, category: str) -> dict | None: ...

    def access_information(self, systems: list[str], records: dict[str, Records] | None = None) -> dict: ...

    def portability_exclusions(self, records_by_system: dict[str, Records]) -> list[dict]: ...

    def recipient_name(self, recipient_id: str) -> str: ...


class ValueSources(Protocol):
    """Everything the template values need that the case state does not hold. The links are signed and the
    records opened by whoever provides this (the streams, from their context); the values only read them."""

    @property
    def status_ttl(self) -> timedelta:
        """How long the receipt's status link opens the status page."""

    @property
    def verification_ttl(self) -> timedelta:
        """How long a verification link stays valid."""

    @property
    def verification_expiry(self) -> timedelta:
        """How long a person has to confirm their identity or send a proof once asked (R12, R39.1)."""

    @property
    def download_ttl(self) -> timedelta:
        """How long the link to a copy of the data stays valid."""

    @property
    def register(self) -> RegisterFacts: ...

    def open(self, sealed: Sealed) -> dict:
        """A value sealed under the subject's key, opened (the changes of a rectification)."""

    def case_link(self, request_id: str, purpose: str, expires: datetime, token_id: str | None = None) -> str:
        """A signed link to one of the case's pages (verify, download, status, upload)."""

    def form_link(self, form: str) -> str:
        """The privacy center's form of that name: public, no token."""

    def person_records(self, state: CaseState) -> dict[str, Records]:
        """The person's exported records, per system, as the systems answered the export tasks."""

    def selected_records(self, state: CaseState) -> dict[str, Records]:
        """What the copy holds: everything, the portable part, or what an heir obtains."""
