"""Signed, expiring links and per-subject sealing."""

from datetime import UTC, datetime, timedelta

import pytest

from gdpr.sealing import SealBroken, new_key, open_json, seal_json, subject_ref
from gdpr.tokens import Token, TokenError, sign_token, verify_token
from streams.ports import MemoryKeyVault
from streams.sealing import NotAddressed, Sealer, SubjectForgotten

pytestmark = pytest.mark.unit

SECRET = b"s" * 32
NOW = datetime(2027, 3, 5, 10, 0, tzinfo=UTC)


def token(purpose="verify", expires=NOW + timedelta(days=14)):
    return sign_token(SECRET, Token(purpose, "request-1", "token-1", expires))


def test_a_valid_token_round_trips():
    checked = verify_token(SECRET, token(), "verify", NOW)
    assert (checked.request_id, checked.token_id) == ("request-1", "token-1")


def test_an_expired_token_is_refused():
    with pytest.raises(TokenError) as err:
        verify_token(SECRET, token(expires=NOW), "verify", NOW)
    assert err.value.reason == "expired"


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-2] + "xx", lambda t: "x" + t, lambda t: t.split(".")[0], lambda t: "", lambda t: "a.b"]
)
def test_a_tampered_token_is_refused(mangle):
    with pytest.raises(TokenError) as err:
        verify_token(SECRET, mangle(token()), "verify", NOW)
    assert err.value.reason in {"bad_signature", "malformed"}


def test_a_token_signed_with_another_secret_is_refused():
    other = sign_token(b"o" * 32, Token("verify", "request-1", "token-1", NOW + timedelta(days=1)))
    with pytest.raises(TokenError):
        verify_token(SECRET, other, "verify", NOW)


def test_a_download_token_cannot_verify_a_request():
    with pytest.raises(TokenError) as err:
        verify_token(SECRET, token(purpose="download"), "verify", NOW)
    assert err.value.reason == "wrong_purpose"


def test_subject_ref_is_keyed_and_case_insensitive():
    assert subject_ref(SECRET, "Jeanne@Example.fr ") == subject_ref(SECRET, "jeanne@example.fr")
    assert subject_ref(SECRET, "jeanne@example.fr") != subject_ref(b"o" * 32, "jeanne@example.fr")
    assert "jeanne" not in subject_ref(SECRET, "jeanne@example.fr")


def test_sealed_values_open_only_with_their_key_and_subject():
    key = new_key()
    sealed = seal_json(key, "ref-a", {"email": "jeanne@example.fr"})
    assert "jeanne" not in sealed.model_dump_json()
    assert open_json(key, sealed) == {"email": "jeanne@example.fr"}
    with pytest.raises(SealBroken):
        open_json(new_key(), sealed)
    with pytest.raises(SealBroken):
        open_json(key, sealed.model_copy(update={"subject_ref": "ref-b"}))  # cannot move between subjects


class CountingVault(MemoryKeyVault):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, subject_ref: str) -> bytes | None:
        self.reads += 1
        return super().get(subject_ref)


def test_a_value_addressed_to_a_system_costs_one_vault_read_and_opens_for_that_system_only():
    vault = CountingVault()
    sealer = Sealer(vault, b"s" * 32)
    sealed = sealer.seal("ref-1", {"email": "camille@example.test"})
    vault.reads = 0
    task_copy = sealer.address(sealed, "crm")
    assert vault.reads == 1  # the key is read once per task issued (a round trip to PostgreSQL in production)
    assert sealer.open_for("crm", task_copy) == {"email": "camille@example.test"}
    with pytest.raises(NotAddressed):
        sealer.open_for("newsletter", task_copy)
    sealer.forget("ref-1")
    with pytest.raises(SubjectForgotten):
        sealer.address(sealed, "crm")
