"""The retention sweep's plan, pure: what the systems report past its end, less what legal holds keep (R44, R46)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cached_property

from gdpr.register import Register
from schemas.tasks import LegalHold

SWEEP_NAMESPACE = uuid.UUID("5b0c7d3e-2f43-4c1e-9d7a-0e6f1c2b8a11")
NO_SCAN = "it does not support retention_scan: sweep it by hand"


class SystemStatus(StrEnum):
    """How a system took part in the plan."""

    SCANNED = "scanned"
    UNSUPPORTED = "unsupported"  # it declares no retention_scan: the DPO sweeps it by hand (R44)
    UNANSWERED = "unanswered"  # asked on its task topic, it did not answer in time or its scan failed (`reason`)


@dataclass(frozen=True)
class Due:
    """One category of one person past its end in one system; the person by subject_ref only."""

    system: str
    subject_ref: str
    category: str
    rule: str
    action: str
    end_date: date
    count: int = 1


@dataclass(frozen=True)
class Unswept:
    """A system no scan reaches (R44): why, and the categories the register gives it there as (category, rule,
    action), rules that nobody carries out unless the DPO does. Without categories, one row names the system."""

    system: str
    reason: str = NO_SCAN
    categories: tuple[tuple[str, str, str], ...] = ()


def unswept(system: str, reason: str = NO_SCAN, register: Register | None = None) -> Unswept:
    """The system with the rules the register gives its categories (none for a system it does not describe)."""
    entry = register.systems.get(system) if register else None
    if entry is None or register is None:
        return Unswept(system, reason)
    rules = register.retention_rules
    return Unswept(
        system, reason, tuple((c, k.retention, rules[k.retention].action.value) for c, k in entry.categories.items())
    )


@dataclass(frozen=True)
class Purge:
    """Records past their end in one system that it purges by itself, not person by person (R44): kept by keyed
    hash (suppression fingerprints, R45) or ending one by one (archived invoices, L123-22). The sweep asks the
    system to delete them all at once; the plan counts them as records of no person to ask for."""

    system: str
    category: str
    rule: str
    action: str
    end_date: date
    last_end_date: date
    count: int
    held: int = 0  # of `count`, kept by a legal hold on their person (R46): the system leaves them

    def row(self) -> Row:
        dates = (self.end_date, self.last_end_date)
        return Row(
            self.system, self.category, self.rule, self.action, *dates, count=0, records=self.count, held=self.held
        )


@dataclass(frozen=True)
class Hold:
    """A recorded legal hold on a person's data (R46): in `system` only, or everywhere (None)."""

    subject_ref: str
    hold: LegalHold
    system: str | None = None


@dataclass(frozen=True)
class Item:
    """One erasure the sweep asks of one system: a person, their due categories, the holds that keep some.
    `by_category`: the system erases by category, and the task names `categories` (R44: the others still run);
    otherwise its scan reported the person only once every dated category was due, and the task asks for them whole."""

    system: str
    subject_ref: str
    categories: tuple[str, ...]
    end_date: date
    holds: tuple[LegalHold, ...] = ()
    by_category: bool = False

    def held(self) -> frozenset[str]:
        return frozenset(
            c for c in self.categories if any(c in h.categories or "*" in h.categories for h in self.holds)
        )


