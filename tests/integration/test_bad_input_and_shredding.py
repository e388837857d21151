"""A thousand bad events cost nothing but dead letters; an erased person leaves nothing readable behind."""

from __future__ import annotations

import json
import random
import time
import uuid

import pytest
from kafka import KafkaAdminClient, KafkaConsumer

from dsr.vault import SqliteKeyVault
from gdpr.sealing import subject_ref
from schemas.sealed import Sealed
from tests.integration.pipeline import example, new_person, rights_request

pytestmark = pytest.mark.integration


def bad_events(rng: random.Random, count: int) -> list[bytes]:
    """Every kind of bad input the intake must survive, in random order."""
    good = example("dsr.rights.requested")

    def variant(i: int) -> bytes:
        kind = i % 10
        event = json.loads(json.dumps(good))
        if kind == 0:
            return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))  # not JSON at all
        if kind == 1:
            return json.dumps(event).encode()[: rng.randint(1, 60)]  # truncated JSON
        if kind == 2:
            event["type"] = rng.choice(["dsr.unknown", "", "dsr.rights.request", 42])
        elif kind == 3:
            event.pop(rng.choice(["specversion", "id", "source", "type", "time", "data"]))
        elif kind == 4:
            event["specversion"] = rng.choice(["0.3", "2.0", 1.0, None])
        elif kind == 5:
            event["data"]["subject_identities"] = rng.choice([[], [{"identity_type": "email"}], "x", None])
        elif kind == 6:
            event["data"]["subject_request_type"] = rng.choice(["delete-all", None, 7])
        elif kind == 7:
            event["time"] = rng.choice(["yesterday", "2027-13-45T00:00:00Z", "2027-03-05T10:00:00"])
        elif kind == 8:
            event["data"]["unexpected"] = "field"
        else:
            return json.dumps([event]).encode()  # a JSON array, not an object
        return json.dumps(event).encode()

    events = [variant(i) for i in range(count - 3)]
    padding = " " * 1_000_050  # over the 1 MB limit, under Kafka's own message limit
    events += [json.dumps({**good, "data": {**good["data"], "message": padding}}).encode()] * 3
    rng.shuffle(events)
    return events


def read_topic(bootstrap: str, topic: str, timeout_ms: int = 3000) -> list:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=timeout_ms,
        max_partition_fetch_bytes=2_000_000,
        fetch_max_bytes=50_000_000,
    )
    try:
        return list(consumer)
    finally:
        consumer.close()


def test_a_thousand_bad_events_all_dead_lettered_and_the_worker_lives_on(pipeline):
    run = uuid.uuid4().hex[:8].encode()
    for i, raw in enumerate(bad_events(random.Random(20261126), 1000)):
        pipeline.producer.send("dsr.intake", key=run + b"-%d" % i, value=raw)
    pipeline.producer.flush()
    email, name = new_person()
    pipeline.publish(rights_request(email, name))  # the next good event is still processed
    pipeline.email(email, "Date limite", timeout=120)
    dead = [m for m in read_topic(pipeline.bootstrap, "dsr.intake.dlq") if m.key and m.key.startswith(run)]
    assert len(dead) == 1000
    reasons = [dict(m.headers)["dsr-dlq-reason"].decode() for m in dead]
    assert all(reasons) and any("exceeds" in r for r in reasons) and any("specversion" in r for r in reasons)
    assert {dict(m.headers)["dsr-dlq-origin-topic"] for m in dead} == {b"dsr.intake"}
    assert pipeline.process.poll() is None and pipeline.get("/health")[0] == 200


def sealed_values(value: bytes):
    """Every sealed object inside a JSON message, however deep."""
    try:
        document = json.loads(value)
    except ValueError:
        return
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if {"subject_ref", "nonce", "ciphertext"} <= node.keys():
                yield Sealed.model_validate(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def test_after_erasure_no_topic_holds_anything_readable_about_the_person(pipeline):
    email, name = new_person()
    pipeline.publish(
        example(
            "dsr.form.quote_requested",
            email=email,
            first_name=name,
            last_name=name + "son",
            marketing_consent={"email": True},
        )
    )
    pipeline.email(email)
    pipeline.publish(rights_request(email, name))
    verification = pipeline.email(email, "/verify/")
    from tests.integration.pipeline import link

    assert pipeline.post(link(verification, "verify"))[0] == 200
    pipeline.email(email, "(CRM)", timeout=90)  # the outcome e-mail: then the key goes
    ref = subject_ref(pipeline.env["DSR_SECRET_KEY"].encode(), email)
    vault = SqliteKeyVault(pipeline.data_dir / "keys.sqlite3", pipeline.env["DSR_SECRET_KEY"].encode())
    deadline = time.monotonic() + 30
    while vault.get(ref) is not None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert vault.get(ref) is None
    admin = KafkaAdminClient(bootstrap_servers=pipeline.bootstrap)
    owned = [t for t in admin.list_topics() if not t.startswith("__") and t != "dsr.intake"]
    admin.close()
    needles = [email.lower().encode(), name.lower().encode(), email.split("@")[0].encode()]
    sealed_for_person = 0
    for topic in owned:
        for message in read_topic(pipeline.bootstrap, topic, timeout_ms=1500):
            blob = b"".join([message.key or b"", message.value or b""] + [v for _, v in message.headers]).lower()
            assert not any(n in blob for n in needles), f"plaintext personal data in {topic}"
            sealed_for_person += sum(1 for s in sealed_values(message.value or b"") if s.subject_ref == ref)
    assert sealed_for_person > 0  # the person's data did travel, sealed ...
    assert vault.get(ref) is None  # ... and nothing can open it any more
