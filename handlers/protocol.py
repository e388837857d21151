"""The adapter protocol: what a system holding personal data must be able to do, and say it can do."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from schemas.intake import Right
from schemas.tasks import KeptItem, TaskAction


@dataclass(frozen=True)
class Subject:
    """Who a task is about, opened from the sealed task field."""

    email: str
    name: str = ""


@dataclass(frozen=True)
class LookupAnswer:
    holds_data: bool
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ErasureReport:
    erased_items: int
    kept: tuple[KeptItem, ...] = ()


@dataclass(frozen=True)
class Export:
    """The subject's data in one system: records grouped by category, each field tagged by origin."""

    records: dict[str, list[dict]] = field(default_factory=dict)

    def item_count(self) -> int:
        return sum(len(rows) for rows in self.records.values())


@dataclass(frozen=True)
class Capabilities:
    actions: frozenset[TaskAction]
    rights: frozenset[Right]


class Adapter(Protocol):
    """A system holding personal data. Every verb is idempotent: the runtime may call it twice.

    Contract (tests/contract/test_adapters.py): lookup reflects what record_submission stored;
    export returns every record of the subject; erase removes them (or reports what it keeps
    and why) and a second erase finds nothing more; lookup after erase says holds_data=False
    unless items were kept.
    """

    name: str
    capabilities: Capabilities

    def record_submission(self, submission_id: str, kind: str, subject: Subject, data: dict) -> None: ...

    def lookup(self, subject: Subject) -> LookupAnswer: ...

    def export(self, subject: Subject) -> Export: ...

    def erase(self, subject: Subject) -> ErasureReport: ...


class UnknownSystem(LookupError):
    pass


class AdapterRegistry:
    """Adapters by system name; asking for a missing one fails loudly with the fix."""

    def __init__(self, adapters: list[Adapter] | None = None) -> None:
        self._adapters = {a.name: a for a in adapters or []}

    def register(self, adapter: Adapter) -> None:
        self._adapters[adapter.name] = adapter

    def get(self, system: str) -> Adapter:
        try:
            return self._adapters[system]
        except KeyError:
            known = ", ".join(sorted(self._adapters)) or "none"
            raise UnknownSystem(
                f"no built-in adapter for system '{system}' (built-in: {known}); either register one or "
                f"remove '{system}' from DSR_BUILTIN_ADAPTERS and let its own consumer read dsr.tasks.{system}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._adapters)
