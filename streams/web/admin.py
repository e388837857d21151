"""The admin listener (internal network): the DPO API, the systems' task API, probes and metrics."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from streams.context import Context
from streams.web import dpo_api
from streams.web.case_directory import CaseDirectory, LocalCases, local_answer
from streams.web.console.accounts import User, token_user
from streams.web.console.pages import console_language
from streams.web.console.views import ConsoleViews, add_console
from streams.web.guards import LIMITS, Limits, answer_errors, body_of, bounded_body
from streams.web.pages import error_page
from streams.web.peers import cluster_token
from streams.web.task_api import known_system, open_task, seal_export, seal_subjects

# Only /livez, /readyz and /metrics answer without credentials; tests/streams/test_routes.py holds every other
# route to refusing a request that has none.
ERRORS = {
    400: "bad request",
    401: "missing or wrong credentials",
    403: "forbidden",
    404: "no such route",
    405: "method not allowed",
    408: "the body took too long to arrive",
    413: "body too large",
    500: "internal error (see the worker's log)",
    503: "not ready",
}


@dataclass(frozen=True)
class Probes:
    """What the probes and /metrics read from the running worker."""

    alive: Callable[[], bool]
    ready: Callable[[], Awaitable[bool]]
    metrics: Callable[[], Awaitable[tuple[bytes, str]]]


async def json_error(request: web.Request, status: int) -> web.Response:
    return web.json_response({"error": ERRORS.get(status, "error")}, status=status)


def admin_app(
    ctx: Context,
    cases: CaseDirectory,
    local: LocalCases,
    probes: Probes,
    limits: Limits = Limits(),
    console: ConsoleViews | None = None,
) -> web.Application:
    async def render_error(request: web.Request, status: int) -> web.StreamResponse:
        if request.path.startswith("/console/"):  # people read pages
            return error_page(console_language(ctx, request), status)
        return await json_error(request, status)

    app = web.Application(middlewares=[answer_errors(render_error), bounded_body(limits)])
    app[LIMITS] = limits
    dpo, systems, peers = DpoViews(ctx, cases), SystemViews(ctx), PeerViews(ctx, local)
    app.router.add_get("/livez", _livez(probes), allow_head=False)
    app.router.add_get("/readyz", _readyz(probes), allow_head=False)
    app.router.add_get("/metrics", _metrics(probes), allow_head=False)
    app.router.add_get("/api/cases", dpo.list, allow_head=False)
    app.router.add_get("/api/cases/{ref}", dpo.show, allow_head=False)
    app.router.add_post("/api/cases/{ref}/decisions", dpo.decide)
    app.router.add_post("/api/tasks/open", systems.open)
    app.router.add_post("/api/tasks/seal", systems.seal)
    app.router.add_post("/api/retention/subjects", systems.subjects)
    app.router.add_get("/internal/cases", peers.cases, allow_head=False)
    if console is not None:
        add_console(app, console)
    return app


def _livez(probes: Probes):
    async def livez(request: web.Request) -> web.Response:
        alive = probes.alive()
        return web.json_response({"status": "alive" if alive else "stopping"}, status=200 if alive else 503)

    return livez


def _readyz(probes: Probes):
    async def readyz(request: web.Request) -> web.Response:
        ready = await probes.ready()
        return web.json_response({"status": "ready" if ready else "not ready"}, status=200 if ready else 503)

    return readyz


def _metrics(probes: Probes):
    async def metrics(request: web.Request) -> web.Response:
        body, content_type = await probes.metrics()
        return web.Response(body=body, headers={"Content-Type": content_type})

    return metrics


def _unauthorized(message: str) -> web.Response:
    return web.json_response({"error": message}, status=401, headers={"WWW-Authenticate": "Bearer"})


class DpoViews:
    """`dsr case ...` talks to these; every call needs the DPO token. Any worker answers: the directory asks
    the worker that holds a case, or all of them for a list."""

    def __init__(self, ctx: Context, cases: CaseDirectory) -> None:
        self.ctx, self.cases = ctx, cases

    def _refused(self, request: web.Request) -> web.Response | None:
        authorization = request.headers.get("Authorization", "")
        if dpo_api.authorized(self.ctx, authorization) or self._person(request) is not None:
            return None
        return _unauthorized("missing or wrong token (DSR_API_TOKEN from `dsr user token NAME`, or DSR_SECRET_KEY)")

    def _person(self, request: web.Request) -> User | None:
        return token_user(self.ctx.doors, self.ctx.config.secret_key, request.headers.get("Authorization", ""))

    async def list(self, request: web.Request) -> web.Response:
        if refused := self._refused(request):
            return refused
        return web.json_response({"cases": await self.cases.summaries(request.query.get("which", "open"))})

    async def show(self, request: web.Request) -> web.Response:
        if refused := self._refused(request):
            return refused
        ref = request.match_info["ref"]
        state = await self.cases.find(ref)
        if state is None:
            return web.json_response(dpo_api.no_case(self.ctx, ref), status=404)
        return web.json_response(dpo_api.show_case(state))

    async def decide(self, request: web.Request) -> web.Response:
        if refused := self._refused(request):
            return refused
        try:
            body = json.loads(body_of(request))
        except ValueError:
            return web.json_response({"error": "the body must be a JSON object"}, status=400)
        decision = body if isinstance(body, dict) else {}
        if (person := self._person(request)) is not None:  # a personal token decides as that person (R50)
            if not person.decides:
                return web.json_response({"error": f"'{person.name}' is a viewer: viewers cannot decide"}, status=403)
            decision = {**decision, "by": person.name}
        status, answer = await dpo_api.decide(self.ctx, self.cases, request.match_info["ref"], decision)
        return web.json_response(answer, status=status)


class PeerViews:
    """Another worker asks about the cases this one holds (its partitions); the cluster token is required."""

    def __init__(self, ctx: Context, local: LocalCases) -> None:
        self.local = local
        self._expected = f"Bearer {cluster_token(ctx.config.secret_key)}".encode()

    async def cases(self, request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), self._expected):
            return _unauthorized("missing or wrong cluster token (workers derive it from DSR_SECRET_KEY)")
        answer = local_answer(self.local, dict(request.query))
        return web.json_response(answer) if answer is not None else web.json_response({}, status=404)


class SystemViews:
    """External systems open their tasks and seal their answers with their own token (`dsr system-token`)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _refused(self, request: web.Request) -> web.Response | None:
        if known_system(self.ctx, request.headers.get("Authorization", "")):
            return None
        return _unauthorized("missing or unknown system token (`dsr system-token NAME` prints it)")

    async def open(self, request: web.Request) -> web.Response:
        if refused := self._refused(request):
            return refused
        status, answer = open_task(self.ctx, request.headers.get("Authorization", ""), body_of(request))
        return web.json_response(answer, status=status)

    async def seal(self, request: web.Request) -> web.Response:
        if refused := self._refused(request):
            return refused
        status, answer = seal_export(self.ctx, request.headers.get("Authorization", ""), body_of(request))
        return web.json_response(answer, status=status)

    async def subjects(self, request: web.Request) -> web.Response:
        if refused := self._refused(request):
            return refused
        status, answer = seal_subjects(self.ctx, request.headers.get("Authorization", ""), body_of(request))
        return web.json_response(answer, status=status)
