"""The mailer's commands on `dsr.notifications`: e-mails to send (personal parts sealed), records to forget."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, Discriminator, Field, Tag, TypeAdapter

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


class ForgetSentEmails(WireModel):
    """R51: the case record was purged; the mailer forgets which of its e-mails were sent."""

    kind: Literal["forget_sent_emails"] = "forget_sent_emails"
    request_id: str = Field(description="The purged case.")


def _kind(value) -> str:
    """E-mail requests carry no `kind` (they came first): anything without one is an e-mail request."""
    found = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return "forget_sent_emails" if found == "forget_sent_emails" else "email_requested"


MailerCommand = Annotated[
    Annotated[EmailRequested, Tag("email_requested")] | Annotated[ForgetSentEmails, Tag("forget_sent_emails")],
    Discriminator(_kind),
]
MailerCommandAdapter: TypeAdapter[MailerCommand] = TypeAdapter(MailerCommand)


def parse_mailer_command(raw: bytes) -> EmailRequested | ForgetSentEmails:
    return MailerCommandAdapter.validate_json(raw)
