"""Never die on one message: retry what may pass later, dead-letter the rest with the reason."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from streams import request_log, topics
from streams.audit import audit_step
from streams.context import Context

log = logging.getLogger(__name__)
TRUNCATED_BYTES = 64 * 1024  # the full original stays on the origin topic, at the offset in the headers


class Rejected(Exception):
    """The message can never be processed; the text is the reason (no personal data in it)."""


@dataclass(frozen=True)
class Origin:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


async def dead_letter(ctx: Context, origin: Origin, reason: str) -> None:
    """Park the message with its reason; if even that fails, park a truncated copy that points at the original."""
    headers = {
        topics.DLQ_REASON: reason[:1000],
        topics.DLQ_ORIGIN_TOPIC: origin.topic,
        topics.DLQ_ORIGIN_PARTITION: str(origin.partition),
        topics.DLQ_ORIGIN_OFFSET: str(origin.offset),
        topics.DLQ_AT: ctx.clock().isoformat(),
    }
    key = origin.key  # as it came, bytes: a key that is not UTF-8 is kept as it is
    try:
        await ctx.publisher.publish(topics.dlq(origin.topic), key, origin.value, headers)
    except Exception as exc:  # noqa: BLE001 - e.g. too large for the producer; the agent must not die
        headers |= {
            "dsr-dlq-truncated": str(len(origin.value or b"")),
            "dsr-dlq-sha256": hashlib.sha256(origin.value or b"").hexdigest(),
            "dsr-dlq-publish-error": type(exc).__name__,
        }
        await ctx.publisher.publish(topics.dlq(origin.topic), key, (origin.value or b"")[:TRUNCATED_BYTES], headers)
    ctx.metrics.dead_letters.labels(topics.dlq(origin.topic)).inc()
    log.warning("dead-lettered %s[%s]@%s: %s", origin.topic, origin.partition, origin.offset, reason)


async def process_safely(ctx: Context, origin: Origin, work: Callable[[], Awaitable[None]]) -> None:
    """Run `work`; Rejected goes straight to the DLQ, other errors are retried with backoff first. Every line
    logged meanwhile carries the request id of the case the message concerns (streams.request_log)."""
    with request_log.step(origin.topic, origin.key):
        await _attempts(ctx, origin, work)


async def _attempts(ctx: Context, origin: Origin, work: Callable[[], Awaitable[None]]) -> None:
    for attempt in range(1, ctx.config.processing_attempts + 1):
        try:
            async with audit_step(ctx):  # the step's audit records, one message per case
                await work()
            return
        except Rejected as exc:
            await dead_letter(ctx, origin, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - an agent that raises loses the message
            reason = f"{type(exc).__name__} after {attempt} attempt(s)"
            # Type only: exception texts may quote the message, i.e. personal data.
            log.error("processing %s@%s failed (%s)", origin.topic, origin.offset, reason)
            if attempt == ctx.config.processing_attempts:
                await dead_letter(ctx, origin, reason)
                return
            await asyncio.sleep(0.2 * 2 ** (attempt - 1))
