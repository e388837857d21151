"""Dev web mailbox: HTML pages and a JSON API over a Mailbox, served from a background thread."""

from __future__ import annotations

import asyncio
import html
import threading
from typing import Any

from aiohttp import web

from dsr.devstack.mailbox import HOST, Mailbox, StoredMessage

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
