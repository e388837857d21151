"""E-mail requests on `dsr.notifications`: what to send to whom, personal parts sealed."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from schemas.base import WireModel
from schemas.sealed import Sealed


class Recipient(StrEnum):
    SUBJECT = "subject"  # the address on file (or the heir, executor or representative who gets the answers)
    REQUESTER = "requester"  # L2: the address an unconfirmed request came from (Art. 11(2), 12(2))
    DPO = "dpo"


class EmailRequested(WireModel):
    """Send one e-mail once: `message_id` is deterministic, so replays are recognised and skipped."""

    message_id: str = Field(description="uuid5 of the case and the message type; also the Message-ID header.")
    request_id: str = Field(description="Case reference (or form submission id).")
    message_type: str
    language: str
    recipient: Recipient
    to: Sealed | None = Field(default=None, description="Sealed address of the person written to; None for the DPO.")
    context: dict = Field(default_factory=dict, description="Template values without personal data.")
    sealed_context: Sealed | None = Field(default=None, description="Template values that are personal or secret.")
    requested_at: AwareDatetime
