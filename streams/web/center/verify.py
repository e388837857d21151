"""The confirmation link of an e-mail: the page that asks, the click that confirms (once), the page that says so."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from gdpr.lifecycle import Status
from gdpr.tokens import TokenError, signed_request_id, verify_token
from schemas.cases import IdentityConfirmed
from streams import topics
from streams.context import Context
from streams.intake import reference
from streams.web.case_directory import CaseDirectory, case_or_none
from streams.web.center.forms import form_fields
from streams.web.center.pages import language_of, render, switched
from streams.web.center.text import VERIFY, words
from streams.web.guards import body_of


@dataclass(frozen=True)
class Verification:
    """What a confirmation link answers: its words (keys of VERIFY), its HTTP status, whether it confirms."""

    language: str  # the case's, else the one the page would have anyway
    title: str
    message: str
    status: int = 200
    reference: str = ""
    asks: bool = False  # the page shows the button: a GET while the case waits for the confirmation
    confirms: bool = False  # a POST while it waits: IdentityConfirmed is published


class VerifyViews:
    """GET never confirms (mail scanners prefetch links); POST does. The form carries no CSRF token: the signed
    link in its address is itself the secret a form forged on another site could not know."""

    def __init__(self, ctx: Context, cases: CaseDirectory) -> None:
        self.ctx, self.cases = ctx, cases

    async def ask(self, request: web.Request) -> web.Response:
        return await self._answer(request, {}, confirm=False)

    async def confirm(self, request: web.Request) -> web.Response:
        return await self._answer(request, form_fields(body_of(request)), confirm=True)

    async def _answer(self, request: web.Request, form: dict[str, str], confirm: bool) -> web.Response:
        token = request.match_info["token"]
        found = await verification(self.ctx, self.cases, token, confirm, language_of(request, form))
        if found.confirms:
            await publish_confirmation(self.ctx, token)  # acknowledged by the brokers before the page says so
        language = switched(request, form) or found.language
        v = words(VERIFY, language)
        return render(
            self.ctx, request, "verify", language, v[found.title], found.status,
            v=v, message=v[found.message], reference=found.reference, done=found.title == "done_title",
            action=request.path if found.asks else "",
        )  # fmt: skip


async def verification(
    ctx: Context, cases: CaseDirectory, token_text: str, confirm: bool, fallback: str = "fr"
) -> Verification:
    """What a confirmation link shows, and whether this request confirms it (a POST on a case waiting for it)."""
    try:
        token = verify_token(ctx.config.secret_key, token_text, "verify", ctx.clock())
    except TokenError as exc:
        state = await case_or_none(cases, signed_request_id(ctx.config.secret_key, token_text, "verify"))
        lang = state.language.value if state is not None else fallback
        return Verification(lang, "invalid_title", "expired" if exc.reason == "expired" else "invalid", 400)
    state = await cases.get(token.request_id)
    if state is None or token.token_id != state.verification_token_id:
        return Verification(state.language.value if state else fallback, "invalid_title", "invalid", 404)
    lang, ref = state.language.value, reference(state.request_id)
    if state.verified_at is not None:
        return Verification(lang, "done_title", "already", reference=ref)
    if state.status != Status.AWAITING_VERIFICATION:
        return Verification(lang, "invalid_title", "gone", 410, ref)
    if not confirm:
        return Verification(lang, "confirm_title", "confirm", reference=ref, asks=True)
    return Verification(lang, "done_title", "done", reference=ref, confirms=True)


async def publish_confirmation(ctx: Context, token_text: str) -> None:
    token = verify_token(ctx.config.secret_key, token_text, "verify", ctx.clock())
    event = IdentityConfirmed(request_id=token.request_id, token_id=token.token_id, confirmed_at=ctx.clock())
    await ctx.publisher.publish(topics.CASES, token.request_id, event.to_bytes())
