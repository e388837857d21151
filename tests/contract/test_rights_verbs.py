"""The rights verbs every adapter promises: rectify, restrict, lift, erase under hold, suppress marketing.

RightsContract is mixed into each adapter's contract class in test_adapters.py, so the in-memory
twin and every SQLite reference system run the same cases; the class attributes say what the
system holds (which fields, which category to put under hold, which channels it markets on).
"""

from __future__ import annotations

from datetime import date

import pytest

from gdpr.routing import PROFILING
from handlers.protocol import (
    MARKETING_CHANNELS,
    RECTIFIABLE_FIELDS,
    RESTRICTION_TAG,
    ErasureReport,
    InvalidTask,
    Subject,
)
from handlers.verbs import normal_address
from schemas.tasks import KeepGround, LegalHold

pytestmark = pytest.mark.contract

CAMILLE = Subject(email="camille.durand@example.test", name="Camille Durand")
HUGO = Subject(email="hugo.moreau@example.test", name="Hugo Moreau")

# GS-10: Camille moved within Lyon; she gives the new street and postal code only.
NEW_VALUES = {
    "first_name": "Camila",
    "last_name": "Durand-Roux",
    "phone": "+33 6 98 76 54 32",
    "postal_address": {"street": "3 place Bellecour", "postal_code": "69002"},
}
NEW_ADDRESS = {"street": "3 place Bellecour", "postal_code": "69002", "city": "Lyon", "country": "FR"}
DISPUTE = LegalHold(
    hold_id="dispute-1",
    categories=["placeholder"],
    ground=KeepGround.LEGAL_CLAIMS,
    owner="legal",
    review_on=date(2027, 6, 30),
)


def tags(export) -> list:
    return [record.get(RESTRICTION_TAG) for rows in export.records.values() for record in rows]


