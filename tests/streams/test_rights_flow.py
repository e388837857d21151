"""More rights through the stream functions on the in-memory bus: objection, the DPO's API, portability."""

from __future__ import annotations

import io
import json
import re
import zipfile
from email.header import decode_header, make_header

import pytest

from gdpr.tokens import verify_token
from handlers.protocol import Subject
from streams.access_package import open_access_package
from streams.intake import reference
from streams.web import dpo_api
from tests.streams.bus import Bus
from tests.streams.test_flow import CAMILLE, body, confirm, example, raw

pytestmark = pytest.mark.streams


def request(right: str, **data) -> bytes:
    return raw(example("dsr.rights.requested", data={"subject_request_type": right, **data}))


def case_ref(bus: Bus) -> str:
    (request_id,) = list(bus.cases)
    return reference(request_id)


def prose(message) -> str:
    return " ".join(body(message).split())


def subjects(bus: Bus) -> list[str]:
    return [str(make_header(decode_header(str(m["Subject"])))) for m in bus.emails_to(CAMILLE)]


async def test_marketing_objection_stops_marketing_without_a_confirmation_step():
    bus = Bus()
    await bus.submit(raw(example("dsr.form.quote_requested")))  # she subscribed with her quote
    await bus.submit(request("objection"))
    # R30: no identity step beyond the address, every marketing system told, the outcome says so.
    assert not any("Confirmez" in s for s in subjects(bus))
    told = [a for a in bus.audits() if a.action == "suppress_marketing" and a.kind == "task_result"]
    assert {a.system for a in told} == {"crm", "newsletter"}  # crm and newsletter both answered
    outcome = bus.emails_to(CAMILLE)[-1]
    assert "opposition" in subjects(bus)[-1].lower()
    assert "e-mail" in body(outcome).lower()


async def test_the_dpo_extends_once_and_the_second_time_is_refused_with_the_reason():
    bus = Bus()
    bus.adapters["crm"].seed(CAMILLE, "person", {"first_name": "Camille"})
    await bus.submit(request("access"))
    ref = case_ref(bus)
    status, answer = await dpo_api.decide(
        bus.ctx, bus.directory, ref, {"kind": "extend", "by": "dpo", "reasons": ["volume_of_data"]}
    )
    assert status == 202 and answer["reference"] == ref
    await bus.drain()
    assert any("Prolongation" in s for s in subjects(bus))  # R10: the person is told, with the new date
    status, answer = await dpo_api.decide(
        bus.ctx, bus.directory, ref, {"kind": "extend", "by": "dpo", "reasons": ["volume_of_data"]}
    )
    assert status == 409 and "one extension" in answer["error"]
    status, answer = await dpo_api.decide(
        bus.ctx,
        bus.directory,
        ref,
        {
            "kind": "flag_excessive",
            "by": "dpo",
            "facts": "Asked many times already, identical scope.",
            "fee_cents": 1500,
        },
    )
    assert status == 409 and "first request cannot be flagged" in answer["error"]  # R21


async def test_decisions_are_audited_with_who_and_when():
    bus = Bus()
    await bus.submit(request("access"))
    await dpo_api.decide(
        bus.ctx,
        bus.directory,
        case_ref(bus),
        {"kind": "refuse", "by": "dpo-lyon", "reason": "manifestly_unfounded", "explanation": "Documented harassment."},
    )
    await bus.drain()
    audit = [a for a in bus.audits() if a.kind == "dpo_decision"]
    assert audit and audit[0].detail["by"] == "dpo-lyon"
    outcome = bus.emails_to(CAMILLE)[-1]
    assert "CNIL" in body(outcome)  # R11: the reasons and the remedies


async def test_portability_of_a_contact_form_only_person_says_why_not():
    bus = Bus()
    bus.adapters["crm"].seed(CAMILLE, "contact_messages", {"message": "Bonjour", "_origin": "provided"})
    await bus.submit(request("portability"))
    await confirm(bus, CAMILLE)
    outcome = bus.emails_to(CAMILLE)[-1]
    assert "20" in body(outcome) and "CNIL" in body(outcome)  # GS-12b: Art. 20 does not apply, remedies


async def test_unknown_reference_and_wrong_token_are_refused():
    bus = Bus()
    status, answer = await dpo_api.decide(bus.ctx, bus.directory, "DSR-NOPE", {"kind": "withdraw", "by": "dpo"})
    assert status == 404 and "dsr case list" in answer["error"]
    assert not dpo_api.authorized(bus.ctx, "Bearer wrong")
    assert dpo_api.authorized(bus.ctx, f"Bearer {dpo_api.dpo_token(bus.ctx.config.secret_key)}")


