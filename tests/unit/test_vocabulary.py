"""One typed vocabulary: a message type or recipient that is not one of ours fails where it is written."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from dsr_pipeline_templates import template_folder
from gdpr.commands import SendEmail
from mail.templates import MESSAGE_TYPES
from schemas.cases import EmailSent
from schemas.notifications import EmailRequested, MessageType, Recipient

pytestmark = pytest.mark.unit

NOW = datetime(2027, 3, 5, 10, tzinfo=UTC)


def test_every_message_type_has_its_templates_and_every_template_folder_is_a_type():
    folders = {path.name for path in template_folder("email").iterdir() if path.is_dir() and path.name != "__pycache__"}
    assert tuple(MessageType) == MESSAGE_TYPES
    assert folders == set(MessageType)


def test_a_command_with_a_mistyped_message_type_fails_when_it_is_made():
    # Before: "refusl" went through the rules and showed only as a parked e-mail.
    with pytest.raises(ValueError, match="refusl"):
        SendEmail("email:refusal", "refusl", Recipient.SUBJECT)
    with pytest.raises(ValueError, match="subjet"):
        SendEmail("email:refusal", MessageType.REFUSAL, "subjet")


def test_a_command_written_with_strings_carries_the_members():
    command = SendEmail("email:refusal", "refusal", "dpo")
    assert command.message_type is MessageType.REFUSAL and command.recipient is Recipient.DPO


def test_wire_messages_refuse_an_unknown_message_type():
    with pytest.raises(ValidationError):
        EmailRequested(
            message_id="m", request_id="r", message_type="refusl", language="fr", recipient="dpo", requested_at=NOW
        )
    with pytest.raises(ValidationError):
        EmailSent(request_id="r", message_type="recepit", message_id="m", sent_at=NOW)
