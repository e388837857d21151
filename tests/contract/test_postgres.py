"""The reference systems on PostgreSQL pass the contract they pass on SQLite: the same classes and
functions, each system in its own schema of a fresh database per test."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from handlers.protocol import Subject
from handlers.reference import NewsletterAdapter, PostgresStore
from handlers.reference.db import Location, ScrubPolicy
from tests.contract import test_adapters as adapters
from tests.contract import test_recipients as recipients
from tests.contract.stores import OnPostgres
from tests.contract.test_adapters import (  # noqa: F401  the system rules, collected again here
    systems,
    test_crm_erasure_counts_what_went_and_not_what_was_archived,
    test_crm_invoices_survive_erasure_in_a_restricted_archive_for_ten_years,
    test_crm_lead_score_is_exported_as_inferred,
    test_crm_lists_the_channels_on_file,
    test_crm_records_each_channel_choice_with_its_proof,
    test_crm_refuses_a_form_it_does_not_own,
    test_newsletter_erasure_keeps_only_a_fingerprint_for_three_years,
    test_newsletter_explicit_consent_lifts_the_suppression,
    test_newsletter_ignores_forms_without_email_consent,
    test_newsletter_suppression_hash_depends_on_the_secret,
    test_newsletter_withdrawal_unsubscribes_and_blocks_reimport,
    test_recruitment_deletes_the_cv_file_from_disk_on_erasure,
    test_recruitment_exports_the_assessment_as_inferred,
    test_sample_people_are_seeded_once,
    test_seeding_at_restart_does_not_bring_back_an_erased_sample_person,
)
from tests.contract.test_marketing_rules import *  # noqa: F403  every marketing rule, collected again here
from tests.contract.test_recipients import test_recipients_sharing_a_file_each_see_their_own_notices  # noqa: F401

pytestmark = pytest.mark.contract


@pytest.fixture
def where(postgres_dsn: str) -> Callable[[str], Location]:
    """A schema per system (the name the SQLite tests give their file) in the test's own database."""
    return lambda name: PostgresStore(postgres_dsn, name)


class TestCrmOnPostgres(OnPostgres, adapters.TestCrmAdapter):
    pass


class TestRecruitmentOnPostgres(OnPostgres, adapters.TestRecruitmentAdapter):
    pass


class TestNewsletterOnPostgres(OnPostgres, adapters.TestNewsletterAdapter):
    pass


class TestDirectivesOnPostgres(OnPostgres, adapters.TestDirectivesRegister):
    pass


class TestRecipientInboxOnPostgres(OnPostgres, recipients.TestRecipientInbox):
    pass


# --- PostgreSQL's own --------------------------------------------------------------------------------


def test_the_systems_tables_live_in_their_own_schemas(where, crm, newsletter):
    import psycopg

    with psycopg.connect(where("crm").dsn) as conn:
        rows = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('crm', 'newsletter')"
        ).fetchall()
    tables = {(schema, table) for schema, table in rows}
    assert {("crm", "people"), ("crm", "invoice_archive"), ("crm", "processed")} <= tables
    assert {("newsletter", "subscribers"), ("newsletter", "suppression")} <= tables
    assert not {table for schema, table in tables if schema == "newsletter"} & {"people", "invoices"}


def vacuums(dsn: str, schema: str, table: str) -> int:
    """How many times the table was VACUUMed by hand (its dead rows pruned), read on a connection of its own. (Not
    n_dead_tup: the deleting backend reports its count a little later, possibly after the VACUUM.)"""
    import psycopg

    with psycopg.connect(dsn) as conn:
        query = "SELECT vacuum_count FROM pg_stat_user_tables WHERE schemaname = %s AND relname = %s"
        return conn.execute(query, (schema, table)).fetchone()[0]


def subscribed(newsletter: NewsletterAdapter, count: int) -> list[Subject]:
    people = [Subject(email=f"reader{n}@example.test") for n in range(count)]
    for n, person in enumerate(people):
        newsletter.record_submission(f"sub-{n}", "dsr.form.quote_requested", person, adapters.quote(person.email))
    return people


def test_erased_rows_are_pruned_after_so_many_erasures_not_after_each(postgres_dsn):
    # A VACUUM scans the tables' indexes: after every erasure it was most of the erasure's cost on a large CRM.
    newsletter = NewsletterAdapter(PostgresStore(postgres_dsn, "newsletter", ScrubPolicy(3, 3600)), secret=b"k" * 32)
    try:
        first, second, third = subscribed(newsletter, 3)
        newsletter.erase(first)
        newsletter.erase(second)
        assert vacuums(postgres_dsn, "newsletter", "subscribers") == 0  # two erasures: not yet
        newsletter.erase(third)  # the third: the VACUUM runs, the three people's dead rows pruned
        assert vacuums(postgres_dsn, "newsletter", "subscribers") == 1
    finally:
        newsletter.close()


def test_erased_rows_not_yet_pruned_are_pruned_when_the_system_closes(postgres_dsn):
    newsletter = NewsletterAdapter(PostgresStore(postgres_dsn, "newsletter", ScrubPolicy(1000, 3600)), secret=b"k" * 32)
    newsletter.erase(subscribed(newsletter, 1)[0])
    assert vacuums(postgres_dsn, "newsletter", "subscribers") == 0
    newsletter.close()  # a worker stopping: nothing erased stays unpruned
    assert vacuums(postgres_dsn, "newsletter", "subscribers") == 1


