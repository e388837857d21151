"""Web views: health, verification links, downloads, and the external systems' task API (open, seal)."""

from __future__ import annotations

import hmac
import json
from pathlib import Path

import faust
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError, model_validator

from gdpr.lifecycle import Status
from gdpr.tokens import TokenError, derived_secret, verify_token
from schemas.base import WireModel
from schemas.cases import IdentityConfirmed
from schemas.intake import describe
from schemas.tasks import Task
from streams import dpo_api, topics
from streams.access_package import open_access_package
from streams.cases import CaseTable, load
from streams.context import Context
from streams.intake import reference
from streams.sealing import SubjectForgotten

PAGES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parents[1] / "templates" / "web"),
    autoescape=select_autoescape(["html", "j2"]),
)
TEXT = {
    "fr": {
        "reference": "Référence :",
        "confirm_title": "Confirmer votre demande",
        "confirm": "Pour protéger vos données, confirmez que cette demande vient bien de vous.",
        "button": "Je confirme ma demande",
        "done_title": "Demande confirmée",
        "done": "Merci. Votre demande est confirmée ; vous recevrez notre réponse par e-mail.",
        "already": "Cette demande est déjà confirmée ; vous n'avez rien d'autre à faire.",
        "invalid_title": "Lien non valable",
        "expired": "Ce lien a expiré. Vous pouvez renouveler votre demande.",
        "invalid": "Ce lien n'est pas valable. Vérifiez qu'il a été copié en entier.",
        "gone": "Cette demande n'attend plus de confirmation.",
    },
    "en": {
        "reference": "Reference:",
        "confirm_title": "Confirm your request",
        "confirm": "To protect your data, please confirm that this request comes from you.",
        "button": "I confirm my request",
        "done_title": "Request confirmed",
        "done": "Thank you. Your request is confirmed; you will receive our answer by e-mail.",
        "already": "This request is already confirmed; there is nothing else to do.",
        "invalid_title": "Invalid link",
        "expired": "This link has expired. You may make your request again.",
        "invalid": "This link is not valid. Please check it was copied in full.",
        "gone": "This request is no longer waiting for confirmation.",
    },
}


def page(language: str, title: str, message: str, ref: str = "", action: str = "", button: str = "") -> str:
    text = TEXT.get(language, TEXT["fr"])
    return PAGES.get_template("page.html.j2").render(
        language=language,
        title=text[title],
        message=text[message],
        reference=ref,
        action=action,
        button=text.get(button, ""),
        labels={"reference": text["reference"]},
    )


def is_ready(app: faust.App) -> bool:
    recovered = app.tables.recovery.completed.is_set()
    return bool(recovered and not getattr(app, "rebalancing", False) and app.consumer.assignment())


def register_views(app: faust.App, ctx: Context, cases: CaseTable) -> None:
    @app.page("/health")
    async def health(view, request):
        ready = is_ready(app)
        return view.json({"status": "ready" if ready else "starting"}, status=200 if ready else 503)

    @app.page("/verify/{token}")
    class Verify(faust.web.View):
        async def get(self, request, token):
            body, status, _ = verify_page(ctx, cases, token, confirm=False)
            return self.html(body, status=status)

        async def post(self, request, token):
            body, status, confirmed = verify_page(ctx, cases, token, confirm=True)
            if confirmed:
                await publish_confirmation(ctx, token)
            return self.html(body, status=status)

    @app.page("/privacy")
    async def privacy(view, request):
        text = (
            "Placeholder: set DSR_PRIVACY_URL to the address of your privacy policy. "
            f"Data protection officer: {ctx.config.controller.dpo_email}"
        )
        return view.text(text)

    @app.page("/api/tasks/open")
    class OpenTask(faust.web.View):
        async def post(self, request):
            body = await self.read_request_content(request)
            status, answer = open_task(ctx, request.headers.get("Authorization", ""), body)
            return self.json(answer, status=status)

    @app.page("/api/tasks/seal")
    class SealAnswer(faust.web.View):
        async def post(self, request):
            body = await self.read_request_content(request)
            status, answer = seal_export(ctx, request.headers.get("Authorization", ""), body)
            return self.json(answer, status=status)

    register_dpo_api(app, ctx, cases)

    @app.page("/download/{token}")
    class Download(faust.web.View):
        async def get(self, request, token):
            return download(self, ctx, token)


