"""The page the re-contact e-mail links to: GET asks, one POST records the yes as the person's contact (CNIL-COM)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from gdpr.recontact import PATH, KeepLink, contact_task_id, request_id, signed_language, verify_link
from gdpr.retention import ContactKind
from gdpr.sealing import Lease
from gdpr.tokens import TokenError
from mail.templates import longdate
from schemas.sealed import Sealed
from schemas.tasks import Task, TaskAction
from streams import topics
from streams.audit import audit
from streams.context import Context
from streams.sealing import SubjectForgotten
from streams.web.pages import PAGES, html

TEXT = {
    "fr": {
        "ask_title": "Souhaitez-vous continuer à avoir de nos nouvelles ?",
        "ask": "Vous avez été en contact avec nous. Sans réponse de votre part, nous supprimerons vos "
        "coordonnées et l'historique de nos échanges après le {end}. Si vous souhaitez que nous les gardions pour "
        "continuer à vous informer, cliquez sur le bouton : le délai de trois ans repartira d'aujourd'hui. "
        "Sinon, vous n'avez rien à faire.",
        "button": "Oui, je souhaite rester informé(e)",
        "done_title": "C'est noté, merci",
        "done": "Nous gardons vos coordonnées : le délai de conservation de trois ans repart d'aujourd'hui. "
        "Vous pouvez à tout moment vous opposer à la prospection ou demander l'effacement de vos données "
        "depuis notre espace de confidentialité.",
        "invalid_title": "Lien non valable",
        "expired": "Ce lien a expiré : la date de suppression annoncée est passée.",
        "invalid": "Ce lien n'est pas valable. Vérifiez qu'il a été copié en entier.",
        "gone": "Nous ne détenons plus vos données : il n'y a rien à conserver.",
        "reference": "Référence :",
    },
    "en": {
        "ask_title": "Would you like to keep hearing from us?",
        "ask": "You have been in touch with us. Unless you answer, we will delete your contact details "
        "and the history of our exchanges after {end}. If you would like us to keep them so that we can keep you "
        "informed, click the button: the three-year period will start again from today. Otherwise, there is "
        "nothing to do.",
        "button": "Yes, keep me informed",
        "done_title": "Noted, thank you",
        "done": "We are keeping your contact details: the three-year retention period starts again from today. "
        "You may object to marketing or ask for your data to be erased at any time from our privacy center.",
        "invalid_title": "Invalid link",
        "expired": "This link has expired: the announced deletion date has passed.",
        "invalid": "This link is not valid. Please check it was copied in full.",
        "gone": "We no longer hold your data: there is nothing to keep.",
        "reference": "Reference:",
    },
}


class KeepViews:
    """`/keep/<token>`: the token is the credential (signed, expiring at the end date); a GET never records."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def ask(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        link = self._link(token)
        if isinstance(link, web.Response):
            return link
        end = longdate(link.end_date, link.language)
        return _page(link.language, "ask_title", "ask", 200, action=f"/{PATH}/{token}", button="button", end=end)

    async def answer(self, request: web.Request) -> web.Response:
        link = self._link(request.match_info["token"])
        if isinstance(link, web.Response):
            return link
        try:
            await record_yes(self.ctx, link)
        except SubjectForgotten:  # erased since, key destroyed: nothing left to keep
            return _page(link.language, "invalid_title", "gone", 410)
        return _page(link.language, "done_title", "done", 200)

    def _link(self, token: str) -> KeepLink | web.Response:
        secret = self.ctx.config.secret_key
        try:
            return verify_link(secret, token, self.ctx.clock())
        except TokenError as exc:
            language = signed_language(secret, token) or "fr"
            expired = exc.reason == "expired"
            return _page(language, "invalid_title", "expired" if expired else "invalid", 410 if expired else 400)


async def record_yes(ctx: Context, link: KeepLink) -> None:
    """CNIL-COM, §5 row 5: an explicit yes from the person is a contact they initiated; each system that holds them
    records it (`record_contact`) and their clock restarts from it. The same task ids on a second click."""
    now = ctx.clock()
    for task in yes_tasks(link, ctx.sealer.address, now):
        # Each task leases the key until it is answered (gdpr.sealing.Lease); the link's own lease stays until the
        # link expires, so that a second click is answered the same, not as if the person had been erased.
        ctx.sealer.lease(task.subject_ref, Lease(task.task_id, now + ctx.config.policy.task_timeout))
        await ctx.publisher.publish(topics.tasks(task.system), task.subject_ref, task.to_bytes())
    dedup = contact_task_id(link.subject_ref, "", link.end_date)  # one fact per answer, however many clicks
    systems = list(link.systems)
    await audit(
        ctx, "retention_recontact_kept", request_id=request_id(link.asked_on), dedup=dedup, detail={"systems": systems}
    )


def yes_tasks(link: KeepLink, address: Callable[[Sealed, str], Sealed], now: datetime) -> list[Task]:
    """One `record_contact` per system, the person sealed anew for that system only (`Sealer.address`)."""
    person = Sealed(subject_ref=link.subject_ref, nonce=link.nonce, ciphertext=link.ciphertext)
    return [
        Task(
            task_id=contact_task_id(link.subject_ref, system, link.end_date),
            subject_request_id=request_id(link.asked_on),
            system=system,
            action=TaskAction.RECORD_CONTACT,
            subject_ref=link.subject_ref,
            subject=address(person, system),
            reason=ContactKind.KEEP_INFORMED.value,
            issued_at=now,
        )
        for system in link.systems
    ]


def _page(
    language: str, title: str, message: str, status: int, action: str = "", button: str = "", **fill
) -> web.Response:
    text = TEXT.get(language, TEXT["fr"])
    body = PAGES.get_template("page.html.j2").render(
        language=language if language in TEXT else "fr",
        title=text[title],
        message=text[message].format(**fill),
        action=action,
        button=text.get(button, ""),
        labels={"reference": text["reference"]},
    )
    return html(body, status)
