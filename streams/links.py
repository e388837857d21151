"""Signed links to a case's pages on the public listener: /verify, /download, /status, /upload (gdpr.tokens)."""

from __future__ import annotations

from datetime import datetime

from gdpr.lifecycle import stable_id
from gdpr.tokens import PURPOSES, Token, sign_token
from streams.context import Context

PATHS = {purpose: purpose for purpose in PURPOSES}  # each purpose has its page, named after it


def case_link(ctx: Context, request_id: str, purpose: str, expires: datetime, token_id: str | None = None) -> str:
    """`purpose` is checked by the page, so a link of one kind never opens another; the token is the credential."""
    token = Token(purpose, request_id, token_id or stable_id(request_id, purpose), expires)
    return f"{ctx.config.public_url}/{PATHS[purpose]}/{sign_token(ctx.config.secret_key, token)}"


def form_link(ctx: Context, form: str) -> str:
    """The privacy center's form of that name (streams.web.center.forms): public, no token."""
    return f"{ctx.config.public_url}/request/{form}"
