"""The systems a retention sweep asks: the built-in ones, the mapped SQL databases and the webhook systems."""

from __future__ import annotations

from dsr.composition import reference_adapters
from dsr.retention import PIPELINE_SYSTEM
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


NOT_ASKED = (
    "served by a consumer of its own that is not asked to scan (DSR_RETENTION_SCAN_SYSTEMS, DSR_KAFKA_BOOTSTRAP): "
    "sweep it by hand"
)
NO_ADAPTER = "in the register but not in DSR_SYSTEMS: no adapter scans or erases it; sweep it by hand"
OWN_RECORDS = "the pipeline's own case records: the workers purge them DSR_CASE_RETENTION_DAYS after closure (R51)"


def unadapted_systems(settings: Settings, register: Register, only: tuple[str, ...] = ()) -> dict[str, str]:
    """R44: the register's systems outside DSR_SYSTEMS, with why nothing sweeps them: their rules still apply."""
    served = set(settings.system_names())
    return {
        name: OWN_RECORDS if name == PIPELINE_SYSTEM else NO_ADAPTER
        for name in register.systems
        if name not in served and (not only or name in only)
    }
