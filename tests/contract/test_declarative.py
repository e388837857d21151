"""The declarative SQL adapter: the reference CRM described in examples/declarative/crm.yaml passes the
adapter contract and answers as the CRM itself does, on SQLite and PostgreSQL; wrong mappings stop the start."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from handlers.declarative import DeclarativeSqlAdapter
from handlers.mapping import MappingError, load_mapping, parse_mapping
from handlers.reference import CrmAdapter
from tests.contract.stores import OnPostgres, OnSqlite
from tests.contract.test_adapters import CAMILLE, HUGO, AdapterContract, clock, quote
from tests.contract.test_rights_verbs import RightsContract

pytestmark = pytest.mark.contract

CRM_MAPPING = Path(__file__).resolve().parents[2] / "examples" / "declarative" / "crm.yaml"


def crm_database(where) -> None:
    """The company's database: made by the CRM itself; the declarative adapter only reads its shape."""
    CrmAdapter(where, clock=clock).close()


class TestDeclarativeCrm(OnSqlite, AdapterContract, RightsContract):
    held_category = "quote_requests"

    def make_adapter(self, tmp_path):
        crm_database(self.location(tmp_path, "crm"))
        return DeclarativeSqlAdapter(CRM_MAPPING, self.location(tmp_path, "crm"), clock=clock)


class TestDeclarativeCrmOnPostgres(OnPostgres, TestDeclarativeCrm):
    pass


# --- Same answers as the CRM it describes ---------------------------------------------------------


class CrmEquivalence(OnSqlite):
    """A database the CRM filled, then read through the mapping: what a DPO gets must not differ."""

    @pytest.fixture
    def both(self, tmp_path):
        where = self.location(tmp_path, "crm")
        crm = CrmAdapter(where, clock=clock)
        # Camille asked two quotes, was called, and paid an invoice; Hugo only sent a contact message.
        crm.record_submission("sub-1", "dsr.form.quote_requested", CAMILLE, quote(CAMILLE.email))
        crm.record_submission("sub-2", "dsr.form.quote_requested", CAMILLE, quote(CAMILLE.email, service="chauffage"))
        crm.record_submission("sub-3", "dsr.form.contact_submitted", HUGO, quote(HUGO.email, "Hugo"))
        crm.add_call_note(CAMILLE.email, "Rappelée pour la visite.")
        crm.add_invoice(CAMILLE.email, "F-2025-0142", 18900, "2025-03-14", paid_at="2025-03-28")
        return crm, DeclarativeSqlAdapter(CRM_MAPPING, where, clock=clock)

    def test_lookup_and_export_are_the_crms(self, both):
        crm, declarative = both
        for subject in (CAMILLE, HUGO):
            assert declarative.lookup(subject) == crm.lookup(subject)
            assert declarative.export(subject) == crm.export(subject)  # same categories, values, origins

    def test_restrictions_are_shared_with_the_crm(self, both):
        crm, declarative = both
        declarative.restrict(CAMILLE, "accuracy_contested")
        assert crm.export(CAMILLE) == declarative.export(CAMILLE)
        assert CAMILLE.email not in [email for email, _ in crm.call_list(clock())]

    def test_erasure_removes_and_keeps_what_the_crm_would(self, both, tmp_path):
        crm, declarative = both
        twin = self.location(tmp_path, "twin")
        crm_twin = CrmAdapter(twin, clock=clock)  # the same history in a second CRM, erased by the CRM itself
        crm_twin.record_submission("sub-1", "dsr.form.quote_requested", CAMILLE, quote(CAMILLE.email))
        crm_twin.record_submission(
            "sub-2", "dsr.form.quote_requested", CAMILLE, quote(CAMILLE.email, service="chauffage")
        )
        crm_twin.add_call_note(CAMILLE.email, "Rappelée pour la visite.")
        crm_twin.add_invoice(CAMILLE.email, "F-2025-0142", 18900, "2025-03-14", paid_at="2025-03-28")
        assert declarative.erase(CAMILLE) == crm_twin.erase(CAMILLE)
        assert declarative.lookup(CAMILLE).holds_data is False
        assert declarative.lookup(HUGO) == crm.lookup(HUGO)


class TestCrmEquivalence(CrmEquivalence):
    pass


class TestCrmEquivalenceOnPostgres(OnPostgres, CrmEquivalence):
    pass


# --- A wrong mapping stops the start, naming the file, the table and the column -------------------


