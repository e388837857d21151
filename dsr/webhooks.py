"""Webhook systems from settings: DSR_WEBHOOKS gives each one's URL; its secret is derived from DSR_SECRET_KEY."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from dsr.settings import SettingsError
from gdpr.tokens import derived_secret
from handlers.protocol import DATA_ACTIONS
from handlers.webhook import DEFAULT_TIMEOUT, WebhookAdapter
from schemas.clock import utcnow
from schemas.tasks import TaskAction

WEBHOOKS_VAR = "DSR_WEBHOOKS"
SECRET_VAR = "DSR_WEBHOOK_SECRET_"  # noqa: S105 - a variable name, not a secret; + NAME: a secret the system's team imposes, instead of the derived one
ACTIONS_VAR = "DSR_WEBHOOK_ACTIONS_"  # + NAME: the verbs the system supports; default every data verb
MIN_SECRET_LENGTH = 32
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})  # plain http only there: Art. 32, data in transit
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class WebhookSystem:
    name: str
    url: str
    actions: frozenset[TaskAction]


def parse_webhooks(spec: str | None, environ: Mapping[str, str] = os.environ) -> tuple[WebhookSystem, ...]:
    """`billing=https://billing.example/dsr;crm2=https://...` (';' or new lines between systems)."""
    systems: dict[str, WebhookSystem] = {}
    for entry in filter(None, (e.strip() for e in re.split(r"[;\n]", spec or ""))):
        name, _, url = (part.strip() for part in entry.partition("="))
        if not _NAME.match(name) or not url:
            raise SettingsError(
                f"{WEBHOOKS_VAR}: each entry is NAME=URL (NAME: letters, digits, '-' or '_'), entries separated by ';'"
            )
        if name in systems:
            raise SettingsError(f"{WEBHOOKS_VAR}: system '{name}' is given twice")
        systems[name] = WebhookSystem(name, _check_url(name, url), _actions(name, environ))
    return tuple(systems.values())


def webhook_secret(secret_key: bytes, name: str, environ: Mapping[str, str] = os.environ) -> bytes:
    """DSR_WEBHOOK_SECRET_<NAME> if set, else hex HMAC(DSR_SECRET_KEY, "webhook:<name>"): the key is the text's
    bytes, as `dsr webhook-secret NAME` prints it. Rotating DSR_SECRET_KEY rotates every derived secret."""
    given = environ.get(env_var(SECRET_VAR, name))
    if given is not None:
        if len(given) < MIN_SECRET_LENGTH:
            raise SettingsError(f"{env_var(SECRET_VAR, name)}: give at least {MIN_SECRET_LENGTH} characters")
        return given.encode()
    return derived_secret(secret_key, f"webhook:{name}").encode()


def webhook_adapters(
    spec: str | None,
    systems: Iterable[str],
    secret_key: bytes,
    timeout: float = DEFAULT_TIMEOUT,
    environ: Mapping[str, str] = os.environ,
    clock: Callable[[], datetime] = utcnow,
) -> list[WebhookAdapter]:
    """One adapter per configured system; each must be in DSR_SYSTEMS, or no task would ever reach it."""
    configured, declared = parse_webhooks(spec, environ), set(systems)
    if missing := [w.name for w in configured if w.name not in declared]:
        raise SettingsError(
            f"{WEBHOOKS_VAR}: {', '.join(missing)} missing from DSR_SYSTEMS; a webhook system must be listed there too"
        )
    return [
        WebhookAdapter(
            w.name, w.url, webhook_secret(secret_key, w.name, environ), timeout=timeout, actions=w.actions, clock=clock
        )
        for w in configured
    ]


def env_var(prefix: str, name: str) -> str:
    return prefix + name.upper().replace("-", "_")


def _check_url(name: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{WEBHOOKS_VAR}: the URL of '{name}' must be https://host[:port]/path")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise SettingsError(f"{WEBHOOKS_VAR}: the URL of '{name}' must use https (plain http only on 127.0.0.1)")
    if parts.username or parts.password:
        raise SettingsError(
            f"{WEBHOOKS_VAR}: the URL of '{name}' must not hold credentials; the signature authenticates each call"
        )
    return url


def _actions(name: str, environ: Mapping[str, str]) -> frozenset[TaskAction]:
    text = environ.get(env_var(ACTIONS_VAR, name))
    if text is None:
        return DATA_ACTIONS
    words = {w.strip() for w in text.split(",") if w.strip()}
    known = {a.value for a in DATA_ACTIONS}
    if not words or words - known:
        raise SettingsError(f"{env_var(ACTIONS_VAR, name)}: a comma-separated list among {', '.join(sorted(known))}")
    return frozenset(TaskAction(w) for w in words)
