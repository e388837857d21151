"""The privacy center's requests: the list of rights, one form per right, and what a submission publishes."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import date, timedelta

from aiohttp import web

from gdpr.tokens import derived_secret
from schemas.intake import EventType, RightsRequested
from streams.context import Context
from streams.web import csrf
from streams.web.center.forms import FORMS, Form, form_fields, missing, request_data
from streams.web.center.pages import day, labels, language_of, message, render
from streams.web.guards import body_of
from streams.web.intake_api import accept, validated

HOUR = timedelta(hours=1)


class CenterViews:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def home(self, request: web.Request) -> web.Response:
        language = language_of(request)
        return render(self.ctx, request, "home", language, labels(language)["t"]["site"])

    async def form(self, request: web.Request) -> web.Response:
        form = _form(request)
        return self._form_page(request, form, language_of(request), {}, {})

    def _form_page(self, request, form: Form, language: str, values: dict, errors: dict, status: int = 200):
        heading, sentence = dict(labels(language)["rights"])[form.name]
        return render(
            self.ctx, request, "form", language, heading, status,
            form=form, heading=heading, sentence=sentence, values=values, errors=errors,
        )  # fmt: skip

    async def submit(self, request: web.Request) -> web.Response:
        form, values = _form(request), form_fields(body_of(request))
        language = language_of(request, values)
        if not csrf.checked(request, values, self.ctx.config.secret_key, self.ctx.clock()):
            return message(self.ctx, request, language, "expired", 403)
        t = labels(language)["t"]
        if empty := missing(form, values):
            errors = dict.fromkeys(empty, t["error_required"])
            return self._form_page(request, form, language, values, errors, 400)
        raw = json.dumps(cloud_event(self.ctx, form, values, language)).encode()
        parsed, problems = validated([raw])  # the rules of dsr.intake and POST /intake, nothing else
        if problems:
            return self._form_page(request, form, language, values, field_errors(form, problems[0], t), 400)
        return await self._publish(request, language, *parsed[0])

    async def _publish(self, request: web.Request, language: str, event, data: RightsRequested) -> web.Response:
        wait = self._limited(request, data)
        if wait:
            response = message(self.ctx, request, language, "limited", 429, minutes=max(1, round(wait / 60)))
            response.headers["Retry-After"] = str(int(wait))
            return response
        answer = await accept(self.ctx, event, data)
        deadline = day(date.fromisoformat(answer["deadline"]), language)
        title = labels(language)["t"]["received_title"]
        return render(self.ctx, request, "received", language, title, reference=answer["reference"], deadline=deadline)

    def _limited(self, request: web.Request, data: RightsRequested) -> float:
        """Per address and per client, counted by every worker; the same whether the address is known or not."""
        config, now = self.ctx.config, self.ctx.clock()
        address = f"address:{self.ctx.sealer.ref(data.email())}"  # a keyed hash: no address at rest
        by_address = self.ctx.doors.hit(address, now, HOUR, config.requests_per_address)
        by_client = self.ctx.doors.hit(f"client:{client_ref(self.ctx, request)}", now, HOUR, config.requests_per_ip)
        return max(by_address, by_client)


def _form(request: web.Request) -> Form:
    form = FORMS.get(request.match_info["form"])
    if form is None:
        raise web.HTTPNotFound()
    return form


def cloud_event(ctx: Context, form: Form, values: dict[str, str], language: str) -> dict:
    """The same CloudEvent a website would publish (DESIGN: one contract for every door)."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": f"{ctx.config.public_url}/",
        "type": EventType.RIGHTS_REQUESTED.value,
        "time": ctx.clock().isoformat(),
        "datacontenttype": "application/json",
        "data": request_data(form, values, language),
    }


def field_errors(form: Form, problem: dict, t: dict) -> dict[str, str]:
    """Each reason on the field it is about; what belongs to no field goes on top of the form."""
    names = {f.name for f in form.fields}
    errors: dict[str, str] = {}
    for reason in problem["reasons"]:
        path = reason["field"].split(".")
        found = next((p for p in reversed(path) if p in names), None)
        if found is None and "subject_identities" in path:
            found = "deceased_email" if "deceased_email" in names else "email"
        if found is None and "rectification" in reason["reason"]:
            errors[""] = t["error_form"]
            continue
        errors[found or ""] = t["error_invalid"]
    return errors


def client_ref(ctx: Context, request: web.Request) -> str:
    """A keyed hash of the client's address (never the address itself); behind a proxy, the hop it added."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    address = forwarded.split(",")[-1].strip() if ctx.config.trust_forwarded_for and forwarded else request.remote
    key = derived_secret(ctx.config.secret_key, "client-address").encode()
    return hmac.new(key, (address or "").encode(), hashlib.sha256).hexdigest()[:32]
