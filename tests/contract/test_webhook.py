"""The webhook adapter runs the whole adapter contract over real HTTP; then what the wire itself promises."""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest

from handlers.memory import MemoryAdapter
from handlers.protocol import DATA_ACTIONS, InvalidTask, Subject, UnsupportedAction
from handlers.runtime import TransientAdapterError, run_task
from handlers.webhook import MalformedAnswer, RemoteRefused, WebhookAdapter, signed_headers
from handlers.webhook_receiver import BadSignature, WebhookReceiver, running, verify_signature
from schemas.tasks import KeepGround, LegalHold, TaskAction, TaskStatus
from tests.contract.test_adapters import AdapterContract
from tests.contract.test_rights_verbs import NEW_VALUES, RightsContract
from tests.unit.test_runtime import open_sealed, seal, task

pytestmark = pytest.mark.contract

SECRET = b"webhook-secret-for-billing"
CAMILLE = Subject(email="camille.durand@example.test", name="Camille Durand")
HOLD = LegalHold(
    hold_id="dispute-1",
    categories=["submissions"],
    ground=KeepGround.LEGAL_CLAIMS,
    owner="legal",
    review_on=datetime(2027, 6, 30).date(),
)


class TestWebhookAdapter(AdapterContract, RightsContract):
    """A SaaS back office behind the reference receiver, holding its data like the in-memory twin."""

    held_category = "submissions"

    @pytest.fixture
    def adapter(self, tmp_path):
        with ExitStack() as self.servers:
            yield self.make_adapter(tmp_path)

    def make_adapter(self, tmp_path):
        url = self.servers.enter_context(running(WebhookReceiver(MemoryAdapter("billing"), SECRET)))
        return WebhookAdapter("billing", url, SECRET)


# --- Doubles of a remote system -------------------------------------------------------------------


class Recording:
    """Passes requests to a real receiver and keeps what arrived."""

    def __init__(self, receiver: WebhookReceiver) -> None:
        self.receiver, self.requests = receiver, []

    def handle(self, headers, body):
        self.requests.append((dict(headers), body))
        return self.receiver.handle(headers, body)


class Scripted:
    """Answers the given (status, body) in turn, then passes to the receiver; counts the calls."""

    def __init__(self, receiver: WebhookReceiver, *answers: tuple[int, dict]) -> None:
        self.receiver, self.answers, self.calls = receiver, list(answers), 0

    def handle(self, headers, body):
        self.calls += 1
        return self.answers.pop(0) if self.answers else self.receiver.handle(headers, body)