def crm_mapping(**changes) -> dict:
    data = yaml.safe_load(CRM_MAPPING.read_text())
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = data
        for part in parents:
            node = node[part]
        node[last] = value
    return data


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "crm.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def crm_db(tmp_path) -> Path:
    crm_database(tmp_path / "crm.db")
    return tmp_path / "crm.db"


def test_a_misspelt_column_is_named_with_the_tables_columns(tmp_path, crm_db):
    mapping = write(tmp_path, crm_mapping(tables__people__rectify__phone="phon"))
    with pytest.raises(MappingError) as stopped:
        DeclarativeSqlAdapter(mapping, crm_db)
    message = str(stopped.value)
    assert message.startswith("mapping crm.yaml: tables.people.rectify.phone: no such column phon in table people")
    assert "(columns: id, email, first_name" in message


def test_a_column_declared_for_export_must_exist(tmp_path, crm_db):
    data = crm_mapping()
    data["tables"]["people"]["columns"]["phon"] = {"origin": "provided"}
    with pytest.raises(
        MappingError,
        match=r"mapping crm.yaml: tables.people.columns.phon: no such column phon "
        r"in table people \(columns: ",
    ):
        DeclarativeSqlAdapter(write(tmp_path, data), crm_db)


def test_a_missing_table_is_named_with_the_tables_there_are(tmp_path, crm_db):
    data = crm_mapping()
    data["tables"]["customers"] = data["tables"].pop("people")
    data["tables"]["customers"]["category"] = "person"
    with pytest.raises(MappingError, match=r"tables.customers: no such table customers \(tables: .*people"):
        DeclarativeSqlAdapter(write(tmp_path, data), crm_db)


def test_a_form_column_is_checked_too(tmp_path, crm_db):
    data = crm_mapping()
    data["forms"]["dsr.form.quote_requested"][1]["values"]["servce"] = "service"
    with pytest.raises(MappingError, match=r"forms.dsr.form.quote_requested\[1\].values.servce: no such column"):
        DeclarativeSqlAdapter(write(tmp_path, data), crm_db)


def test_anonymising_a_not_null_column_to_null_is_refused(tmp_path, crm_db):
    mapping = write(tmp_path, crm_mapping(tables__invoices__erase__anonymise={"email": None}))
    with pytest.raises(
        MappingError, match="tables.invoices.erase.anonymise.email: column email of table invoices is NOT NULL"
    ):
        DeclarativeSqlAdapter(mapping, crm_db)


def test_a_missing_database_file_is_named(tmp_path):
    with pytest.raises(MappingError, match="database file .*nothing.db does not exist"):
        DeclarativeSqlAdapter(CRM_MAPPING, tmp_path / "nothing.db")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tables__invoices__erase": "shred"}, "tables.invoices.erase: unknown erase strategy 'shred'"),
        (
            {"tables__invoices__erase__anonymise": {"id": None, "email": "x"}},
            "tables.invoices: erase.anonymise.id: the key column cannot be anonymised",
        ),
        (
            {"tables__invoices__erase__anonymise": {"amount_cents": None}},
            "tables.invoices: erase.anonymise must overwrite email",
        ),
        ({"tables__call_notes__identity": None}, "tables.call_notes: give exactly one of identity"),
        (
            {"tables__call_notes__category": "person"},
            "tables.call_notes.category: 'person' is already the category of table people",
        ),
        ({"tables__people__rectify__email": "email"}, "tables.people: rectify.email: not a rectifiable field"),
        ({"tables__people__origin": "guessed"}, "tables.people.origin: Input should be"),
    ],
)
def test_static_mistakes_are_named_before_connecting(change, message):
    with pytest.raises(MappingError) as stopped:
        parse_mapping(crm_mapping(**change), source="crm.yaml")
    assert message in str(stopped.value)
    assert str(stopped.value).startswith("mapping crm.yaml: ")


def test_a_retention_rule_must_be_in_the_register(tmp_path):
    mapping = write(tmp_path, crm_mapping(tables__people__retention="forever"))
    with pytest.raises(MappingError, match="tables.people.retention: unknown rule 'forever'"):
        load_mapping(mapping, retention_rules={"crm_contact", "invoices_active", "marketing_3y"})
    assert load_mapping(CRM_MAPPING, retention_rules={"crm_contact", "invoices_active", "marketing_3y"})


def test_a_verb_the_mapping_does_not_declare_is_refused(tmp_path, crm_db):
    from handlers.protocol import UnsupportedAction
    from schemas.tasks import TaskAction

    data = crm_mapping()
    del data["marketing"]
    for table in data["tables"].values():
        table.pop("rectify", None)
    adapter = DeclarativeSqlAdapter(write(tmp_path, data), crm_db)
    assert TaskAction.RECTIFY not in adapter.capabilities.actions
    with pytest.raises(UnsupportedAction):
        adapter.suppress_marketing(CAMILLE, ("email",))


