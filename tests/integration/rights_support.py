"""What the rights scenarios see from outside: forms a website publishes, the e-mails a person gets,
the DPO's `dsr case` commands, and the systems' own stores (SQLite files under the data dir)."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from contextlib import closing, contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from kafka import KafkaConsumer

from dsr.devstack.smtp_sink import StoredMessage
from handlers.reference import CrmAdapter, NewsletterAdapter
from handlers.verbs import subject_hash
from schemas.audit import parse_audit
from tests.integration.pipeline import ROOT, example, link, rights_request

REFERENCE = re.compile(r"DSR-[0-9A-F]{10}")
RECEIPT_SUBJECTS = (
    "Accusé de réception de votre demande",
    "We have received your request",
    "Accusé de réception de votre signalement d'un décès",  # LIL 85: an heir's own receipt
    "We have received your notice of a death",
)
CRM_RECIPIENTS = ("aircall", "cabinet-comptable", "franchise-lyon", "ovhcloud")  # dsr/defaults/register.yaml
ALL_CONSENTS = {"email": True, "sms": True, "phone": True, "post": True, "wording_version": "2026-09"}


def paris_today() -> date:
    return datetime.now(ZoneInfo("Europe/Paris")).date()


def wait_until(check: Callable[[], object], timeout: float = 30, what: str = "condition") -> object:
    """Poll a store until `check` gives something truthy: systems act asynchronously."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not met after {timeout}s (last: {value!r})")
        time.sleep(0.2)


# --- what a website publishes ----------------------------------------------------------------------


def quote(email: str, name: str, language: str = "fr", **data) -> dict:
    """The sample quote form (12 rue des Lilas, Lyon; plomberie), by default with e-mail marketing consent."""
    data.setdefault("marketing_consent", {"email": True, "wording_version": "2026-09"})
    return example(
        "dsr.form.quote_requested", email=email, first_name=name, last_name="Durand", language=language, **data
    )


def contact(email: str, name: str, **data) -> dict:
    return example("dsr.form.contact_submitted", email=email, first_name=name, last_name="Moreau", **data)


def job_application(email: str, name: str, **data) -> dict:
    return example("dsr.form.job_application_submitted", email=email, first_name=name, last_name="Bernard", **data)


def request(email: str, name: str, right: str, language: str = "fr", **data) -> dict:
    """A `dsr.rights.requested` event; `data` adds the right's own fields."""
    event = rights_request(email, name, right=right, language=language)
    event["data"].update(data)
    return event


def on_file_in_crm(pipeline, event: dict) -> str:
    """Publish a quote or contact form and wait until the CRM holds the person."""
    email = event["data"]["email"]
    pipeline.publish(event)
    wait_until(lambda: crm_count(pipeline, "people", email), what="person in the CRM")
    return email


# --- e-mails ---------------------------------------------------------------------------------------


def reference_of(message: StoredMessage) -> str:
    found = REFERENCE.search(message.subject)
    assert found, f"no case reference in {message.subject!r}"
    return found.group(0)


def new_case(pipeline, to: str, seen: tuple[str, ...] = (), timeout: float = 60) -> str:
    """The reference of the next case acknowledged to `to` (R5: every case starts with a receipt)."""
    receipt = pipeline.mailbox.wait_for(
        lambda m: to in m.rcpt_tos and m.subject.startswith(RECEIPT_SUBJECTS) and reference_of(m) not in seen, timeout
    )
    return reference_of(receipt)


def message(
    pipeline, to: str, reference: str, subject: str = "", contains: str = "", timeout: float = 60
) -> StoredMessage:
    """The e-mail of case `reference` to `to` whose subject and text contain what is given."""
    return pipeline.mailbox.wait_for(
        lambda m: to in m.rcpt_tos and reference in m.subject and subject in m.subject and contains in (m.text or ""),
        timeout,
    )


def messages(pipeline, to: str, reference: str) -> list[StoredMessage]:
    return [m for m in pipeline.emails_to(to) if reference in m.subject]


def confirm(pipeline, to: str, reference: str) -> None:
    """The person follows the link of the verification e-mail: GET shows the page, POST confirms."""
    url = link(message(pipeline, to, reference, contains="/verify/"), "verify")
    status, page, _ = pipeline.get(url)
    assert status == 200 and b"<form" in page
    status, _, _ = pipeline.post(url)
    assert status == 200


def download(pipeline, outcome: StoredMessage) -> zipfile.ZipFile:
    status, body, headers = pipeline.get(link(outcome, "download"))
    assert status == 200 and headers["Content-Type"].startswith("application/zip")
    return zipfile.ZipFile(io.BytesIO(body))


