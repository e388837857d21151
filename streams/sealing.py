"""Seal and open personal values through the key vault; a destroyed key makes them unreadable."""

from __future__ import annotations

from gdpr.sealing import Lease, SealBroken, open_json, open_sealed, seal, seal_json, subject_ref
from schemas.sealed import Sealed
from streams.ports import KeyVault


class SubjectForgotten(Exception):
    """The subject's key was destroyed: their sealed values can no longer be read (by design)."""


class NotAddressed(Exception):
    """A value was not sealed for the system asking to open it (or was altered to look as if it were)."""


class Sealer:
    def __init__(self, vault: KeyVault, secret: bytes) -> None:
        self._vault = vault
        self._secret = secret

    def ref(self, email: str) -> str:
        return subject_ref(self._secret, email)

    def seal(self, ref: str, value: dict, audience: str | None = None, lease: Lease | None = None) -> Sealed:
        """Seal for a subject (and one system, for a task), creating their key on first use (intake only). With a
        `lease` (a use by no case: the sweep, the re-contact), a key created now goes when its leases end."""
        key = self._vault.key_for(ref) if lease is None else self._vault.key_for(ref, lease)
        return seal_json(key, ref, value, audience)

    def lease(self, ref: str, lease: Lease) -> None:
        """One more use by no case of a key that exists (a task sealed with `address`); see `KeyVault.key_for`."""
        self._vault.key_for(ref, lease)

    def release(self, holder: str) -> list[str]:
        """A use by no case is over: the subject_refs whose key went with it (to record as `key_destroyed`)."""
        return self._vault.release(holder)

    def seal_existing(self, ref: str, value: dict) -> Sealed:
        """Seal only if the subject still has a key (never resurrect an erased subject)."""
        return seal_json(self._key(ref), ref, value)

    def address(self, sealed: Sealed, system: str) -> Sealed:
        """The same value sealed anew for one system only: what a task carries (see `open_for`)."""
        key = self._key(sealed.subject_ref)  # one vault read for both: it is a round trip to PostgreSQL
        try:
            data = open_sealed(key, sealed)
        except SealBroken:
            raise SubjectForgotten(sealed.subject_ref) from None
        return seal(key, sealed.subject_ref, data, audience=system)

    def open_for(self, system: str, sealed: Sealed) -> dict:
        """Open a value for `system` only if it was sealed for that system; the audience is authenticated."""
        if sealed.audience != system:
            raise NotAddressed(f"this value was not sealed for system '{system}'")
        key = self._key(sealed.subject_ref)
        try:
            return open_json(key, sealed)
        except SealBroken:
            raise NotAddressed(f"this value was not sealed for system '{system}'") from None

    def seal_bytes(self, ref: str, data: bytes) -> Sealed:
        return seal(self._key(ref), ref, data)

    def open(self, sealed: Sealed) -> dict:
        return self._opened(open_json, sealed)

    def open_bytes(self, sealed: Sealed) -> bytes:
        return self._opened(open_sealed, sealed)

    def forget(self, ref: str) -> None:
        self._vault.destroy(ref)

    def _key(self, ref: str) -> bytes:
        key = self._vault.get(ref)
        if key is None:
            raise SubjectForgotten(ref)
        return key

    def _opened(self, opener, sealed: Sealed):
        try:
            return opener(self._key(sealed.subject_ref), sealed)
        except SealBroken:
            raise SubjectForgotten(sealed.subject_ref) from None
