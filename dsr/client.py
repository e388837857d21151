"""A small kafka-python helper for websites and scripts: publish CloudEvents to `dsr.intake`."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from kafka import KafkaProducer

INTAKE = "dsr.intake"


def publish_event(bootstrap: str, event: dict, fresh: bool = False, producer: KafkaProducer | None = None) -> str:
    """Send one structured-mode CloudEvent; keyed by its id. Returns the id used."""
    if fresh:
        event = {**event, "id": str(uuid.uuid4()), "time": datetime.now(UTC).isoformat()}
    own = producer is None
    producer = producer or KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        producer.send(INTAKE, key=event["id"].encode(), value=json.dumps(event).encode()).get(timeout=30)
    finally:
        if own:
            producer.close()
    return event["id"]
