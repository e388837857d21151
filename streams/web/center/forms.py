"""One form per right the policy promises, and the dsr.rights.requested data a filled form becomes."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from schemas.intake import Channel, ObjectionScope, RestrictionGround, Right


@dataclass(frozen=True)
class Field:
    name: str
    kind: str = "text"  # text, email, tel, textarea, select, checkboxes, checkbox
    required: bool = False
    options: tuple[str, ...] = ()
    autocomplete: str = ""


EMAIL = Field("email", "email", required=True, autocomplete="email")
NAME = Field("name", autocomplete="name")


@dataclass(frozen=True)
class Form:
    name: str
    right: Right
    fields: tuple[Field, ...]


FORMS: dict[str, Form] = {
    form.name: form
    for form in (
        Form("access", Right.ACCESS, (EMAIL, NAME)),
        Form(
            "rectification",
            Right.RECTIFICATION,
            (
                EMAIL,
                NAME,
                Field("first_name", autocomplete="given-name"),
                Field("last_name", autocomplete="family-name"),
                Field("phone", "tel", autocomplete="tel"),
                Field("street", autocomplete="street-address"),
                Field("postal_code", autocomplete="postal-code"),
                Field("city", autocomplete="address-level2"),
            ),
        ),
        Form("erasure", Right.ERASURE, (EMAIL, NAME)),
        Form(
            "restriction",
            Right.RESTRICTION,
            (EMAIL, NAME, Field("ground", "select", True, tuple(g.value for g in RestrictionGround))),
        ),
        Form("portability", Right.PORTABILITY, (EMAIL, NAME)),
        Form(
            "objection",
            Right.OBJECTION,
            (EMAIL, NAME, Field("scope", "select", True, tuple(s.value for s in ObjectionScope))),
        ),
        Form(
            "consent_withdrawal",
            Right.CONSENT_WITHDRAWAL,
            (EMAIL, NAME, Field("channels", "checkboxes", options=tuple(c.value for c in Channel))),
        ),
        Form(
            "directives",
            Right.POST_MORTEM,
            (
                EMAIL,
                NAME,
                Field("instructions", "textarea", required=True),
                Field("executor_name", autocomplete="off"),
                Field("specific_consent", "checkbox", required=True),
            ),
        ),
        Form(
            "death",
            Right.POST_MORTEM,
            (
                Field("deceased_email", "email", required=True, autocomplete="off"),
                Field("deceased_name", required=True, autocomplete="off"),
                Field("requester_role", "select", True, ("heir", "executor")),
                Field("requester_name", required=True, autocomplete="name"),
                Field("contact_email", "email", required=True, autocomplete="email"),
            ),
        ),
    )
}


def form_fields(body: bytes) -> dict[str, str]:
    """An application/x-www-form-urlencoded body; a repeated name (checkboxes) keeps every value, comma-joined."""
    fields: dict[str, str] = {}
    for name, value in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
        fields[name] = ",".join(v for v in (fields.get(name, ""), value.strip()) if v)
    return fields


def missing(form: Form, values: dict[str, str]) -> list[str]:
    return [f.name for f in form.fields if f.required and not values.get(f.name)]


def request_data(form: Form, values: dict[str, str], language: str) -> dict:
    """The `data` of the CloudEvent a filled form publishes; the pipeline checks it as any other (parse_intake)."""
    email = values.get("deceased_email") if form.name == "death" else values.get("email")
    data = {
        "subject_request_type": form.right.value,
        "subject_identities": [{"identity_type": "email", "identity_value": email or ""}],
        "language": language,
        **({"subject_name": name} if (name := values.get("name") or values.get("deceased_name")) else {}),
    }
    return data | EXTRA.get(form.name, lambda v: {})(values)


def _rectification(values: dict[str, str]) -> dict:
    names = {k: values[k] for k in ("first_name", "last_name", "phone") if values.get(k)}
    address = {k: values.get(k, "") for k in ("street", "postal_code", "city")}
    if any(address.values()):
        names["postal_address"] = address
    return {"rectification": names}


EXTRA = {
    "rectification": _rectification,
    "restriction": lambda v: {"restriction_ground": v.get("ground") or None},
    "objection": lambda v: {"objection_scope": v.get("scope") or None},
    "consent_withdrawal": lambda v: {"channels": [c for c in v.get("channels", "").split(",") if c]},
    "directives": lambda v: {
        "post_mortem": {
            "action": "record_directive",
            "instructions": v.get("instructions", ""),
            "executor_name": v.get("executor_name") or None,
            "specific_consent": v.get("specific_consent") == "yes",  # its own box, never the terms (R38)
        }
    },
    "death": lambda v: {
        "contact_email": v.get("contact_email") or None,
        "post_mortem": {
            "action": "notify_death",
            "requester_role": v.get("requester_role") or None,
            "requester_name": v.get("requester_name") or None,
        },
    },
}