@dataclass(frozen=True)
class Row:
    """What the plan shows per system, category and rule: people due, records, end dates, people held."""

    system: str
    category: str | None
    rule: str | None
    action: str | None
    end_date: date | None  # the oldest end among them: how late the sweep is
    last_end_date: date | None
    count: int
    records: int = 0
    held: int = 0
    status: SystemStatus = SystemStatus.SCANNED
    reason: str | None = None  # unanswered: why, naming the system (no personal data)

    def to_json(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return out | {k: (v.isoformat() if isinstance(v, date) else v) for k, v in out.items()}


@dataclass(frozen=True)
class Plan:
    as_of: date
    rows: tuple[Row, ...]
    items: tuple[Item, ...] = field(repr=False)
    waiting: Mapping[str, int] = field(default_factory=dict)
    purges: tuple[Purge, ...] = ()

    @cached_property
    def plan_id(self) -> str:
        """Names the plan by what it would do: the same scan gives the same id (`dsr retention approve`)."""
        digest = hashlib.sha256(self.as_of.isoformat().encode())
        for item in self.items:
            whole = "" if item.by_category else ":whole"
            digest.update(f"|{item.system}:{item.subject_ref}:{','.join(item.categories)}{whole}".encode())
        for purge in self.purges:
            held = f":held {purge.held}" if purge.held else ""  # a plan naming no hold keeps its id
            digest.update(f"|purge:{purge.system}:{purge.category}:{purge.count}{held}".encode())
        return digest.hexdigest()[:16]

    @property
    def size(self) -> int:
        """People to erase, counted once per system."""
        return sum(1 for item in self.items if set(item.categories) - item.held())


def make_plan(
    as_of: date,
    due: Iterable[Due],
    holds: Iterable[Hold] = (),
    unsupported: Iterable[str | Unswept] = (),
    waiting: Mapping[str, int] | None = None,
    unanswered: Mapping[str, str] | None = None,
    purges: Iterable[Purge] = (),
    by_category: Iterable[str] = (),
) -> Plan:
    """R44: every due category of every person, grouped per system into one erasure each, which names exactly those
    categories in the systems `by_category` (they erase by category: the person's other data still run); R46: a
    hold's categories stay (the erase task carries the hold), and a person held in full is not asked for at all. Each
    system `unsupported` (a name, or an Unswept with its register's rules) is listed, per category when known."""
    due = sorted(due, key=lambda d: (d.system, d.subject_ref, d.category))
    by_person = _holds_by_person(holds)
    items = tuple(_items(due, by_person, frozenset(by_category)))
    held = {(i.system, i.subject_ref): i.held() for i in items}
    systems = {u.system: u for u in (u if isinstance(u, Unswept) else Unswept(u) for u in unsupported)}
    purges = tuple(sorted(purges, key=lambda p: (p.system, p.category)))
    rows = _rows(due, held) + tuple(p.row() for p in purges)
    rows += tuple(row for _, u in sorted(systems.items()) for row in _unsupported_rows(u))
    rows += tuple(_unanswered_row(s, why) for s, why in sorted((unanswered or {}).items()))
    kept = tuple(i for i in items if set(i.categories) - i.held())
    return Plan(as_of=as_of, rows=rows, items=kept, waiting=waiting or {}, purges=purges)


def _holds_by_person(holds: Iterable[Hold]) -> dict[str, list[Hold]]:
    out: dict[str, list[Hold]] = {}
    for hold in holds:
        out.setdefault(hold.subject_ref, []).append(hold)
    return out


def _items(due: list[Due], holds: Mapping[str, list[Hold]], by_category: frozenset[str]) -> Iterator[Item]:
    group: list[Due] = []
    for entry in due:
        if group and (group[0].system, group[0].subject_ref) != (entry.system, entry.subject_ref):
            yield _item(group, holds, by_category)
            group = []
        group.append(entry)
    if group:
        yield _item(group, holds, by_category)


def _item(group: list[Due], holds: Mapping[str, list[Hold]], by_category: frozenset[str]) -> Item:
    system, ref = group[0].system, group[0].subject_ref
    applying = tuple(h.hold for h in holds.get(ref, ()) if h.system in (None, system))
    categories, end = tuple(d.category for d in group), max(d.end_date for d in group)
    return Item(system, ref, categories, end, applying, by_category=system in by_category)


def _rows(due: list[Due], held: Mapping[tuple[str, str], frozenset[str]]) -> tuple[Row, ...]:
    groups: dict[tuple[str, str, str, str], list[Due]] = {}
    for entry in due:
        groups.setdefault((entry.system, entry.category, entry.rule, entry.action), []).append(entry)
    return tuple(
        Row(
            system=system,
            category=category,
            rule=rule,
            action=action,
            end_date=min(d.end_date for d in entries),
            last_end_date=max(d.end_date for d in entries),
            count=len(entries),
            records=sum(d.count for d in entries),
            held=sum(1 for d in entries if category in held.get((system, d.subject_ref), ())),
        )
        for (system, category, rule, action), entries in sorted(groups.items())
    )


def _unsupported_rows(system: Unswept) -> Iterator[Row]:
    for category, rule, action in system.categories or ((None, None, None),):
        yield Row(
            system.system, category, rule, action, None, None, 0, status=SystemStatus.UNSUPPORTED, reason=system.reason
        )


def _unanswered_row(system: str, reason: str) -> Row:
    return Row(system, None, None, None, None, None, 0, status=SystemStatus.UNANSWERED, reason=reason)


def task_id(plan_id: str, system: str, subject_ref: str) -> str:
    """Deterministic per (sweep, system, person): a resumed sweep publishes the same ids, and the task
    runtime answers a known id from its record instead of erasing twice."""
    return str(uuid.uuid5(SWEEP_NAMESPACE, f"retention:{plan_id}:{system}:{subject_ref}"))


def sweep_request_id(plan_id: str) -> str:
    """The request id the sweep's tasks carry: no case has it, so results stop at the audit."""
    return f"retention-{plan_id}"


def batches(items: tuple[Item, ...], size: int) -> Iterator[tuple[int, tuple[Item, ...]]]:
    """(index, items) in the plan's stable order; a resumed sweep starts after the last batch recorded."""
    for index, start in enumerate(range(0, len(items), size)):
        yield index, items[start : start + size]


def needs_approval(plan_id: str, size: int, approved: Iterable[str], limit: int) -> bool:
    """The clock sweeps alone once the DPO approved a first plan; a plan over `limit` people waits for its
    own approval (a register edit or an import gone wrong would otherwise erase at scale)."""
    approved = set(approved)
    if plan_id in approved:
        return False
    return not approved or size > limit
