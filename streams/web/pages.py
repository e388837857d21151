"""Pages for people: one small server-rendered page per answer, in the person's language."""

from __future__ import annotations

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from dsr_pipeline_templates import template_folder

LANGUAGES = ("fr", "en")
PAGES = Environment(
    loader=FileSystemLoader(template_folder("web")),
    autoescape=select_autoescape(["html", "j2"]),
)
TEXT = {
    "fr": {
        "invalid_title": "Lien non valable",
        "expired": "Ce lien a expiré. Vous pouvez renouveler votre demande.",
        "invalid": "Ce lien n'est pas valable. Vérifiez qu'il a été copié en entier.",
        "error_title": "Une erreur est survenue",
        "not_found": "Cette page n'existe pas.",
        "method": "Cette action n'est pas possible sur cette page.",
        "too_large": "La demande envoyée est trop volumineuse.",
        "too_slow": "La demande a mis trop de temps à arriver. Veuillez réessayer.",
        "bad_request": "La demande envoyée n'est pas valable.",
        "unavailable": "Le service est momentanément indisponible. Veuillez réessayer dans quelques minutes.",
        "server_error": "Nous n'avons pas pu traiter votre demande. Veuillez réessayer plus tard.",
    },
    "en": {
        "invalid_title": "Invalid link",
        "expired": "This link has expired. You may make your request again.",
        "invalid": "This link is not valid. Please check it was copied in full.",
        "error_title": "Something went wrong",
        "not_found": "This page does not exist.",
        "method": "This action is not possible on this page.",
        "too_large": "The request sent is too large.",
        "too_slow": "The request took too long to arrive. Please try again.",
        "bad_request": "The request sent is not valid.",
        "unavailable": "The service is briefly unavailable. Please try again in a few minutes.",
        "server_error": "We could not process your request. Please try again later.",
    },
}
# What a person reads for each HTTP error status (the page never shows a trace or an internal detail).
STATUS_MESSAGES = {
    400: "bad_request",
    404: "not_found",
    405: "method",
    408: "too_slow",
    413: "too_large",
    503: "unavailable",
}


def page(language: str, title: str, message: str) -> str:
    """A page of one message: an error, or a download link that no longer works."""
    text = TEXT.get(language, TEXT["fr"])
    return PAGES.get_template("page.html.j2").render(
        language=language if language in TEXT else "fr", title=text[title], message=text[message]
    )


def preferred_language(request: web.BaseRequest) -> str:
    """The first of our languages the browser asks for (Accept-Language, by weight), French otherwise."""
    choices = []
    for position, part in enumerate(request.headers.get("Accept-Language", "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = _weight(params)
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and weight > 0:
            choices.append((-weight, position, primary))
    return min(choices)[2] if choices else "fr"


def _weight(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def html(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def error_page(language: str, status: int) -> web.Response:
    message = STATUS_MESSAGES.get(status, "server_error" if status >= 500 else "bad_request")
    return html(page(language, "error_title", message), status=status)