def register_dpo_api(app: faust.App, ctx: Context, cases: CaseTable) -> None:
    """`dsr case ...` talks to these; every call needs the DPO token."""

    def denied(view):
        return view.json({"error": "missing or wrong DPO token (dsr case derives it from DSR_SECRET_KEY)"}, status=401)

    @app.page("/api/cases")
    class Cases(faust.web.View):
        async def get(self, request):
            if not dpo_api.authorized(ctx, request.headers.get("Authorization", "")):
                return denied(self)
            return self.json({"cases": dpo_api.list_cases(cases, request.query.get("which", "open"))})

    @app.page("/api/cases/{ref}")
    class Case(faust.web.View):
        async def get(self, request, ref):
            if not dpo_api.authorized(ctx, request.headers.get("Authorization", "")):
                return denied(self)
            state = dpo_api.find(cases, ref)
            if state is None:
                return self.json({"error": f"no case '{ref}'"}, status=404)
            return self.json(dpo_api.show_case(state))

    @app.page("/api/cases/{ref}/decisions")
    class Decisions(faust.web.View):
        async def post(self, request, ref):
            if not dpo_api.authorized(ctx, request.headers.get("Authorization", "")):
                return denied(self)
            try:
                body = json.loads(await self.read_request_content(request))
            except ValueError:
                return self.json({"error": "the body must be a JSON object"}, status=400)
            status, answer = await dpo_api.decide(ctx, cases, ref, body if isinstance(body, dict) else {})
            return self.json(answer, status=status)


def verify_page(ctx: Context, cases: CaseTable, token_text: str, confirm: bool) -> tuple[str, int, bool]:
    """(page, HTTP status, whether to confirm) for a verification link; a GET never confirms."""
    try:
        token = verify_token(ctx.config.secret_key, token_text, "verify", ctx.clock())
    except TokenError as exc:
        return page("fr", "invalid_title", "expired" if exc.reason == "expired" else "invalid"), 400, False
    state = load(cases, token.request_id)
    if state is None or token.token_id != state.verification_token_id:
        return page("fr", "invalid_title", "invalid"), 404, False
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


def download(view: faust.web.View, ctx: Context, token_text: str):
    try:
        token = verify_token(ctx.config.secret_key, token_text, "download", ctx.clock())
        archive = open_access_package(ctx, token.request_id)
    except TokenError as exc:
        return view.html(
            page("fr", "invalid_title", "expired" if exc.reason == "expired" else "invalid"),
            status=410 if exc.reason == "expired" else 400,
        )
    except SubjectForgotten:
        archive = None
    if archive is None:
        return view.html(page("fr", "invalid_title", "invalid"), status=404)
    name = f"{reference(token.request_id)}.zip"
    return view.bytes(
        archive,
        content_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def system_token(secret: bytes, system: str) -> str:
    """The bearer token an external system uses to open its tasks (`dsr system-token NAME`)."""
    return derived_secret(secret, f"system:{system}")


def open_task(ctx: Context, authorization: str, body: bytes) -> tuple[int, dict]:
    """Unseal the subject (and payload) of a task for the system it was sent to, while the key exists."""
    try:
        task = Task.model_validate_json(body)
    except ValidationError as exc:
        return 400, {"error": f"not a task: {describe(exc)}"}
    if not _system_may_act(ctx, authorization, task):
        return 403, {"error": f"this token does not open tasks of system '{task.system}'"}
    try:
        payload = ctx.sealer.open(task.payload) if task.payload else None
        return 200, {"task_id": task.task_id, "subject": ctx.sealer.open(task.subject), "payload": payload}
    except SubjectForgotten:
        return 410, {"error": "the subject's data were erased; nothing to open"}


class _Records(WireModel):
    records: dict[str, list[dict]]


class SealRequest(WireModel):
    """What an external system asks to seal: its export's records, or a rectification's {field: {old, new}}."""

    task: Task
    export: _Records | None = None
    changes: dict[str, dict] | None = None

    @model_validator(mode="after")
    def _one_thing(self) -> SealRequest:
        if (self.export is None) == (self.changes is None):
            raise ValueError("give either 'export' or 'changes'")
        return self


def seal_export(ctx: Context, authorization: str, body: bytes) -> tuple[int, dict]:
    """Seal an external system's answer under the subject's key, as `TaskResult.export` (or `.changes`)
    expects, for the system the task was sent to and only while the subject's key exists."""
    try:
        request = SealRequest.model_validate_json(body)
    except ValidationError as exc:
        return 400, {"error": f"not a seal request: {describe(exc)}"}
    task = request.task
    if not _system_may_act(ctx, authorization, task):
        return 403, {"error": f"this token does not seal answers of system '{task.system}'"}
    value = {"system": task.system, "records": request.export.records} if request.export else request.changes
    try:
        ctx.sealer.open(task.subject)  # AES-GCM binds the ref: the task was issued for this subject
        return 200, ctx.sealer.seal_existing(task.subject.subject_ref, value).model_dump()
    except SubjectForgotten:
        return 410, {"error": "the subject's data were erased; nothing may be sealed for them"}


def _system_may_act(ctx: Context, authorization: str, task: Task) -> bool:
    expected = f"Bearer {system_token(ctx.config.secret_key, task.system)}"
    return hmac.compare_digest(authorization.encode(), expected.encode())
