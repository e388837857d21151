"""The reference systems on PostgreSQL, end to end through real Kafka (DSR_POSTGRES_DSN: a schema per system):
erasure across CRM, recruitment and newsletter, and an access copy that is what the tables hold; the key vault
and the access copies in PostgreSQL too (DSR_VAULT_DSN)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from gdpr.sealing import subject_ref
from handlers.reference import CrmAdapter, RecruitmentAdapter
from mail.templates import longdate
from tests.integration.pipeline import new_person
from tests.integration.postgres_support import (
    pg_count,
    pg_crm,
    pg_newsletter,
    pg_rows,
    pg_select,
    tables_holding,
)
from tests.integration.rights_support import (
    confirm,
    download,
    job_application,
    line_with,
    message,
    new_case,
    quote,
    request,
    wait_until,
)

pytestmark = pytest.mark.integration


def on_file(pg_pipeline, email: str, name: str) -> Path:
    """She asked for a quote (agreeing to the newsletter by e-mail) and applied for a job with her CV:
    wait until the CRM, the newsletter and the recruitment tool hold her; the CV file's path."""
    pg_pipeline.publish(quote(email, name))
    pg_pipeline.publish(job_application(email, name, cv_ref=f"uploads/2026/11/cv-{name}.pdf"))
    tables = ("crm.people", "newsletter.subscribers", "recruitment.cv_files")
    wait_until(lambda: all(pg_count(pg_pipeline, table, email) for table in tables), what="on file in three systems")
    return Path(pg_select(pg_pipeline, "SELECT path FROM recruitment.cv_files WHERE email = %s", email)[0]["path"])


def vault_rows(pg_pipeline, email: str) -> int:
    ref = subject_ref(pg_pipeline.env["DSR_SECRET_KEY"].encode(), email)
    return len(pg_select(pg_pipeline, "SELECT 1 FROM dsr_vault.subject_keys WHERE subject_ref = %s", ref))


def test_erasure_across_crm_recruitment_and_newsletter_on_postgresql(pg_pipeline):
    email, name = new_person()
    cv = on_file(pg_pipeline, email, name)
    assert cv.is_file() and cv.read_text() == f"uploads/2026/11/cv-{name}.pdf"
    # She became a customer: the CRM (same PostgreSQL schema as the worker's) books her invoice.
    number = f"F-{email[7:15]}"
    with pg_crm(pg_pipeline) as system:
        system.add_invoice(email, number, 24000, issued_at="2026-06-01", paid_at="2026-06-15")
    assert vault_rows(pg_pipeline, email) == 1 and not (pg_pipeline.data_dir / "keys.sqlite3").exists()
    pg_pipeline.publish(request(email, name, "erasure"))
    ref = new_case(pg_pipeline, email)
    confirm(pg_pipeline, email, ref)
    outcome = message(pg_pipeline, email, ref, subject="Effacement partiel")
    # No table of any system's schema holds her address any more, except the restricted invoice archive.
    assert tables_holding(pg_pipeline, email) == {"crm.invoice_archive": 1}
    archived = pg_select(pg_pipeline, "SELECT number, retain_until FROM crm.invoice_archive WHERE email = %s", email)
    assert [(row["number"], row["retain_until"]) for row in archived] == [
        (number, "2036-12-31")
    ]  # FY 2026 closes 31 Dec
    # The CV file is gone from the file store, not just its row.
    assert not cv.exists()
    # The newsletter keeps only the keyed fingerprint, so she is never re-imported (R45).
    with pg_newsletter(pg_pipeline) as tool:
        assert tool.is_suppressed(email) and email not in tool.send_list("next-campaign")
        digest = tool.suppression_hash(email)
    assert pg_select(pg_pipeline, "SELECT reason FROM newsletter.suppression WHERE hash = %s", digest) == [
        {"reason": "erasure"}
    ]
    # The outcome names what was erased where, and the invoice kept with its ground and end date.
    assert "(CRM)" in line_with(outcome.text, "éléments effacés")
    assert "factures (1)" in outcome.text and "article 17, paragraphe 3, point b" in outcome.text
    assert f"jusqu'au {longdate(date(2036, 12, 31), 'fr')}" in outcome.text  # FY 2026 close + 10 years
    # Her key is gone from the vault every worker shares, once every Art. 19 notice was answered: each answer is
    # in the record every worker shares, so a notice redelivered after a crash is answered, not run again.
    wait_until(lambda: vault_rows(pg_pipeline, email) == 0, what="the key destroyed in PostgreSQL")
    answered = pg_select(
        pg_pipeline,
        "SELECT result::jsonb ->> 'action' AS action, count(*) AS n FROM dsr_answers.answers GROUP BY 1",
    )
    actions = {row["action"]: row["n"] for row in answered}
    assert actions.get("notify_recipient", 0) > 0 and actions.get("erase", 0) > 0 and actions.get("lookup", 0) > 0


def without_tags(record: dict) -> dict:
    """An exported record without what the export adds: `_origin`, `_inferred_fields`, a CV's content."""
    return {k: v for k, v in record.items() if not k.startswith("_") and k != "content"}


def test_access_copy_holds_what_the_postgresql_tables_hold(pg_pipeline):
    email, name = new_person()
    cv = on_file(pg_pipeline, email, name)
    with pg_crm(pg_pipeline) as system:
        system.add_invoice(email, f"F-{email[7:15]}", 9000, issued_at="2026-05-02")
    pg_pipeline.publish(request(email, name, "access"))
    ref = new_case(pg_pipeline, email)
    confirm(pg_pipeline, email, ref)
    outcome = message(pg_pipeline, email, ref, subject="La copie de vos données", contains="/download/")
    archive = download(pg_pipeline, outcome)
    # The copy waits, sealed, in PostgreSQL, where any worker can serve it; nothing on this worker's disk.
    stored = pg_select(pg_pipeline, "SELECT item, sealed FROM dsr_exports.items WHERE item = 'package'")
    assert stored and all(email not in row["sealed"] for row in stored)
    assert not any((pg_pipeline.data_dir / "exports").glob("*"))
    # Each system's file has, category by category, exactly her rows of the table behind it.
    for adapter in (CrmAdapter, RecruitmentAdapter):
        copy = json.loads(archive.read(f"{adapter.name}.json"))
        assert copy["system"] == adapter.name
        expected = {
            c.name: rows
            for c in adapter.CATEGORIES
            if (rows := pg_rows(pg_pipeline, f"{adapter.name}.{c.table}", email))
        }
        assert {c: [without_tags(r) for r in rows] for c, rows in copy["records"].items()} == expected
    # What she was told and what is on file match in the details too: the CV itself, the lead score.
    crm = json.loads(archive.read("crm.json"))["records"]
    assert set(crm) >= {"person", "quote_requests", "consents", "invoices"}
    assert crm["person"][0]["lead_score"] == 10 and crm["person"][0]["_inferred_fields"] == ["lead_score"]
    recruitment = json.loads(archive.read("recruitment.json"))["records"]
    assert set(recruitment) == {"candidate", "applications", "cv_files"}
    assert recruitment["cv_files"][0]["content"] == cv.read_text()
    newsletter = json.loads(archive.read("newsletter.json"))["records"]
    subscribers = pg_rows(pg_pipeline, "newsletter.subscribers", email)
    assert [without_tags(r) for r in newsletter["subscription"]] == subscribers
