"""The privacy center as a person uses it (no JavaScript, plain form posts): one form per right, the receipt's
status link, the withdraw button, the upload page for a requested document; and what it never reveals."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from gdpr.case_state import Status
from streams import topics
from streams.documents import open_document
from streams.intake import reference
from streams.web import dpo_api
from streams.web.center.forms import FORMS
from streams.web.center.pages import day
from tests.streams.bus import Bus
from tests.streams.test_flow import CAMILLE, body
from tests.streams.test_routes import client, listeners

pytestmark = pytest.mark.streams
PDF = b"%PDF-1.4\n% a scanned identity card\n%%EOF\n"


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


async def submit(http, form: str, fields: dict, lang: str = "fr"):
    page = await (await http.get(f"/request/{form}?lang={lang}")).text()
    return await http.post(f"/request/{form}", data={"csrf": csrf_of(page), "lang": lang, **fields})


def status_link(bus: Bus, address: str = CAMILLE) -> str:
    receipt = next(m for m in bus.emails_to(address) if "/status/" in body(m))
    return re.search(r"http://dsr\.test(/status/\S+)", body(receipt)).group(1)


async def test_every_right_has_its_form_in_both_languages_with_a_switch():
    async with client(listeners(Bus())["public"]) as http:
        home = await (await http.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})).text()
        assert '<html lang="en">' in home and 'href="/?lang=fr"' in home
        for name in FORMS:
            assert f'href="/request/{name}?lang=en"' in home
            french = await (await http.get(f"/request/{name}?lang=fr")).text()
            assert '<html lang="fr">' in french and "justificatif d" not in french.split("<main")[1].split("</h1>")[0]
        assert "\u00a0:" in french  # French typography: a no-break space before the colon


async def test_an_erasure_filed_in_the_center_is_the_same_cloudevent_and_shows_reference_and_deadline():
    bus = Bus()
    async with client(listeners(bus)["public"]) as http:
        response = await submit(http, "erasure", {"email": CAMILLE, "name": "Camille Durand"})
        page = await response.text()
    assert response.status == 200 and "Demande reçue" in page and "28 décembre 2026" in page
    (published,) = [json.loads(v) for v in bus.on(topics.INTAKE)]
    assert published["type"] == "dsr.rights.requested" and published["data"]["subject_request_type"] == "erasure"
    await bus.drain()
    (state,) = list(bus.directory.local.states())
    assert (
        re.search(r"DSR-[0-9A-F]{10}", page).group(0) == reference(state.request_id) and state.right.value == "erasure"
    )


async def test_the_receipt_links_to_the_status_page_where_the_person_withdraws():
    bus = Bus()
    async with client(listeners(bus)["public"]) as http:
        await submit(http, "access", {"email": CAMILLE}, lang="en")
        await bus.drain()
        status = await http.get(status_link(bus))
        page = await status.text()
        assert status.status == 200 and "Waiting for your confirmation" in page and "Withdraw my request" in page
        withdrawn = await http.post(status_link(bus), data={"csrf": csrf_of(page), "lang": "en"})
        assert "Your request is withdrawn" in await withdrawn.text()
        await bus.drain()
        (state,) = list(bus.directory.local.states())
        assert state.status == Status.CLOSED and state.withdrawn
        again = await (await http.get(status_link(bus))).text()
        assert "Withdrawn at your request" in again and "Withdraw my request" not in again


def verify_link(bus: Bus, address: str = CAMILLE) -> str:
    message = next(m for m in bus.emails_to(address) if "/verify/" in body(m))
    return re.search(r"http://dsr\.test(/verify/\S+)", body(message)).group(1)


def in_the_center(page: str, language: str) -> bool:
    """The privacy center's layout: its lang attribute, header (name, switch) and footer (policy, DPO)."""
    site, policy = ("Vos données personnelles", "Politique de confidentialité") if language == "fr" else (
        "Your personal data", "Privacy policy"
    )  # fmt: skip
    header = page.split("<header>")[1].split("</header>")[0] if "<header>" in page else ""
    footer = page.split("<footer>")[1].split("</footer>")[0] if "<footer>" in page else ""
    return (
        f'<html lang="{language}">' in page
        and site in header
        and "?lang=" in header
        and f'<a href="http://127.0.0.1:8080/privacy">{policy}</a>' in footer
        and 'href="mailto:' in footer
    )


