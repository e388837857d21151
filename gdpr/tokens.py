"""Signed, expiring tokens for a case's links (HMAC-SHA256); single use, where needed, is enforced by the case."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from gdpr.sealing import b64url, unb64url

# Each page checks the purpose of its token, so a link of one kind never opens another: confirm a request (a POST
# only), download its copy, follow it (status, withdraw), upload the document asked for (R14, R16).
PURPOSES = ("verify", "download", "status", "upload")


class TokenError(ValueError):
    """A link that must not be honoured; `reason` is safe to show."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Token:
    purpose: str
    request_id: str
    token_id: str
    expires_at: datetime


def derived_secret(secret: bytes, purpose: str) -> str:
    """A secret of its own for one purpose (a system's token, the DPO API, a webhook), derived from
    DSR_SECRET_KEY: hex HMAC-SHA256 of the purpose. Rotating the key rotates every derived secret."""
    return hmac.new(secret, purpose.encode(), hashlib.sha256).hexdigest()


def _mac(secret: bytes, body: str) -> str:
    return b64url(hmac.new(secret, b"dsr-token:" + body.encode(), hashlib.sha256).digest())


def sign_token(secret: bytes, token: Token) -> str:
    claims = {"p": token.purpose, "r": token.request_id, "t": token.token_id, "e": int(token.expires_at.timestamp())}
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    return f"{body}.{_mac(secret, body)}"


def verify_token(secret: bytes, text: str, purpose: str, now: datetime) -> Token:
    """Check signature, purpose and expiry, in that order; raise TokenError otherwise."""
    body, _, mac = text.partition(".")
    if not body or not mac:
        raise TokenError("malformed")
    if not hmac.compare_digest(mac, _mac(secret, body)):
        raise TokenError("bad_signature")
    token = _decode(body)
    if token.purpose != purpose:
        raise TokenError("wrong_purpose")
    if now >= token.expires_at:
        raise TokenError("expired")
    return token


def signed_request_id(secret: bytes, text: str, purpose: str) -> str | None:
    """The request a genuine link of `purpose` names, expired or not; None for anything else. Only for
    choosing the language of the page that says the link cannot be honoured."""
    body, _, mac = text.partition(".")
    if not body or not mac or not hmac.compare_digest(mac, _mac(secret, body)):
        return None
    try:
        token = _decode(body)
    except TokenError:
        return None
    return token.request_id if token.purpose == purpose else None


def _decode(body: str) -> Token:
    try:
        claims = json.loads(unb64url(body))
        expires = datetime.fromtimestamp(int(claims["e"]), tz=UTC)
        return Token(str(claims["p"]), str(claims["r"]), str(claims["t"]), expires)
    except (ValueError, KeyError, TypeError) as exc:
        raise TokenError("malformed") from exc
