"""The console's pages: login, cases, a case and its decisions, parked e-mails, dead letters, systems."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date

from aiohttp import web

from gdpr.deadlines import receipt_day
from gdpr.decisions import possible_now
from mail.parked import Parked, still_parked
from streams import topics
from streams.context import Context
from streams.documents import open_document
from streams.intake import reference
from streams.web import csrf, dpo_api
from streams.web.case_directory import CaseDirectory, summary
from streams.web.center.forms import form_fields
from streams.web.console.accounts import COOKIE, ConsolePolicy, User, current_user, login, session_key
from streams.web.console.decision_forms import FORMS, LABELS, decision_body
from streams.web.console.pages import console_language, render
from streams.web.console.records import Records, letter_address
from streams.web.console.text import console_text
from streams.web.guards import body_of

WAITING_FOR_PERSON = ("awaiting_verification", "awaiting_proof")
PAGE_SIZE = 50  # dead letters on one page: a topic may hold thousands


class ConsoleViews:
    def __init__(self, ctx: Context, cases: CaseDirectory, records: Records, policy: ConsolePolicy, dlqs: list[str]):
        self.ctx, self.cases, self.records, self.policy, self.dlqs = ctx, cases, records, policy, dlqs

    # --- who is there ----------------------------------------------------------------------------------

    def _user(self, request: web.Request) -> User | None:
        return current_user(self.ctx.doors, request.cookies.get(COOKIE, ""), self.ctx.clock())

    def _form(self, request: web.Request, user: User) -> dict[str, str] | None:
        """A POST's fields, if it carries the session's CSRF token."""
        form = form_fields(body_of(request))
        return form if user.csrf and form.get("csrf") == user.csrf else None

    async def login_page(self, request: web.Request, error: str = "", status: int = 200) -> web.Response:
        token = csrf.token_for(request, self.ctx.config.secret_key, self.ctx.clock())
        t = console_text(_lang(self, request))
        response = render(self.ctx, request, "login", None, t["login_title"], status, csrf=token, error=error)
        csrf.remember(request, response, token, path="/console")
        return response

    async def login(self, request: web.Request) -> web.Response:
        form, t = form_fields(body_of(request)), console_text(_lang(self, request))
        if not csrf.checked(request, form, self.ctx.config.secret_key, self.ctx.clock()):
            return await self.login_page(request, t["expired"], 403)
        outcome, detail = login(
            self.ctx.doors, self.policy, form.get("name", ""), form.get("password", ""), self.ctx.clock()
        )
        if outcome != "ok":  # locked or wrong: one answer, so the page tells nobody which names exist
            return await self.login_page(request, t["wrong"], 401)
        response = web.HTTPSeeOther("/console/")
        response.set_cookie(
            COOKIE, detail, httponly=True, samesite="Strict", secure=csrf.served_over_https(request), path="/console"
        )
        raise response

    async def logout(self, request: web.Request, user: User) -> web.Response:
        if self._form(request, user) is not None:
            self.ctx.doors.close_session(session_key(request.cookies.get(COOKIE, "")))
        response = web.HTTPSeeOther("/console/login")
        response.del_cookie(COOKIE, path="/console")
        raise response

    # --- cases -----------------------------------------------------------------------------------------

    async def case_list(self, request: web.Request, user: User) -> web.Response:
        chosen = {k: request.query.get(k, "") for k in ("right", "status", "flag")}
        summaries = [s for s in await self.cases.summaries("open") if matches(s, chosen, receipt_day(self.ctx.clock()))]
        t = console_text(_lang(self, request))
        return render(self.ctx, request, "cases", user, t["cases"], cases=summaries, chosen=chosen)

    async def case(self, request: web.Request, user: User, notice: str = "", refused: str = "", status: int = 200):
        state = await self.cases.find(request.match_info["ref"])
        if state is None:
            raise web.HTTPNotFound()
        trail = await asyncio.to_thread(self.records.audit_trail, state.request_id)
        t = console_text(_lang(self, request))
        return render(
            self.ctx, request, "case", user, t["case"].format(ref=reference(state.request_id)), status,
            state=state, summary=summary(state), trail=trail, possible=possible_now(state, self.ctx.clock()),
            forms=FORMS, notice=notice, refused=refused,
            has_document=self.ctx.documents.get(state.request_id) is not None,
        )  # fmt: skip

    async def decide(self, request: web.Request, user: User) -> web.Response:
        form = self._form(request, user)
        t = console_text(_lang(self, request))
        if form is None:
            return await self.case(request, user, refused=t["expired"], status=403)
        if not user.decides:
            return await self.case(request, user, refused=t["forbidden"], status=403)
        body = decision_body(form.get("kind", ""), form, by=user.name)  # R50: who decided is who is logged in
        status, answer = await dpo_api.decide(self.ctx, self.cases, request.match_info["ref"], body)
        if status != 202:
            reason = answer.get(f"error_{_lang(self, request)}", answer["error"])  # the French DPO reads French
            return await self.case(request, user, refused=t["refused"].format(reason=reason), status=status)
        kind = LABELS[_lang(self, request)].get(answer["accepted"], answer["accepted"])
        notice = t["accepted"].format(kind=kind, by=user.name)
        return await self.case(request, user, notice=notice)

    async def document(self, request: web.Request, user: User) -> web.StreamResponse:
        """R16: the DPO opens the uploaded document to check it; a viewer never does."""
        state = await self.cases.find(request.match_info["ref"])
        if not user.decides:
            raise web.HTTPForbidden()
        opened = open_document(self.ctx, state.request_id) if state else None
        if opened is None:
            raise web.HTTPNotFound()
        return web.Response(body=opened[1], content_type=opened[0], headers={"Content-Disposition": "inline"})

    # --- mail, dead letters, systems -------------------------------------------------------------------

    async def mail(self, request: web.Request, user: User, notice: str = "") -> web.Response:
        parked = await asyncio.to_thread(self._still_parked)
        t = console_text(_lang(self, request))
        return render(self.ctx, request, "mail", user, t["parked_title"], parked=parked, notice=notice)

    def _still_parked(self) -> list[Parked]:
        return still_parked(self.records.parked(), self.ctx.sent_ledger)

    async def retry(self, request: web.Request, user: User) -> web.Response:
        form = self._form(request, user)
        if form is None or not user.decides:
            raise web.HTTPForbidden()
        done = await asyncio.to_thread(self.records.retry, form.get("message_id", ""))
        return await self.mail(request, user, console_text(_lang(self, request))["retried"] if done else "")

    async def dead_letters(self, request: web.Request, user: User) -> web.Response:
        return await self._dead_page(request, user, request.query.get("topic", ""), request.query.get("page", ""))

    async def _dead_page(self, request: web.Request, user: User, topic: str, page_asked: str, notice: str = ""):
        """Each topic's count, and one topic's letters a page at a time, newest first (links, no script)."""
        counts = await asyncio.to_thread(self.records.dead_letter_counts, self.dlqs)
        topic = topic or next((t for t, n in counts.items() if n), "")
        if topic and topic not in counts:
            raise web.HTTPNotFound()
        page = min(_page_number(page_asked), max(0, (counts.get(topic, 0) - 1) // PAGE_SIZE))
        letters = await asyncio.to_thread(self.records.dead_letters, topic, page, PAGE_SIZE) if topic else []
        replayed = {d.key for d in letters if self.ctx.doors.answer(f"replayed:{d.key}")}
        t = console_text(_lang(self, request))
        return render(
            self.ctx, request, "dead", user, t["dead_title"], counts=counts, topic=topic, letters=letters,
            replayed=replayed, notice=notice, page=page, pages=-(-counts.get(topic, 0) // PAGE_SIZE),
        )  # fmt: skip

    async def replay(self, request: web.Request, user: User) -> web.Response:
        form = self._form(request, user)
        if form is None or not user.decides:
            raise web.HTTPForbidden()
        address = letter_address(form.get("letter", ""))
        if address is None or address[0] not in self.dlqs:
            raise web.HTTPNotFound()
        replayed = await asyncio.to_thread(self.records.replay, *address)  # that one record, read at its offset
        if replayed is None:
            raise web.HTTPNotFound()
        self.ctx.doors.remember_answer(f"replayed:{replayed.key}", user.name, self.ctx.clock())
        notice = console_text(_lang(self, request))["replayed"].format(topic=replayed.origin_topic)
        return await self._dead_page(request, user, replayed.topic, form.get("page", ""), notice)

    async def systems(self, request: web.Request, user: User) -> web.Response:
        summaries = await self.cases.summaries("open")
        counts = await asyncio.to_thread(self.records.dead_letter_counts, self.dlqs)
        t = console_text(_lang(self, request))
        rows = system_rows(self.ctx.config.systems, summaries, counts)
        return render(self.ctx, request, "systems", user, t["systems_title"], rows=rows)


def _page_number(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 7 else 0


def _lang(views: ConsoleViews, request: web.Request) -> str:
    return console_language(views.ctx, request)


def matches(summary: dict, chosen: dict[str, str], today: date) -> bool:
    """The list's filters: right, status, and the DPO's three questions (past target, mine, the person's)."""
    flag = chosen["flag"]
    if chosen["right"] and summary["right"] != chosen["right"]:
        return False
    if chosen["status"] and summary["status"] != chosen["status"]:
        return False
    if flag == "past_target":
        return date.fromisoformat(summary["target"]) < today
    if flag == "awaiting_dpo":
        return summary["status"] == "awaiting_decision"
    if flag == "awaiting_person":
        return summary["status"] in WAITING_FOR_PERSON
    return True


def system_rows(systems, summaries: list[dict], dead_counts: dict[str, int]) -> list[dict]:
    rows = []
    for system in systems:
        counts = [s["tasks"].get(system, {}) for s in summaries]
        oldest = min((c["oldest"] for c in counts if c.get("oldest")), default=None)
        dead = dead_counts.get(topics.dlq(topics.tasks(system)), 0)
        rows.append({"system": system, "open": sum(c.get("open", 0) for c in counts), "oldest": oldest,
                     "failed": sum(c.get("failed", 0) for c in counts), "dead": dead})  # fmt: skip
    return rows


def guarded(views: ConsoleViews, handler: Callable) -> Callable:
    """Every console page but the login needs a session: 401 with the login form otherwise."""

    async def view(request: web.Request) -> web.StreamResponse:
        user = views._user(request)
        if user is None:
            return await views.login_page(request, status=401)
        return await handler(request, user)

    return view


def add_console(app: web.Application, views: ConsoleViews) -> None:
    app.router.add_get("/console/login", views.login_page, allow_head=False)
    app.router.add_post("/console/login", views.login)
    app.router.add_post("/console/logout", guarded(views, views.logout))
    pages = {
        "/console/": views.case_list,
        "/console/cases/{ref}": views.case,
        "/console/cases/{ref}/document": views.document,
        "/console/mail": views.mail,
        "/console/dead-letters": views.dead_letters,
        "/console/systems": views.systems,
    }
    for path, handler in pages.items():
        app.router.add_get(path, guarded(views, handler), allow_head=False)
    app.router.add_post("/console/cases/{ref}/decisions", guarded(views, views.decide))
    app.router.add_post("/console/mail/retry", guarded(views, views.retry))
    app.router.add_post("/console/dead-letters/replay", guarded(views, views.replay))