async def test_the_confirmation_link_opens_a_page_of_the_center_in_the_cases_language_with_a_switch():
    bus = Bus()
    async with client(listeners(bus)["public"]) as http:
        await submit(http, "erasure", {"email": CAMILLE, "name": "Camille Durand"}, lang="en")
        await bus.drain()
        path = verify_link(bus)
        asked = await http.get(path)
        page = await asked.text()
        assert asked.status == 200 and in_the_center(page, "en") and f'href="{path}?lang=fr"' in page
        assert "Confirm your request" in page and "I confirm my request" in page and "<script" not in page
        french = await http.get(f"{path}?lang=fr")  # the switch; opening the page still confirms nothing
        assert in_the_center(await french.text(), "fr") and "Je confirme ma demande" in await french.text()
        assert not [v for v in bus.on(topics.CASES) if b"identity_confirmed" in v]
        # A plain form post (no script): the button's form carries the language it was shown in.
        confirmed = await http.post(path, data={"lang": "fr"})
        done = await confirmed.text()
        assert confirmed.status == 200 and in_the_center(done, "fr") and "Demande confirmée" in done
        await bus.drain()
        (state,) = list(bus.directory.local.states())
        assert state.verified_at is not None
        again = await (await http.get(path)).text()
        assert in_the_center(again, "en") and "already confirmed" in again and "<form" not in again


async def test_a_cut_confirmation_link_answers_in_the_center_in_the_browsers_language():
    async with client(listeners(Bus())["public"]) as http:
        cut = await http.get("/verify/not-a-whole-link", headers={"Accept-Language": "en-GB,en;q=0.9"})
        page = await cut.text()
        assert cut.status == 400 and in_the_center(page, "en") and "Invalid link" in page


async def test_a_cut_status_or_upload_link_answers_in_the_browsers_language_unless_switched():
    english = {"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"}
    async with client(listeners(Bus())["public"]) as http:
        for kind in ("status", "upload"):
            cut = await http.get(f"/{kind}/not-a-whole-link", headers=english)
            page = await cut.text()
            assert cut.status == 400 and '<html lang="en">' in page and "Invalid link" in page
            switched = await (await http.get(f"/{kind}/not-a-whole-link?lang=fr", headers=english)).text()
            assert '<html lang="fr">' in switched and "Lien non valable" in switched
        default = await (await http.get("/status/not-a-whole-link")).text()
        assert '<html lang="fr">' in default  # no Accept-Language: French, as on every page


async def test_an_extended_request_shows_on_its_status_page_both_deadlines_and_why():
    bus = Bus()
    async with client(listeners(bus)["public"]) as http:
        await submit(http, "access", {"email": CAMILLE}, lang="en")
        await bus.drain()
        (state,) = list(bus.directory.local.states())
        extend = {"kind": "extend", "by": "dpo", "reasons": ["volume_of_data", "several_requests"]}
        assert (await dpo_api.decide(bus.ctx, bus.directory, state.request_id, extend))[0] == 202
        await bus.drain()
        (state,) = list(bus.directory.local.states())
        page = await (await http.get(status_link(bus))).text()
    # Art. 12(3), R10: the person hears of the extension and of its reasons
    assert f"<dt>Initial deadline</dt><dd>{day(state.d1, 'en')}</dd>" in page
    assert f"<dt>Answer due by</dt><dd><strong>{day(state.deadline, 'en')}</strong></dd>" in page
    assert state.deadline > state.d1 and "We have extended the time to answer by two months" in page
    assert "we hold a large volume of data about you" in page and page.count("<li>") == 2


async def test_known_and_unknown_addresses_get_the_same_answer():
    bus = Bus()
    bus.adapters["crm"].seed(CAMILLE, "person", {"first_name": "Camille"})
    async with client(listeners(bus)["public"]) as http:
        known = await (await submit(http, "access", {"email": CAMILLE})).text()
        unknown = await (await submit(http, "access", {"email": "nobody@example.test"})).text()

    def shape(page: str) -> str:
        return re.sub(r"DSR-[0-9A-F]{10}", "REF", re.sub(r'value="[^"]+"', "", page))

    assert shape(known) == shape(unknown)


async def test_a_post_without_its_csrf_cookie_is_refused_and_publishes_nothing():
    bus = Bus()
    async with client(listeners(bus)["public"]) as http:
        page = await (await http.get("/request/erasure")).text()
        http.session.cookie_jar.clear()  # as a form posted from another site arrives: without the SameSite cookie
        response = await http.post("/request/erasure", data={"csrf": csrf_of(page), "email": CAMILLE})
        assert response.status == 403 and "expiré" in await response.text()
    assert bus.on(topics.INTAKE) == []


