"""The public listener: what a person or a website reaches from the internet, and nothing else."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from gdpr.tokens import TokenError, signed_request_id, verify_token
from streams.access_package import open_access_package
from streams.context import Context
from streams.intake import reference
from streams.sealing import SubjectForgotten
from streams.web.case_directory import CaseDirectory, case_or_none
from streams.web.center.status import CaseViews, UploadViews
from streams.web.center.verify import VerifyViews
from streams.web.center.views import CenterViews
from streams.web.guards import LIMITS, Limits, answer_errors, bounded_body
from streams.web.intake_api import IntakeViews
from streams.web.keep import KeepViews
from streams.web.pages import error_page, html, page, preferred_language

INTAKE_ERRORS = {
    405: "POST CloudEvents here",
    408: "the body took too long to arrive",
    413: "body over 1 MiB: send fewer events per batch",
    500: "internal error",
    503: "not ready, retry later",
}
# Every route here is public by design; tests/streams/test_routes.py lists them, with why, and fails on any other.


def public_app(
    ctx: Context, cases: CaseDirectory, ready: Callable[[], bool], privacy_placeholder: bool, limits: Limits = Limits()
) -> web.Application:
    async def render_error(request: web.Request, status: int) -> web.StreamResponse:
        if request.path == "/intake":  # websites read JSON, people read pages
            return web.json_response({"error": INTAKE_ERRORS.get(status, "error")}, status=status)
        return error_page(await link_language(ctx, cases, request), status)

    app = web.Application(middlewares=[answer_errors(render_error), bounded_body(limits)])
    app[LIMITS] = limits
    views = PublicViews(ctx, cases, ready)
    app.router.add_get("/health", views.health, allow_head=False)
    app.router.add_post("/intake", IntakeViews(ctx).post)
    center, case_pages, uploads = CenterViews(ctx), CaseViews(ctx, cases), UploadViews(ctx, cases)
    app.router.add_get("/", center.home, allow_head=False)
    app.router.add_get("/request/{form}", center.form, allow_head=False)
    app.router.add_post("/request/{form}", center.submit)
    app.router.add_get("/status/{token}", case_pages.status, allow_head=False)
    app.router.add_post("/status/{token}", case_pages.withdraw)
    app.router.add_get("/upload/{token}", uploads.form, allow_head=False)
    app.router.add_post("/upload/{token}", uploads.upload)
    verify = VerifyViews(ctx, cases)  # GET asks, POST confirms
    app.router.add_get("/verify/{token}", verify.ask, allow_head=False)
    app.router.add_post("/verify/{token}", verify.confirm)
    app.router.add_get("/download/{token}", views.download, allow_head=False)
    keep = KeepViews(ctx)  # the prospect's one re-contact (CNIL-COM): GET asks, POST says yes
    app.router.add_get("/keep/{token}", keep.ask, allow_head=False)
    app.router.add_post("/keep/{token}", keep.answer)
    if privacy_placeholder:
        app.router.add_get("/privacy", views.privacy, allow_head=False)
    return app


async def link_language(ctx: Context, cases: CaseDirectory, request: web.Request) -> str:
    """The language of the case a link names (expired or not), else the browser's."""
    purpose, _, token = request.path.strip("/").partition("/")  # from the path: no route may have matched
    request_id = signed_request_id(ctx.config.secret_key, token, purpose) if token else None
    state = await case_or_none(cases, request_id)
    return state.language.value if state is not None else preferred_language(request)


class PublicViews:
    def __init__(self, ctx: Context, cases: CaseDirectory, ready: Callable[[], bool]) -> None:
        self.ctx, self.cases, self.ready = ctx, cases, ready

    async def health(self, request: web.Request) -> web.Response:
        ready = self.ready()
        return web.json_response({"status": "ready" if ready else "starting"}, status=200 if ready else 503)

    async def download(self, request: web.Request) -> web.StreamResponse:
        language = await link_language(self.ctx, self.cases, request)
        return download(self.ctx, request.match_info["token"], language)

    async def privacy(self, request: web.Request) -> web.Response:
        text = (
            "Placeholder: set DSR_PRIVACY_URL to the address of your privacy policy. "
            f"Data protection officer: {self.ctx.config.controller.dpo_email}"
        )
        return web.Response(text=text)


def download(ctx: Context, token_text: str, language: str) -> web.StreamResponse:
    try:
        token = verify_token(ctx.config.secret_key, token_text, "download", ctx.clock())
        archive = open_access_package(ctx, token.request_id)
    except TokenError as exc:
        expired = exc.reason == "expired"
        return html(page(language, "invalid_title", "expired" if expired else "invalid"), 410 if expired else 400)
    except SubjectForgotten:
        archive = None
    if archive is None:
        return html(page(language, "invalid_title", "invalid"), status=404)
    name = f"{reference(token.request_id)}.zip"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return web.Response(body=archive, content_type="application/zip", headers=headers)
