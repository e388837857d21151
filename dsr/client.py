"""A small kafka-python helper for websites and scripts: publish CloudEvents to `dsr.intake`."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from kafka import KafkaProducer

from handlers.kafka_security import KafkaSecurity

INTAKE = "dsr.intake"


def publish_event(
    bootstrap: str,
    event: dict,
    fresh: bool = False,
    producer: KafkaProducer | None = None,
    security: KafkaSecurity | None = None,
) -> str:
    """Send one structured-mode CloudEvent; keyed by its id. Returns the id used. `security`: TLS and SASL
    (`KafkaSecurity.from_env()` reads the DSR_KAFKA_* variables); unset: PLAINTEXT."""
    if fresh:
        event = {**event, "id": str(uuid.uuid4()), "time": datetime.now(UTC).isoformat()}
    own = producer is None
    producer = producer or KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", **(security or KafkaSecurity()).client_kwargs()
    )
    try:
        producer.send(INTAKE, key=event["id"].encode(), value=json.dumps(event).encode()).get(timeout=30)
    finally:
        if own:
            producer.close()
    return event["id"]