async def test_missing_fields_are_named_without_a_reason_or_an_id_ever_asked():
    bus = Bus()
    async with client(listeners(bus)["public"]) as http:
        response = await submit(http, "death", {"deceased_email": CAMILLE})
        page = await response.text()
    assert response.status == 400 and 'aria-invalid="true"' in page and 'href="#contact_email"' in page
    assert bus.on(topics.INTAKE) == []


async def test_every_description_a_field_points_to_is_on_the_page_even_for_a_group_of_boxes():
    bus = Bus()
    async with client(listeners(bus)["public"]) as http:  # a channel the form does not offer: the group is refused
        response = await submit(http, "consent_withdrawal", {"email": CAMILLE, "channels": "fax"})
        page = await response.text()
    described = {name for names in re.findall(r'aria-describedby="([^"]+)"', page) for name in names.split()}
    assert response.status == 400 and "channels-error" in described
    assert described <= set(re.findall(r' id="([^"]+)"', page))  # a screen reader reads each of them
    assert bus.on(topics.INTAKE) == []


async def test_per_address_and_per_client_limits():
    bus = Bus()
    bus.ctx.config = replace(bus.ctx.config, requests_per_address=2, requests_per_ip=4)
    async with client(listeners(bus)["public"]) as http:
        statuses = [(await submit(http, "access", {"email": CAMILLE})).status for _ in range(3)]
        assert statuses == [200, 200, 429]
        other = [(await submit(http, "access", {"email": f"p{i}@example.test"})).status for i in range(2)]
        assert other == [200, 429]  # the same client, over its own limit now (refused attempts count too)
    assert len(bus.on(topics.INTAKE)) == 3


async def test_an_id_document_is_uploaded_sealed_checked_then_deleted_and_the_suspension_ends_at_receipt():
    bus = Bus()
    bus.adapters["crm"].seed(CAMILLE, "person", {"first_name": "Camille"})
    async with client(listeners(bus)["public"]) as http:
        await submit(http, "access", {"email": CAMILLE})
        await bus.drain()
        (state,) = list(bus.directory.local.states())
        ref = state.request_id
        await dpo_api.decide(
            bus.ctx, bus.directory, ref, {"kind": "request_id", "by": "dpo", "reason": "sensitive_data"}
        )
        await bus.drain()
        id_request = next(m for m in bus.emails_to(CAMILLE) if "/upload/" in body(m))
        assert "dpo@example.test" not in body(id_request).split("/upload/")[0].split("BESOIN")[-1]
        upload = re.search(r"http://dsr\.test(/upload/\S+)", body(id_request)).group(1)
        bus.clock.advance(days=3)
        page = await (await http.get(upload)).text()
        assert 'type="file"' in page and 'enctype="multipart/form-data"' in page
        refused = await http.post(upload, data={"csrf": csrf_of(page), "document": b"not a document"})
        assert refused.status == 400
        sent = await http.post(upload, data={"csrf": csrf_of(page), "document": PDF})
        assert sent.status == 200 and "Document reçu" in await sent.text()
        await bus.drain()
    assert b"scanned identity" not in bus.ctx.documents.get(ref)[1].to_bytes()  # sealed at rest
    assert open_document(bus.ctx, ref) == ("application/pdf", PDF)  # for the DPO's check
    assert [m for m in bus.emails_to("dpo@example.test") if "justificatif" in body(m)]
    bus.clock.advance(days=4)  # the DPO checks it four days after it arrived
    status, _ = await dpo_api.decide(bus.ctx, bus.directory, ref, {"kind": "verify_id", "by": "dpo"})
    await bus.drain()
    (state,) = list(bus.directory.local.states())
    assert status == 202 and state.suspended_days == 3  # from the ID request to the document's arrival (R12)
    assert bus.ctx.documents.get(ref) is None and state.identity_checked.startswith("ID checked on")
    kinds = {a.kind: a for a in bus.audits()}
    assert kinds["document_received"].detail == {"document": "id_document"}
    assert kinds["document_deleted"].detail["after"] == "check"


async def test_a_death_reported_without_proof_asks_for_it_on_the_upload_page():
    bus = Bus()
    async with client(listeners(bus)["public"]) as http:
        fields = {
            "deceased_email": CAMILLE,
            "deceased_name": "Camille Durand",
            "requester_role": "heir",
            "requester_name": "Dominique Durand",
            "contact_email": "dominique@example.test",
        }
        assert (await submit(http, "death", fields)).status == 200
        await bus.drain()
        proof_request = next(m for m in bus.emails_to("dominique@example.test") if "/upload/" in body(m))
        upload = re.search(r"http://dsr\.test(/upload/\S+)", body(proof_request)).group(1)
        page = await (await http.get(upload)).text()
        assert "acte de décès" in page
