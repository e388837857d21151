"""DSR_WEBHOOKS as an operator writes it: systems, URLs, secrets and declared verbs, or a message naming the fix."""

import pytest

from dsr.settings import SettingsError
from dsr.webhooks import parse_webhooks, webhook_adapters, webhook_secret
from handlers.protocol import DATA_ACTIONS
from schemas.tasks import TaskAction

pytestmark = pytest.mark.unit

KEY = b"k" * 40
SYSTEMS = ("crm", "billing", "crm-2")


def test_two_systems_separated_by_semicolons_or_lines():
    spec = "billing=https://billing.example.test/dsr?tenant=42 ;\n crm-2 = https://crm2.example.test/hooks/dsr\n"
    billing, crm2 = parse_webhooks(spec, environ={})
    assert (billing.name, billing.url) == ("billing", "https://billing.example.test/dsr?tenant=42")
    assert (crm2.name, crm2.url) == ("crm-2", "https://crm2.example.test/hooks/dsr")
    assert billing.actions == DATA_ACTIONS


def test_nothing_configured_means_no_webhook_system():
    assert parse_webhooks(None, environ={}) == ()
    assert parse_webhooks(" ; ", environ={}) == ()
    assert webhook_adapters(None, SYSTEMS, KEY, environ={}) == []


@pytest.mark.parametrize(
    "spec, says",
    [
        ("billing", "NAME=URL"),
        ("bill ing=https://x.example.test", "NAME=URL"),
        ("billing=ftp://x.example.test", "https://host"),
        ("billing=http://billing.example.test/dsr", "must use https"),
        ("billing=https://user:pw@billing.example.test/dsr", "credentials"),
        ("billing=https://a.example.test;billing=https://b.example.test", "twice"),
    ],
)
def test_a_bad_entry_names_the_variable_and_the_fix(spec, says):
    with pytest.raises(SettingsError) as err:
        parse_webhooks(spec, environ={})
    assert "DSR_WEBHOOKS" in str(err.value) and says in str(err.value)


def test_plain_http_is_allowed_on_the_loopback_only():
    [local] = parse_webhooks("billing=http://127.0.0.1:8099/dsr", environ={})
    assert local.url == "http://127.0.0.1:8099/dsr"


def test_the_derived_secret_is_stable_per_system_and_key():
    first = webhook_secret(KEY, "billing", environ={})
    assert first == webhook_secret(KEY, "billing", environ={})
    assert first != webhook_secret(KEY, "crm-2", environ={})
    assert first != webhook_secret(b"another-key" * 4, "billing", environ={})
    assert len(first) == 64


def test_a_secret_given_for_the_system_wins_and_must_be_long():
    environ = {"DSR_WEBHOOK_SECRET_CRM_2": "s" * 32}
    assert webhook_secret(KEY, "crm-2", environ) == b"s" * 32
    with pytest.raises(SettingsError, match="DSR_WEBHOOK_SECRET_CRM_2"):
        webhook_secret(KEY, "crm-2", {"DSR_WEBHOOK_SECRET_CRM_2": "short"})


def test_declared_actions_come_from_their_variable():
    environ = {"DSR_WEBHOOK_ACTIONS_BILLING": "lookup, erase"}
    [billing] = webhook_adapters("billing=https://billing.example.test/dsr", SYSTEMS, KEY, environ=environ)
    assert billing.capabilities.actions == {TaskAction.LOOKUP, TaskAction.ERASE}
    with pytest.raises(SettingsError, match="DSR_WEBHOOK_ACTIONS_BILLING"):
        parse_webhooks("billing=https://billing.example.test/dsr", {"DSR_WEBHOOK_ACTIONS_BILLING": "erase,fax"})


def test_adapters_carry_their_url_and_timeout():
    [billing] = webhook_adapters("billing=https://billing.example.test/dsr", SYSTEMS, KEY, timeout=3.0, environ={})
    assert (billing.name, billing.url, billing.timeout) == ("billing", "https://billing.example.test/dsr", 3.0)
    assert billing.capabilities.actions == DATA_ACTIONS


def test_a_webhook_system_must_also_be_in_dsr_systems():
    with pytest.raises(SettingsError) as err:
        webhook_adapters("erp=https://erp.example.test/dsr", SYSTEMS, KEY, environ={})
    assert "erp" in str(err.value) and "DSR_SYSTEMS" in str(err.value)
