"""The systems a retention sweep asks: the built-in ones, the mapped SQL databases and the webhook systems."""

from __future__ import annotations

from dsr.composition import reference_adapters
from dsr.settings import Settings
from dsr.sql_adapters import sql_adapters
from dsr.webhooks import webhook_adapters
from gdpr.register import Register


def scanned_systems(
    settings: Settings, secret: bytes, register: Register, only: tuple[str, ...] = ()
) -> tuple[list[object], list[str]]:
    """(adapters in this process, systems served by a consumer of their own, which cannot be scanned from here)."""
    registry = reference_adapters(settings, secret)
    mapped = sql_adapters(settings.sql_adapters, set(register.retention_rules))
    hooks = webhook_adapters(settings.webhooks, settings.system_names(), secret, settings.webhook_timeout)
    for adapter in [*hooks, *mapped]:
        registry.register(adapter)
    in_process = set(registry.names())
    names = [n for n in settings.system_names() if not only or n in only]
    return [registry.get(n) for n in names if n in in_process], [n for n in names if n not in in_process]
