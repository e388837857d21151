"""POST /intake: websites post CloudEvents over HTTP with their own key; 202 once the broker acked."""

from __future__ import annotations

import hmac
import json
import re
from datetime import timedelta

from aiohttp import web

from gdpr.deadlines import compute_deadline
from gdpr.tokens import derived_secret
from schemas.base import WireModel
from schemas.cloudevents_binding import from_http
from schemas.intake import FORM_TYPES, CloudEvent, EventType, IntakeError, RightsRequested, parse_intake
from streams import topics
from streams.context import Context
from streams.intake import SITE_EXTENSION, checked_request, intake_id, reference
from streams.web.guards import body_of

SITE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
MINUTE = timedelta(minutes=1)
ANSWERS_KEPT = timedelta(days=30)  # a replayed id is answered as the first time for this long (then: deduplicated)


def site_key(secret: bytes, site: str) -> str:
    """The bearer key of one website (`dsr site-key NAME`): its name, signed with DSR_SECRET_KEY."""
    if not SITE_NAME.match(site):
        raise ValueError("a site name is lower-case letters, digits, '-' or '_' (at most 63)")
    return f"{site}.{derived_secret(secret, f'site:{site}')}"


def site_of(secret: bytes, authorization: str) -> str | None:
    """The site a bearer key names, if the key is genuine."""
    key = authorization.removeprefix("Bearer ").strip()
    site, _, _ = key.partition(".")
    if not SITE_NAME.match(site):
        return None
    return site if hmac.compare_digest(key.encode(), site_key(secret, site).encode()) else None


def _refusal(status: int, error: str, **extra) -> web.Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    return web.json_response({"error": error, **extra}, status=status, headers=headers)


class IntakeViews:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def post(self, request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization", "")
        if not authorization.startswith("Bearer "):
            return _refusal(401, "a site key is required: Authorization: Bearer <key from `dsr site-key NAME`>")
        site = site_of(self.ctx.config.secret_key, authorization)
        if site is None:
            return _refusal(403, "this site key is not valid")
        try:
            raws = from_http(request.headers, body_of(request))
        except IntakeError as exc:
            return _refusal(400, str(exc))
        wait = self.ctx.doors.hit(
            f"site:{site}", self.ctx.clock(), MINUTE, self.ctx.config.intake_per_minute, len(raws)
        )
        if wait:
            return web.json_response(
                {"error": f"more than {self.ctx.config.intake_per_minute} events a minute from this site"},
                status=429,
                headers={"Retry-After": str(int(wait + 0.999))},
            )
        stamped = [with_site(raw, site) for raw in raws]
        return await self._accept_all(stamped, batch=len(raws) > 1 or "batch" in request.content_type)

    async def _accept_all(self, raws: list[bytes], batch: bool) -> web.Response:
        parsed, errors = validated(raws)
        if errors:  # nothing of a batch is published unless all of it is valid
            return _refusal(400, "invalid CloudEvent(s): nothing was accepted", events=errors)
        answers = [await accept(self.ctx, event, data) for event, data in parsed]
        return web.json_response({"accepted": answers} if batch else answers[0], status=202)


def with_site(raw: bytes, site: str) -> bytes:
    """The event as the pipeline keeps it: with the site its key names (whatever the body said), so that two
    sites' events with the same id are two events (streams.intake.intake_id)."""
    try:
        envelope = json.loads(raw)
    except ValueError:
        return raw  # parse_intake names the fault
    return json.dumps({**envelope, SITE_EXTENSION: site}).encode() if isinstance(envelope, dict) else raw


def validated(raws: list[bytes]) -> tuple[list[tuple[CloudEvent, WireModel]], list[dict]]:
    """Every event checked by the same rules as on dsr.intake, with the reasons per event and field."""
    parsed, errors = [], []
    for index, raw in enumerate(raws):
        try:
            event, data = parse_intake(raw)
            if isinstance(data, RightsRequested):
                _check(checked_request, data)
            parsed.append((event, data))
        except IntakeError as exc:
            errors.append({"index": index, "reasons": exc.reasons})
    return parsed, errors


def _check(rule, data) -> None:
    try:
        rule(data)
    except ValueError as exc:
        raise IntakeError(str(exc), [{"field": "data", "reason": str(exc)}]) from None


async def accept(ctx: Context, event: CloudEvent, data: WireModel) -> dict:
    """Publish once; an event seen before (the same site, source and id) is answered as it was the first time,
    and nothing is published again."""
    key = f"intake:{intake_id('event', event)}"
    if (known := ctx.doors.answer(key)) is not None:
        return json.loads(known)
    await ctx.publisher.publish(topics.INTAKE, event.id, event.to_structured())  # waits for the broker's ack
    answer = intake_answer(event, data)
    ctx.doors.remember_answer(key, json.dumps(answer), ctx.clock())
    return answer


def intake_answer(event: CloudEvent, data: WireModel) -> dict:
    """What the pipeline will do with the event: the case reference and legal deadline of a rights request
    (Art. 12(3), R8), computed as the coordinator will."""
    answer = {"id": event.id, "type": event.type.value, "status": "accepted"}
    if isinstance(data, RightsRequested):
        request_id = intake_id("request", event)
        received = data.submitted_time or event.time  # R2, as streams.intake opens the case
        deadline = compute_deadline(received).d1
        return answer | {
            "subject_request_id": request_id,
            "reference": reference(request_id),
            "deadline": str(deadline),
        }
    if event.type in FORM_TYPES or event.type == EventType.CONSENT_CHANGED:
        return answer | {"reference": reference(intake_id("submission", event))}
    return answer
