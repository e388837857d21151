"""Who a request is about, in OpenDSR vocabulary."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, Field

from schemas.base import WireModel


class IdentityType(StrEnum):
    EMAIL = "email"
    PHONE_NUMBER = "phone_number"


class SubjectIdentity(WireModel):
    """One identifier of the data subject (OpenDSR `subject_identities` item)."""

    identity_type: IdentityType = Field(description="Kind of identifier.", examples=["email"])
    identity_value: str = Field(
        min_length=3, max_length=320, description="The identifier itself.", examples=["jeanne.martin@example.fr"]
    )
    identity_format: Literal["raw"] = Field(
        default="raw", description="Only raw values are accepted at intake.", examples=["raw"]
    )


def _valid_email(value: str) -> str:
    # Syntax only, no DNS; reserved test domains (RFC 6761 `.test`) allowed for demos and tests.
    try:
        return validate_email(value, check_deliverability=False, test_environment=True).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid e-mail address ({str(exc).split(':')[0]})") from None


EmailStr = Annotated[str, AfterValidator(_valid_email), Field(max_length=320)]


def normalize_email(value: str) -> str:
    """The canonical form used for matching and for the keyed subject hash."""
    return value.strip().lower()


__all__ = ["EmailStr", "IdentityType", "SubjectIdentity", "normalize_email"]
