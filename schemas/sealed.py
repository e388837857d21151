"""A value encrypted under a data subject's key: what personal data look like inside the pipeline."""

from __future__ import annotations

from pydantic import Field

from schemas.base import WireModel


class Sealed(WireModel):
    """AES-GCM ciphertext bound to one subject; unreadable once that subject's key is destroyed."""

    subject_ref: str = Field(description="Keyed hash of the subject's identity; names the key.")
    nonce: str = Field(description="96-bit AES-GCM nonce, base64url.")
    ciphertext: str = Field(description="AES-GCM ciphertext and tag, base64url.")
    audience: str | None = Field(
        default=None,
        description="The one system a task's value was sealed for; authenticated with the ciphertext, so a "
        "task relabelled for another system opens for nobody.",
    )
