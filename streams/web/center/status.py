"""The case's own pages behind signed links: its status with a withdraw button, and the upload page."""

from __future__ import annotations

from datetime import timedelta
from email.parser import BytesParser
from email.policy import HTTP

from aiohttp import web

from gdpr.case_state import CaseState, Status
from gdpr.deadlines import receipt_day
from gdpr.decisions import person_may_withdraw
from gdpr.tokens import TokenError, verify_token
from mail.labels import REASON_LABELS, RIGHT_LABELS
from schemas.cases import DocumentKind, WithdrawnByPerson
from streams import topics
from streams.context import Context
from streams.documents import MAX_DOCUMENT_BYTES, awaited, receive_document, sniffed_type
from streams.intake import reference
from streams.links import case_link
from streams.web import csrf
from streams.web.case_directory import CaseDirectory
from streams.web.center.forms import form_fields
from streams.web.center.pages import day, language_of, render, switched
from streams.web.center.text import STATUS, UPLOAD, french, words
from streams.web.guards import accepts_body, body_of

UPLOAD_LINK_DAYS = timedelta(days=30)


class CaseViews:
    """Pages about one case, reached from a link in an e-mail; any worker answers (the directory asks the owner)."""

    def __init__(self, ctx: Context, cases: CaseDirectory) -> None:
        self.ctx, self.cases = ctx, cases

    async def _case(self, request: web.Request, purpose: str, form: dict | None = None) -> CaseState | web.Response:
        """The case the link names, or the page saying why not in the language of any other page (the switch, else
        Accept-Language): no case tells which."""
        try:
            token = verify_token(self.ctx.config.secret_key, request.match_info["token"], purpose, self.ctx.clock())
        except TokenError:
            return self._page(request, language_of(request, form), "invalid", 400)
        state = await self.cases.get(token.request_id)
        if state is None:
            return self._page(request, language_of(request, form), "gone", 404)
        return state

    def _page(self, request: web.Request, language: str, key: str, status: int) -> web.Response:
        s = words(STATUS, language)
        return render(self.ctx, request, "message", language, s[f"{key}_title"], status, message=s[key])

    async def status(self, request: web.Request) -> web.Response:
        found = await self._case(request, "status")
        if isinstance(found, web.Response):
            return found
        return self._status_page(request, found, _language(request, found))

    async def withdraw(self, request: web.Request) -> web.Response:
        form = form_fields(body_of(request))
        found = await self._case(request, "status", form)
        if isinstance(found, web.Response):
            return found
        language = _language(request, found, form)
        if not csrf.checked(request, form, self.ctx.config.secret_key, self.ctx.clock()):
            return self._status_page(request, found, language, status=403)
        if not person_may_withdraw(found):
            return self._status_page(request, found, language, "too_late", 409)
        event = WithdrawnByPerson(request_id=found.request_id, withdrawn_at=self.ctx.clock())
        await self.ctx.publisher.publish(topics.CASES, found.request_id, event.to_bytes())  # acked before we answer
        withdrawn = found.model_copy(
            update={"status": Status.CLOSED, "withdrawn": True, "closed_at": event.withdrawn_at}
        )
        return self._status_page(request, withdrawn, language, "withdrawn_now")

    def _status_page(self, request, state: CaseState, language: str, notice: str = "", status: int = 200):
        s = words(STATUS, language)
        values = status_values(self.ctx, state, language, s)
        action = request.path
        return render(
            self.ctx, request, "status", language, s["title"], status,
            s=s, notice=s.get(notice, ""), action=action, **values,
        )  # fmt: skip


def _language(request: web.Request, state: CaseState, form: dict | None = None) -> str:
    return switched(request, form) or state.language.value


def status_values(ctx: Context, state: CaseState, language: str, s: dict) -> dict:
    """What the page shows: dates, the step in the person's words, the extension's reasons, what they can do."""
    extended = state.extension is not None
    fix = french if language == "fr" else (lambda x: x)
    kind = awaited(state)
    upload = case_link(ctx, state.request_id, "upload", ctx.clock() + UPLOAD_LINK_DAYS) if kind else None
    return {
        "reference": reference(state.request_id),
        "right": _capital(RIGHT_LABELS[state.right.value][language]),
        "received_on": day(receipt_day(state.received_at), language),
        "deadline": day(state.deadline, language),
        "initial_deadline": day(state.d1, language) if extended else None,
        "closed_on": day(receipt_day(state.closed_at), language) if state.closed_at else None,
        "where": where(state, language, s),
        "reasons": [fix(REASON_LABELS[r.value][language]) for r in state.extension.reasons] if extended else [],
        "upload_url": upload if kind and not state.document_received_at else None,
        "can_withdraw": person_may_withdraw(state),
    }


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def where(state: CaseState, language: str, s: dict) -> str:
    if state.withdrawn:
        return s["withdrawn"].format(date=day(receipt_day(state.closed_at), language))
    if state.document_received_at and awaited(state):
        return s["document_received"].format(date=day(receipt_day(state.document_received_at), language))
    if awaited(state) == DocumentKind.ID_DOCUMENT:
        return s["awaiting_document"]
    return s[state.status.value]


class UploadViews(CaseViews):
    """Item 15 of issue 10: the ID or the proof of a death is sent here, never by plain e-mail."""

    async def form(self, request: web.Request) -> web.Response:
        found = await self._case(request, "upload")
        if isinstance(found, web.Response):
            return found
        return self._upload_page(request, found, _language(request, found))

    @accepts_body(MAX_DOCUMENT_BYTES + 64 * 1024)  # the file and its multipart envelope
    async def upload(self, request: web.Request) -> web.Response:
        found = await self._case(request, "upload")
        if isinstance(found, web.Response):
            return found
        fields, data = multipart(request.headers.get("Content-Type", ""), body_of(request))
        language = _language(request, found, fields)
        if not csrf.checked(request, fields, self.ctx.config.secret_key, self.ctx.clock()):
            return self._upload_page(request, found, language, status=403)
        kind, content_type = awaited(found), sniffed_type(data)
        if kind is None:
            return self._upload_page(request, found, language)
        if content_type is None or len(data) > MAX_DOCUMENT_BYTES:
            return self._upload_page(request, found, language, error=True, status=400)
        await receive_document(self.ctx, found, kind, content_type, data)
        u = words(UPLOAD, language)
        text = u["received"].format(date=day(receipt_day(self.ctx.clock()), language))
        return render(self.ctx, request, "message", language, u["received_title"], message=text)

    def _upload_page(self, request, state: CaseState, language: str, error: bool = False, status: int = 200):
        u, kind = words(UPLOAD, language), awaited(state)
        if kind is None:
            return render(self.ctx, request, "message", language, u["not_awaited_title"], 410, message=u["not_awaited"])
        return render(
            self.ctx, request, "upload", language, u["title"], status,
            u=u, reference=reference(state.request_id), explanation=u[kind.value],
            error=u["bad_file"] if error else "", action=request.path,
        )  # fmt: skip


def multipart(content_type: str, body: bytes) -> tuple[dict[str, str], bytes]:
    """The text fields and the `document` file of a multipart/form-data body (already read within its limit)."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields, data = {}, b""
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if name == "document":
            data = payload
        elif name:
            fields[name] = payload.decode("utf-8", errors="replace")
    return fields, data
