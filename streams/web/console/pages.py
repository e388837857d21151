"""Rendering the console's pages: the DPO's language, the signed-in person, labels of codes."""

from __future__ import annotations

from aiohttp import web

from mail.labels import LABEL_TABLES
from streams.context import Context
from streams.web.console.accounts import User
from streams.web.console.decision_forms import LABELS
from streams.web.console.text import console_text, kind_label
from streams.web.pages import LANGUAGES, PAGES, html


def console_language(ctx: Context, request: web.Request) -> str:
    chosen = request.query.get("lang") or request.cookies.get("dsr_console_lang", "")
    return chosen if chosen in LANGUAGES else ctx.config.dpo_language


def label(table: str, language: str):
    """A filter: the label of a code in `table` (email_labels), the code itself when the table lacks it."""
    entries = LABEL_TABLES[table][0]

    def show(code) -> str:
        entry = entries.get(str(code))
        return entry[language] if entry else str(code)

    return show


def render(
    ctx: Context, request: web.Request, template: str, user: User | None, title: str, status: int = 200, **values
):
    language = console_language(ctx, request)
    other = "en" if language == "fr" else "fr"
    body = PAGES.get_template(f"console/{template}.html.j2").render(
        lang=language,
        t=console_text(language),
        d=LABELS[language],
        user=user,
        title=title,
        switch_url=str(request.rel_url.update_query(lang=other)),  # the same page: its topic, its page
        right_label=label("right_label", language),
        status_label=label("status_label", language),
        action_label=label("action_label", language),
        message_label=label("message_label", language),
        kind_label=kind_label(language),
        option_label=lambda name, code: _option(name, code, language),
        colon="\u00a0:" if language == "fr" else ":",
        **values,
    )
    response = html(body, status)
    if "lang" in request.query and request.query["lang"] in LANGUAGES:
        response.set_cookie(
            "dsr_console_lang", request.query["lang"], httponly=True, samesite="Strict", path="/console"
        )
    return response


def _option(name: str, code: str, language: str) -> str:
    if code in LABELS[language]:
        return LABELS[language][code]
    for table in ("reason_label", "refusal_label", "lift_reason_label", "id_reason_label"):
        entries = LABEL_TABLES[table][0]
        if code in entries:
            return entries[code][language]
    return code
