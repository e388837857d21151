"""Systems reached by signed webhooks (DSR_WEBHOOKS, docs/webhooks.md), end to end: the worker calls
`WebhookReceiver`s served in this process ("helpdesk", "loyalty"), each backed by an in-memory store.
A system that keeps failing ends in the DLQ and the case shows it to the DPO, while the others complete."""

from __future__ import annotations

import json

import pytest

from handlers.protocol import Subject
from tests.integration.pipeline import DPO_EMAIL, new_person
from tests.integration.rights_support import (
    case_record,
    confirm,
    crm_count,
    line_with,
    message,
    messages,
    new_case,
    on_file_in_crm,
    prose,
    quote,
    request,
    wait_until,
)
from tests.integration.test_bad_input_and_shredding import read_topic

pytestmark = pytest.mark.integration
DPO = DPO_EMAIL
CRM_TABLES = ("people", "quote_requests", "consents", "call_notes", "contact_messages", "invoices")


def holds(store, email: str) -> bool:
    return store.lookup(Subject(email=email)).holds_data


def tasks_of(record: dict, action: str) -> dict[str, dict]:
    """The case's tasks of one action, by system."""
    return {t["system"]: t for t in record["record"]["tasks"].values() if t["action"] == action}


def test_an_erasure_erases_in_a_webhook_systems_store(pipeline, helpdesk_store):
    email, name = new_person()
    # Only the helpdesk, a SaaS reached by signed HTTP calls, knows her: a ticket she opened.
    helpdesk_store.seed(email, "tickets", {"ticket": "T-1042", "subject": "Chaudière en panne"})
    pipeline.publish(request(email, name, "erasure"))
    ref = new_case(pipeline, email)
    confirm(pipeline, email, ref)
    outcome = message(pipeline, email, ref, subject="Effacement", contains="helpdesk")
    # Erased in the receiver's store; the outcome names the system with what it erased.
    assert not holds(helpdesk_store, email)
    assert "1 élément effacé" in line_with(outcome.text, "- helpdesk")
    erase = tasks_of(case_record(pipeline, ref), "erase")
    assert set(erase) == {"helpdesk"} and erase["helpdesk"]["status"] == "done"
    assert erase["helpdesk"]["erased_items"] == 1


def test_a_system_that_keeps_failing_ends_in_the_dlq_and_the_dpo_is_told_while_the_others_complete(
    pipeline, helpdesk_store, loyalty_store, loyalty_door
):
    email, name = new_person()
    # A customer in the CRM and the newsletter, with a helpdesk ticket and a loyalty card.
    on_file_in_crm(pipeline, quote(email, name))
    helpdesk_store.seed(email, "tickets", {"ticket": "T-2077", "subject": "Devis"})
    loyalty_store.seed(email, "card", {"card": "L-3301", "points": 120})
    # The loyalty system answers 503 to every erasure call about her.
    loyalty_door.failing.add(email)
    pipeline.publish(request(email, name, "erasure"))
    ref = new_case(pipeline, email)
    confirm(pipeline, email, ref)
    # After its retries the task fails, and the DPO is told by e-mail: system and verb, no personal data.
    alert = message(pipeline, DPO, ref, subject="Tâche en échec", timeout=90)
    assert "effacement sur loyalty" in prose(alert.subject)  # the verb in words; a plugged-in system by its name
    retried = "TransientAdapterError after 3 attempt(s)"  # handlers/runtime.py: 3 attempts, type only
    assert retried in alert.text and email not in alert.text and name not in alert.text
    assert loyalty_door.refused.count(email) == 3  # the runtime's retry budget, each a new signed call
    assert holds(loyalty_store, email)
    # `dsr case show`: the failed task with its error; the other systems' erasures are done.
    record = case_record(pipeline, ref)
    erase = tasks_of(record, "erase")
    assert erase["loyalty"]["status"] == "failed" and erase["loyalty"]["error"] == retried
    assert {s: t["status"] for s, t in erase.items() if s != "loyalty"} == {
        "crm": "done",
        "newsletter": "done",
        "helpdesk": "done",
    }
    assert all(crm_count(pipeline, table, email) == 0 for table in CRM_TABLES)
    assert not holds(helpdesk_store, email)
    # The failed result is on dsr.task-results, and the task waits in the system's DLQ with the reason.
    results = [json.loads(m.value) for m in read_topic(pipeline.bootstrap, "dsr.task-results")]
    failed = [r for r in results if r["subject_request_id"] == record["request_id"] and r["system"] == "loyalty"]
    assert [(r["action"], r["status"]) for r in failed] == [("lookup", "done"), ("erase", "failed")]
    dead = wait_until(
        lambda: [
            m for m in read_topic(pipeline.bootstrap, "dsr.tasks.loyalty.dlq") if m.key == record["request_id"].encode()
        ],
        what="task in the DLQ",
    )
    headers = {k: v.decode() for k, v in dead[0].headers}
    assert "failed after the retry budget" in headers["dsr-dlq-reason"] and retried in headers["dsr-dlq-reason"]
    assert headers["dsr-dlq-origin-topic"] == "dsr.tasks.loyalty"
    assert json.loads(dead[0].value)["task_id"] == erase["loyalty"]["task_id"]
    # The case waits for the system: no outcome goes to her.
    assert record["status"] == "processing"
    assert not [m for m in messages(pipeline, email, ref) if "Effacement" in m.subject]
