"""The embedded broker's secured listener: what it writes in server.properties and at format time."""

from __future__ import annotations

import pytest

from dsr.devstack.certs import make_certificates
from dsr.devstack.listener import SecuredListener


def test_sasl_ssl_users_for_plain_and_both_scram_mechanisms(tmp_path):
    listener = SecuredListener("SASL_SSL", make_certificates(tmp_path), users={"alice": "pw-a"})
    properties = listener.properties()
    assert properties["listener.name.client.sasl.enabled.mechanisms"] == "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"
    assert 'user_alice="pw-a"' in properties["listener.name.client.plain.sasl.jaas.config"]
    assert properties["listener.name.client.ssl.keystore.key"].startswith("-----BEGIN PRIVATE KEY-----\\n")
    assert "listener.name.client.ssl.client.auth" not in properties
    assert listener.format_args() == [
        "--add-scram",
        "SCRAM-SHA-256=[name=alice,password=pw-a]",
        "--add-scram",
        "SCRAM-SHA-512=[name=alice,password=pw-a]",
    ]


def test_ssl_with_client_certificates_trusts_the_test_ca(tmp_path):
    listener = SecuredListener("SSL", make_certificates(tmp_path), client_auth=True)
    properties = listener.properties()
    assert properties["listener.name.client.ssl.client.auth"] == "required"
    assert properties["listener.name.client.ssl.truststore.certificates"].startswith("-----BEGIN CERTIFICATE-----")
    assert listener.format_args() == []


@pytest.mark.parametrize(
    ("protocol", "needs"), [("SASL_SSL", "certificates"), ("SASL_PLAINTEXT", "user"), ("TLS", "one of")]
)
def test_an_incomplete_listener_is_refused(protocol, needs):
    with pytest.raises(ValueError, match=needs):
        SecuredListener(protocol)
