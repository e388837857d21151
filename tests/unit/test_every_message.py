"""Every message type, both languages, several case shapes, rendered from real cases: no raw code, no empty
list, never the invalidated EU-US framework (issue 10; R47)."""

from __future__ import annotations

import asyncio
import html
import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from dsr.recontact import Mailing, Recontact, email_of
from dsr.retention import report_email
from gdpr.commands import SendEmail
from gdpr.recontact import Ask
from gdpr.sweep import Due, Hold, make_plan
from mail.templates import MESSAGE_TYPES, RenderedEmail
from schemas.intake import Language, Right
from schemas.notifications import EmailRequested
from schemas.tasks import LegalHold
from streams import topics
from streams.intake import on_intake_message
from streams.notices import email_for
from streams.notifications import park, render_request
from tests.unit.messages import T0, context, opened
from tests.unit.shapes import DEATH, PROVEN, RECIPES, SHAPES, Sent, Shape, _with_directives, started, worked

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"
# A code as the pipeline stores it (`awaiting_verification`, `legal_obligation`), outside a link or an address.
RAW_CODE = re.compile(r"(?<![\w./@-])[a-z]+(?:_[a-z0-9]+)+(?![\w./@-])")
LINK = re.compile(r"https?://\S+|[\w.+-]+@[\w.-]+")
COMMAND = re.compile(r"dsr (?:case|mail) [^\n<]*")
ISO_DATE = re.compile(r"(?<![\w/=.-])\d{4}-\d{2}-\d{2}(?![\w/])")
# R47: spelt in two halves so that no file of the project names it.
INVALIDATED = re.compile("privacy" + r"[\s\-]*" + "shield", re.IGNORECASE)
LIST_HEADING = re.compile(r"[:：]\s*$")


def readable(page: str) -> str:
    """The HTML part as a reader sees it: no tags, no entities."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def empty_lists(email: RenderedEmail) -> list[str]:
    """A heading with nothing under it: an empty <ul> or table; in the text, a line ending in ':' with a blank
    line under it (a link or a command may follow a blank), or a section heading with no section."""
    found = re.findall(r"<(?:ul|ol|table)[^>]*>\s*</(?:ul|ol|table)>", email.html)
    lines = [*email.text.split("\n"), "", ""]
    for i, line in enumerate(lines[:-2]):
        under, then = lines[i + 1], lines[i + 2]
        if LIST_HEADING.search(line) and not under.strip() and not re.match(r"\s*(https?://|dsr )", then):
            found.append(line)
        following = next((rest for rest in lines[i + 1 :] if rest.strip()), "")
        if _heading(line) and (not following or _heading(following)):
            found.append(line)
    return found


def _heading(line: str) -> bool:
    """The text part's section headings are in capitals (VOS RECOURS, DATA KEPT AND WHY)."""
    letters = re.sub(r"[^A-Za-zÀ-ÿ]", "", line)
    return len(letters) > 6 and letters.isupper()


def problems(email: RenderedEmail) -> list[str]:
    issues = empty_lists(email)
    for text in (email.subject, email.text, readable(email.html)):
        prose = LINK.sub("", COMMAND.sub("", text))
        issues += [f"raw code {code!r}" for code in RAW_CODE.findall(prose)]
        issues += [f"ISO date {d!r}" for d in ISO_DATE.findall(prose)]
        issues += ["a mapping printed as it is"] if re.search(r"\{'(fr|en)'", text) else []
        issues += ["the invalidated EU-US framework"] if INVALIDATED.search(text) else []
    return issues


def rendered(ctx, sent: Sent, message_type: str, language: str) -> RenderedEmail:
    state = sent.state.model_copy(update={"language": Language(language)})
    recipient = "dpo" if message_type.startswith("dpo_") else "subject"
    recipient = "requester" if message_type == "challenge_unanswered" else recipient
    command = SendEmail(f"email:{message_type}", message_type, recipient, dict(sent.params))
    return render_request(ctx, email_for(ctx, state, command, sent.now))


# --- the DPO's e-mails, from real cases too -------------------------------------------------------


def _dpo_sends(ctx, shape: Shape) -> dict[str, list[Sent]]:
    processing = worked(ctx, Right.ERASURE, shape)
    task = next(iter(processing.tasks.values()))
    detail = {"task_id": task.task_id, "system": task.system, "action": task.action.value}
    return {
        "dpo_deadline_reminder": [
            Sent(state, {"days": days}, T0 + timedelta(days=26))
            for state in (processing, started(ctx, Right.ACCESS, Shape(shape.holdings)))  # awaiting_verification
            for days in (10, 2)
        ],
        "dpo_task_failed": [Sent(processing, {**detail, "error": "OperationalError"})],
        "dpo_task_overdue": [Sent(processing, {**detail, "issued_at": T0.isoformat()}, T0 + timedelta(hours=5))],
        "dpo_decision_needed": [Sent(state, {"kind": kind}) for kind, state in _waiting(ctx, shape)],
    }


