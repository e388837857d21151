"""CloudEvents 1.0 protocol bindings (HTTP and Kafka): structured, batch and binary modes, to structured events."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from urllib.parse import unquote

from schemas.intake import IntakeError

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
MAX_BATCH = 100  # issue 11: a batch holds at most 100 events


class BindingError(IntakeError):
    """The message is not a CloudEvent in any mode the binding knows; the text says what to send."""


def media_type(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


def from_http(headers: Mapping[str, str], body: bytes) -> list[bytes]:
    """HTTP binding §3: each event of the request as a structured JSON event."""
    lowered = {k.lower(): v for k, v in headers.items()}
    media = media_type(lowered.get("content-type", ""))
    if media == BATCH:
        return _batch(body)
    if media == STRUCTURED:
        return [body]
    if "ce-specversion" in lowered:  # binary mode: attributes in ce- headers, percent-encoded (§3.1.3.2)
        attributes = {k[3:]: unquote(v) for k, v in lowered.items() if k.startswith("ce-")}
        return [_binary(attributes, lowered.get("content-type"), body)]
    raise BindingError(
        f"not a CloudEvent: send {STRUCTURED}, {BATCH} (at most {MAX_BATCH} events), "
        "or binary mode (ce-specversion, ce-id, ce-source, ce-type, ce-time headers, the data as the body)"
    )


def from_kafka(headers: Iterable[tuple[str, bytes]] | None, value: bytes) -> bytes:
    """Kafka binding §3: a binary-mode message (ce_ headers) as a structured event; structured mode as it is."""
    lowered = {k.lower(): (v or b"").decode("utf-8", errors="replace") for k, v in headers or ()}
    if "ce_specversion" not in lowered or media_type(lowered.get("content-type", "")) == STRUCTURED:
        return value
    attributes = {k[3:]: v for k, v in lowered.items() if k.startswith("ce_")}
    return _binary(attributes, lowered.get("content-type"), value)


def _binary(attributes: dict[str, str], content_type: str | None, body: bytes) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        raise BindingError("binary mode: the body must be the event's data as JSON") from None
    envelope = {**attributes, "data": data}
    if content_type:
        envelope["datacontenttype"] = content_type
    return json.dumps(envelope, ensure_ascii=False).encode()


def _batch(body: bytes) -> list[bytes]:
    try:
        events = json.loads(body)
    except ValueError:
        raise BindingError("batch mode: the body must be a JSON array of CloudEvents") from None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise BindingError("batch mode: the body must be a JSON array of CloudEvents objects")
    if not 1 <= len(events) <= MAX_BATCH:
        raise BindingError(f"batch mode: between 1 and {MAX_BATCH} events, not {len(events)}")
    return [json.dumps(event, ensure_ascii=False).encode() for event in events]
