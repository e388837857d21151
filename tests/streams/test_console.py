"""The DPO console as the DPO and a viewer use it: personal logins with lock-out, the cases with filters, a case
with its timeline and the decisions the rules allow (refused ones say why), parked e-mails, dead letters."""

from __future__ import annotations

import json
import re

import pytest

from mail.transport import PermanentMailError
from streams import topics
from streams.doors_port import Role
from streams.web.console.accounts import ConsolePolicy, api_token, hash_password
from tests.streams.bus import Bus
from tests.streams.test_flow import CAMILLE, body, confirm, example, raw
from tests.streams.test_routes import client, listeners

pytestmark = pytest.mark.streams
PASSWORD = "correct horse battery staple"


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


async def log_in(http, name: str, password: str = PASSWORD):
    page = await (await http.get("/console/login")).text()
    return await http.post("/console/login", data={"csrf": csrf_of(page), "name": name, "password": password})


def alert_of(page: str) -> str:
    found = re.search(r'role="alert">(.*?)</p>', page, re.S)
    assert found, "the login page shows no alert"
    return found.group(1)


async def with_case(bus: Bus, right: str = "access") -> str:
    bus.adapters["crm"].seed(CAMILLE, "person", {"first_name": "Camille"})
    await bus.submit(raw(example("dsr.rights.requested", data={"subject_request_type": right})))
    return next(iter(bus.directory.local.summaries("open")))["reference"]


def accounts(bus: Bus) -> Bus:
    bus.ctx.doors.add_account("dana", Role.DPO, hash_password(PASSWORD))
    bus.ctx.doors.add_account("victor", Role.VIEWER, hash_password(PASSWORD))
    return bus


async def test_every_console_page_needs_a_session_and_the_cookie_is_strict():
    bus = accounts(Bus())
    async with client(listeners(bus)["admin"]) as http:
        for path in ("/console/", "/console/mail", "/console/dead-letters", "/console/systems"):
            response = await http.get(path)
            assert response.status == 401 and 'name="password"' in await response.text()
        response = await log_in(http, "dana")
        cookie = response.history[0].headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
        assert response.status == 200 and "dana" in await response.text()


async def test_the_cookie_is_secure_behind_https():
    bus = accounts(Bus())
    async with client(listeners(bus)["admin"]) as http:
        page = await (await http.get("/console/login", headers={"X-Forwarded-Proto": "https"})).text()
        response = await http.post(
            "/console/login",
            data={"csrf": csrf_of(page), "name": "dana", "password": PASSWORD},
            headers={"X-Forwarded-Proto": "https"},
            allow_redirects=False,
        )
        assert "Secure" in response.headers["Set-Cookie"]


async def test_repeated_failures_lock_the_account_even_against_the_right_password():
    bus = accounts(Bus())
    async with client(listeners(bus, policy=ConsolePolicy(max_failures=3))["admin"]) as http:
        unknown = await log_in(http, "nobody")
        assert unknown.status == 401  # same answer as a wrong password
        statuses = [(await log_in(http, "dana", "wrong password!")).status for _ in range(3)]
        assert statuses == [401, 401, 401]
        locked = await log_in(http, "dana")
        assert locked.status == 401 and "dsr user enable" in await locked.text()
        # a locked name answers word for word as a name that does not exist: the page reveals no account
        assert alert_of(await locked.text()) == alert_of(await unknown.text())
        bus.ctx.doors.set_enabled("dana", True)  # what `dsr user enable dana` does
        assert (await log_in(http, "dana")).status == 200


async def test_the_dpo_filters_extends_and_is_refused_an_unlawful_decision_with_the_reason():
    bus = accounts(Bus())
    ref = await with_case(bus)
    async with client(listeners(bus)["admin"]) as http:
        await log_in(http, "dana")
        listed = await (await http.get("/console/?flag=awaiting_person")).text()
        assert ref in listed
        assert ref not in await (await http.get("/console/?right=erasure")).text()
        page = await (await http.get(f"/console/cases/{ref}")).text()
        assert "demande reçue" in page and "Prolonger le délai" in page  # the timeline, the decisions allowed
        form = {"csrf": csrf_of(page), "kind": "extend", "reasons": "volume_of_data", "by": "someone-else"}
        extended = await http.post(f"/console/cases/{ref}/decisions", data=form)
        assert (
            extended.status == 200
            and "Décision enregistrée\u00a0: Prolonger le délai de deux mois (article 12, paragraphe 3), par dana"
            in await extended.text()
        )
        await bus.drain()
        flag = {
            "csrf": csrf_of(page),
            "kind": "flag_excessive",
            "facts": "Four identical requests in two months.",
            "fee": "10",
        }
        refused = await http.post(f"/console/cases/{ref}/decisions", data=flag)
        assert refused.status == 409 and "aucune demande antérieure de cette personne" in await refused.text()
    decisions = [a for a in bus.audits() if a.kind.startswith("dpo_")]
    assert [(a.kind, a.detail["by"]) for a in decisions] == [("dpo_decision", "dana"), ("dpo_decision_refused", "dana")]


