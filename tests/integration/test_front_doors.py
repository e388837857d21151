"""The front doors in a real browser, against the real worker (`dsr run`), real Kafka and a real SMTP server: a
person files, confirms, follows and withdraws requests in the privacy center and uploads a requested document; a
website posts each intake mode; the DPO works in the console. axe-core checks the privacy center's pages (WCAG 2.1
A/AA); each page is saved under docs/screenshots/ for the README."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.integration.browser import assert_accessible, dsr_command, new_page, shoot, start_browser
from tests.integration.pipeline import DPO_EMAIL, http, link, new_person, rights_request

PASSWORD = "a long console passphrase"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% identity card, redacted\n%%EOF\n"


@pytest.fixture(scope="module")
def browser():
    playwright, chromium = start_browser()
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


def wait_text(page: Page, url: str, text: str, timeout: float = 60) -> None:
    """Reload a page until it shows `text` (the case moves on in the worker meanwhile)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.goto(url)
        if text in page.content():
            return
        time.sleep(1)
    raise AssertionError(f"{text!r} never appeared on {url}")


def wait_gone(page: Page, url: str, text: str, timeout: float = 60) -> None:
    """Reload a page until `text` is no longer on it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.goto(url)
        if text not in page.content():
            return
        time.sleep(1)
    raise AssertionError(f"{text!r} still on {url}")


# --- the privacy center -------------------------------------------------------------------------------


def test_a_person_files_an_erasure_confirms_it_and_follows_it_to_the_outcome(pipeline, browser):
    email, name = new_person()
    page = new_page(browser)
    page.goto(pipeline.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Vos données personnelles")
    assert_accessible(page)
    shoot(page, "privacy-center")
    page.get_by_role("link", name="Effacer vos données").click()
    assert_accessible(page)
    shoot(page, "privacy-center-erasure-form")
    page.get_by_label("Votre adresse e-mail").fill(email)
    page.get_by_label("Votre nom").fill(name)
    page.get_by_role("button", name="Envoyer ma demande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demande reçue")
    reference = re.search(r"DSR-[0-9A-F]{10}", page.content()).group(0)
    assert_accessible(page)
    shoot(page, "privacy-center-received")
    # The receipt (real SMTP) carries the status link; the confirmation comes in its own e-mail.
    receipt = pipeline.email(email, "/status/")
    assert reference in receipt.text
    status_url = link(receipt, "status")
    page.goto(link(pipeline.email(email, "/verify/"), "verify"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirmer votre demande")
    expect(page.get_by_role("link", name="Read this page in English")).to_be_visible()  # the center's switch
    assert_accessible(page)
    shoot(page, "privacy-center-verify")
    page.get_by_role("button", name="Je confirme ma demande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demande confirmée")
    assert_accessible(page)
    shoot(page, "privacy-center-confirmed")
    # Nobody knows this person: the answer says so, and the status page follows the case to its end.
    wait_text(page, status_url, "Clôturée")
    assert_accessible(page)
    shoot(page, "privacy-center-status-closed")
    assert pipeline.email(email, "aucune donnée")


def test_another_person_withdraws_a_request_from_the_status_page_in_english(pipeline, browser):
    email, _ = new_person()
    page = new_page(browser)
    page.goto(pipeline.url + "/")
    page.get_by_role("link", name="Read this page in English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your personal data")
    assert_accessible(page)
    shoot(page, "privacy-center-en")
    page.get_by_role("link", name="See your data").click()
    page.get_by_label("Your e-mail address").fill(email)
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Request received")
    status_url = link(pipeline.email(email, "/status/"), "status")
    wait_text(page, status_url, "Waiting for your confirmation")  # once every system was asked
    assert_accessible(page)
    shoot(page, "privacy-center-status")
    page.get_by_role("button", name="Withdraw my request").click()
    expect(page.get_by_role("status")).to_have_text(re.compile("Your request is withdrawn"))
    wait_text(page, status_url, "Withdrawn at your request")
    assert_accessible(page)
    shoot(page, "privacy-center-withdrawn")
    expect(page.get_by_role("button", name="Withdraw my request")).to_have_count(0)


def test_known_and_unknown_addresses_cannot_be_told_apart(pipeline, browser):
    answers = []
    for email in ("camille.durand@example.test", f"{uuid.uuid4().hex[:8]}@nobody.test"):
        page = new_page(browser)
        page.goto(pipeline.url + "/request/access")
        page.get_by_label("Votre adresse e-mail").fill(email)
        started = time.monotonic()
        page.get_by_role("button", name="Envoyer ma demande").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Demande reçue")
        answers.append((re.sub(r"DSR-[0-9A-F]{10}", "REF", page.inner_text("main")), time.monotonic() - started))
    assert answers[0][0] == answers[1][0]
    assert abs(answers[0][1] - answers[1][1]) < 1.0  # nothing is looked up before answering


def test_the_forms_work_without_javascript_and_keep_the_csrf_check(pipeline, browser):
    context = browser.new_context(java_script_enabled=False, locale="fr-FR")
    page = context.new_page()
    email, _ = new_person()
    page.goto(pipeline.url + "/request/consent_withdrawal")
    page.get_by_label("Votre adresse e-mail").fill(email)
    page.get_by_label("SMS").check()
    page.get_by_role("button", name="Envoyer ma demande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demande reçue")
    context.clear_cookies()  # a form posted from elsewhere arrives without our SameSite=Strict cookie
    page.goto(pipeline.url + "/request/access")
    page.get_by_label("Votre adresse e-mail").fill(email)
    context.clear_cookies()
    page.get_by_role("button", name="Envoyer ma demande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Formulaire expiré")


@pytest.mark.parametrize(
    "form",
    ["access", "rectification", "restriction", "portability", "objection", "consent_withdrawal", "directives", "death"],
)
def test_every_form_of_the_privacy_center_passes_axe(pipeline, browser, form):
    page = new_page(browser, "en-GB")
    page.goto(f"{pipeline.url}/request/{form}")
    assert_accessible(page)
    if form == "death":  # the browser's own check stops it; without it, the server names each missing field
        page.evaluate("document.querySelector('form').noValidate = true")
        page.get_by_role("button", name="Send my request").click()
        expect(page.get_by_role("alert")).to_be_visible()
        assert_accessible(page)
        shoot(page, "privacy-center-form-errors")


def test_the_pages_that_say_no_pass_axe(pipeline, browser):
    page = new_page(browser, "en-GB")
    # A form sent without its cookie (from elsewhere, or after too long) has expired.
    page.goto(pipeline.url + "/request/access")
    page.get_by_label("Your e-mail address").fill(new_person()[0])
    page.context.clear_cookies()
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Form expired")
    assert_accessible(page)
    shoot(page, "privacy-center-expired")
    # A link cut short in an e-mail: the status page's and the confirmation's.
    page.goto(pipeline.url + "/status/not-a-whole-link?lang=en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Invalid link")
    assert_accessible(page)
    shoot(page, "privacy-center-invalid-link")
    page.goto(pipeline.url + "/verify/not-a-whole-link")
    expect(page.get_by_role("heading", level=1)).to_have_text("Invalid link")
    assert_accessible(page)
    # One address, more requests than DSR_REQUESTS_PER_ADDRESS (5) in an hour.
    email, _ = new_person()
    for _ in range(6):
        page.goto(pipeline.url + "/request/access")
        page.get_by_label("Your e-mail address").fill(email)
        page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Too many requests")
    assert_accessible(page)
    shoot(page, "privacy-center-limited")


# --- the upload page (issue 10 item 15) -----------------------------------------------------------------


def console_user(pipeline, name: str, role: str) -> None:
    dsr_command(pipeline.env, "user", "add", name, "--role", role, given=f"{PASSWORD}\n{PASSWORD}\n")


def log_in(browser, pipeline, name: str, password: str = PASSWORD) -> Page:
    page = new_page(browser)
    page.goto(pipeline.admin_url + "/console/")
    page.get_by_label("Identifiant").fill(name)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    return page


def test_an_id_asked_for_is_uploaded_checked_in_the_console_then_deleted(pipeline, browser):
    email, name = new_person()
    pipeline.publish(rights_request(email, name, "access"))
    reference = re.search(r"DSR-[0-9A-F]{10}", pipeline.email(email, "/status/").text).group(0)
    # The DPO asks for an ID with `dsr case`, under their own token: the decision is recorded as theirs.
    console_user(pipeline, "uploads-dpo", "dpo")
    token = dsr_command(pipeline.env, "user", "token", "uploads-dpo").stdout.strip()
    as_dpo = {**pipeline.env, "DSR_API_TOKEN": token, "DSR_API_URL": pipeline.admin_url}
    dsr_command(as_dpo, "case", "request-id", reference, "--reason", "sensitive_data")
    id_request = pipeline.email(email, "/upload/")
    assert DPO_EMAIL not in id_request.text.split("/upload/")[0].split("BESOIN")[-1]  # never "write to the DPO"
    page = new_page(browser)
    page.goto(link(id_request, "upload"))
    assert_accessible(page)
    shoot(page, "privacy-center-upload")
    page.get_by_label(re.compile("Fichier")).set_input_files(
        {"name": "id.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="Envoyer le document").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Document reçu")
    pipeline.mailbox.wait_for(
        lambda m: DPO_EMAIL in m.rcpt_tos and reference in m.subject and "console" in (m.text or ""), timeout=60
    )
    # The DPO opens it in the console, checks it, records the check: the document is gone.
    console = log_in(browser, pipeline, "uploads-dpo")
    wait_text(console, f"{pipeline.admin_url}/console/cases/{reference}", "Justificatif déposé")
    document = pipeline.admin_url + console.get_by_role("link", name=re.compile("Justificatif déposé")).get_attribute(
        "href"
    )
    assert console.request.get(document).body() == PDF
    console.get_by_text("Consigner la vérification").click()
    console.locator("form:has(input[value=verify_id]) button").click()
    expect(console.get_by_role("status")).to_contain_text("Consigner la vérification du justificatif")
    wait_text(console, f"{pipeline.admin_url}/console/cases/{reference}", "justificatif supprimé")
    assert console.request.get(document).status == 404


# --- websites: POST /intake, and CloudEvents on Kafka ---------------------------------------------------


def post_intake(pipeline, body: bytes, headers: dict) -> tuple[int, dict]:
    status, raw, _ = http("POST", pipeline.url + "/intake", body, headers)
    return status, json.loads(raw or b"{}")


def test_a_website_posts_each_intake_mode_with_its_key(pipeline):
    key = dsr_command(pipeline.env, "site-key", "shop").stdout.strip()
    auth = {"Authorization": f"Bearer {key}"}
    email, name = new_person()
    event = rights_request(email, name, "access")
    structured = {**auth, "Content-Type": "application/cloudevents+json"}
    status, answer = post_intake(pipeline, json.dumps(event).encode(), structured)
    assert status == 202 and answer["reference"].startswith("DSR-") and answer["deadline"]
    assert post_intake(pipeline, json.dumps(event).encode(), structured) == (202, answer)  # replayed: same answer
    pipeline.email(email, "/status/")
    # binary mode: the attributes in ce- headers, the data as the body
    other, other_name = new_person()
    binary = rights_request(other, other_name, "access")
    headers = {f"ce-{k}": v for k, v in binary.items() if k not in ("data", "datacontenttype")}
    status, _ = post_intake(
        pipeline, json.dumps(binary["data"]).encode(), {**auth, **headers, "Content-Type": "application/json"}
    )
    assert status == 202
    pipeline.email(other, "/status/")
    # batch mode
    people = [new_person() for _ in range(3)]
    batch = [rights_request(e, n, "access") for e, n in people]
    status, answer = post_intake(
        pipeline, json.dumps(batch).encode(), {**auth, "Content-Type": "application/cloudevents-batch+json"}
    )
    assert status == 202 and len(answer["accepted"]) == 3
    for person, _ in people:
        pipeline.email(person, "/status/")


def test_a_website_is_refused_without_a_key_with_a_bad_one_a_bad_body_or_too_much(pipeline):
    key = dsr_command(pipeline.env, "site-key", "shop").stdout.strip()
    structured = {"Content-Type": "application/cloudevents+json"}
    event = json.dumps(rights_request(*new_person())).encode()
    assert post_intake(pipeline, event, structured)[0] == 401
    assert post_intake(pipeline, event, {**structured, "Authorization": "Bearer shop.forged"})[0] == 403
    auth = {**structured, "Authorization": f"Bearer {key}"}
    bad = rights_request("not-an-address-private", "Nobody")
    status, answer = post_intake(pipeline, json.dumps(bad).encode(), auth)
    assert status == 400 and "subject_identities" in json.dumps(answer) and "private" not in json.dumps(answer)
    assert post_intake(pipeline, b"x" * (1024 * 1024 + 10), auth)[0] == 413


def test_on_kafka_a_binary_mode_event_with_extensions_opens_a_case(pipeline):
    email, name = new_person()
    event = rights_request(email, name, "access")
    headers = [(f"ce_{k}", str(v).encode()) for k, v in event.items() if k not in ("data", "datacontenttype")]
    headers += [("ce_traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]
    headers += [("content-type", b"application/json; charset=utf-8")]
    pipeline.producer.send("dsr.intake", value=json.dumps(event["data"]).encode(), headers=headers).get(30)
    assert pipeline.email(email, "/status/")


# --- the DPO console ------------------------------------------------------------------------------------


def test_the_dpo_works_in_the_console_and_a_viewer_only_sees(pipeline, browser):
    console_user(pipeline, "dana", "dpo")
    console_user(pipeline, "victor", "viewer")
    email, name = new_person()
    pipeline.publish(rights_request(email, name, "erasure"))
    reference = re.search(r"DSR-[0-9A-F]{10}", pipeline.email(email, "/status/").text).group(0)
    page = new_page(browser)
    page.goto(pipeline.admin_url + "/console/")
    shoot(page, "console-login")
    page = log_in(browser, pipeline, "dana")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dossiers ouverts")
    page.get_by_label("Droit").select_option("erasure")
    page.get_by_label("Situation").select_option("awaiting_person")
    page.get_by_role("button", name="Filtrer").click()
    expect(page.get_by_role("link", name=reference)).to_be_visible()
    shoot(page, "console-cases")
    page.get_by_role("link", name=reference).click()
    page.get_by_text("Prolonger le délai").click()
    page.get_by_label("vos données sont réparties", exact=False).first.check()
    page.locator("form:has(input[value=extend]) button").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Prolonger le délai de deux mois (article 12, paragraphe 3), par dana"
    )
    page.get_by_text("Signaler comme manifestement excessive").click()
    page.locator("form:has(input[value=flag_excessive]) textarea[name=facts]").fill(
        "Four identical requests in eight weeks."
    )
    page.locator("form:has(input[value=flag_excessive]) input[name=fee]").fill("15")
    page.locator("form:has(input[value=flag_excessive]) button").click()
    expect(page.get_by_role("alert")).to_contain_text("aucune demande antérieure de cette personne")
    wait_text(page, f"{pipeline.admin_url}/console/cases/{reference}", "décision refusée")
    shoot(page, "console-case")
    viewer = log_in(browser, pipeline, "victor")
    viewer.goto(f"{pipeline.admin_url}/console/cases/{reference}")
    expect(viewer.get_by_text("lecture seule").first).to_be_visible()
    expect(viewer.locator("input[name=kind]")).to_have_count(0)
    shoot(viewer, "console-viewer")


INTAKE_DEAD_LETTERS = "table#letters tbody tr"


def intake_dead_letters(page: Page, pipeline) -> dict[str, str]:
    """The newest page of dsr.intake.dlq in the console (50 rows at most), rows by their first cell,
    partition:offset."""
    page.goto(pipeline.admin_url + "/console/dead-letters?topic=dsr.intake.dlq")
    return {row.split("\t")[0].strip(): row for row in page.locator(INTAKE_DEAD_LETTERS).all_inner_texts()}


def wait_new_rows(page: Page, pipeline, seen: dict[str, str], timeout: float = 60) -> dict[str, str]:
    """The newest page once it shows a letter `seen` did not have."""
    deadline = time.monotonic() + timeout
    while not set(rows := intake_dead_letters(page, pipeline)) - set(seen) and time.monotonic() < deadline:
        time.sleep(1)
    return rows


def test_the_dpo_retries_a_parked_email_and_replays_a_dead_letter(pipeline, browser):
    console_user(pipeline, "dora", "dpo")
    email, name = new_person()
    seen = pipeline.mailbox.all()  # alerts about other tests' parked e-mails
    pipeline.sink.fail_for(email, 1, 550)  # the receipt is refused for good: parked, the DPO told
    pipeline.publish(rights_request(email, name, "access"))
    alert = pipeline.mailbox.wait_for(
        lambda m: DPO_EMAIL in m.rcpt_tos and "accusé de réception de la demande" in (m.text or "") and m not in seen,
        timeout=60,
    )
    reference = re.search(r"DSR-[0-9A-F]{10}", alert.subject).group(0)
    page = log_in(browser, pipeline, "dora")
    page.goto(pipeline.admin_url + "/console/mail")
    shoot(page, "console-mail")
    receipt_row = page.locator("tr", has_text=reference).filter(has_text="accusé de réception de la demande")
    receipt_row.get_by_role("button", name="Renvoyer").click()
    expect(page.get_by_role("status")).to_contain_text("E-mail renvoyé")
    assert pipeline.email(email, "/status/")  # the receipt, at last
    wait_gone(page, pipeline.admin_url + "/console/mail", reference)  # sent now: no longer parked
    assert reference not in dsr_command(pipeline.env, "mail", "parked").stdout  # nor for the command line
    # A message no one can process lands in dsr.intake.dlq; replayed, it is refused again, with its reason.
    before = intake_dead_letters(page, pipeline)
    pipeline.publish(b'{"not": "a cloudevent"}')
    after = wait_new_rows(page, pipeline, before)
    [new] = set(after) - set(before)
    assert len(after) <= 50 and list(after)[0] == new  # one page, the newest first
    shoot(page, "console-dead-letters")
    first_cell = page.locator(":is(td, th):first-child", has_text=re.compile(rf"^\s*{re.escape(new)}\s*$"))
    row = page.locator(INTAKE_DEAD_LETTERS).filter(has=first_cell)
    row.get_by_role("button", name="Rejouer").click()
    expect(page.get_by_role("status")).to_contain_text("Message rejoué sur dsr.intake")
    rows = wait_new_rows(page, pipeline, after)
    assert len(set(rows) - set(after)) == 1  # refused again, with its reason
    assert "rejoué" in rows[new]  # the replayed one is marked
    page.goto(pipeline.admin_url + "/console/systems")
    expect(page.get_by_role("row", name=re.compile("crm"))).to_be_visible()
    shoot(page, "console-systems")


def test_a_wrong_password_locks_the_account_after_the_limit(pipeline, browser):
    console_user(pipeline, "lucie", "dpo")
    for _ in range(5):  # DSR_CONSOLE_MAX_FAILURES
        page = log_in(browser, pipeline, "lucie", "not the passphrase")
    expect(page.get_by_role("alert")).to_contain_text("compte bloqué")
    page = log_in(browser, pipeline, "lucie")  # the right password, too late
    expect(page.get_by_role("alert")).to_contain_text("compte bloqué")  # the answer an unknown name gets too
    shoot(page, "console-locked")
    dsr_command(pipeline.env, "user", "enable", "lucie")
    page = log_in(browser, pipeline, "lucie")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dossiers ouverts")