def test_erased_rows_are_pruned_within_the_period_when_no_more_erasures_come(postgres_dsn):
    newsletter = NewsletterAdapter(PostgresStore(postgres_dsn, "newsletter", ScrubPolicy(1000, 0.5)), secret=b"k" * 32)
    try:
        newsletter.erase(subscribed(newsletter, 1)[0])
        deadline = time.monotonic() + 10
        while vacuums(postgres_dsn, "newsletter", "subscribers") == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert vacuums(postgres_dsn, "newsletter", "subscribers") >= 1  # the system idle, the period past
    finally:
        newsletter.close()


def test_a_system_opened_again_prunes_what_a_killed_process_left_within_the_period(postgres_dsn):
    # The first process erased, then died before its VACUUM: it never closes, its timer never fires here.
    killed = NewsletterAdapter(PostgresStore(postgres_dsn, "newsletter", ScrubPolicy(1000, 3600)), secret=b"k" * 32)
    killed.erase(subscribed(killed, 1)[0])
    assert vacuums(postgres_dsn, "newsletter", "subscribers") == 0
    # The next process to open the schema prunes within its period, with no erasure of its own.
    restarted = NewsletterAdapter(PostgresStore(postgres_dsn, "newsletter", ScrubPolicy(1000, 0.5)), secret=b"k" * 32)
    try:
        deadline = time.monotonic() + 10
        while vacuums(postgres_dsn, "newsletter", "subscribers") == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert vacuums(postgres_dsn, "newsletter", "subscribers") == 1
    finally:
        restarted.close()
        killed.close()


def test_a_command_opens_a_system_while_a_worker_writes_in_it(postgres_dsn):
    # `dsr retention run` opens the CRM while the worker erases: opening takes no lock on the tables (CREATE INDEX
    # IF NOT EXISTS took one, and deadlocked with an erasure writing to several tables).
    import threading

    import psycopg

    from handlers.reference import CrmAdapter

    CrmAdapter(PostgresStore(postgres_dsn, "crm")).close()
    with psycopg.connect(postgres_dsn) as worker:
        worker.execute(
            "INSERT INTO crm.quote_requests (submission_id, email, submitted_at) VALUES ('q1', 'a@example.test', 'now')"
        )  # not committed yet: the worker's erasure is under way
        opened = threading.Event()
        threading.Thread(target=lambda: (CrmAdapter(PostgresStore(postgres_dsn, "crm")).close(), opened.set())).start()
        assert opened.wait(10)
        worker.rollback()


def test_two_processes_may_share_a_schema(where):
    # The worker and the DPO's tools open the same schema; a second opening creates nothing twice.
    first = NewsletterAdapter(where("newsletter"), secret=adapters.SECRET)
    second = NewsletterAdapter(where("newsletter"), secret=adapters.SECRET)
    first.suppress_marketing(Subject(email="hugo.moreau@example.test"), ("email",))
    assert second.is_suppressed("hugo.moreau@example.test")


def test_with_a_dsn_the_composition_root_builds_every_system_on_postgres(postgres_dsn, tmp_path):
    from dsr.composition import reference_adapters
    from dsr.settings import Settings
    from handlers.reference.postgres import PostgresDatabase

    settings = Settings(postgres_dsn=postgres_dsn, data_dir=tmp_path, sample_data=True)
    registry = reference_adapters(settings, adapters.SECRET, recipients=("franchise-lyon",))
    for name in ("crm", "recruitment", "newsletter", "directives", "franchise-lyon"):
        assert isinstance(registry.get(name)._db, PostgresDatabase), name
    camille = Subject(email="camille.durand@example.test")
    assert registry.get("crm").lookup(camille).holds_data  # the sample people, in PostgreSQL
    assert not (tmp_path / "systems" / "crm.sqlite3").exists()


def test_an_unreachable_server_stops_the_start_naming_the_setting(tmp_path):
    from dsr.composition import reference_adapters
    from dsr.devstack.kafka import free_port
    from dsr.settings import Settings

    settings = Settings(postgres_dsn=f"postgresql://dsr@127.0.0.1:{free_port()}/dsr", data_dir=tmp_path)
    with pytest.raises(SystemExit) as stopped:
        reference_adapters(settings, adapters.SECRET)
    assert "DSR_POSTGRES_DSN" in str(stopped.value)


def test_a_system_reuses_its_connections_and_never_one_that_failed(postgres_dsn: str) -> None:
    """Opening a connection costs the server a backend process: a system keeps a few for its next
    transactions, and drops one whose transaction failed."""
    from handlers.reference.postgres import PostgresDatabase

    db = PostgresDatabase(PostgresStore(postgres_dsn, "pooled"), "CREATE TABLE IF NOT EXISTS t (v INT)")
    pid = "SELECT pg_backend_pid() AS pid"
    try:
        with db.transaction("a@example.org") as conn:
            first = conn.execute(pid).fetchone()["pid"]
        with db.transaction() as conn:
            assert conn.execute(pid).fetchone()["pid"] == first  # the same backend, no new process
            conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(RuntimeError), db.transaction() as conn:
            conn.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError("the verb failed")
        with db.transaction() as conn:
            assert conn.execute(pid).fetchone()["pid"] != first  # the failed one was closed
            assert [r["v"] for r in conn.execute("SELECT v FROM t").fetchall()] == [1]  # and rolled back
    finally:
        db.close()
