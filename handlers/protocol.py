"""The adapter protocol: what a system holding personal data must be able to do, and say it can do."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from gdpr.register import Register
from gdpr.routing import ALL_CHANNELS, RIGHTS_OF_ACTION
from schemas.intake import Right
from schemas.tasks import KeptItem, LegalHold, RecipientNotice, TaskAction

# Fields a rectification may change (R25); postal_address is a dict of ADDRESS_FIELDS.
RECTIFIABLE_FIELDS = ("first_name", "last_name", "phone", "postal_address")
ADDRESS_FIELDS = ("street", "postal_code", "city", "country")
MARKETING_CHANNELS = ALL_CHANNELS  # R32: one lawful basis per channel

# Export tag on every record under restriction: its value says why. Art. 18(1) restrictions carry
# the case (e.g. "accuracy_contested"); data kept under a legal hold carry "legal_hold:<hold_id>"
# (R46). Distinct from "_restricted", which marks the 10-year invoice archive (Art. 17(3)(b)).
RESTRICTION_TAG = "_restriction"

# Verbs a system may add to the data verbs, declared in its capabilities (record_contact: the reference CRM).
OPTIONAL_ACTIONS = frozenset({TaskAction.RECORD_CONTACT})
# Verbs of a system holding personal data; NOTIFY_RECIPIENT belongs to recipients (RecipientInbox).
DATA_ACTIONS = frozenset(TaskAction) - {TaskAction.NOTIFY_RECIPIENT} - OPTIONAL_ACTIONS


class TaskRefused(ValueError):
    """The adapter will not act on this task. The message never holds personal data: it reaches the case."""


class UnsupportedAction(TaskRefused):
    """The task asks for a verb the adapter does not declare."""


class SystemUnanswered(Exception):
    """A system served by a consumer of its own did not answer the retention scan, or answered that it failed;
    the message names the system and says why (no personal data). The plan lists it as unanswered."""


class InvalidTask(TaskRefused):
    """The task's fields cannot be acted on (unknown field, no channel ...)."""


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
class RectificationReport:
    """Fields actually changed, as (old, new); old None means the field was completed (R25)."""

    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class RestrictionReport:
    """Records under the Art. 18 mark (restrict) or freed from it (lift_restriction)."""

    items: int


@dataclass(frozen=True)
class SuppressionReport:
    """Marketing channels this system no longer uses for the person (and `profiling` when it also stopped
    profiling them for marketing, Art. 21(2)), what it erased for want of another basis (Art. 17(1)(b)),
    and what it keeps to honour that (R45)."""

    channels: tuple[str, ...]
    kept: tuple[KeptItem, ...] = ()
    erased_items: int = 0


@dataclass(frozen=True)
class Export:
    """The subject's data in one system: records grouped by category, each field tagged by origin."""

    records: dict[str, list[dict]] = field(default_factory=dict)

    def item_count(self) -> int:
        return sum(len(rows) for rows in self.records.values())


@dataclass(frozen=True)
class DueRecord:
    """A category of one person's data past its retention end (R44): found by `retention_scan`.
    The e-mail never leaves the process: the planner keys the item by the person's subject_ref."""

    email: str
    category: str
    rule: str
    action: str
    end_date: date
    count: int = 1


@dataclass(frozen=True)
class UnkeyedDue:
    """Records a system purges by itself, not person by person, past their end (R44): kept by a keyed hash tied
    to no address it can give (a suppression fingerprint, R45), or ending one by one whatever else their person has
    (an archived invoice, 10 years from its financial year, L123-22). Counted by `retention_scan`, deleted by the
    system's `purge_expired`; only counts and dates, no one's key."""

    category: str
    rule: str
    action: str
    end_date: date  # the oldest end among them
    last_end_date: date
    count: int
    held: int = 0  # of `count`, records of people a legal hold keeps (R46): `purge_expired` leaves them


HoldsOf = Callable[[str], tuple[LegalHold, ...]]
"""The legal holds on the person an e-mail names, in one system (R46): what a system purging records not per person
asks of each record it would purge that still names its person (an archived invoice). The shell matches the person
by subject_ref, a keyed hash, as the plan matches holds: no list of held addresses reaches the system."""


def no_holds(email: str) -> tuple[LegalHold, ...]:
    return ()


@dataclass(frozen=True)
class RetentionScan:
    """What `retention_scan(as_of)` found, each category with its rule and end date. `by_category` (a system that
    erases by category, `capabilities.erase_categories`): every category past its end, whatever else of the person
    still runs, and the sweep erases just those. Otherwise only the people whose every dated category in the system
    is past its end, and `waiting` counts people with some data due and some not yet (the sweep leaves them until
    the last end passes). `unkeyed`: records past their end that the system purges itself, not per person
    (`purge_expired`: fingerprints, archived invoices)."""

    due: tuple[DueRecord, ...] = ()
    waiting: int = 0
    unkeyed: tuple[UnkeyedDue, ...] = ()
    by_category: bool = False


@dataclass(frozen=True)
class Capabilities:
    actions: frozenset[TaskAction]
    rights: frozenset[Right]
    retention_scan: bool = False  # the system reports what has passed its retention end (R44)
    # erase takes `categories` (only those go), and retention_scan reports each category past its end on its own
    erase_categories: bool = False


