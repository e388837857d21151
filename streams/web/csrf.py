"""CSRF protection without a session: a signed double-submit token, in a SameSite=Strict cookie and in the form."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from aiohttp import web

COOKIE = "dsr_csrf"
FIELD = "csrf"
LIFETIME = timedelta(hours=12)


def _mac(secret: bytes, nonce: str, issued: int) -> str:
    return hmac.new(secret, f"csrf:{nonce}:{issued}".encode(), hashlib.sha256).hexdigest()[:32]


def new_token(secret: bytes, now: datetime) -> str:
    nonce, issued = secrets.token_urlsafe(16), int(now.timestamp())
    return f"{nonce}.{issued}.{_mac(secret, nonce, issued)}"


def genuine(secret: bytes, token: str, now: datetime) -> bool:
    nonce, issued, mac = (token.split(".") + ["", "", ""])[:3]
    if not issued.isdigit() or not hmac.compare_digest(mac, _mac(secret, nonce, int(issued))):
        return False
    return now.timestamp() - int(issued) < LIFETIME.total_seconds()


def token_for(request: web.Request, secret: bytes, now: datetime) -> str:
    """The browser's token if it still holds a genuine one, else a new one (`remember` sets it)."""
    held = request.cookies.get(COOKIE, "")
    return held if genuine(secret, held, now) else new_token(secret, now)


def remember(request: web.Request, response: web.StreamResponse, token: str, path: str = "/") -> None:
    # SameSite=Strict: a form posted from another site arrives without the cookie, so it fails the check.
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=served_over_https(request), path=path)


def checked(request: web.Request, form: dict[str, str], secret: bytes, now: datetime) -> bool:
    """A POST is genuine when its form carries the token its own cookie holds, signed by us and recent."""
    held, sent = request.cookies.get(COOKIE, ""), form.get(FIELD, "")
    return bool(sent) and hmac.compare_digest(held, sent) and genuine(secret, sent, now)


def served_over_https(request: web.Request) -> bool:
    """Behind the TLS proxy the listener itself speaks HTTP: the proxy says it with X-Forwarded-Proto."""
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"