def listed(page: str) -> set[str]:
    return set(re.findall(r">(DSR-[0-9A-F]{10})</a>", page))


async def test_past_the_internal_target_and_awaiting_the_dpo_each_list_their_cases_only():
    bus = accounts(Bus())
    bus.adapters["crm"].seed(CAMILLE, "person", {"first_name": "Camille"})
    # Camille objects on general grounds and confirms: the DPO weighs it (R29).
    objection = {"subject_request_type": "objection", "objection_scope": "legitimate_interest"}
    await bus.submit(raw(example("dsr.rights.requested", data=objection | {"restriction_ground": "objection_pending"})))
    await confirm(bus, CAMILLE)
    (weighed,) = [s["reference"] for s in bus.directory.local.summaries("open")]
    # Four weeks later, Dominique asks for a copy and has not confirmed yet.
    bus.clock.advance(days=28)
    later = example(
        "dsr.rights.requested", id="later", time=bus.clock().isoformat(), data={"subject_request_type": "access"}
    )
    later["data"]["subject_identities"][0]["identity_value"] = "dominique@example.test"
    await bus.submit(raw(later))
    (waiting,) = [s["reference"] for s in bus.directory.local.summaries("open") if s["reference"] != weighed]
    async with client(listeners(bus)["admin"]) as http:
        await log_in(http, "dana")
        assert listed(await (await http.get("/console/")).text()) == {weighed, waiting}
        assert listed(await (await http.get("/console/?flag=past_target")).text()) == {weighed}  # D1 - 5 working days
        assert listed(await (await http.get("/console/?flag=awaiting_dpo")).text()) == {weighed}
        assert listed(await (await http.get("/console/?flag=awaiting_person")).text()) == {waiting}


async def test_a_viewer_sees_but_cannot_decide():
    bus = accounts(Bus())
    ref = await with_case(bus)
    async with client(listeners(bus)["admin"]) as http:
        await log_in(http, "victor")
        page = await (await http.get(f"/console/cases/{ref}")).text()
        assert "lecture seule" in page and 'name="kind"' not in page
        response = await http.post(f"/console/cases/{ref}/decisions", data={"csrf": csrf_of(page), "kind": "withdraw"})
        assert response.status == 403
    assert not [v for v in bus.on(topics.CASES) if b"dpo_decided" in v]


async def test_a_decision_without_the_sessions_csrf_token_is_refused():
    bus = accounts(Bus())
    ref = await with_case(bus)
    async with client(listeners(bus)["admin"]) as http:
        await log_in(http, "dana")
        response = await http.post(f"/console/cases/{ref}/decisions", data={"csrf": "forged", "kind": "withdraw"})
        assert response.status == 403
    assert not [v for v in bus.on(topics.CASES) if b"dpo_decided" in v]


async def test_logout_closes_the_session_for_every_worker():
    bus = accounts(Bus())
    async with client(listeners(bus)["admin"]) as http:
        page = await (await log_in(http, "dana")).text()
        stolen = http.session.cookie_jar.filter_cookies(http.make_url("/console/"))["dsr_console"].value
        await http.post("/console/logout", data={"csrf": csrf_of(page)})
        assert (await http.get("/console/", cookies={"dsr_console": stolen})).status == 401
    async with client(listeners(bus)["admin"]) as other:  # another worker, the same store
        assert (await other.get("/console/", cookies={"dsr_console": stolen})).status == 401


async def test_parked_mail_is_retried_and_a_dead_letter_replayed_to_its_topic():
    bus = accounts(Bus())
    bus.mail.fail_next(PermanentMailError("550 no such user"))  # the receipt is parked
    await with_case(bus)
    await bus.publish(topics.INTAKE, None, b"not json")
    await bus.drain()
    async with client(listeners(bus)["admin"]) as http:
        await log_in(http, "dana")
        mail = await (await http.get("/console/mail")).text()
        message_id = re.search(r'name="message_id" value="([^"]+)"', mail).group(1)
        retried = await http.post("/console/mail/retry", data={"csrf": csrf_of(mail), "message_id": message_id})
        assert "E-mail renvoyé" in await retried.text()
        dead = await (await http.get("/console/dead-letters")).text()
        assert "dsr.intake.dlq" in dead and "Invalid JSON" in dead  # the reason from the dead letter's headers
        letter = re.search(r'name="letter" value="([^"]+)"', dead).group(1)
        replayed = await http.post("/console/dead-letters/replay", data={"csrf": csrf_of(dead), "letter": letter})
        assert "Message rejoué sur dsr.intake" in await replayed.text()
    assert bus.on(topics.INTAKE).count(b"not json") == 2
    sent_again = [json.loads(v)["message_id"] for v in bus.on(topics.NOTIFICATIONS)]
    assert sent_again.count(message_id) == 2


