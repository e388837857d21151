"""The DPO's view of parked e-mails: list them, and send them again once the cause is fixed."""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaConsumer, KafkaProducer

from handlers.kafka_security import KafkaSecurity
from schemas.notifications import EmailRequested
from streams import topics


@dataclass(frozen=True)
class ParkedEmail:
    request: EmailRequested
    reason: str
    parked_at: str

    @property
    def reference(self) -> str:
        context = self.request.context
        return str(context.get("case_reference") or context.get("reference") or self.request.request_id)


def parked_emails(bootstrap: str, timeout_ms: int = 3000, security: KafkaSecurity | None = None) -> list[ParkedEmail]:
    """Every parked e-mail, oldest first; an e-mail parked twice appears once (its latest parking)."""
    consumer = KafkaConsumer(
        topics.NOTIFICATIONS_PARKED,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=timeout_ms,
        **(security or KafkaSecurity()).client_kwargs(),
    )
    latest: dict[str, ParkedEmail] = {}
    try:
        for message in consumer:
            headers = {k: v.decode(errors="replace") for k, v in message.headers}
            request = EmailRequested.model_validate_json(message.value)
            latest[request.message_id] = ParkedEmail(
                request, headers.get("dsr-parked-reason", ""), headers.get("dsr-parked-at", "")
            )
    finally:
        consumer.close()
    return list(latest.values())


def retry(bootstrap: str, reference: str, security: KafkaSecurity | None = None) -> list[ParkedEmail]:
    """Send the parked e-mails of one case (or all, with reference "all") to the mailer again.
    The mailer skips any that were delivered since: each keeps its Message-ID."""
    parked = parked_emails(bootstrap, security=security)
    chosen = [p for p in parked if reference in ("all", p.reference, p.request.request_id)]
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", **(security or KafkaSecurity()).client_kwargs())
    try:
        for parked in chosen:
            request = parked.request
            producer.send(topics.NOTIFICATIONS, key=request.request_id.encode(), value=request.to_bytes()).get(30)
    finally:
        producer.close()
    return chosen
