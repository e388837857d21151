"""The MailTransport port on a real SMTP server (aiosmtplib); errors sorted into transient and permanent."""
from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from streams.ports import PermanentMailError, TransientMailError


class SmtpTransport:
    def __init__(self, host: str, port: int, username: str | None = None, password: str | None = None,
                 starttls: bool = False, timeout: float = 30.0) -> None:
        self._options = {"hostname": host, "port": port, "username": username, "password": password,
                         "start_tls": starttls, "timeout": timeout}

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(message, **self._options)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [error.code for error in exc.recipients]
            raise _by_code(min(codes) if codes else 550, "recipient refused") from None
        except aiosmtplib.SMTPResponseException as exc:
            raise _by_code(exc.code, exc.message) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientMailError(f"{type(exc).__name__}: cannot reach the SMTP server") from None


def _by_code(code: int, text: str) -> Exception:
    if 400 <= code < 500:
        return TransientMailError(f"{code} {text}")
    return PermanentMailError(f"{code} {text}")
