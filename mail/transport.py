"""The mail transport port (one message to an SMTP server, transient or permanent errors) and its twin."""

from __future__ import annotations

from email.message import Message
from typing import Protocol


class TransientMailError(Exception):
    """The SMTP server may accept the message later (4xx, connection refused, timeout)."""


class PermanentMailError(Exception):
    """The SMTP server will never accept this message (5xx)."""


class MailTransport(Protocol):
    """Hands one message to an SMTP server; raises TransientMailError or PermanentMailError."""

    async def send(self, message: Message) -> None: ...


class MemoryMailTransport:
    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.failures: list[Exception] = []

    def fail_next(self, *errors: Exception) -> None:
        self.failures.extend(errors)

    async def send(self, message: Message) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
