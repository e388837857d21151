"""The clock: what every adapter and stream function reads the time from (aware, UTC); tests pass their own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The real clock, the default wherever a clock is taken; the composition root hands one to everything."""
    return datetime.now(UTC)
