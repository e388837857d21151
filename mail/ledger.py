"""The sent-e-mail ledger port (one claim per message id, shared by every worker) and its in-memory twin."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

DEFAULT_LEASE = timedelta(minutes=2)  # longer than one SMTP exchange may last (DSR_SMTP_TIMEOUT)


class Claim(StrEnum):
    """What the ledger says to a worker about to send an e-mail."""

    SEND = "send"  # nobody sent it and nobody is sending it: it is this worker's to send now
    SENT = "sent"  # an SMTP server took it already: never twice
    HELD = "held"  # another worker claimed it less than a lease ago and may be sending it right now


class SentLedger(Protocol):
    """Which e-mails went out, seen by every worker: a message redelivered to another worker after a crash or a
    rebalance, before the first one's sent-e-mail table reached it, is not sent a second time. A claim that
    was never followed by `mark_sent` (the worker died mid-send) lapses after the lease, so nothing is lost."""

    def claim(self, message_id: str, request_id: str, now: datetime) -> Claim: ...

    def mark_sent(self, message_id: str, now: datetime) -> None: ...

    def release(self, message_id: str) -> None:
        """The attempt failed: the e-mail may be claimed again at once (by its retry)."""

    def sent(self, message_ids: Collection[str]) -> set[str]:
        """Those of these e-mails an SMTP server took (the console leaves them out of its parked list)."""

    def forget_case(self, request_id: str) -> int:
        """R51: the case is purged; its e-mails' entries go (message ids are not personal data, but nothing
        outlives its case). The number of entries removed."""


@dataclass
class _Entry:
    request_id: str
    claim_until: datetime
    sent_at: datetime | None = None


class MemorySentLedger:
    """One process's ledger (tests, and `dsr dev`): the same answers as the shared ones."""

    def __init__(self, lease: timedelta = DEFAULT_LEASE) -> None:
        self.lease = lease
        self._entries: dict[str, _Entry] = {}

    def claim(self, message_id: str, request_id: str, now: datetime) -> Claim:
        entry = self._entries.get(message_id)
        if entry is not None and entry.sent_at is not None:
            return Claim.SENT
        if entry is not None and entry.claim_until > now:
            return Claim.HELD
        self._entries[message_id] = _Entry(request_id, now + self.lease)
        return Claim.SEND

    def mark_sent(self, message_id: str, now: datetime) -> None:
        entry = self._entries.get(message_id)
        if entry is not None:
            entry.sent_at = now

    def release(self, message_id: str) -> None:
        entry = self._entries.get(message_id)
        if entry is not None and entry.sent_at is None:
            del self._entries[message_id]

    def sent(self, message_ids: Collection[str]) -> set[str]:
        return {m for m in message_ids if m in self._entries and self._entries[m].sent_at is not None}

    def forget_case(self, request_id: str) -> int:
        gone = [m for m, entry in self._entries.items() if entry.request_id == request_id]
        for message_id in gone:
            del self._entries[message_id]
        return len(gone)
