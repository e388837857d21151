"""Parked e-mails (refused for good, or out of retries) and which of them still wait for the DPO's retry."""

from __future__ import annotations

from dataclasses import dataclass

from mail.ledger import SentLedger
from schemas.notifications import EmailRequested


@dataclass(frozen=True)
class Parked:
    request: EmailRequested
    reason: str
    parked_at: str

    @property
    def reference(self) -> str:
        context = self.request.context
        return str(context.get("case_reference") or context.get("reference") or self.request.request_id)


def still_parked(parked: list[Parked], ledger: SentLedger) -> list[Parked]:
    """Those not sent since (a retry went through): the ledger knows every worker's sendings, and keeps them
    longer (30 days) than the parked topic keeps its messages (the broker's 7 days). The console and
    `dsr mail parked` list these, and `dsr mail retry` sends only these."""
    sent = ledger.sent([p.request.message_id for p in parked])
    return [p for p in parked if p.request.message_id not in sent]
