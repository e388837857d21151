"""The public listener: what a person or a website reaches from the internet, and nothing else."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from gdpr.case_state import CaseState
from gdpr.lifecycle import Status
from gdpr.tokens import TokenError, signed_request_id, verify_token
from schemas.cases import IdentityConfirmed
from streams import topics
from streams.access_package import open_access_package
from streams.context import Context
from streams.intake import reference
from streams.sealing import SubjectForgotten
from streams.web.case_directory import CaseDirectory, CasesUnavailable
from streams.web.center.status import CaseViews, UploadViews
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
    app.router.add_get("/verify/{token}", views.verify_form, allow_head=False)
    app.router.add_post("/verify/{token}", views.verify_confirm)
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
    state = await _case_or_none(cases, request_id)
    return state.language.value if state is not None else preferred_language(request)


async def _case_or_none(cases: CaseDirectory, request_id: str | None) -> CaseState | None:
    """For choosing a language only: an unreachable owner leaves the browser's language."""
    if request_id is None:
        return None
    try:
        return await cases.get(request_id)
    except CasesUnavailable:
        return None


class PublicViews:
    def __init__(self, ctx: Context, cases: CaseDirectory, ready: Callable[[], bool]) -> None:
        self.ctx, self.cases, self.ready = ctx, cases, ready

    async def health(self, request: web.Request) -> web.Response:
        ready = self.ready()
        return web.json_response({"status": "ready" if ready else "starting"}, status=200 if ready else 503)

    async def verify_form(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        body, status, _ = await verify_page(self.ctx, self.cases, token, False, preferred_language(request))
        return html(body, status)

    async def verify_confirm(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        body, status, confirmed = await verify_page(self.ctx, self.cases, token, True, preferred_language(request))
        if confirmed:
            await publish_confirmation(self.ctx, token)
        return html(body, status)

    async def download(self, request: web.Request) -> web.StreamResponse:
        language = await link_language(self.ctx, self.cases, request)
        return download(self.ctx, request.match_info["token"], language)

    async def privacy(self, request: web.Request) -> web.Response:
        text = (
            "Placeholder: set DSR_PRIVACY_URL to the address of your privacy policy. "
            f"Data protection officer: {self.ctx.config.controller.dpo_email}"
        )
        return web.Response(text=text)


async def verify_page(
    ctx: Context, cases: CaseDirectory, token_text: str, confirm: bool, fallback: str = "fr"
) -> tuple[str, int, bool]:
    """(page, HTTP status, whether to confirm) for a verification link; a GET never confirms."""
    try:
        token = verify_token(ctx.config.secret_key, token_text, "verify", ctx.clock())
    except TokenError as exc:
        request_id = signed_request_id(ctx.config.secret_key, token_text, "verify")
        state = await _case_or_none(cases, request_id)
        lang = state.language.value if state is not None else fallback
        return page(lang, "invalid_title", "expired" if exc.reason == "expired" else "invalid"), 400, False
    state = await cases.get(token.request_id)
    if state is None or token.token_id != state.verification_token_id:
        return page(state.language.value if state else fallback, "invalid_title", "invalid"), 404, False
    lang, ref = state.language.value, reference(state.request_id)
    if state.verified_at is not None:
        return page(lang, "done_title", "already", ref), 200, False
    if state.status != Status.AWAITING_VERIFICATION:
        return page(lang, "invalid_title", "gone", ref), 410, False
    if not confirm:
        return page(lang, "confirm_title", "confirm", ref, action=f"/verify/{token_text}", button="button"), 200, False
    return page(lang, "done_title", "done", ref), 200, True


async def publish_confirmation(ctx: Context, token_text: str) -> None:
    token = verify_token(ctx.config.secret_key, token_text, "verify", ctx.clock())
    event = IdentityConfirmed(request_id=token.request_id, token_id=token.token_id, confirmed_at=ctx.clock())
    await ctx.publisher.publish(topics.CASES, token.request_id, event.to_bytes())


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
