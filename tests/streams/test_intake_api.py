"""POST /intake as a website uses it: each CloudEvents HTTP mode, its key, the limits, and the answers."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from schemas.cloudevents_binding import BATCH, STRUCTURED
from streams import topics
from streams.intake import reference
from streams.web.intake_api import site_key
from tests.streams.bus import Bus
from tests.streams.test_flow import example
from tests.streams.test_routes import client, listeners

pytestmark = pytest.mark.streams


def keyed(bus: Bus, site: str = "shop") -> dict[str, str]:
    return {"Authorization": f"Bearer {site_key(bus.ctx.config.secret_key, site)}"}


def structured(bus: Bus, event: dict) -> dict:
    return {"data": json.dumps(event).encode(), "headers": keyed(bus) | {"Content-Type": STRUCTURED}}


async def test_structured_mode_answers_202_with_reference_and_deadline_once_published():
    bus = Bus()
    event = example("dsr.rights.requested", time="2027-03-05T10:00:00Z")
    async with client(listeners(bus)["public"]) as http:
        response = await http.post("/intake", **structured(bus, event))
        answer = await response.json()
    assert response.status == 202
    assert answer["deadline"] == "2027-04-05" and answer["reference"].startswith("DSR-")  # LEGAL V1
    assert [json.loads(v)["id"] for v in bus.on(topics.INTAKE)] == [event["id"]]


async def test_binary_mode_and_extensions():
    bus = Bus()
    event = example("dsr.form.contact_submitted")
    headers = {f"ce-{k}": v for k, v in event.items() if k not in ("data", "datacontenttype")}
    headers |= keyed(bus) | {"Content-Type": "application/json; charset=utf-8", "ce-traceparent": "00-ab-cd-01"}
    async with client(listeners(bus)["public"]) as http:
        response = await http.post("/intake", data=json.dumps(event["data"]).encode(), headers=headers)
        assert response.status == 202 and (await response.json())["reference"].startswith("DSR-")
    published = json.loads(bus.on(topics.INTAKE)[0])
    assert published["traceparent"] == "00-ab-cd-01" and published["data"] == event["data"]


async def test_batch_mode_is_all_or_nothing():
    bus = Bus()
    events = [example("dsr.rights.requested", id=f"batch-{i}") for i in range(3)]
    bad = [*events[:2], {**events[2], "data": {**events[2]["data"], "reason": "x"}}]
    async with client(listeners(bus)["public"]) as http:
        headers = keyed(bus) | {"Content-Type": BATCH}
        refused = await http.post("/intake", data=json.dumps(bad).encode(), headers=headers)
        assert refused.status == 400
        assert (await refused.json())["events"] == [
            {"index": 2, "reasons": [{"field": "reason", "reason": "Extra inputs are not permitted"}]}
        ]
        assert bus.on(topics.INTAKE) == []
        accepted = await http.post("/intake", data=json.dumps(events).encode(), headers=headers)
        assert accepted.status == 202 and len((await accepted.json())["accepted"]) == 3
    assert len(bus.on(topics.INTAKE)) == 3


async def test_without_a_key_401_with_a_bad_one_403():
    bus = Bus()
    event = example("dsr.rights.requested")
    async with client(listeners(bus)["public"]) as http:
        response = await http.post("/intake", data=json.dumps(event), headers={"Content-Type": STRUCTURED})
        assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer"
        forged = {"Authorization": f"Bearer shop.{'0' * 64}", "Content-Type": STRUCTURED}
        assert (await http.post("/intake", data=json.dumps(event), headers=forged)).status == 403
    assert bus.on(topics.INTAKE) == []


async def test_bad_bodies_are_told_field_by_field_without_quoting_them():
    bus = Bus()
    event = example("dsr.rights.requested")
    event["data"]["subject_identities"][0]["identity_value"] = "not-an-address-secret"
    async with client(listeners(bus)["public"]) as http:
        response = await http.post("/intake", **structured(bus, event))
        text = await response.text()
    assert response.status == 400 and "subject_identities" in text and "secret" not in text


async def test_an_oversized_body_answers_413_in_json():
    bus = Bus()
    async with client(listeners(bus)["public"]) as http:
        response = await http.post(
            "/intake", data=b"x" * (1024 * 1024 + 1), headers=keyed(bus) | {"Content-Type": STRUCTURED}
        )
        assert response.status == 413 and "error" in await response.json()


async def test_the_same_id_again_answers_as_the_first_time_and_publishes_nothing():
    bus = Bus()
    event = example("dsr.rights.requested", time="2027-03-05T10:00:00Z")
    async with client(listeners(bus)["public"]) as http:
        first = await (await http.post("/intake", **structured(bus, event))).json()
        later = {**event, "time": "2027-06-01T10:00:00Z"}  # even with another time
        again = await http.post("/intake", **structured(bus, later))
        assert again.status == 202 and await again.json() == first
    assert len(bus.on(topics.INTAKE)) == 1


async def test_two_sites_sending_the_same_id_open_two_cases_and_each_replay_gets_its_own_answer():
    bus = Bus()
    shop = example("dsr.rights.requested", id="42", data={"subject_request_type": "access"})
    blog = example("dsr.rights.requested", id="42", data={"subject_request_type": "erasure"})
    blog["data"]["subject_identities"][0]["identity_value"] = "dominique@example.test"
    blog["dsrsite"] = "shop"  # a site cannot borrow another's scope: the key names the site
    async with client(listeners(bus)["public"]) as http:
        posted = {
            site: await http.post(
                "/intake", data=json.dumps(event), headers=keyed(bus, site) | {"Content-Type": STRUCTURED}
            )
            for site, event in (("shop", shop), ("blog", blog))
        }
        answers = {site: await response.json() for site, response in posted.items()}
        assert {response.status for response in posted.values()} == {202}
        assert answers["shop"]["reference"] != answers["blog"]["reference"]
        again = await http.post(
            "/intake", data=json.dumps(blog), headers=keyed(bus, "blog") | {"Content-Type": STRUCTURED}
        )
        assert await again.json() == answers["blog"]  # a replay is still one, within its site
    assert [json.loads(v)["dsrsite"] for v in bus.on(topics.INTAKE)] == ["shop", "blog"]
    await bus.drain()
    opened = {reference(s.request_id): s.right.value for s in bus.directory.local.states()}
    assert opened == {answers["shop"]["reference"]: "access", answers["blog"]["reference"]: "erasure"}


async def test_a_site_over_its_rate_gets_429_with_retry_after():
    bus = Bus()
    bus.ctx.config = replace(bus.ctx.config, intake_per_minute=2)
    async with client(listeners(bus)["public"]) as http:
        statuses = []
        for i in range(3):
            response = await http.post("/intake", **structured(bus, example("dsr.rights.requested", id=f"r-{i}")))
            statuses.append(response.status)
        assert statuses == [202, 202, 429] and int(response.headers["Retry-After"]) >= 1
        other = {"Authorization": f"Bearer {site_key(bus.ctx.config.secret_key, 'blog')}", "Content-Type": STRUCTURED}
        event = json.dumps(example("dsr.rights.requested", id="r-blog"))
        assert (await http.post("/intake", data=event, headers=other)).status == 202  # per site