async def test_a_system_that_keeps_failing_is_dead_lettered_and_shown_to_the_dpo_while_others_complete():
    bus = Bus()
    bus.adapters["crm"].seed(CAMILLE, "person", {"first_name": "Camille"})
    bus.adapters["newsletter"].seed(CAMILLE, "subscription", {"subscribed": True})

    def broken(*args, **kwargs):
        raise RuntimeError("database is gone")

    bus.adapters["newsletter"].erase = broken  # the newsletter's database is down for good
    await bus.submit(request("erasure"))
    await confirm(bus, CAMILLE)
    # The CRM erased; the newsletter's task failed after its retries and waits in its DLQ with the reason.
    assert not bus.adapters["crm"].lookup(Subject(CAMILLE)).holds_data
    (dead,) = list(bus.headers_on("dsr.tasks.newsletter.dlq"))
    assert "failed after the retry budget" in dead["dsr-dlq-reason"] and "RuntimeError" in dead["dsr-dlq-reason"]
    # The DPO is told; the person gets no outcome until every system has answered.
    dpo = bus.emails_to("dpo@example.test")
    assert dpo and not any("Effacement" in s for s in subjects(bus))


async def test_the_access_copy_has_json_csv_and_readable_html_with_the_information():
    bus = Bus()
    bus.adapters["crm"].seed(
        CAMILLE, "person", {"first_name": "<b>Camille</b>", "lead_score": 20, "_inferred_fields": ["lead_score"]}
    )
    await bus.submit(request("access"))
    await confirm(bus, CAMILLE)
    token = re.search(r"http://dsr\.test/download/(\S+)", body(bus.emails_to(CAMILLE)[-1])).group(1)
    request_id = verify_token(bus.ctx.config.secret_key, token, "download", bus.clock()).request_id
    archive = zipfile.ZipFile(io.BytesIO(open_access_package(bus.ctx, request_id)))
    assert {"crm.json", "csv/crm-person.csv", "summary.html", "information.html", "README.txt"} <= set(
        archive.namelist()
    )
    summary = archive.read("summary.html").decode()
    assert "&lt;b&gt;Camille&lt;/b&gt;" in summary and "lead_score *" in summary  # escaped; inferred marked
    assert "lead_score" in archive.read("csv/crm-person.csv").decode().splitlines()[0]


async def test_a_request_from_another_address_tells_that_address_how_to_prove_who_it_is():
    bus = Bus()
    bus.adapters["crm"].seed(CAMILLE, "person", {"first_name": "Camille"})
    await bus.submit(request("access", contact_email="camille.new@example.test"))
    # The challenge goes to the address on file only; the new address is told nothing yet.
    assert not bus.emails_to("camille.new@example.test")
    bus.clock.advance(days=15)
    await bus.tick()
    (told,) = bus.emails_to("camille.new@example.test")
    assert "justificatif d'identité" in prose(told) and "fichiers" not in prose(told)  # Art. 11(2), 12(2)
    bus.clock.advance(days=16)
    await bus.tick()
    closed = bus.emails_to("camille.new@example.test")[-1]
    assert "sans y donner suite" in prose(closed) and "CNIL" in prose(closed)


async def test_an_heir_obtains_what_the_dpo_found_the_estate_needs_and_nothing_else():
    bus = Bus()
    bus.adapters["crm"].seed(CAMILLE, "person", {"first_name": "Camille"})
    bus.adapters["crm"].seed(CAMILLE, "invoices", {"number": "F-1", "amount_cents": 12000, "_origin": "observed"})
    heir = "alex.durand@example.test"
    proven = {"action": "estate_access", "requester_role": "heir", "proof_of_death": True, "proof_of_standing": True}
    await bus.submit(request("post_mortem", contact_email=heir, post_mortem=proven))
    receipt = str(make_header(decode_header(str(bus.emails_to(heir)[0]["Subject"]))))
    assert receipt.startswith("Accusé de réception de votre demande d'héritier")  # LIL 85: their own receipt
    # The documents the request announced are uploaded behind the case's link and checked first (R39.1, R40).
    assert any("http://dsr.test/upload/" in body(m) for m in bus.emails_to(heir))
    status, _ = await dpo_api.decide(bus.ctx, bus.directory, case_ref(bus), {"kind": "verify_id", "by": "dpo"})
    assert status == 202
    await bus.drain()
    # LIL 85-II: the DPO decides what settling the estate needs (the unpaid invoice), and why.
    status, _ = await dpo_api.decide(
        bus.ctx,
        bus.directory,
        case_ref(bus),
        {"kind": "decide_estate_access", "by": "dpo", "categories": ["invoices"], "explanation": "Facture due."},
    )
    assert status == 202
    await bus.drain()
    answer = bus.emails_to(heir)[-1]
    assert "règlement de la succession" in prose(answer) and "CNIL" in prose(answer)
    token = re.search(r"http://dsr\.test/download/(\S+)", body(answer)).group(1)
    request_id = verify_token(bus.ctx.config.secret_key, token, "download", bus.clock()).request_id
    archive = zipfile.ZipFile(io.BytesIO(open_access_package(bus.ctx, request_id)))
    crm = json.loads(archive.read("crm.json"))
    assert set(crm["records"]) == {"invoices"} and "information.html" not in archive.namelist()
    assert not bus.emails_to(CAMILLE)  # nothing to the deceased's address