class Stalling:
    """Answers only once released: a remote that hangs."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def handle(self, headers, body):
        self.release.wait(5)
        return 200, {"holds_data": False}


@pytest.fixture
def billing() -> MemoryAdapter:
    twin = MemoryAdapter("billing")
    twin.seed(CAMILLE.email, "invoices", {"number": "F-1", "first_name": "Camille"})
    return twin


@pytest.fixture
def servers():
    with ExitStack() as stack:
        yield stack


def remote(servers: ExitStack, handler, secret: bytes = SECRET, **options) -> WebhookAdapter:
    return WebhookAdapter("billing", servers.enter_context(running(handler)), secret, **options)


async def run(adapter, t):
    return await run_task(adapter, t, open_sealed=open_sealed, seal=seal, backoff=0.0)


def post(url: str, body: bytes, headers: dict) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


# --- Signature, window, replay --------------------------------------------------------------------


def test_a_wrong_secret_is_answered_401_and_is_final(servers, billing):
    # The sender has a stale secret: the system refuses, and retrying would not help.
    scripted = Scripted(WebhookReceiver(billing, SECRET))
    adapter = remote(servers, scripted, secret=b"an-old-secret")
    with pytest.raises(RemoteRefused, match="HTTP 401"):
        adapter.lookup(CAMILLE)


async def test_a_wrong_secret_fails_the_task_after_one_call(servers, billing):
    scripted = Scripted(WebhookReceiver(billing, SECRET))
    result = await run(remote(servers, scripted, secret=b"an-old-secret"), task(TaskAction.LOOKUP, system="billing"))
    assert result.status == TaskStatus.FAILED
    assert "HTTP 401" in result.error and "signature" in result.error
    assert scripted.calls == 1


def test_a_replayed_delivery_is_refused(servers, billing):
    # Someone captured a signed request and sends it again, within the five minutes.
    url = servers.enter_context(running(WebhookReceiver(billing, SECRET)))
    body = json.dumps({"action": "lookup", "system": "billing", "subject": {"email": CAMILLE.email}}).encode()
    headers = {"Content-Type": "application/json", **signed_headers(SECRET, body, datetime.now(UTC))}
    assert post(url, body, headers) == 200
    assert post(url, body, headers) == 409


def test_a_replay_under_a_new_delivery_id_does_not_verify(servers, billing):
    # The delivery id is signed: changing it to dodge the ledger breaks the signature.
    url = servers.enter_context(running(WebhookReceiver(billing, SECRET)))
    body = json.dumps({"action": "lookup", "system": "billing", "subject": {"email": CAMILLE.email}}).encode()
    headers = signed_headers(SECRET, body, datetime.now(UTC))
    assert post(url, body, headers) == 200
    assert post(url, body, {**headers, "X-DSR-Delivery": "another-delivery-id"}) == 401


@pytest.mark.parametrize("skew", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_a_timestamp_outside_five_minutes_is_refused(servers, billing, skew):
    adapter = remote(servers, WebhookReceiver(billing, SECRET), clock=lambda: datetime.now(UTC) + skew)
    with pytest.raises(RemoteRefused, match="HTTP 401.*5-minute window"):
        adapter.lookup(CAMILLE)


def test_verify_signature_accepts_either_secret_during_a_rotation():
    now, body = datetime(2026, 11, 26, 9, 30, tzinfo=UTC), b'{"action":"lookup"}'
    old, new = signed_headers(b"old", body, now, "d-123456789"), signed_headers(b"new", body, now, "d-123456789")
    header = f"{old['X-DSR-Signature']},{new['X-DSR-Signature']}"
    verify_signature(b"new", new["X-DSR-Timestamp"], "d-123456789", body, header, now)
    with pytest.raises(BadSignature):
        verify_signature(b"new", new["X-DSR-Timestamp"], "d-123456789", body + b" ", header, now)
    with pytest.raises(BadSignature, match="window"):
        verify_signature(b"new", new["X-DSR-Timestamp"], "d-123456789", body, header, now + timedelta(minutes=6))


# --- Retries and final errors ---------------------------------------------------------------------


async def test_a_remote_down_twice_then_back_gets_the_task_done(servers, billing):
    scripted = Scripted(WebhookReceiver(billing, SECRET), (503, {"error": "maintenance"}), (503, {}))
    result = await run(remote(servers, scripted), task(TaskAction.ERASE, system="billing"))
    assert result.status == TaskStatus.DONE
    assert result.erased_items == 1
    assert scripted.calls == 3
    assert billing.lookup(CAMILLE).holds_data is False


async def test_a_4xx_fails_the_task_at_once_with_the_status_and_the_remote_reason(servers, billing):
    scripted = Scripted(WebhookReceiver(billing, SECRET), (403, {"error": "account suspended"}))
    result = await run(remote(servers, scripted), task(TaskAction.ERASE, system="billing"))
    assert result.status == TaskStatus.FAILED
    assert "HTTP 403" in result.error and "account suspended" in result.error
    assert scripted.calls == 1
    assert billing.lookup(CAMILLE).holds_data is True


def test_a_refusal_never_echoes_what_we_sent_and_stays_short(servers, billing):
    # A careless remote puts the person in its error text: it stops at our door.
    chatty = (404, {"error": f"no customer Camille DURAND <{CAMILLE.email}> ({'x' * 500})"})
    adapter = remote(servers, Scripted(WebhookReceiver(billing, SECRET), chatty))
    with pytest.raises(RemoteRefused) as refused:
        adapter.lookup(CAMILLE)
    message = str(refused.value)
    assert "camille" not in message.lower() and "durand" not in message.lower() and "@" not in message
    assert "HTTP 404" in message and len(message) < 300


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_throttling_are_transient(servers, billing, status):
    adapter = remote(servers, Scripted(WebhookReceiver(billing, SECRET), (status, {"error": "busy"})))
    with pytest.raises(TransientAdapterError, match=f"HTTP {status}"):
        adapter.lookup(CAMILLE)


def test_a_remote_that_hangs_is_a_transient_timeout(servers):
    stalling = Stalling()
    adapter = remote(servers, stalling, timeout=0.2)
    try:
        with pytest.raises(TransientAdapterError, match="TimeoutError"):
            adapter.lookup(CAMILLE)
    finally:
        stalling.release.set()


def test_a_closed_port_is_a_transient_connection_error(servers, billing):
    url = servers.enter_context(running(WebhookReceiver(billing, SECRET)))
    servers.close()  # stopped: nothing listens on the port any more
    with pytest.raises(TransientAdapterError):
        WebhookAdapter("billing", url, SECRET, timeout=1).lookup(CAMILLE)


@pytest.mark.parametrize("answer", [(200, {"holds_data": "yes"}), (200, {}), (200, {"channels": ["email"]})])
async def test_a_malformed_answer_is_a_clear_final_error(servers, billing, answer):
    scripted = Scripted(WebhookReceiver(billing, SECRET), answer)
    result = await run(remote(servers, scripted), task(TaskAction.LOOKUP, system="billing"))
    assert result.status == TaskStatus.FAILED
    assert "MalformedAnswer" in result.error and "holds_data" in result.error
    assert scripted.calls == 1


def test_an_export_row_without_origin_is_malformed(servers, billing):
    adapter = remote(servers, Scripted(WebhookReceiver(billing, SECRET), (200, {"records": {"x": [{"a": 1}]}})))
    with pytest.raises(MalformedAnswer, match="_origin"):
        adapter.export(CAMILLE)


# --- Capabilities ---------------------------------------------------------------------------------


def test_declared_actions_are_the_capabilities_and_others_are_not_sent(servers, billing):
    scripted = Scripted(WebhookReceiver(billing, SECRET))
    adapter = remote(servers, scripted, actions=(TaskAction.LOOKUP, TaskAction.ERASE))
    assert adapter.capabilities.actions == {TaskAction.LOOKUP, TaskAction.ERASE}
    assert [r.value for r in adapter.capabilities.rights] == ["erasure"]
    with pytest.raises(UnsupportedAction):
        adapter.export(CAMILLE)
    assert scripted.calls == 0
    with pytest.raises(ValueError):
        WebhookAdapter("billing", "https://billing.example.test/dsr", SECRET, actions=[TaskAction.NOTIFY_RECIPIENT])


def test_a_verb_the_remote_does_not_do_is_an_unsupported_action(servers):
    adapter = remote(servers, WebhookReceiver(MemoryAdapter("billing", actions=[TaskAction.LOOKUP]), SECRET))
    with pytest.raises(UnsupportedAction, match="HTTP 422"):
        adapter.erase(CAMILLE)
    with pytest.raises(InvalidTask):  # the remote's invalid_task code comes back as InvalidTask
        remote(servers, WebhookReceiver(MemoryAdapter("billing"), SECRET)).rectify(CAMILLE, {"email": "x"})


# --- What travels ---------------------------------------------------------------------------------

DOCUMENTED = {
    "lookup": set(),
    "export": set(),
    "erase": {"holds"},
    "rectify": {"changes"},
    "restrict": {"reason"},
    "lift_restriction": set(),
    "suppress_marketing": {"channels", "source"},
    "record_submission": {"submission_id", "kind", "data"},
}


def test_each_request_carries_only_the_documented_fields(servers, billing):
    recording = Recording(WebhookReceiver(billing, SECRET))
    adapter = remote(servers, recording)
    adapter.record_submission("sub-1", "dsr.form.quote_requested", CAMILLE, {"first_name": "Camille"})
    adapter.lookup(CAMILLE)
    adapter.export(CAMILLE)
    adapter.rectify(CAMILLE, NEW_VALUES)
    adapter.restrict(CAMILLE, "accuracy_contested")
    adapter.lift_restriction(CAMILLE)
    adapter.suppress_marketing(CAMILLE, ("email",), source="withdrawal")
    adapter.erase(CAMILLE, holds=(HOLD,))
    bodies = [json.loads(body) for _, body in recording.requests]
    assert [b["action"] for b in bodies] == [
        "record_submission",
        "lookup",
        "export",
        "rectify",
        "restrict",
        "lift_restriction",
        "suppress_marketing",
        "erase",
    ]
    for body in bodies:
        assert set(body) == {"action", "system", "subject"} | DOCUMENTED[body["action"]]
        assert body["system"] == "billing" and body["subject"] == {"email": CAMILLE.email, "name": CAMILLE.name}
    assert bodies[-1]["holds"] == [
        {
            "hold_id": "dispute-1",
            "categories": ["submissions"],
            "ground": "legal_claims",
            "owner": "legal",
            "review_on": "2027-06-30",
        }
    ]
    assert set(DOCUMENTED) == {a.value for a in DATA_ACTIONS}


def test_every_request_is_signed_with_a_fresh_delivery_id(servers, billing):
    recording = Recording(WebhookReceiver(billing, SECRET))
    adapter = remote(servers, recording)
    adapter.lookup(CAMILLE)
    adapter.lookup(CAMILLE)
    deliveries = {headers["X-DSR-Delivery"] for headers, _ in recording.requests}
    assert len(deliveries) == 2
    for headers, _ in recording.requests:
        assert headers["X-DSR-Signature"].startswith("v1=") and headers["X-DSR-Timestamp"].isdigit()


def test_the_subject_is_never_logged(servers, billing, caplog):
    caplog.set_level(logging.DEBUG)
    adapter = remote(servers, Scripted(WebhookReceiver(billing, SECRET), (404, {"error": CAMILLE.email})))
    with pytest.raises(RemoteRefused):
        adapter.lookup(CAMILLE)
    adapter.erase(CAMILLE)
    assert "billing" in caplog.text
    assert "camille" not in caplog.text.lower()


def test_the_receiver_refuses_an_unknown_field(servers, billing):
    url = servers.enter_context(running(WebhookReceiver(billing, SECRET)))
    body = json.dumps(
        {"action": "lookup", "system": "billing", "subject": {"email": CAMILLE.email}, "phone": "+33 6 12 34 56 78"}
    ).encode()
    assert post(url, body, signed_headers(SECRET, body, datetime.now(UTC))) == 400
