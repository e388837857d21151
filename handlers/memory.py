"""In-memory twin of any system holding personal data: the stand-in adapter for unit and contract tests."""
from __future__ import annotations

import copy
import threading
from collections.abc import Iterable

from handlers.protocol import Capabilities, ErasureReport, Export, LookupAnswer, Subject
from schemas.identity import normalize_email
from schemas.intake import Right
from schemas.tasks import KeepGround, KeptItem, TaskAction

ORIGINS = frozenset({"provided", "observed", "inferred"})
DEFAULT_KEPT_GROUND = KeepGround.LEGAL_OBLIGATION
_RIGHT_OF_ACTION = {TaskAction.EXPORT: Right.ACCESS, TaskAction.ERASE: Right.ERASURE}

Records = dict[str, list[dict]]


def capabilities_for(actions: Iterable[TaskAction]) -> Capabilities:
    """The rights a set of verbs can serve: export gives access, erase gives erasure."""
    actions = frozenset(actions)
    rights = frozenset(right for action, right in _RIGHT_OF_ACTION.items() if action in actions)
    return Capabilities(actions=actions, rights=rights)


class MemoryAdapter:
    """Records per normalized e-mail and category. Erase drops them, except `kept_categories`,
    which move to a restricted archive and are reported as kept (R26), like invoices in a CRM."""

    def __init__(self, name: str, actions: Iterable[TaskAction] = tuple(TaskAction),
                 kept_categories: Iterable[str] = (), kept_ground: str = DEFAULT_KEPT_GROUND) -> None:
        self.name = name
        self.capabilities = capabilities_for(actions)
        self.kept_categories = frozenset(kept_categories)
        self.kept_ground = kept_ground
        self._active: dict[str, Records] = {}
        self._archive: dict[str, Records] = {}
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def seed(self, email: str, category: str, record: dict) -> None:
        """Put a record on file as if the system had it already; `_origin` defaults to "provided"."""
        record = {"_origin": "provided", **copy.deepcopy(record)}
        if record["_origin"] not in ORIGINS:
            raise ValueError(f"_origin must be one of {sorted(ORIGINS)}")
        with self._lock:
            self._active.setdefault(normalize_email(email), {}).setdefault(category, []).append(record)

    def record_submission(self, submission_id: str, kind: str, subject: Subject, data: dict) -> None:
        record = {"submission_id": submission_id, "kind": kind, **copy.deepcopy(data), "_origin": "provided"}
        with self._lock:
            # the ledger outlives erasure, so a replayed submission does not bring the data back
            if submission_id in self._seen:
                return
            self._seen.add(submission_id)
            self._active.setdefault(normalize_email(subject.email), {}).setdefault("submissions", []).append(record)

    def lookup(self, subject: Subject) -> LookupAnswer:
        with self._lock:
            records = _flatten(self._active.get(normalize_email(subject.email), {}))
        return LookupAnswer(holds_data=bool(records), channels=_channels(records) if records else ())

    def export(self, subject: Subject) -> Export:
        key = normalize_email(subject.email)
        with self._lock:
            records = {c: copy.deepcopy(rows) for c, rows in self._active.get(key, {}).items() if rows}
            for category, rows in self._archive.get(key, {}).items():
                records.setdefault(category, []).extend({**copy.deepcopy(r), "_restricted": True} for r in rows)
        return Export(records=records)

    def erase(self, subject: Subject) -> ErasureReport:
        key = normalize_email(subject.email)
        with self._lock:
            erased = 0
            for category, rows in self._active.pop(key, {}).items():
                if category in self.kept_categories:
                    self._archive.setdefault(key, {}).setdefault(category, []).extend(rows)
                else:
                    erased += len(rows)
            kept = self._kept(key)
        return ErasureReport(erased_items=erased, kept=kept)

    def _kept(self, key: str) -> tuple[KeptItem, ...]:
        archived = self._archive.get(key, {})
        return tuple(KeptItem(item=c, count=len(rows), ground=self.kept_ground) for c, rows in archived.items())


def _flatten(records: Records) -> list[dict]:
    return [record for rows in records.values() for record in rows]


def _channels(records: list[dict]) -> tuple[str, ...]:
    """Records are filed by e-mail, so e-mail is always on file; phone and post if any record has them."""
    channels = ["email"]
    if any(r.get("phone") for r in records):
        channels.append("phone")
    if any(r.get("postal_address") or r.get("street") for r in records):
        channels.append("post")
    return tuple(channels)
