"""The MailTransport port on a real SMTP server (aiosmtplib); errors sorted into transient and permanent."""

from __future__ import annotations

import asyncio
from email.message import Message

import aiosmtplib

from mail.transport import PermanentMailError, TransientMailError


class SmtpTransport:
    """Keeps one SMTP session open between messages (a new TCP + EHLO per e-mail cost the mailer
    much of its time, docs/benchmarks.md); any error drops the session and the next send reconnects."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self._options = {"hostname": host, "port": port, "start_tls": starttls, "timeout": timeout}
        self._login = (username, password) if username else None
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()

    async def send(self, message: Message) -> None:
        async with self._lock:
            try:
                await self._send_reusing(message)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                await self._drop()
                codes = [error.code for error in exc.recipients]
                raise _by_code(min(codes) if codes else 550, "recipient refused") from None
            except aiosmtplib.SMTPResponseException as exc:
                await self._drop()
                raise _by_code(exc.code, exc.message) from None
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                await self._drop()
                raise TransientMailError(f"{type(exc).__name__}: cannot reach the SMTP server") from None

    async def _send_reusing(self, message: Message) -> None:
        if self._client is not None and self._client.is_connected:
            try:
                await self._client.send_message(message)
                return
            except aiosmtplib.SMTPServerDisconnected:
                await self._drop()  # the server closed an idle session: open a new one, once
        await self._connect()
        await self._client.send_message(message)

    async def _connect(self) -> None:
        self._client = aiosmtplib.SMTP(**self._options)
        await self._client.connect()
        if self._login:
            await self._client.login(*self._login)

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()

    async def close(self) -> None:
        async with self._lock:
            await self._drop()


def _by_code(code: int, text: str) -> Exception:
    if 400 <= code < 500:
        return TransientMailError(f"{code} {text}")
    return PermanentMailError(f"{code} {text}")
