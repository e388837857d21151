"""CloudEvents bindings: structured, batch and binary modes over HTTP and Kafka become the same structured event;
extension attributes and datacontenttype parameters are accepted, unknown fields inside data stay refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.cloudevents_binding import BATCH, STRUCTURED, BindingError, from_http, from_kafka
from schemas.intake import IntakeError, parse_intake

EXAMPLE = json.loads((Path(__file__).resolve().parents[2] / "schemas/examples/dsr.rights.requested.json").read_text())


def binary_headers(prefix: str, event: dict) -> dict[str, str]:
    return {f"{prefix}{k}": v for k, v in event.items() if k not in ("data", "datacontenttype")}


def test_structured_mode_is_taken_as_it_is():
    body = json.dumps(EXAMPLE).encode()
    assert from_http({"Content-Type": f"{STRUCTURED}; charset=utf-8"}, body) == [body]


def test_binary_mode_over_http_gives_the_same_event_with_percent_decoded_headers():
    headers = binary_headers("ce-", EXAMPLE) | {"Content-Type": "application/json; charset=utf-8"}
    headers["ce-source"] = "https%3A%2F%2Fwww.example.fr%2Fdroits"
    (event_bytes,) = from_http(headers, json.dumps(EXAMPLE["data"]).encode())
    event, data = parse_intake(event_bytes)
    assert event.source == "https://www.example.fr/droits" and event.id == EXAMPLE["id"]
    assert data.subject_request_type.value == EXAMPLE["data"]["subject_request_type"]


def test_binary_mode_on_kafka_with_extensions():
    headers = [(k, v.encode()) for k, v in binary_headers("ce_", EXAMPLE).items()]
    headers += [("ce_traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]
    headers += [("content-type", b"application/json")]
    event, _ = parse_intake(from_kafka(headers, json.dumps(EXAMPLE["data"]).encode()))
    assert event.extensions["traceparent"].startswith("00-0af7")
    assert json.loads(event.to_structured())["traceparent"].startswith("00-0af7")  # carried along as it came


def test_structured_mode_on_kafka_is_left_alone():
    body = json.dumps(EXAMPLE).encode()
    assert from_kafka([("content-type", b"application/cloudevents+json")], body) == body
    assert from_kafka(None, body) == body


def test_extension_attributes_and_content_type_parameters_are_accepted():
    event, _ = parse_intake(
        json.dumps(
            {
                **EXAMPLE,
                "partitionkey": "site-1",
                "traceparent": "00-ab-cd-01",
                "datacontenttype": "application/json; charset=utf-8",
            }
        ).encode()
    )
    assert event.extensions == {"partitionkey": "site-1", "traceparent": "00-ab-cd-01"}


@pytest.mark.parametrize(
    "change",
    [
        {"datacontenttype": "text/plain"},
        {"datacontenttype": "application/json; charset=latin-1"},
        {"Not-An-Extension": "x"},
    ],
)
def test_what_is_still_refused(change):
    with pytest.raises(IntakeError):
        parse_intake(json.dumps({**EXAMPLE, **change}).encode())


def test_unknown_fields_inside_data_stay_refused_and_are_not_quoted():
    event = {**EXAMPLE, "data": {**EXAMPLE["data"], "favourite_colour": "jeanne-secret"}}
    with pytest.raises(IntakeError) as err:
        parse_intake(json.dumps(event).encode())
    assert "favourite_colour" in str(err.value) and "jeanne-secret" not in str(err.value)


def test_batch_mode_holds_one_to_a_hundred_events():
    events = [{**EXAMPLE, "id": f"e-{i}"} for i in range(3)]
    assert len(from_http({"Content-Type": BATCH}, json.dumps(events).encode())) == 3
    for bad in (b"[]", json.dumps([EXAMPLE] * 101).encode(), b"{}", b"not json", b"[1, 2]"):
        with pytest.raises(BindingError):
            from_http({"Content-Type": BATCH}, bad)


def test_something_that_is_no_cloudevent_says_what_to_send():
    with pytest.raises(BindingError, match="application/cloudevents\\+json"):
        from_http({"Content-Type": "application/json"}, json.dumps(EXAMPLE).encode())
