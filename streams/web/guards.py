"""What every HTTP request passes first: bounded bodies, time limits, safe headers, error answers without traces."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

log = logging.getLogger(__name__)

BODY = web.RequestKey("body", bytes)
LIMITS = web.AppKey("limits", object)  # the app's Limits: the server applies its header timeout


@dataclass(frozen=True)
class Limits:
    """How much and how slowly a client may send before it is refused."""

    body_bytes: int = 1024 * 1024  # a route that needs more says so with `accepts_body`
    body_seconds: float = 10.0  # a client that has not sent its whole body by then is cut off (408)
    header_seconds: float = 15.0  # a connection that has not sent a complete request by then is closed

    def runner_options(self) -> dict:
        """aiohttp server options: no access log (paths carry tokens), short waits for slow or idle clients."""
        return {"access_log": None, "keepalive_timeout": self.header_seconds, "lingering_time": 2.0}


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # links carry signed tokens: never leak them to another site
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ErrorRenderer = Callable[[web.Request, int], Awaitable[web.StreamResponse]]


class TryAgain(Exception):
    """The answer needs another worker that cannot be reached now (a rebalance, a restart): 503, retry soon."""


RETRY_SECONDS = "5"


def accepts_body(limit: int) -> Callable[[Handler], Handler]:
    """Let one route take bodies up to `limit` bytes instead of `Limits.body_bytes`."""

    def mark(handler: Handler) -> Handler:
        handler.body_limit = limit  # type: ignore[attr-defined]
        return handler

    return mark


def body_of(request: web.Request) -> bytes:
    """The request body, already read within its limits by `bounded_body`."""
    return request.get(BODY, b"")


def bounded_body(limits: Limits) -> Callable:
    """Refuse a body over the route's limit before reading it whole, and a body that trickles in."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.http_exception is None and request.can_read_body:
            limit = getattr(request.match_info.handler, "body_limit", limits.body_bytes)
            if request.content_length is not None and request.content_length > limit:
                raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
            try:
                async with asyncio.timeout(limits.body_seconds):
                    request[BODY] = await _read(request, limit)
            except TimeoutError:
                raise web.HTTPRequestTimeout() from None
        return await handler(request)

    return middleware


async def _read(request: web.Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
        chunks.append(chunk)
    return b"".join(chunks)


def answer_errors(render: ErrorRenderer) -> Callable:
    """Every error becomes `render(request, status)`: a page in the person's language or a JSON error;
    an unexpected exception is logged by type only (its text may quote personal data) and answers 500."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = await render(request, exc.status)
            _keep_header(exc, response, "Allow")
            _keep_header(exc, response, "Retry-After")
        except TryAgain as exc:
            log.warning("%s %s: %s", request.method, _route_of(request), exc)
            response = await render(request, 503)
            response.headers["Retry-After"] = RETRY_SECONDS
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a person gets a page, never a trace
            log.error("%s %s failed: %s", request.method, _route_of(request), _described(exc))
            response = await render(request, 500)
        response.headers.update({k: v for k, v in SECURITY_HEADERS.items() if k not in response.headers})
        response.headers["Server"] = "dsr-pipeline"  # not the framework and its version
        return response

    return middleware


def _described(exc: BaseException) -> str:
    """An exception's type, where it was raised and what caused it, never its text (it may quote personal data)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    cause = exc.__cause__ or exc.__context__
    return f"{type(exc).__name__}{where}" + (f" (from {_described(cause)})" if cause is not None else "")


def _keep_header(exc: web.HTTPException, response: web.StreamResponse, name: str) -> None:
    if name in exc.headers:
        response.headers[name] = exc.headers[name]


def _route_of(request: web.Request) -> str:
    """The route's pattern, never the path itself: paths carry signed tokens."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(no route)"
