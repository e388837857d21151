"""Which case the step under way concerns, so that its log lines carry the request id (a uuid, no personal data)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from streams import topics

_REQUEST_ID: ContextVar[str | None] = ContextVar("dsr_request_id", default=None)
# Topics keyed by request id: the pipeline's own, and the systems' answers (keyed so by the task they answer).
_KEYED_BY_REQUEST = (topics.CASES, topics.TASK_RESULTS, topics.NOTIFICATIONS)


def request_id() -> str | None:
    """The request id of the step under way in this task, if it concerns a case."""
    return _REQUEST_ID.get()


@contextmanager
def step(topic: str, key: bytes | None) -> Iterator[None]:
    """One message's step: its lines carry the request id its key names, until the stream function, having read
    the message, says which case it concerns (`concerns`); nothing is left over for the next message."""
    token = _REQUEST_ID.set(_from_key(topic, key))
    try:
        yield
    finally:
        _REQUEST_ID.reset(token)


def concerns(request_id: str) -> None:
    """The step under way is this case's (read from the message itself)."""
    _REQUEST_ID.set(request_id)


def _from_key(topic: str, key: bytes | None) -> str | None:
    """A message that cannot be read still names its case by its key, on the topics keyed by request id; only a
    uuid is taken (intake events are keyed by whatever a website chose, which could be an address)."""
    if key is None or not (topic in _KEYED_BY_REQUEST or topic.startswith(topics.TASKS_PREFIX)):
        return None
    try:
        return str(uuid.UUID(key.decode("ascii")))
    except (UnicodeDecodeError, ValueError):
        return None