def _waiting(ctx, shape: Shape):
    representative = {"identity_level": "L3", "representative_role": "lawyer", "mandate_provided": True}
    general = {"objection_scope": "legitimate_interest", "restriction_ground": "objection_pending"}
    yield "identity_review", started(ctx, Right.ACCESS, Shape(shape.holdings), **representative)
    yield "objection_general", started(ctx, Right.OBJECTION, Shape(shape.holdings), **general)
    yield "directives_on_file", started(ctx, Right.POST_MORTEM, _with_directives(shape), post_mortem=PROVEN)
    yield "death_notified", started(ctx, Right.POST_MORTEM, shape, post_mortem=DEATH)
    estate = {**PROVEN, "action": "estate_access"}
    yield "estate_access", started(ctx, Right.POST_MORTEM, shape, post_mortem=estate)
    yield "partial_refusal_due", worked(ctx, Right.ERASURE, Shape(shape.holdings, extended=True))
    asked = {
        "id_requested_at": T0,
        "id_request_reason": "sensitive_data",
        "document_received_at": T0 + timedelta(days=1),
    }
    yield "document_received", started(ctx, Right.ACCESS, Shape(shape.holdings)).model_copy(update=asked)


def parked_alert(ctx, language: str) -> RenderedEmail:
    outcome = email_for(ctx, opened(ctx, Right.ACCESS), SendEmail("email:receipt", "receipt", "subject"), T0)
    asyncio.run(park(ctx, outcome, "550 5.1.1 <camille@example.test>: Recipient address rejected"))
    notices = [
        EmailRequested.model_validate_json(v) for t, _, v in ctx.publisher.published if t == topics.NOTIFICATIONS
    ]
    alert = notices[-1].model_copy(update={"language": language})
    return render_request(ctx, alert)


def form_acknowledgements(language: str) -> list[RenderedEmail]:
    ctx = context()
    for kind in ("quote_requested", "contact_submitted", "job_application_submitted"):
        event = json.loads((EXAMPLES / f"dsr.form.{kind}.json").read_text())
        event["data"]["language"] = language
        asyncio.run(on_intake_message(ctx, json.dumps(event).encode()))
    published = [
        EmailRequested.model_validate_json(v) for t, _, v in ctx.publisher.published if t == topics.NOTIFICATIONS
    ]
    return [render_request(ctx, r) for r in published if r.message_type == "form_acknowledgement"]


def retention_report(ctx, language: str) -> RenderedEmail:
    register = ctx.register.register
    system = next(iter(register.systems))
    category = next(iter(register.systems[system].categories))
    ended = [Due(system, f"ref{n}", category, "rule", "delete", T0.date() - timedelta(days=n), 2) for n in (3, 40)]
    plan = make_plan(T0.date(), ended, [Hold("ref3", HELD)], unsupported=["billing"], waiting={system: 4})
    return render_request(ctx, report_email(plan, register, T0, language))


def recontact_email(ctx, language: str) -> RenderedEmail:
    """The prospect's one re-contact, as `dsr retention run` requests it (dsr.recontact)."""
    ask = Ask("ref-recontact", ("crm",), T0.date() + timedelta(days=10))
    recontact = Recontact(T0.date(), 30, [ask], {ask.subject_ref: "camille@example.test"}, {ask.subject_ref: language})
    mailing = Mailing(ctx.sealer.seal, ctx.config.secret_key, ctx.config.public_url, lambda: T0)
    return render_request(ctx, email_of(recontact, ask, mailing))


HELD = LegalHold(hold_id="h1", categories=["*"], ground="legal_claims", owner="legal", review_on=date(2028, 1, 1))


# --- the test -------------------------------------------------------------------------------------


def every_email(shape_name: str, language: str):
    shape = SHAPES[shape_name]
    ctx = context(T0 + timedelta(days=1))
    sends = {t: recipe(ctx, shape) for t, recipe in RECIPES.items()} | _dpo_sends(ctx, shape)
    for message_type, many in sends.items():
        for sent in many:
            yield message_type, rendered(ctx, sent, message_type, language)
    yield "dpo_mail_parked", parked_alert(ctx, language)
    yield "dpo_retention_report", retention_report(ctx, language)
    yield "retention_recontact", recontact_email(ctx, language)
    yield from (("form_acknowledgement", email) for email in form_acknowledgements(language))


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_message_type_tells_this_case_in_words(shape, language):
    seen = set()
    for message_type, email in every_email(shape, language):
        seen.add(message_type)
        assert not problems(email), (message_type, problems(email), email.text)
    assert seen == set(MESSAGE_TYPES)  # no message type escapes the check


def test_the_check_catches_what_it_is_for():
    page = "<ul style='x'>\n</ul>"
    bad = RenderedEmail("Statut : in_progress", "Systèmes mis à jour :\n\nPour toute question", page)
    assert {"raw code 'in_progress'"} <= set(problems(bad)) and len(empty_lists(bad)) == 2
    shield = RenderedEmail("x", "relies on the " + "Privacy" + " Shield", "<p>2027-04-05</p>")
    assert "the invalidated EU-US framework" in problems(shield) and "ISO date '2027-04-05'" in problems(shield)
