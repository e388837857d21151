"""Shared base for wire models: frozen, strict about unknown fields, JSON on the wire."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class WireModel(BaseModel):
    """A message on a topic: immutable, rejects unknown fields (parse once at the edge)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes):
        return cls.model_validate_json(raw)
