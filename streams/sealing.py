"""Seal and open personal values through the key vault; a destroyed key makes them unreadable."""

from __future__ import annotations

from gdpr.sealing import SealBroken, open_json, open_sealed, seal, seal_json, subject_ref
from schemas.sealed import Sealed
from streams.ports import KeyVault


class SubjectForgotten(Exception):
    """The subject's key was destroyed: their sealed values can no longer be read (by design)."""


class Sealer:
    def __init__(self, vault: KeyVault, secret: bytes) -> None:
        self._vault = vault
        self._secret = secret

    def ref(self, email: str) -> str:
        return subject_ref(self._secret, email)

    def seal(self, ref: str, value: dict) -> Sealed:
        """Seal for a subject, creating their key on first use (intake only)."""
        return seal_json(self._vault.key_for(ref), ref, value)

    def seal_existing(self, ref: str, value: dict) -> Sealed:
        """Seal only if the subject still has a key (never resurrect an erased subject)."""
        return seal_json(self._key(ref), ref, value)

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