async def test_a_parked_email_sent_by_its_retry_leaves_the_list():
    bus = accounts(Bus())
    bus.mail.fail_next(PermanentMailError("550 no such user"))  # the receipt is parked
    ref = await with_case(bus)
    async with client(listeners(bus)["admin"]) as http:
        await log_in(http, "dana")
        mail = await (await http.get("/console/mail")).text()
        assert ref in mail
        message_id = re.search(r'name="message_id" value="([^"]+)"', mail).group(1)
        await http.post("/console/mail/retry", data={"csrf": csrf_of(mail), "message_id": message_id})
        await bus.drain()  # the mailer sends it this time
        assert [m for m in bus.emails_to(CAMILLE) if ref in body(m)]
        after = await (await http.get("/console/mail")).text()
    assert message_id not in after and "Aucun e-mail en attente." in after


async def test_dead_letters_come_fifty_a_page_newest_first_with_links_and_a_replay_reaches_an_older_page():
    bus = accounts(Bus())
    for n in range(55):  # another topic's letters stay on their own page
        await bus.publish(
            topics.dlq(topics.INTAKE), None, f"letter-{n:03}".encode(), {topics.DLQ_REASON: f"why-{n:03}"}
        )
    await bus.publish(topics.dlq(topics.CASES), None, b"other", {topics.DLQ_REASON: "why-cases"})
    async with client(listeners(bus)["admin"]) as http:
        await log_in(http, "dana")
        first = await (await http.get("/console/dead-letters?topic=dsr.intake.dlq")).text()
        reasons = re.findall(r"why-\d{3}", first)
        assert reasons == [f"why-{n:03}" for n in range(54, 4, -1)]  # the newest fifty, newest first
        assert "why-cases" not in first and re.search(r"dsr\.cases\.dlq</a></th><td[^>]*>1<", first)
        assert 'href="/console/dead-letters?topic=dsr.intake.dlq&amp;page=1" rel="next">Plus anciens' in first
        older = await (await http.get("/console/dead-letters?topic=dsr.intake.dlq&page=1")).text()
        assert re.findall(r"why-\d{3}", older) == ["why-004", "why-003", "why-002", "why-001", "why-000"]
        assert 'page=0" rel="prev">← Plus récents' in older and 'rel="next"' not in older
        # The oldest is replayed from its page, which the answer shows again, the letter marked.
        letter = re.findall(r'name="letter" value="([^"]+)"', older)[-1]
        replayed = await http.post(
            "/console/dead-letters/replay", data={"csrf": csrf_of(older), "letter": letter, "page": "1"}
        )
        page = await replayed.text()
        assert "Message rejoué sur dsr.intake" in page and "why-000" in page and "rejoué</td>" in page
        elsewhere = await http.post(
            "/console/dead-letters/replay", data={"csrf": csrf_of(older), "letter": "dsr.audit:0:0"}
        )
        assert elsewhere.status == 404  # only the dead-letter topics are replayed
    assert bus.on(topics.INTAKE) == [b"letter-000"]


async def test_dsr_case_with_a_personal_token_decides_as_that_person_and_a_viewers_token_cannot():
    bus = accounts(Bus())
    ref = await with_case(bus)
    secret = bus.ctx.config.secret_key
    bus.ctx.doors.new_token_serial("dana")
    bus.ctx.doors.new_token_serial("victor")
    async with client(listeners(bus)["admin"]) as http:
        body = json.dumps({"kind": "extend", "by": "not-dana", "reasons": ["volume_of_data"]})
        viewer = {"Authorization": f"Bearer {api_token(secret, bus.ctx.doors.account('victor'))}"}
        assert (await http.post(f"/api/cases/{ref}/decisions", data=body, headers=viewer)).status == 403
        dpo = {"Authorization": f"Bearer {api_token(secret, bus.ctx.doors.account('dana'))}"}
        assert (await http.post(f"/api/cases/{ref}/decisions", data=body, headers=dpo)).status == 202
        bus.ctx.doors.new_token_serial("dana")  # a new token revokes the old one
        assert (await http.get("/api/cases", headers=dpo)).status == 401
    (decided,) = [json.loads(v) for v in bus.on(topics.CASES) if b"dpo_decided" in v]
    assert decided["decision"]["by"] == "dana"
