"""The ports the streams use, each with its contract, and an in-memory twin for tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from gdpr.sealing import Lease, new_key
from schemas.clock import Clock, utcnow
from schemas.sealed import Sealed
from schemas.tasks import LegalHold


class KeyVault(Protocol):
    """One AES-256 key per subject. `destroy` must leave no recoverable copy: it is the erasure of
    every sealed value of that subject, wherever the value was copied (crypto-shredding)."""

    def key_for(self, subject_ref: str, lease: Lease | None = None) -> bytes:
        """The subject's key, created on first use. Without a lease (a case, a form submission), the key is claimed:
        its leases end, and only a case's destruction (or `destroy`) ends it. With one, the lease is recorded on a
        key it creates or one held by leases only; a key created without a lease is left as it is."""

    def get(self, subject_ref: str) -> bytes | None:
        """The subject's key, or None if it never existed or was destroyed."""

    def destroy(self, subject_ref: str) -> None:
        """Forget the key for good, and its leases; idempotent."""

    def release(self, holder: str) -> list[str]:
        """End `holder`'s lease; destroy the key it was the last lease of. The subject_refs of keys destroyed."""

    def expire(self, now: datetime) -> list[str]:
        """End the leases past their `until`; destroy the keys left with none. The subject_refs of keys destroyed."""


class ExportStore(Protocol):
    """Sealed exports per system while a case gathers them, then one sealed package per case."""

    def put_part(self, request_id: str, system: str, part: Sealed) -> None: ...

    def parts(self, request_id: str) -> dict[str, Sealed]: ...

    def put_package(self, request_id: str, package: Sealed) -> None: ...

    def package(self, request_id: str) -> Sealed | None: ...

    def delete(self, request_id: str) -> None:
        """Remove parts and package; idempotent."""

    def delete_older_than(self, cutoff: datetime) -> list[str]:
        """Remove every request's exports stored before `cutoff`; return those request ids."""


class DocumentStore(Protocol):
    """Documents a person uploads because we asked for them (an ID, proof of a death): at most one per case,
    sealed under the subject's key, with its media type; deleted once checked (R16) or after a time limit."""

    def put(self, request_id: str, content_type: str, document: Sealed) -> None:
        """Store (or replace) the case's document."""

    def get(self, request_id: str) -> tuple[str, Sealed] | None: ...

    def delete(self, request_id: str) -> None:
        """Idempotent."""

    def delete_older_than(self, cutoff: datetime) -> list[str]:
        """Remove every document stored before `cutoff`; return those request ids."""


class CaseHolds(Protocol):
    """The legal holds DPOs placed on cases (R46), where the retention sweep reads them: a person's data under a
    case's hold is not erased at its retention end. Keyed by case; no personal data (the subject's ref only)."""

    def put(self, request_id: str, subject_ref: str, holds: list[LegalHold]) -> None:
        """The case's active holds now (replacing what was there); an empty list: none left."""

    def all(self) -> list[tuple[str, LegalHold]]:
        """Every active hold of every case, with its subject's ref."""


class Publisher(Protocol):
    """Publishes bytes to a topic; what the stream functions return their effects through. A str key is
    sent as UTF-8, a bytes key as it is (a dead letter keeps the key it came with)."""

    async def publish(
        self, topic: str, key: str | bytes | None, value: bytes, headers: dict[str, str] | None = None
    ) -> None: ...


# --- in-memory twins --------------------------------------------------------------------------


class MemoryKeyVault:
    def __init__(self) -> None:
        self._keys: dict[str, bytes] = {}
        self._leases: dict[str, dict[str, datetime]] = {}  # subject_ref: {holder: until}
        self._lock = threading.Lock()

    def key_for(self, subject_ref: str, lease: Lease | None = None) -> bytes:
        with self._lock:
            created = subject_ref not in self._keys
            key = self._keys.setdefault(subject_ref, new_key())
            if lease is None:
                self._leases.pop(subject_ref, None)  # claimed
            elif created or subject_ref in self._leases:
                held = self._leases.setdefault(subject_ref, {})
                held[lease.holder] = max(lease.until, held.get(lease.holder, lease.until))
            return key

    def get(self, subject_ref: str) -> bytes | None:
        return self._keys.get(subject_ref)

    def destroy(self, subject_ref: str) -> None:
        with self._lock:
            self._keys.pop(subject_ref, None)
            self._leases.pop(subject_ref, None)

    def release(self, holder: str) -> list[str]:
        with self._lock:
            return self._end(lambda h, until: h == holder)

    def expire(self, now: datetime) -> list[str]:
        with self._lock:
            return self._end(lambda h, until: until < now)

    def _end(self, ended: Callable[[str, datetime], bool]) -> list[str]:
        gone = []
        for ref, held in list(self._leases.items()):
            if any(ended(h, until) for h, until in held.items()):
                self._leases[ref] = {h: u for h, u in held.items() if not ended(h, u)}
                if not self._leases[ref]:
                    del self._leases[ref]
                    self._keys.pop(ref, None)
                    gone.append(ref)
        return sorted(gone)


class MemoryExportStore:
    def __init__(self, clock: Clock = utcnow) -> None:
        self._parts: dict[str, dict[str, Sealed]] = {}
        self._packages: dict[str, Sealed] = {}
        self._stored_at: dict[str, datetime] = {}
        self._clock = clock

    def put_part(self, request_id: str, system: str, part: Sealed) -> None:
        self._stored_at.setdefault(request_id, self._clock())
        self._parts.setdefault(request_id, {})[system] = part

    def parts(self, request_id: str) -> dict[str, Sealed]:
        return dict(self._parts.get(request_id, {}))

    def put_package(self, request_id: str, package: Sealed) -> None:
        self._stored_at.setdefault(request_id, self._clock())
        self._packages[request_id] = package

    def package(self, request_id: str) -> Sealed | None:
        return self._packages.get(request_id)

    def delete(self, request_id: str) -> None:
        self._parts.pop(request_id, None)
        self._packages.pop(request_id, None)
        self._stored_at.pop(request_id, None)

    def delete_older_than(self, cutoff: datetime) -> list[str]:
        expired = [r for r, at in self._stored_at.items() if at < cutoff]
        for request_id in expired:
            self.delete(request_id)
        return expired


class MemoryDocumentStore:
    def __init__(self, clock: Clock = utcnow) -> None:
        self._documents: dict[str, tuple[str, Sealed, datetime]] = {}
        self._clock = clock

    def put(self, request_id: str, content_type: str, document: Sealed) -> None:
        self._documents[request_id] = (content_type, document, self._clock())

    def get(self, request_id: str) -> tuple[str, Sealed] | None:
        found = self._documents.get(request_id)
        return (found[0], found[1]) if found else None

    def delete(self, request_id: str) -> None:
        self._documents.pop(request_id, None)

    def delete_older_than(self, cutoff: datetime) -> list[str]:
        expired = [r for r, (_, _, at) in self._documents.items() if at < cutoff]
        for request_id in expired:
            self.delete(request_id)
        return expired


class MemoryCaseHolds:
    def __init__(self) -> None:
        self._holds: dict[str, tuple[str, list[LegalHold]]] = {}

    def put(self, request_id: str, subject_ref: str, holds: list[LegalHold]) -> None:
        if holds:
            self._holds[request_id] = (subject_ref, list(holds))
        else:
            self._holds.pop(request_id, None)

    def all(self) -> list[tuple[str, LegalHold]]:
        return [(ref, hold) for ref, holds in self._holds.values() for hold in holds]
