"""When to try an e-mail again after a transient SMTP failure, as a mail server would: pure, `now` as parameter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict

MAX_DOUBLINGS = 30  # 2**30 pauses exceed any cap: stop doubling before the numbers grow without use


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff within a budget: first pause, doubling up to `cap`, for `budget` after the
    first failure (DSR_SMTP_BACKOFF, DSR_SMTP_MAX_BACKOFF, DSR_MAIL_RETRY_HOURS)."""

    first: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(minutes=15)
    budget: timedelta = timedelta(hours=48)

    def next_attempt(self, first_failure: datetime, failures: int, now: datetime) -> datetime | None:
        """When to try again after `failures` transient failures in a row, or None once the budget is spent.
        The last attempt falls on the budget's end, so an e-mail is parked only after trying for all of it."""
        if now - first_failure >= self.budget:
            return None
        pause = min(self.first * 2 ** min(max(failures - 1, 0), MAX_DOUBLINGS), self.cap)
        return min(now + pause, first_failure + self.budget)


class PendingRetry(BaseModel):
    """An e-mail waiting for its next attempt: the request as it came (sealed values stay sealed), how many
    transient failures in a row, since when, when to try next, and the last reason (no address in it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request: str
    failures: int
    first_failure: AwareDatetime
    next_at: AwareDatetime
    last_error: str

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> PendingRetry:
        return cls.model_validate_json(raw)