class RightsContract:
    """Cases shared by every adapter. Hosts provide the `adapter` fixture and `record`."""

    rectifiable: tuple[str, ...] = RECTIFIABLE_FIELDS
    held_category = ""
    marketing_channels: tuple[str, ...] = MARKETING_CHANNELS

    def hold(self, *categories: str) -> LegalHold:
        return DISPUTE.model_copy(update={"categories": list(categories or (self.held_category,))})

    # --- Rectification (R25, GS-10) -------------------------------------------------------------

    def test_rectify_changes_what_the_export_shows_and_reports_old_and_new(self, adapter):
        data = self.record(adapter, "sub-1")
        before = adapter.export(CAMILLE)
        report = adapter.rectify(CAMILLE, NEW_VALUES)
        # only the fields this system holds change; the others are not invented here
        assert set(report.changed) == set(self.rectifiable)
        expected_old = {**data, "postal_address": normal_address(data.get("postal_address"))}
        expected_new = {**NEW_VALUES, "postal_address": NEW_ADDRESS}
        for name, (old, new) in report.changed.items():
            assert (old, new) == (expected_old[name], expected_new[name])
        after = adapter.export(CAMILLE)
        if not self.rectifiable:
            assert after == before
        for name in self.rectifiable:
            assert _values(after, name) and all(v in (expected_new[name], NEW_ADDRESS) for v in _values(after, name))

    def test_a_second_identical_rectify_changes_nothing(self, adapter):
        # The runtime may deliver the task twice: the second run reports no change.
        self.record(adapter, "sub-1")
        adapter.rectify(CAMILLE, NEW_VALUES)
        once = adapter.export(CAMILLE)
        assert adapter.rectify(CAMILLE, NEW_VALUES).changed == {}
        assert adapter.export(CAMILLE) == once

    def test_rectify_completes_a_missing_field(self, adapter):
        self.record(adapter, "sub-1", phone=None)
        report = adapter.rectify(CAMILLE, {"phone": "+33 6 98 76 54 32"})
        # old None: "completed"; a system that keeps no phone number has nothing to complete
        expected = {"phone": (None, "+33 6 98 76 54 32")} if "phone" in self.rectifiable else {}
        assert report.changed == expected

    def test_rectify_leaves_other_people_alone(self, adapter):
        self.record(adapter, "sub-camille")
        self.record(adapter, "sub-hugo", HUGO, "Hugo")
        before = adapter.export(HUGO)
        adapter.rectify(CAMILLE, NEW_VALUES)
        assert adapter.export(HUGO) == before

    def test_rectify_refuses_a_field_it_may_not_change_without_echoing_the_value(self, adapter):
        self.record(adapter, "sub-1")
        with pytest.raises(InvalidTask) as refused:
            adapter.rectify(CAMILLE, {"email": "camille.new@example.test"})
        assert "camille" not in str(refused.value)

    # --- Restriction (Art. 18, R27, GS-11) ------------------------------------------------------

    def test_restrict_marks_every_exported_record_and_lift_removes_the_mark(self, adapter):
        self.record(adapter, "sub-1")
        report = adapter.restrict(CAMILLE, "accuracy_contested")
        export = adapter.export(CAMILLE)
        assert report.items == export.item_count() > 0
        assert set(tags(export)) == {"accuracy_contested"}
        assert adapter.restrict(CAMILLE, "accuracy_contested") == report  # idempotent
        assert adapter.lookup(CAMILLE).holds_data is True  # storage only: the data stay
        assert adapter.lift_restriction(CAMILLE).items == report.items
        assert set(tags(adapter.export(CAMILLE))) == {None}
        assert adapter.lift_restriction(CAMILLE).items == 0

    def test_restrict_leaves_other_people_unmarked(self, adapter):
        self.record(adapter, "sub-camille")
        self.record(adapter, "sub-hugo", HUGO, "Hugo")
        adapter.restrict(CAMILLE, "accuracy_contested")
        assert set(tags(adapter.export(HUGO))) == {None}

    def test_restricting_someone_unknown_records_nothing(self, adapter):
        assert adapter.restrict(CAMILLE, "accuracy_contested").items == 0
        assert adapter.lookup(CAMILLE).holds_data is False
        assert adapter.export(CAMILLE).records == {}

    # --- Erasure under a legal hold (R26, R46, GS-23) -------------------------------------------

    def test_erase_keeps_the_held_category_restricted_and_reports_the_hold(self, adapter):
        self.record(adapter, "sub-1")
        held_count = len(adapter.export(CAMILLE).records[self.held_category])
        report = adapter.erase(CAMILLE, holds=(self.hold(),))
        [kept] = [k for k in report.kept if k.item == self.held_category]
        assert (kept.count, kept.ground, kept.until) == (held_count, KeepGround.LEGAL_CLAIMS, "2027-06-30")
        records = adapter.export(CAMILLE).records
        assert {r[RESTRICTION_TAG] for r in records[self.held_category]} == {"legal_hold:dispute-1"}
        assert adapter.lookup(CAMILLE).holds_data is True
        assert adapter.erase(CAMILLE, holds=(self.hold(),)) == ErasureReport(erased_items=0, kept=report.kept)

    def test_erase_under_hold_removes_everything_else(self, adapter):
        self.record(adapter, "sub-1")
        adapter.erase(CAMILLE, holds=(self.hold(),))
        live = {c for c, rows in adapter.export(CAMILLE).records.items() if any(RESTRICTION_TAG in r for r in rows)}
        assert live == {self.held_category}
        assert all(
            RESTRICTION_TAG in r or r.get("_restricted")
            for rows in adapter.export(CAMILLE).records.values()
            for r in rows
        )

    def test_once_the_hold_is_released_erase_removes_the_held_data(self, adapter):
        self.record(adapter, "sub-1")
        adapter.erase(CAMILLE, holds=(self.hold(),))
        report = adapter.erase(CAMILLE)
        assert report.erased_items > 0
        assert self.held_category not in {k.item for k in report.kept}
        assert adapter.lookup(CAMILLE).holds_data is False
        assert set(tags(adapter.export(CAMILLE))) <= {None}

    def test_a_hold_on_everything_erases_nothing(self, adapter):
        self.record(adapter, "sub-1")
        count = adapter.export(CAMILLE).item_count()
        report = adapter.erase(CAMILLE, holds=(self.hold("*"),))
        assert report.erased_items == 0
        assert sum(k.count or 0 for k in report.kept if k.ground == KeepGround.LEGAL_CLAIMS) == count
        assert set(tags(adapter.export(CAMILLE))) == {"legal_hold:dispute-1"}

    # --- Objection and consent withdrawal (R30-R32, R45, GS-07, GS-08) --------------------------

    def test_suppress_marketing_reports_the_channels_it_stops_and_is_idempotent(self, adapter):
        self.record(adapter, "sub-1")
        first = adapter.suppress_marketing(CAMILLE, MARKETING_CHANNELS)
        assert tuple(c for c in first.channels if c != PROFILING) == self.marketing_channels
        after_first = adapter.export(CAMILLE)
        again = adapter.suppress_marketing(CAMILLE, MARKETING_CHANNELS)
        assert (again.channels, again.kept, again.erased_items) == (first.channels, first.kept, 0)  # nothing left
        assert adapter.export(CAMILLE) == after_first

    def test_suppress_marketing_needs_a_known_channel(self, adapter):
        with pytest.raises(InvalidTask):
            adapter.suppress_marketing(CAMILLE, ())
        with pytest.raises(InvalidTask):
            adapter.suppress_marketing(CAMILLE, ("fax",))


def _values(export, name: str) -> list:
    """Every value of a field in the export; an address may be stored as one dict or as four columns."""
    values = []
    for rows in export.records.values():
        for record in rows:
            if name in record:
                values.append(record[name])
            elif name == "postal_address" and "street" in record:
                values.append(normal_address(record))
    return values
