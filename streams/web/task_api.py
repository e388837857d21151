"""The external systems' task API: a system opens the tasks sent to it, and seals its answers, with its own token."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

from pydantic import ValidationError, model_validator

from gdpr.sealing import Lease
from gdpr.tokens import derived_secret
from schemas.base import WireModel
from schemas.intake import describe
from schemas.scans import SealedSubject, SealedSubjects, SubjectsToSeal
from schemas.tasks import Task
from streams.context import Context
from streams.sealing import NotAddressed, SubjectForgotten

SCAN_LEASE = timedelta(days=1)  # a scan's sealed addresses are opened by the plan made at once


def system_token(secret: bytes, system: str) -> str:
    """The bearer token an external system uses to open its tasks (`dsr system-token NAME`)."""
    return derived_secret(secret, f"system:{system}")


def open_task(ctx: Context, authorization: str, body: bytes) -> tuple[int, dict]:
    """Unseal the subject (and payload) of a task for the system it was sent to, while the key exists.
    The values are sealed for that system alone: a task relabelled for another system opens for nobody."""
    try:
        task = Task.model_validate_json(body)
    except ValidationError as exc:
        return 400, {"error": f"not a task: {describe(exc)}"}
    if not _token_of(ctx, authorization, task.system):
        return 403, {"error": f"this token does not open tasks of system '{task.system}'"}
    try:
        payload = ctx.sealer.open_for(task.system, task.payload) if task.payload else None
        return 200, {
            "task_id": task.task_id,
            "subject": ctx.sealer.open_for(task.system, task.subject),
            "payload": payload,
        }
    except NotAddressed:
        return 403, {"error": f"this task was not sent to system '{task.system}'"}
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
    if not _token_of(ctx, authorization, task.system):
        return 403, {"error": f"this token does not seal answers of system '{task.system}'"}
    value = {"system": task.system, "records": request.export.records} if request.export else request.changes
    try:
        ctx.sealer.open_for(task.system, task.subject)  # the task was issued to this system, for this subject
        return 200, ctx.sealer.seal_existing(task.subject.subject_ref, value).model_dump(exclude_none=True)
    except NotAddressed:
        return 403, {"error": f"this task was not sent to system '{task.system}'"}
    except SubjectForgotten:
        return 410, {"error": "the subject's data were erased; nothing may be sealed for them"}


def seal_subjects(ctx: Context, authorization: str, body: bytes) -> tuple[int, dict]:
    """R44: a system answering a retention scan names each person by subject_ref and seals their address under
    their key, so that no address travels in clear on the scan topic. The key is created if the person has
    none yet, as the sweep would create it to seal the erase task, under a lease of a day (SCAN_LEASE): the sweep
    that follows the scan leases it for its tasks; a person the plan leaves out loses it with the lease."""
    try:
        request = SubjectsToSeal.model_validate_json(body)
    except ValidationError as exc:
        return 400, {"error": f"not a list of subjects to seal: {describe(exc)}"}
    if not _token_of(ctx, authorization, request.system):
        return 403, {"error": f"this token does not seal subjects of system '{request.system}'"}
    until = ctx.clock() + SCAN_LEASE
    sealed = [_sealed_subject(ctx, request.system, email, until) for email in request.emails]
    return 200, SealedSubjects(subjects=sealed).model_dump(mode="json", exclude_none=True)


def _sealed_subject(ctx: Context, system: str, email: str, until: datetime) -> SealedSubject:
    ref = ctx.sealer.ref(email)
    lease = Lease(f"retention-scan:{system}:{ref}", until)
    return SealedSubject(subject_ref=ref, subject=ctx.sealer.seal(ref, {"email": email}, lease=lease))


def known_system(ctx: Context, authorization: str) -> bool:
    """Whether the bearer token is that of a system tasks are sent to (a system or an Art. 19 recipient)."""
    systems = {*ctx.config.systems, *ctx.register.register.recipients}
    return any(_token_of(ctx, authorization, system) for system in systems)


def _token_of(ctx: Context, authorization: str, system: str) -> bool:
    expected = f"Bearer {system_token(ctx.config.secret_key, system)}"
    return hmac.compare_digest(authorization.encode(), expected.encode())
