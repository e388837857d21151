"""Rendering the privacy center's pages: the language, the labels, the CSRF cookie, the switch to the other language."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from mail.templates import longdate
from streams.context import Context
from streams.web import csrf
from streams.web.center.text import FIELDS, OPTIONS, RIGHTS, french, text
from streams.web.pages import LANGUAGES, PAGES, html, preferred_language


def switched(request: web.Request, form: dict[str, str] | None = None) -> str:
    """The language the switch chose: ?lang=, else the form's (its hidden field); "" when neither names one."""
    chosen = request.query.get("lang") or (form or {}).get("lang", "")
    return chosen if chosen in LANGUAGES else ""


def language_of(request: web.Request, form: dict[str, str] | None = None) -> str:
    """The switch's choice, else the browser's (Accept-Language)."""
    return switched(request, form) or preferred_language(request)


def labels(language: str) -> dict:
    """Every label of the center in one language, French typography applied."""
    fix = french if language == "fr" else (lambda s: s)
    return {
        "t": text(language),
        "rights": [(name, (fix(h), fix(s))) for name, (h, s) in RIGHTS[language].items()],
        "fields": {name: (fix(label), fix(hint)) for name, (label, hint) in FIELDS[language].items()},
        "options": {name: {k: fix(v[language]) for k, v in table.items()} for name, table in OPTIONS.items()},
        "colon": "\u00a0:" if language == "fr" else ":",
        "choose": "Choisissez…" if language == "fr" else "Choose…",
    }


def day(value: date, language: str) -> str:
    return longdate(value, language)


def render(
    ctx: Context, request: web.Request, template: str, language: str, title: str, status: int = 200, **values
) -> web.Response:
    """A page of the center; every page carries a CSRF token for its forms (the cookie is renewed with it)."""
    token = csrf.token_for(request, ctx.config.secret_key, ctx.clock())
    other = "en" if language == "fr" else "fr"
    words = labels(language)
    words["t"]["intro"] = words["t"]["intro"].format(name=ctx.config.controller.name)
    body = PAGES.get_template(f"center/{template}.html.j2").render(
        lang=language,
        title=title,
        controller=ctx.config.controller,
        switch_url=f"{request.path}?lang={other}",
        csrf=token,
        **words,
        **values,
    )
    response = html(body, status)
    csrf.remember(request, response, token)
    return response


def message(ctx: Context, request: web.Request, language: str, key: str, status: int, **fill) -> web.Response:
    t = text(language)
    return render(ctx, request, "message", language, t[f"{key}_title"], status, message=t[key].format(**fill))