def test_a_table_reached_through_another_is_exported_and_erased_first(tmp_path):
    # A company table without the e-mail: notes.person_id -> people.id.
    import sqlite3

    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT);"
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, person_id INTEGER REFERENCES people(id),"
            " body TEXT);"
            "INSERT INTO people VALUES (1, 'Camille.Durand@example.test'), (2, 'hugo.moreau@example.test');"
            "INSERT INTO notes VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 2, 'c');"
        )
    mapping = parse_mapping(
        {
            "system": "shop",
            "emails_normalized": False,
            "tables": {
                "people": {"identity": {"email": "email"}},
                "notes": {
                    "via": {"column": "person_id", "table": "people"},
                    "origin": "observed",
                    "columns": {"person_id": {"export": False}},
                },
            },
        },
        source="shop.yaml",
    )
    shop = DeclarativeSqlAdapter(mapping, db)
    assert shop.export(CAMILLE).records["notes"] == [
        {"body": "a", "_origin": "observed"},
        {"body": "b", "_origin": "observed"},
    ]
    assert shop.erase(CAMILLE).erased_items == 3
    assert shop.lookup(CAMILLE).holds_data is False
    assert shop.export(HUGO).item_count() == 2


def test_a_table_others_are_reached_through_stays_while_they_stay(tmp_path):
    # R44 by category: people past its end, notes still running. Deleting people would leave the notes unreachable
    # to access and erasure: people goes with the notes, not before them.
    import sqlite3

    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT);"
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, person_id INTEGER REFERENCES people(id), body TEXT);"
            "INSERT INTO people VALUES (1, 'camille.durand@example.test');"
            "INSERT INTO notes VALUES (1, 1, 'a');"
        )
    tables = {
        "people": {"identity": {"email": "email"}},
        "notes": {"via": {"column": "person_id", "table": "people"}, "columns": {"person_id": {"export": False}}},
    }
    shop = DeclarativeSqlAdapter(parse_mapping({"system": "shop", "tables": tables}, source="shop.yaml"), db)
    assert shop.erase(CAMILLE, categories=("people",)).erased_items == 0
    assert set(shop.export(CAMILLE).records) == {"people", "notes"}
    assert shop.erase(CAMILLE, categories=("notes",)).erased_items == 1
    assert shop.erase(CAMILLE, categories=("people",)).erased_items == 1
    assert shop.lookup(CAMILLE).holds_data is False


def test_the_scan_reports_a_table_others_are_reached_through_only_once_they_are_due(tmp_path):
    # A company CRM keyed on its consent log: the file and the invoices hang off it. The consents end 3 years after
    # the last payment, the file and the invoices 4: the consents are not reported while the rows they lead to run.
    import sqlite3
    from datetime import date

    from dsr.register import load_register

    db = tmp_path / "crm.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(
            "CREATE TABLE consents (id INTEGER PRIMARY KEY, email TEXT, channel TEXT, recorded_at TEXT);"
            "CREATE TABLE people (id INTEGER PRIMARY KEY, consent_id INTEGER, created_at TEXT, last_contact_at TEXT);"
            "CREATE TABLE invoices (id INTEGER PRIMARY KEY, consent_id INTEGER, issued_at TEXT, paid_at TEXT);"
            "INSERT INTO consents VALUES (1, 'camille.durand@example.test', 'email', '2022-03-14');"
            "INSERT INTO people VALUES (1, 1, '2022-03-14', '2022-03-14');"
            "INSERT INTO invoices VALUES (1, 1, '2022-03-20', '2022-03-20');"
        )
    via = {"via": {"column": "consent_id", "table": "consents"}, "columns": {"consent_id": {"export": False}}}
    tables = {"consents": {"identity": {"email": "email"}}, "people": {"category": "person", **via}, "invoices": via}
    crm = DeclarativeSqlAdapter(parse_mapping({"system": "crm", "tables": tables}, source="crm.yaml"), db)
    register = load_register(None)
    assert crm.retention_scan(date(2025, 3, 21), register).due == ()  # consents past their end, kept for the rest
    last = crm.retention_scan(date(2026, 3, 21), register)
    assert {d.category for d in last.due} == {"consents", "person", "invoices"}
    assert {d.end_date for d in last.due if d.category == "consents"} == {date(2025, 3, 20)}
