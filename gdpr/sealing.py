"""Per-subject encryption (AES-GCM) and the keyed subject hash: crypto-shredding by key destruction."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from schemas.identity import normalize_email
from schemas.sealed import Sealed

KEY_BYTES = 32


class SealBroken(ValueError):
    """The value cannot be opened: wrong or destroyed key, or tampered ciphertext."""


@dataclass(frozen=True)
class Lease:
    """A use of a subject's key by no case: a sweep's erase task, a re-contact link, a scan's sealed address. A key
    created under a lease lives until its last lease is released (the task answered) or has expired (`until`: a
    task unanswered, a re-contact link at its end); a key a case or a form submission asks for without a lease is
    theirs from then on (claimed), and its leases end. A lease never keeps alive, nor destroys, a key created
    without one."""

    holder: str  # unique per use: a task id, a link's name
    until: datetime  # aware


def subject_ref(secret: bytes, email: str) -> str:
    """Keyed hash naming a subject without revealing them; what remains after closure (R50-R51)."""
    digest = hmac.new(secret, b"subject:" + normalize_email(email).encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _associated_data(ref: str, audience: str | None) -> bytes:
    """What AES-GCM authenticates beside the ciphertext: the subject, and the system a task is for."""
    return ref.encode() if audience is None else f"{ref}\x1f{audience}".encode()


def seal(key: bytes, ref: str, plaintext: bytes, audience: str | None = None) -> Sealed:
    """Encrypt for one subject (and, for a task, one system): neither can be changed without breaking the seal."""
    nonce = os.urandom(12)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, _associated_data(ref, audience))
    return Sealed(subject_ref=ref, nonce=b64url(nonce), ciphertext=b64url(ciphertext), audience=audience)


def open_sealed(key: bytes, sealed: Sealed) -> bytes:
    data = _associated_data(sealed.subject_ref, sealed.audience)
    try:
        return AESGCM(key).decrypt(unb64url(sealed.nonce), unb64url(sealed.ciphertext), data)
    except (InvalidTag, ValueError) as exc:
        raise SealBroken(f"cannot open value sealed for subject {sealed.subject_ref}") from exc


def seal_json(key: bytes, ref: str, value: dict, audience: str | None = None) -> Sealed:
    return seal(key, ref, json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(), audience)


def open_json(key: bytes, sealed: Sealed) -> dict:
    return json.loads(open_sealed(key, sealed))
