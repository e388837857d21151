"""Turns a SendEmail command into an e-mail request: template values, personal parts sealed."""
from __future__ import annotations

from datetime import datetime

from gdpr.deadlines import receipt_day
from gdpr.lifecycle import CaseState, SendEmail, stable_id
from gdpr.tokens import Token, sign_token
from schemas.notifications import EmailRequested, Recipient
from schemas.tasks import TaskAction
from streams.context import Context
from streams.intake import reference


def email_for(ctx: Context, state: CaseState, command: SendEmail, now: datetime) -> EmailRequested:
    public, secret = _values(ctx, state, command, now)
    to_subject = command.recipient == Recipient.SUBJECT
    if to_subject and state.subject is None:
        raise ValueError("case has no sealed subject to write to")
    return EmailRequested(
        message_id=stable_id(state.request_id, command.command_id),
        request_id=state.request_id,
        message_type=command.message_type,
        language=state.language.value if to_subject else ctx.config.dpo_language,
        recipient=Recipient(command.recipient),
        to=state.subject if to_subject else None,
        context={"case_reference": reference(state.request_id), **public},
        sealed_context=ctx.sealer.seal_existing(state.subject_ref, secret) if secret else None,
        requested_at=now,
    )


def _values(ctx: Context, state: CaseState, command: SendEmail, now: datetime) -> tuple[dict, dict]:
    """(public, secret) template values for one message type."""
    received_on = receipt_day(state.received_at).isoformat()
    kind = command.message_type
    if kind == "receipt":
        return {"right": state.right.value, "received_on": received_on, "deadline": state.deadline.isoformat()}, {}
    if kind == "verification":
        return _verification(ctx, state, command, now)
    if kind == "outcome_erasure":
        return _erasure_outcome(state, received_on, now), {}
    if kind == "outcome_access":
        return _access_outcome(ctx, state, received_on, now)
    if kind == "outcome_no_data":
        return {"received_on": received_on, "right": state.right.value}, {}
    return _dpo_values(state, command, now), {}


def _verification(ctx: Context, state: CaseState, command: SendEmail, now: datetime) -> tuple[dict, dict]:
    expires = now + ctx.config.verification_ttl
    token = sign_token(ctx.config.secret_key, Token("verify", state.request_id, command.params["token_id"], expires))
    public = {"right": state.right.value, "expires_on": receipt_day(expires).isoformat()}
    return public, {"verify_url": f"{ctx.config.public_url}/verify/{token}"}


def _erasure_outcome(state: CaseState, received_on: str, now: datetime) -> dict:
    erased = state.tasks_for(TaskAction.ERASE)
    return {
        "received_on": received_on,
        "completed_on": receipt_day(now).isoformat(),
        "systems": [{"name": system_label(t.system), "erased_items": t.erased_items}
                    for t in sorted(erased, key=lambda t: t.system)],
        "kept": [{"system": system_label(t.system), "item": item_label(k.item, k.count), "ground": k.ground.value,
                  "until": k.until} for t in erased for k in t.kept],
    }


def _access_outcome(ctx: Context, state: CaseState, received_on: str, now: datetime) -> tuple[dict, dict]:
    expires = now + ctx.config.download_ttl
    token = sign_token(ctx.config.secret_key, Token("download", state.request_id, "package", expires))
    exports = sorted(state.tasks_for(TaskAction.EXPORT), key=lambda t: t.system)
    public = {
        "received_on": received_on,
        "download_expires_on": receipt_day(expires).isoformat(),
        "systems": [{"name": system_label(t.system), "item_count": t.exported_items} for t in exports],
    }
    return public, {"download_url": f"{ctx.config.public_url}/download/{token}"}


def _dpo_values(state: CaseState, command: SendEmail, now: datetime) -> dict:
    deadline = state.deadline.isoformat()
    if command.message_type == "dpo_deadline_reminder":
        days_left = (state.deadline - receipt_day(now)).days
        return {"right": state.right.value, "deadline": deadline, "days_left": days_left,
                "status": state.status.value}
    if command.message_type == "dpo_task_failed":
        return {"system": command.params["system"], "action": command.params["action"],
                "error": command.params["error"], "deadline": deadline}
    issued = datetime.fromisoformat(command.params["issued_at"])
    hours = int((now - issued).total_seconds() // 3600)
    return {"system": command.params["system"], "action": command.params["action"],
            "issued_at": command.params["issued_at"], "waited": f"{hours} h", "deadline": deadline}


SYSTEM_LABELS = {
    "crm": {"fr": "gestion de la relation client (CRM)", "en": "customer relationship management (CRM)"},
    "recruitment": {"fr": "recrutement", "en": "recruitment"},
    "newsletter": {"fr": "lettre d'information", "en": "newsletter"},
}
ITEM_LABELS = {
    "invoices": {"fr": "factures", "en": "invoices"},
    "suppression_entry": {"fr": "entrée de la liste d'opposition (empreinte de l'adresse)",
                          "en": "objection-list entry (fingerprint of the address)"},
}


def system_label(system: str) -> dict | str:
    """Names people understand, in both languages; a system plugged in later shows its own name."""
    return SYSTEM_LABELS.get(system, system)


def item_label(item: str, count: int | None) -> dict | str:
    label = ITEM_LABELS.get(item, {"fr": item, "en": item})
    if count is None:
        return label
    return {lang: f"{text} ({count})" for lang, text in label.items()}
