"""Dev SMTP sink: a real SMTP server storing mail in a Mailbox, plus a web mailbox."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from dsr.devstack.mailbox import HOST, Mailbox, StoredMessage
from dsr.devstack.mailbox_web import MAILBOX_KEY, MailboxServer, mailbox_app

__all__ = ["HOST", "MAILBOX_KEY", "Mailbox", "MailboxServer", "SmtpSink", "StoredMessage", "mailbox_app", "main"]


def _failure_reply(code: int) -> str:
    if 400 <= code < 500:
        return f"{code} 4.3.0 Try again later"
    return f"{code} 5.3.0 Mail not accepted"


class _SinkHandler:
    """aiosmtpd handler: store on DATA, unless told to fail."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self._lock = threading.Lock()
        self._fail_next: list[int] = []
        self._fail_all: int | None = None
        self._fail_for: dict[str, list[int]] = {}

    def fail_for(self, address: str, n: int, code: int) -> None:
        with self._lock:
            self._fail_for.setdefault(address.lower(), []).extend([code] * n)

    def fail_next(self, n: int, code: int) -> None:
        with self._lock:
            self._fail_next.extend([code] * n)

    def fail_all(self, code: int | None) -> None:
        with self._lock:
            self._fail_all = code
            if code is None:
                self._fail_next.clear()
                self._fail_for.clear()

    def _failure(self, rcpt_tos: list[str]) -> int | None:
        with self._lock:
            if self._fail_all is not None:
                return self._fail_all
            for address in (a.lower() for a in rcpt_tos):
                if self._fail_for.get(address):
                    return self._fail_for[address].pop(0)
            return self._fail_next.pop(0) if self._fail_next else None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's name
        code = self._failure(list(envelope.rcpt_tos))
        if code is not None:
            return _failure_reply(code)
        raw = envelope.original_content or b""
        self.mailbox.add(envelope.mail_from or "", list(envelope.rcpt_tos), raw)
        return "250 2.0.0 OK: queued"


class _Controller(Controller):
    """Controller that supports port 0 (learns the bound port before self-testing)."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpSink:
    """A real SMTP server on 127.0.0.1 that stores every message in a Mailbox."""

    def __init__(self, mailbox: Mailbox | None = None, port: int = 0) -> None:
        self.mailbox = mailbox if mailbox is not None else Mailbox()
        self._requested_port = port
        self._handler = _SinkHandler(self.mailbox)
        self._controller: _Controller | None = None

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        if self._controller is None:
            raise RuntimeError("SmtpSink is not started")
        return self._controller.port

    def start(self) -> SmtpSink:
        if self._controller is not None:
            raise RuntimeError("SmtpSink already started")
        controller = _Controller(
            self._handler,
            hostname=HOST,
            port=self._requested_port,
            server_hostname="dsr-smtp-sink",  # avoids a getfqdn() per connection
            data_size_limit=50 * 1024 * 1024,
        )
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def fail_next(self, n: int, code: int = 451) -> None:
        """Answer the next n DATA commands with `451 4.3.0 Try again later` (or code)."""
        self._handler.fail_next(n, code)

    def fail_for(self, address: str, n: int, code: int = 451) -> None:
        """Answer the next n DATA commands addressed to `address` with a failure."""
        self._handler.fail_for(address, n, code)

    def fail_all(self, code: int = 451) -> None:
        """Answer every DATA command with a failure until accept_all()."""
        self._handler.fail_all(code)

    def accept_all(self) -> None:
        """Back to normal: accept everything, forget pending fail_next()."""
        self._handler.fail_all(None)

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- CLI


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m dsr.devstack.smtp_sink",
        description="Dev SMTP sink with a web mailbox (127.0.0.1 only).",
    )
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--web-port", type=int, default=8025)
    parser.add_argument("--dir", default=None, help="keep messages as <id>.eml files here")
    return parser.parse_args(argv)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    mailbox = Mailbox(args.dir)
    sink, web_server = SmtpSink(mailbox, args.smtp_port), MailboxServer(mailbox, args.web_port)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        sink.start()
        web_server.start()
        print(f"SMTP sink:   smtp://{HOST}:{sink.port}", flush=True)
        print(f"Web mailbox: {web_server.url}/", flush=True)
        if args.dir:
            print(f"Messages kept in {Path(args.dir).resolve()} ({mailbox.count()} loaded)", flush=True)
        print("Ctrl-C to stop.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        print("\nStopping.", flush=True)
    finally:
        web_server.stop()
        sink.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
