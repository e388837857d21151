"""The Art. 19 recipient contract (R35), run on the in-memory twin and on the inbox of the dev stack
(SQLite here, PostgreSQL in test_postgres.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.memory import MemoryInbox
from handlers.protocol import InvalidTask, Recipient
from handlers.reference import RecipientInbox
from schemas.tasks import ChangeKind, RecipientNotice, TaskAction
from tests.contract.stores import OnSqlite
from tests.contract.test_adapters import CAMILLE, HUGO, NOW, SECRET, clock

pytestmark = pytest.mark.contract

# GS-10: the franchisee handling Camille's quote is told her address was corrected in the CRM.
NOTICE = RecipientNotice(
    change=ChangeKind.RECTIFICATION, recipient="franchise-lyon", systems=["crm"], fields=["postal_address"]
)


class RecipientContract:
    def make_inbox(self, tmp_path: Path, recipient: str) -> Recipient:
        raise NotImplementedError

    @pytest.fixture
    def inbox(self, tmp_path):
        return self.make_inbox(tmp_path, "franchise-lyon")

    def test_is_named_after_the_recipient_and_only_receives_notices(self, inbox):
        assert inbox.name == "franchise-lyon"
        assert inbox.capabilities.actions == {TaskAction.NOTIFY_RECIPIENT}

    def test_files_what_changed_where_and_when(self, inbox):
        inbox.receive("task-1", NOTICE, CAMILLE)
        [notice] = inbox.notices()
        assert {k: notice[k] for k in ("task_id", "recipient", "change", "systems", "fields", "received_at")} == {
            "task_id": "task-1",
            "recipient": "franchise-lyon",
            "change": "rectification",
            "systems": ["crm"],
            "fields": ["postal_address"],
            "received_at": NOW.isoformat(),
        }

    def test_a_redelivered_task_is_filed_once(self, inbox):
        inbox.receive("task-1", NOTICE, CAMILLE)
        inbox.receive("task-1", NOTICE, CAMILLE)
        assert [n["task_id"] for n in inbox.notices()] == ["task-1"]

    def test_keeps_a_keyed_hash_of_the_person_never_the_address(self, inbox):
        inbox.receive("task-1", NOTICE, CAMILLE)
        inbox.receive("task-2", NOTICE.model_copy(update={"change": ChangeKind.ERASURE}), CAMILLE)
        inbox.receive("task-3", NOTICE, HUGO)
        hashes = [n["subject_hash"] for n in inbox.notices()]
        assert hashes[0] == hashes[1] != hashes[2]
        assert "camille" not in repr(inbox.notices()).lower()

    def test_refuses_a_notice_meant_for_another_recipient(self, inbox):
        with pytest.raises(InvalidTask):
            inbox.receive("task-1", NOTICE.model_copy(update={"recipient": "franchise-nantes"}), CAMILLE)
        assert inbox.notices() == []


class TestMemoryInbox(RecipientContract):
    def make_inbox(self, tmp_path, recipient):
        return MemoryInbox(recipient, secret=SECRET, clock=clock)


class TestRecipientInbox(OnSqlite, RecipientContract):
    def make_inbox(self, tmp_path, recipient):
        return RecipientInbox(self.location(tmp_path, "recipients"), recipient, secret=SECRET, clock=clock)


def test_recipients_sharing_a_file_each_see_their_own_notices(where):
    lyon = RecipientInbox(where("recipients"), "franchise-lyon", secret=SECRET, clock=clock)
    mailer = RecipientInbox(where("recipients"), "emailing-tool", secret=SECRET, clock=clock)
    lyon.receive("task-1", NOTICE, CAMILLE)
    mailer.receive("task-2", NOTICE.model_copy(update={"recipient": "emailing-tool"}), CAMILLE)
    assert [n["task_id"] for n in lyon.notices()] == ["task-1"]
    assert [n["task_id"] for n in mailer.notices()] == ["task-2"]
    # salted per recipient: two recipients cannot match their notices about the same person
    assert lyon.notices()[0]["subject_hash"] != mailer.notices()[0]["subject_hash"]


def test_the_inbox_file_holds_no_plaintext_address(tmp_path):
    inbox = RecipientInbox(tmp_path / "recipients.db", "franchise-lyon", secret=SECRET, clock=clock)
    inbox.receive("task-1", NOTICE, CAMILLE)
    inbox.close()
    files = [p for p in tmp_path.iterdir() if p.name.startswith("recipients.db")]
    assert files and all(CAMILLE.email.encode() not in p.read_bytes() for p in files)


def test_the_inbox_needs_a_secret(tmp_path):
    with pytest.raises(ValueError):
        RecipientInbox(tmp_path / "recipients.db", "franchise-lyon", secret=b"")
