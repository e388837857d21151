"""Replays the key destructions recorded on `dsr.audit` into a key vault restored from a backup."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from pydantic import ValidationError

from handlers.kafka_security import KafkaSecurity
from schemas.audit import parse_audit
from streams import topics
from streams.ports import KeyVault

DESTROYED = "key_destroyed"


@dataclass(frozen=True)
class Replay:
    records: int  # audit records read
    destructions: int  # distinct subjects whose key was destroyed
    resurrected: int  # of those, keys the restored vault still held: destroyed again now
    unreadable: int  # records that are not audit records: destructions in them could not be replayed


def destructions_in(values: Iterable[bytes | None]) -> tuple[set[str], int, int]:
    """The subject refs of every `key_destroyed` record; with the counts of records read and unreadable."""
    refs: set[str] = set()
    read = unreadable = 0
    for value in values:
        try:
            records = parse_audit(value or b"")
        except ValidationError:
            read, unreadable = read + 1, unreadable + 1
            continue
        read += len(records)
        refs |= {r.subject_ref for r in records if r.kind == DESTROYED and r.subject_ref}
    return refs, read, unreadable


def replay_destructions(vault: KeyVault, values: Iterable[bytes | None]) -> Replay:
    """Destroy again every key the audit trail says was destroyed (idempotent: run it as often as needed)."""
    refs, read, unreadable = destructions_in(values)
    resurrected = 0
    for ref in sorted(refs):
        resurrected += _held(vault, ref)
        vault.destroy(ref)
    return Replay(read, len(refs), resurrected, unreadable)


def _held(vault: KeyVault, ref: str) -> bool:
    try:
        return vault.get(ref) is not None
    except Exception:  # noqa: BLE001 - wrapped under another secret: still a copy, destroyed all the same
        return True


def audit_trail(bootstrap: str, security: KafkaSecurity | None = None, timeout: float = 300.0) -> list[bytes | None]:
    """Every record on `dsr.audit`, from the first to the last at the time of the call; never a partial read."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        **(security or KafkaSecurity()).client_kwargs(),
    )
    try:
        partitions = [
            TopicPartition(topics.AUDIT, p) for p in sorted(consumer.partitions_for_topic(topics.AUDIT) or ())
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        return _read_to(consumer, consumer.end_offsets(partitions), time.monotonic() + timeout)
    finally:
        consumer.close()


def _read_to(consumer: KafkaConsumer, ends: dict[TopicPartition, int], deadline: float) -> list[bytes | None]:
    values: list[bytes | None] = []
    while any(consumer.position(tp) < end for tp, end in ends.items()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{topics.AUDIT} not read to its end in time: nothing was replayed")
        for records in consumer.poll(timeout_ms=1000).values():
            values += [record.value for record in records]
    return values
