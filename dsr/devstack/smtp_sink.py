"""Dev SMTP sink: a real SMTP server storing mail in a Mailbox, plus a web mailbox."""

from __future__ import annotations

import argparse
import asyncio
import bisect
import email.utils
import html
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Callable, Iterator

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
_META_PREFIX = b"X-Dsr-"
_PARSER = BytesParser(policy=policy.default)

Predicate = Callable[["StoredMessage"], bool]


# --------------------------------------------------------------------------- store


@dataclass(frozen=True)
class StoredMessage:
    """One received message. Parsing is lazy (and cached) to keep the SMTP handler light."""

    id: str
    received_at: datetime
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes = field(repr=False)

    @cached_property
    def parsed(self) -> EmailMessage:
        return _parse(self.raw)

    @cached_property
    def subject(self) -> str:
        return _header(self.parsed, "subject") or ""

    @cached_property
    def message_id(self) -> str | None:
        return _header(self.parsed, "message-id")

    @cached_property
    def text(self) -> str | None:
        """The text/plain part, decoded, with LF line endings."""
        return _part_content(self.parsed, "plain")

    @cached_property
    def html(self) -> str | None:
        """The text/html part, decoded, with LF line endings."""
        return _part_content(self.parsed, "html")

    def headers(self) -> list[tuple[str, str]]:
        """All headers of the message, in order, decoded."""
        return [(name, str(value)) for name, value in self.parsed.items()]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape served by /api/messages."""
        return {
            "id": self.id,
            "received_at": self.received_at.isoformat(),
            "from": self.mail_from,
            "to": list(self.rcpt_tos),
            "subject": self.subject,
            "message_id": self.message_id,
            "text": self.text,
            "html": self.html,
        }


def _parse(raw: bytes) -> EmailMessage:
    return _PARSER.parsebytes(raw)  # type: ignore[return-value]


def _part_content(msg: EmailMessage, subtype: str) -> str | None:
    part = msg.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    try:
        content = part.get_content()
    except (LookupError, ValueError, AttributeError):
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace")
    return content.replace("\r\n", "\n")


def _header(msg: EmailMessage, name: str) -> str | None:
    try:
        value = msg.get(name)
    except Exception:  # malformed header: fall back to the raw value
        value = next((v for k, v in msg.raw_items() if k.lower() == name), None)
    return None if value is None else str(value).strip()


def _eml_bytes(msg: StoredMessage) -> bytes:
    lines = [f"X-Dsr-Received-At: {msg.received_at.isoformat()}"]
    lines.append(f"X-Dsr-Envelope-From: {msg.mail_from}")
    lines += [f"X-Dsr-Envelope-To: {rcpt}" for rcpt in msg.rcpt_tos]
    prefix = "".join(line + "\r\n" for line in lines)
    return prefix.encode("utf-8") + msg.raw


def _split_eml(data: bytes) -> tuple[dict[str, list[str]], bytes]:
    meta: dict[str, list[str]] = {}
    while data.startswith(_META_PREFIX):
        line, _, data = data.partition(b"\n")
        name, _, value = line.rstrip(b"\r").decode("utf-8").partition(":")
        meta.setdefault(name.strip().lower(), []).append(value.strip())
    return meta, data


def _envelope_from_headers(raw: bytes) -> tuple[str, list[str]]:
    msg = _parse(raw)
    senders = email.utils.getaddresses([str(msg.get("from", ""))])
    rcpts = email.utils.getaddresses([str(v) for v in msg.get_all("to", [])])
    return (senders[0][1] if senders else ""), [addr for _, addr in rcpts if addr]


class Mailbox:
    """Thread-safe store of received messages, optionally persisted as <id>.eml files."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self._cond = threading.Condition()
        self._messages: list[StoredMessage] = []
        self._by_id: dict[str, StoredMessage] = {}
        self._next_id = 1
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.directory = Path(directory) if directory is not None else None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._load()

    # -- writing

    def add(self, envelope_from: str, rcpt_tos: list[str], raw_bytes: bytes) -> StoredMessage:
        """Store a message as received over SMTP; wakes every waiter."""
        raw = bytes(raw_bytes)
        with self._cond:
            msg = StoredMessage(
                id=str(self._next_id),
                received_at=datetime.now(timezone.utc),
                mail_from=envelope_from or "",
                rcpt_tos=list(rcpt_tos),
                raw=raw,
            )
            self._persist(msg)
            self._append(msg)
            waiters = list(self._async_waiters)
        _wake_all(waiters)
        return msg

    def clear(self) -> None:
        """Forget every message (and delete the .eml files). Ids keep increasing."""
        with self._cond:
            for msg in self._messages:
                self._unlink(msg.id)
            self._messages.clear()
            self._by_id.clear()

    # -- reading

    def all(self) -> list[StoredMessage]:
        """Every message, oldest first."""
        with self._cond:
            return list(self._messages)

    def get(self, id: str | int) -> StoredMessage | None:
        with self._cond:
            return self._by_id.get(str(id))

    def count(self) -> int:
        with self._cond:
            return len(self._messages)

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[StoredMessage]:
        return iter(self.all())

    # -- waiting

    def wait_for(self, predicate: Predicate, timeout: float) -> StoredMessage:
        """Block until a stored or future message matches; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        seen, last_id = 0, 0
        while True:
            found, seen, last_id = _scan(self._since(last_id), predicate, seen, last_id)
            if found is not None:
                return found
            if time.monotonic() >= deadline or not self._wait_newer(last_id, deadline):
                raise self._timeout_error(timeout, seen)

    async def async_wait_for(self, predicate: Predicate, timeout: float) -> StoredMessage:
        """Like wait_for, without blocking the event loop; woken by add()."""
        loop = asyncio.get_running_loop()
        waiter = (loop, asyncio.Event())
        with self._cond:
            self._async_waiters.add(waiter)
        try:
            return await self._async_wait(waiter[1], predicate, loop.time() + timeout, timeout)
        finally:
            with self._cond:
                self._async_waiters.discard(waiter)

    async def _async_wait(
        self, event: asyncio.Event, predicate: Predicate, deadline: float, timeout: float
    ) -> StoredMessage:
        loop = asyncio.get_running_loop()
        seen, last_id = 0, 0
        while True:
            event.clear()
            found, seen, last_id = _scan(self._since(last_id), predicate, seen, last_id)
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise self._timeout_error(timeout, seen)
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass

    # -- internals

    def _append(self, msg: StoredMessage) -> None:
        self._messages.append(msg)
        self._by_id[msg.id] = msg
        self._next_id = max(self._next_id, int(msg.id) + 1)
        self._cond.notify_all()

    def _since(self, last_id: int) -> list[StoredMessage]:
        """Messages with an id above last_id (predicates then run outside the lock)."""
        with self._cond:
            start = bisect.bisect_right(self._messages, last_id, key=lambda m: int(m.id))
            return self._messages[start:]

    def _wait_newer(self, last_id: int, deadline: float) -> bool:
        def has_newer() -> bool:
            return bool(self._messages) and int(self._messages[-1].id) > last_id

        with self._cond:
            return self._cond.wait_for(has_newer, max(0.0, deadline - time.monotonic()))

    def _timeout_error(self, timeout: float, seen: int) -> TimeoutError:
        recent = ", ".join(f"{m.rcpt_tos} {m.subject!r}" for m in self.all()[-5:])
        return TimeoutError(
            f"no matching message within {timeout:g}s: saw {seen} message(s), "
            f"none matched; mailbox holds {self.count()}"
            + (f" (latest: {recent})" if recent else "")
        )

    def _path(self, msg_id: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{msg_id}.eml"

    def _persist(self, msg: StoredMessage) -> None:
        if self.directory is None:
            return
        tmp = self.directory / f".{msg.id}.eml.tmp"
        tmp.write_bytes(_eml_bytes(msg))
        os.replace(tmp, self._path(msg.id))

    def _unlink(self, msg_id: str) -> None:
        if self.directory is not None:
            self._path(msg_id).unlink(missing_ok=True)

    def _load(self) -> None:
        assert self.directory is not None
        files = [p for p in self.directory.glob("*.eml") if p.stem.isdigit()]
        with self._cond:
            self._next_id = max([int(p.stem) + 1 for p in files], default=1)  # never overwrite
            for path in sorted(files, key=lambda p: int(p.stem)):
                try:
                    self._append(_load_eml(path))
                except (OSError, ValueError) as error:
                    log.warning("skipping unreadable %s: %s", path, error)


def _load_eml(path: Path) -> StoredMessage:
    meta, raw = _split_eml(path.read_bytes())
    mail_from, rcpt_tos = _envelope_from_headers(raw)
    received = meta.get("x-dsr-received-at")
    return StoredMessage(
        id=str(int(path.stem)),
        received_at=(
            datetime.fromisoformat(received[0])
            if received
            else datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
        ),
        mail_from=meta.get("x-dsr-envelope-from", [mail_from])[0],
        rcpt_tos=meta.get("x-dsr-envelope-to", rcpt_tos),
        raw=raw,
    )


def _scan(
    new: list[StoredMessage], predicate: Predicate, seen: int, last_id: int
) -> tuple[StoredMessage | None, int, int]:
    for msg in new:
        seen, last_id = seen + 1, int(msg.id)
        if predicate(msg):
            return msg, seen, last_id
    return None, seen, last_id


def _wake_all(waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]) -> None:
    for loop, event in waiters:
        try:
            loop.call_soon_threadsafe(event.set)
        except RuntimeError:  # loop already closed
            pass


# --------------------------------------------------------------------------- SMTP


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

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
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


# --------------------------------------------------------------------------- web

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.35em .6em;text-align:left;vertical-align:top}
pre{background:#f6f6f6;padding:1em;white-space:pre-wrap;word-break:break-word}
iframe{width:100%;height:32em;border:1px solid #ccc}
.muted{color:#777}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _page(title: str, body: str, refresh: bool = False) -> web.Response:
    meta = '<meta http-equiv="refresh" content="5">' if refresh else ""
    doc = (
        f'<!doctype html><html><head><meta charset="utf-8">{meta}'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
        f"<body>{body}</body></html>"
    )
    resp = web.Response(text=doc, content_type="text/html", charset="utf-8")
    resp.headers["Content-Security-Policy"] = "script-src 'none'; object-src 'none'"
    return resp


def _list_row(msg: StoredMessage) -> str:
    when = msg.received_at.strftime("%Y-%m-%d %H:%M:%S")
    return (
        f"<tr><td>{_e(msg.id)}</td><td>{_e(when)}</td>"
        f"<td>{_e(', '.join(msg.rcpt_tos))}</td>"
        f'<td><a href="/messages/{_e(msg.id)}">{_e(msg.subject) or "(no subject)"}</a></td>'
        f'<td><a href="/messages/{_e(msg.id)}">view</a> · '
        f'<a href="/messages/{_e(msg.id)}/raw">raw</a></td></tr>'
    )


async def _index(request: web.Request) -> web.Response:
    messages = request.app[MAILBOX_KEY].all()[::-1]
    rows = "".join(_list_row(m) for m in messages)
    body = (
        f"<h1>Dev mailbox</h1><p class='muted'>{len(messages)} message(s), newest first. "
        "Refreshes every 5 s.</p>"
        '<form method="post" action="/clear"><button>Clear mailbox</button></form>'
        "<table><tr><th>#</th><th>Received (UTC)</th><th>To</th><th>Subject</th>"
        f"<th></th></tr>{rows}</table>"
    )
    return _page("Dev mailbox", body, refresh=True)


def _message_or_404(request: web.Request) -> StoredMessage:
    msg = request.app[MAILBOX_KEY].get(request.match_info["id"])
    if msg is None:
        raise web.HTTPNotFound(text="no such message")
    return msg


def _html_part(msg: StoredMessage) -> str:
    if msg.html is None:
        return "<p class='muted'>No HTML part.</p>"
    srcdoc = '<base target="_blank">' + msg.html
    return (
        '<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" '
        f'referrerpolicy="no-referrer" srcdoc="{_e(srcdoc)}"></iframe>'
    )


async def _message(request: web.Request) -> web.Response:
    msg = _message_or_404(request)
    headers = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in msg.headers())
    envelope = (
        f"<tr><th>Envelope from</th><td>{_e(msg.mail_from)}</td></tr>"
        f"<tr><th>Envelope to</th><td>{_e(', '.join(msg.rcpt_tos))}</td></tr>"
        f"<tr><th>Received</th><td>{_e(msg.received_at.isoformat())}</td></tr>"
    )
    text = "<p class='muted'>No text part.</p>" if msg.text is None else f"<pre>{_e(msg.text)}</pre>"
    body = (
        f'<p><a href="/">&larr; all messages</a> · <a href="/messages/{_e(msg.id)}/raw">raw</a></p>'
        f"<h1>{_e(msg.subject) or '(no subject)'}</h1>"
        f"<table>{envelope}{headers}</table>"
        f"<h2>Text part</h2>{text}<h2>HTML part</h2>{_html_part(msg)}"
    )
    return _page(msg.subject or f"Message {msg.id}", body)


async def _raw(request: web.Request) -> web.Response:
    msg = _message_or_404(request)
    return web.Response(body=msg.raw, content_type="text/plain", charset="utf-8")


async def _api_list(request: web.Request) -> web.Response:
    return web.json_response([m.as_dict() for m in request.app[MAILBOX_KEY].all()])


async def _api_get(request: web.Request) -> web.Response:
    return web.json_response(_message_or_404(request).as_dict())


async def _api_clear(request: web.Request) -> web.Response:
    request.app[MAILBOX_KEY].clear()
    return web.Response(status=204)


async def _form_clear(request: web.Request) -> web.Response:
    request.app[MAILBOX_KEY].clear()
    raise web.HTTPSeeOther("/")


MAILBOX_KEY = web.AppKey("mailbox", Mailbox)


def mailbox_app(mailbox: Mailbox) -> web.Application:
    """The web mailbox: HTML pages for people, /api/messages (oldest first) for tests."""
    app = web.Application()
    app[MAILBOX_KEY] = mailbox
    app.router.add_get("/", _index)
    app.router.add_get("/messages/{id}", _message)
    app.router.add_get("/messages/{id}/raw", _raw)
    app.router.add_post("/clear", _form_clear)
    app.router.add_get("/api/messages", _api_list)
    app.router.add_delete("/api/messages", _api_clear)
    app.router.add_get("/api/messages/{id}", _api_get)
    return app


class MailboxServer:
    """Runs mailbox_app on 127.0.0.1:port in a background thread with its own loop."""

    def __init__(self, mailbox: Mailbox, port: int = 0) -> None:
        self.mailbox = mailbox
        self._requested_port = port
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("MailboxServer is not started")
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 10.0) -> MailboxServer:
        if self._thread is not None:
            raise RuntimeError("MailboxServer already started")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="mailbox-web", daemon=True)
        self._thread.start()
        try:
            self._submit(self._serve()).result(timeout)
        except BaseException:
            self._shutdown_loop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            return
        try:
            if self._runner is not None:
                self._submit(self._runner.cleanup()).result(timeout)
        finally:
            self._runner = None
            self.port = None
            self._shutdown_loop()

    async def _serve(self) -> None:
        runner = web.AppRunner(mailbox_app(self.mailbox), access_log=None)
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, HOST, self._requested_port)
        await site.start()
        self.port = runner.addresses[0][1]

    def _submit(self, coro: Any) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _shutdown_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()

    def __enter__(self) -> MailboxServer:
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
