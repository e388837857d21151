"""Requests aiohttp's own parser refuses (a header over 8190 bytes, a bad method, TLS on the plain port), before
any application or middleware sees them: a short plain answer in both languages, no framework name or version,
nothing of the request echoed back, and a log line with the error's type only (no client address, no bytes)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import ERROR  # the message aiohttp hands its error handler when parsing failed

from streams.web.guards import SECURITY_HEADERS

log = logging.getLogger(__name__)
SERVER = "dsr-pipeline"  # the Server header of every answer: not the framework and its version
# The request could not be read, so neither could its Accept-Language: both languages, French first.
ANSWERS = {
    400: "Requête invalide. / Bad request.",
    413: "Requête trop volumineuse. / Request too large.",
    431: "En-têtes trop volumineux. / Request headers too large.",
}
REFUSED = "Requête refusée. / Request refused."


class MalformedRequest(web.BaseRequest):
    """The request aiohttp makes for a message it could not parse; its answer is rewritten before it is sent.
    (aiohttp answers these itself, with its parser's English message quoting the request and its own Server
    header; no middleware or signal runs for them, the request's prepare hook is the one place left.)"""

    async def _prepare_hook(self, response: web.StreamResponse) -> None:
        if isinstance(response, web.Response):  # its headers are prepared already: Content-Length follows the text
            response.text = ANSWERS.get(response.status, REFUSED) + "\n"
            response.headers["Content-Type"] = "text/plain; charset=utf-8"
            response.headers["Content-Length"] = str(len(response.body))
        response.headers.update(SECURITY_HEADERS)
        response.headers["Server"] = SERVER


def answer_malformed_plainly(runner: web.AppRunner) -> None:
    """Make the runner's server build a MalformedRequest for what its parser refused (call after `setup`)."""
    server = runner.server
    if server is None:
        raise RuntimeError("answer_malformed_plainly needs a runner that is set up")
    make_request = server.request_factory

    def request_factory(message, payload, protocol, writer, task):
        if message is ERROR:
            return MalformedRequest(message, payload, protocol, writer, task, asyncio.get_running_loop())
        return make_request(message, payload, protocol, writer, task)

    server.request_factory = request_factory


class ServerLog:
    """The `logger` aiohttp's connection handler writes to: it logs "Error handling request from <client
    address>" with a traceback whose text quotes the request's bytes. Here: the exception's type, nothing else."""

    def exception(self, msg: str, *args: Any, exc_info: BaseException | None = None, **kwargs: Any) -> None:
        log.info("request refused by the HTTP server (%s)", _kind(exc_info))

    def debug(self, msg: str, *args: Any, exc_info: BaseException | None = None, **kwargs: Any) -> None:
        log.debug("request refused by the HTTP server (%s)", _kind(exc_info))


def _kind(exc: BaseException | None) -> str:
    return type(exc).__name__ if isinstance(exc, BaseException) else "no exception"