def prose(text: str | None) -> str:
    """An e-mail's text as one line: templates wrap sentences anywhere, with no-break spaces too."""
    return " ".join((text or "").split())


def line_with(text: str, needle: str) -> str:
    """The line of an e-mail that holds `needle` (templates put one item per line)."""
    found = [line for line in text.splitlines() if needle in line]
    assert found, f"no line with {needle!r} in:\n{text}"
    return found[0]


# --- the DPO -------------------------------------------------------------------------------------


def dpo(pipeline, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`dsr case ...` as the DPO types it; decisions are checked by the worker, refusals exit non-zero."""
    return subprocess.run(
        [sys.executable, "-m", "dsr.cli", "case", *args],
        cwd=ROOT,
        env=env or pipeline.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def decided(pipeline, *args: str) -> str:
    done = dpo(pipeline, *args)
    assert done.returncode == 0, f"`dsr case {' '.join(args)}` failed: {done.stderr}"
    return done.stdout


def case_record(pipeline, reference: str) -> dict:
    return json.loads(decided(pipeline, "show", reference))


def wait_for_status(pipeline, reference: str, status: str, timeout: float = 60) -> dict:
    return wait_until(
        lambda: (c := case_record(pipeline, reference))["status"] == status and c,
        timeout,
        what=f"case {reference} {status}",
    )


def audit_records(pipeline, request_id: str) -> list[dict]:
    consumer = KafkaConsumer(
        "dsr.audit",
        bootstrap_servers=pipeline.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    try:
        records = [r.model_dump(mode="json", exclude_none=True) for m in consumer for r in parse_audit(m.value)]
    finally:
        consumer.close()
    return [r for r in records if r.get("request_id") == request_id]


def dead_letters(pipeline, key: bytes) -> list:
    consumer = KafkaConsumer(
        "dsr.intake.dlq",
        bootstrap_servers=pipeline.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    try:
        return [m for m in consumer if m.key == key]
    finally:
        consumer.close()


# --- the systems' stores -------------------------------------------------------------------------


def store(pipeline, system: str):
    # A second connection to the worker's WAL-mode file: readers never block its writer.
    return closing(sqlite3.connect(pipeline.data_dir / "systems" / f"{system}.sqlite3", timeout=10))


def select(pipeline, system: str, sql: str, *params) -> list[sqlite3.Row]:
    with store(pipeline, system) as db:
        db.row_factory = sqlite3.Row
        return db.execute(sql, params).fetchall()


def crm_count(pipeline, table: str, email: str) -> int:
    return select(pipeline, "crm", f"SELECT count(*) FROM {table} WHERE email = ?", email.lower())[0][0]


def latest_consents(pipeline, email: str) -> dict[str, tuple[int, str]]:
    """Channel -> (granted, source) of the CRM's latest recorded choice (R32: per channel, with proof)."""
    rows = select(
        pipeline, "crm", "SELECT channel, granted, source FROM consents WHERE email = ? ORDER BY rowid", email.lower()
    )
    return {row["channel"]: (row["granted"], row["source"]) for row in rows}


def secret(pipeline) -> bytes:
    return pipeline.env["DSR_SECRET_KEY"].encode()  # what dsr.composition gives the reference systems


@contextmanager
def newsletter(pipeline):
    adapter = NewsletterAdapter(pipeline.data_dir / "systems" / "newsletter.sqlite3", secret=secret(pipeline))
    try:
        yield adapter
    finally:
        adapter.close()


@contextmanager
def crm(pipeline):
    # Writing beside the worker is safe: both connections take SQLite's write lock (BEGIN IMMEDIATE)
    # and wait for each other (busy timeout), and WAL lets readers go on meanwhile.
    adapter = CrmAdapter(pipeline.data_dir / "systems" / "crm.sqlite3")
    try:
        yield adapter
    finally:
        adapter.close()


def subscribed(pipeline, email: str) -> bool:
    with newsletter(pipeline) as adapter:
        return email.lower() in adapter.send_list(f"campaign-{time.time_ns()}")


def notices_about(pipeline, email: str) -> dict[str, list[dict]]:
    """Art. 19 notices each recipient's inbox filed about this person (R35), by recipient."""
    found: dict[str, list[dict]] = {}
    for row in select(pipeline, "recipients", "SELECT * FROM notices ORDER BY rowid"):
        if row["subject_hash"] == subject_hash(secret(pipeline), row["recipient"], email):
            found.setdefault(row["recipient"], []).append(
                dict(row) | {"systems": json.loads(row["systems"]), "fields": json.loads(row["fields"])}
            )
    return found


def two_months_ago() -> str:
    return (datetime.now(UTC) - timedelta(days=62)).isoformat()
