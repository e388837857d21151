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
        return seal_json(self._vault.key_for(ref), ref, value)

    def seal_existing(self, ref: str, value: dict) -> Sealed:
        """Seal only if the subject still has a key (never resurrect an erased subject)."""
        key = self._vault.get(ref)
        if key is None:
            raise SubjectForgotten(ref)
        return seal_json(key, ref, value)

    def open(self, sealed: Sealed) -> dict:
        key = self._vault.get(sealed.subject_ref)
        if key is None:
            raise SubjectForgotten(sealed.subject_ref)
        try:
            return open_json(key, sealed)
        except SealBroken:
            raise SubjectForgotten(sealed.subject_ref) from None

    def seal_bytes(self, ref: str, data: bytes) -> Sealed:
        key = self._vault.get(ref)
        if key is None:
            raise SubjectForgotten(ref)
        return seal(key, ref, data)

    def open_bytes(self, sealed: Sealed) -> bytes:
        key = self._vault.get(sealed.subject_ref)
        if key is None:
            raise SubjectForgotten(sealed.subject_ref)
        try:
            return open_sealed(key, sealed)
        except SealBroken:
            raise SubjectForgotten(sealed.subject_ref) from None

    def forget(self, ref: str) -> None:
        self._vault.destroy(ref)
