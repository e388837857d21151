"""The DPO's view of parked e-mails: list them, and send them again once the cause is fixed."""

from __future__ import annotations

from kafka import KafkaConsumer, KafkaProducer

from handlers.kafka_security import KafkaSecurity
from mail.ledger import SentLedger
from mail.parked import Parked, still_parked
from schemas.notifications import EmailRequested
from streams import topics


def parked_emails(bootstrap: str, timeout_ms: int = 3000, security: KafkaSecurity | None = None) -> list[Parked]:
    """Every parked e-mail, oldest first; an e-mail parked twice appears once (its latest parking)."""
    consumer = KafkaConsumer(
        topics.NOTIFICATIONS_PARKED,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=timeout_ms,
        **(security or KafkaSecurity()).client_kwargs(),
    )
    latest: dict[str, Parked] = {}
    try:
        for message in consumer:
            headers = {k: v.decode(errors="replace") for k, v in message.headers}
            request = EmailRequested.model_validate_json(message.value)
            latest[request.message_id] = Parked(
                request, headers.get("dsr-parked-reason", ""), headers.get("dsr-parked-at", "")
            )
    finally:
        consumer.close()
    return list(latest.values())


def waiting(bootstrap: str, ledger: SentLedger, security: KafkaSecurity | None = None) -> list[Parked]:
    """The parked e-mails not sent since, as the console lists them."""
    return still_parked(parked_emails(bootstrap, security=security), ledger)


def retry(bootstrap: str, reference: str, ledger: SentLedger, security: KafkaSecurity | None = None) -> list[Parked]:
    """Send the parked e-mails of one case (or all, with reference "all") that are still waiting to the mailer
    again. Each keeps its Message-ID, so the mailer would skip one delivered meanwhile anyway."""
    waiting_now = waiting(bootstrap, ledger, security)
    chosen = [p for p in waiting_now if reference in ("all", p.reference, p.request.request_id)]
    if not chosen:
        return []
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", **(security or KafkaSecurity()).client_kwargs())
    try:
        for parked in chosen:
            request = parked.request
            producer.send(topics.NOTIFICATIONS, key=request.request_id.encode(), value=request.to_bytes()).get(30)
    finally:
        producer.close()
    return chosen