def capabilities_for(
    actions: Iterable[TaskAction], retention_scan: bool = False, erase_categories: bool = False
) -> Capabilities:
    """The rights a set of verbs can serve: export gives access and portability, erase erasure, and so on."""
    actions = frozenset(actions)
    rights = frozenset(r for action in actions for r in RIGHTS_OF_ACTION.get(action, ()))
    return Capabilities(actions, rights, retention_scan=retention_scan, erase_categories=erase_categories)


def erases_by_category(adapter: object) -> bool:
    """Whether a system's erase takes the categories to erase (R44: each category goes at its own end)."""
    return bool(getattr(getattr(adapter, "capabilities", None), "erase_categories", False))


def purges_unkeyed(adapter: object) -> bool:
    """Whether a system deletes by itself, not per person, the records past their end it counts apart (R44, R45)."""
    return scans_retention(adapter) and callable(getattr(adapter, "purge_expired", None))


def scans_retention(adapter: object) -> bool:
    """Whether a system declares `retention_scan`; one that does not is listed as such in the plan."""
    capabilities = getattr(adapter, "capabilities", None)
    return bool(getattr(capabilities, "retention_scan", False)) and hasattr(adapter, "retention_scan")


class Adapter(Protocol):
    """A system holding personal data. Every verb is idempotent: the runtime may call it twice.

    Contract (tests/contract/test_adapters.py, test_rights_verbs.py):
    - lookup reflects what record_submission stored; export returns every record of the subject.
    - erase removes the records (or reports what it keeps and why); a second erase finds nothing
      more; lookup after erase says holds_data=False unless items were kept. Categories named by a
      hold ('*': all) stay, tagged RESTRICTION_TAG, and are reported as kept (R26, R46). A system declaring
      `capabilities.erase_categories` takes `categories=`: only those categories go (each as the whole-person
      erase treats it), the others stay readable (tests/contract/test_retention_scan.py).
    - rectify changes only RECTIFIABLE_FIELDS the system holds, in every record that has them (R25).
    - restrict tags every record of the subject with RESTRICTION_TAG and keeps it out of marketing,
      scoring and sharing; lift_restriction removes the tag (R27, Art. 18(2)).
    - suppress_marketing stops the given channels (never empty) and reports what it keeps (R30-R32, R45).
    - retention_scan (declared by `capabilities.retention_scan`), given a date and the register, reports
      per category and rule the records past their end on that date, dated as the access answer dates them
      (gdpr.ropa.retention_dates), for people with nothing left that is still running, or, for a system that
      erases by category, every category past its end (`RetentionScan.by_category`) (R44;
      tests/contract/test_retention_scan.py).
    - purge_expired (optional, systems with records purged not per person: keyed-hash fingerprints, the restricted
      invoice archive; over a webhook or the SDK, a request of that name, docs/webhooks.md):
      `purge_expired(as_of, register, holds_of) -> int` deletes the records `retention_scan` counts as `unkeyed` on
      that date, except those of a person `holds_of` names a hold on that covers them (R46), which
      `retention_scan(as_of, register, holds_of=...)` counts as `held`; idempotent.
    Raise TaskRefused (with a message free of personal data) for a task that cannot be acted on.
    """

    name: str
    capabilities: Capabilities

    def record_submission(self, submission_id: str, kind: str, subject: Subject, data: dict) -> None: ...

    def lookup(self, subject: Subject) -> LookupAnswer: ...

    def export(self, subject: Subject) -> Export: ...

    def erase(
        self, subject: Subject, holds: tuple[LegalHold, ...] = (), categories: tuple[str, ...] = ()
    ) -> ErasureReport: ...

    def rectify(self, subject: Subject, changes: dict) -> RectificationReport: ...

    def restrict(self, subject: Subject, reason: str) -> RestrictionReport: ...

    def lift_restriction(self, subject: Subject) -> RestrictionReport: ...

    def suppress_marketing(
        self, subject: Subject, channels: tuple[str, ...], source: str = "objection"
    ) -> SuppressionReport: ...


class RecordsContacts(Protocol):
    """The optional verb of a system whose retention clocks count from the person's own contacts (CNIL-COM, §5 row 5):
    record one, initiated by the person, at `at`; nothing is created for someone not on file. Returns the records
    written (tests/contract/test_record_contact.py)."""

    def record_contact(self, subject: Subject, kind: str, at: datetime) -> int: ...


class ScansRetention(Protocol):
    """The optional verb of a system that reports what has passed its retention end (R44)."""

    def retention_scan(self, as_of: date, register: Register) -> RetentionScan: ...


class Recipient(Protocol):
    """Someone the controller disclosed data to (processor, franchisee): receives Art. 19 notices (R35).

    Contract (tests/contract/test_recipients.py): receive is idempotent by task id and keeps no
    plaintext address; notices lists what was received.
    """

    name: str
    capabilities: Capabilities

    def receive(self, task_id: str, notice: RecipientNotice, subject: Subject) -> None: ...


class UnknownSystem(LookupError):
    pass


class AdapterRegistry:
    """Adapters by system name; asking for a missing one fails loudly with the fix."""

    def __init__(self, adapters: list[Adapter | Recipient] | None = None) -> None:
        self._adapters = {a.name: a for a in adapters or []}

    def register(self, adapter: Adapter | Recipient) -> None:
        self._adapters[adapter.name] = adapter

    def get(self, system: str) -> Adapter | Recipient:
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
