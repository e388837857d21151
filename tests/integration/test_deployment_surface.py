"""The worker as an operator and an attacker see it: two listeners, nothing internal on the public one, keys
that are not UTF-8, probes, Prometheus metrics that move, JSON logs without personal data."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gdpr.lifecycle import stable_id
from tests.integration.pipeline import example, link, new_person, rights_request
from tests.integration.test_bad_input_and_shredding import read_topic

pytestmark = pytest.mark.integration


def status_of(url: str, method: str = "GET", data: bytes | None = None) -> int:
    request = urllib.request.Request(url, method=method, data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def metrics(pipeline) -> dict[str, float]:
    """Every sample of the admin listener's /metrics, by name and labels, parsed as Prometheus would."""
    with urllib.request.urlopen(pipeline.admin_url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def erasure(pipeline) -> tuple[str, str, str]:
    """A whole erasure as a person makes it: a quote form first, then the request, the link, the outcome.
    Returns the person's address and name, and the case's request id."""
    email, name = new_person()
    pipeline.publish(example("dsr.form.quote_requested", email=email, first_name=name, last_name="Durand"))
    pipeline.email(email)
    request = rights_request(email, name)
    pipeline.publish(request)
    verify = link(pipeline.email(email, "/verify/"), "verify")
    assert pipeline.post(verify)[0] == 200
    pipeline.email(email, "(CRM)", timeout=90)
    return email, name, stable_id("request", request["id"])


def test_faust_views_and_internal_routes_are_on_no_public_port(pipeline):
    request_id = "00000000-0000-0000-0000-000000000000"
    for path in (
        "/router/",
        "/table/",
        f"/table/cases/{request_id}/",
        "/graph/",
        "/stats/",
        "/metrics",
        "/api/cases",
        "/livez",
        "/readyz",
    ):
        assert status_of(pipeline.url + path) == 404, f"{path} on the public listener"
    for path in ("/router/", "/table/", f"/table/cases/{request_id}/"):
        assert status_of(pipeline.admin_url + path) == 404, f"{path} on the admin listener"
    assert status_of(pipeline.admin_url + "/api/cases") == 401
    assert status_of(pipeline.admin_url + "/livez") == 200
    assert status_of(pipeline.admin_url + "/readyz") == 200
    assert status_of(pipeline.url + "/health") == 200


def test_a_huge_body_is_refused_before_it_is_read(pipeline):
    assert status_of(pipeline.url + "/verify/anything", "POST", b"x" * (20 * 1024 * 1024)) == 413
    assert status_of(pipeline.admin_url + "/api/tasks/open", "POST", b"x" * (3 * 1024 * 1024)) == 413


def test_events_whose_keys_are_not_utf8_are_processed_or_dead_lettered(pipeline):
    # A rights request with a key that is not UTF-8: the key is free, the request opens a case.
    email, name = new_person()
    pipeline.publish(rights_request(email, name), key=b"\xff\xfe\x80 not utf-8")
    started = time.monotonic()
    pipeline.email(email, "/verify/", timeout=60)
    # A bad event with such a key goes to the dead letters with its key as it came; the next one is not held up.
    pipeline.publish(b"not json", key=b"\xc3\x28-bad")
    later, _ = new_person()
    pipeline.publish(rights_request(later, "Later"), key=b"\xfa")
    pipeline.email(later, "/verify/", timeout=60)
    assert time.monotonic() - started < 30
    dead = [m for m in read_topic(pipeline.bootstrap, "dsr.intake.dlq") if m.key == b"\xc3\x28-bad"]
    assert dead and dict(dead[0].headers)["dsr-dlq-reason"]


def test_metrics_move_with_a_case(pipeline):
    before = metrics(pipeline)
    erasure(pipeline)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        after = metrics(pipeline)
        outcome = "dsr_emails_sent_total{message_type=outcome_erasure}"
        if after.get(outcome, 0) > before.get(outcome, 0):
            break
        time.sleep(1)
    assert after[outcome] > before.get(outcome, 0)
    assert after["dsr_emails_sent_total{message_type=receipt}"] > before.get(
        "dsr_emails_sent_total{message_type=receipt}", 0
    )
    assert any(name.startswith("dsr_task_latency_seconds_count{action=erase") for name in after)
    assert any(name.startswith("faust_messages_received_total") for name in after)
    assert any(name.startswith("dsr_open_cases") or name.startswith("dsr_cases_past_target") for name in after)
    assert any(name.startswith("dsr_dead_letter_messages{topic=dsr.intake.dlq") for name in after)
    assert any(name.startswith("dsr_consumer_lag{") for name in after)


def test_json_log_lines_carry_no_personal_data_and_a_case_step_its_request_id(pipeline):
    email, name, request_id = erasure(pipeline)
    # A case event the coordinator cannot read: its step logs the dead letter, with the case's request id.
    pipeline.producer.send("dsr.cases", key=request_id.encode(), value=b"{not a case event").get(timeout=30)
    deadline = time.monotonic() + 60
    while not [r for r in log_records(pipeline) if dead_letter_of(r, request_id)]:
        assert time.monotonic() < deadline, "no dead-letter line carrying the case's request id"
        time.sleep(1)
    records = log_records(pipeline)
    assert records and all({"time", "level", "logger", "event"} <= set(r) for r in records)
    assert all(str(uuid.UUID(r["request_id"])) == r["request_id"] for r in records if "request_id" in r)
    text = (pipeline.data_dir / "worker.log").read_text()
    assert email not in text and name not in text and "@example.test" not in text


def dead_letter_of(record: dict, request_id: str) -> bool:
    return record["event"].startswith("dead-lettered dsr.cases") and record.get("request_id") == request_id


def log_records(pipeline) -> list[dict]:
    lines = (pipeline.data_dir / "worker.log").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]  # every line is one JSON object
