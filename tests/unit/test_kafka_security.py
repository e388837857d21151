"""DSR_KAFKA_* settings become kafka-python, aiokafka and faust arguments in one place; bad ones name the variable."""

from __future__ import annotations

import ssl

import faust
import pytest

from dsr.devstack.certs import make_certificates
from dsr.kafka_access import faust_credentials
from dsr.settings import load_settings
from handlers.kafka_security import KafkaSecurity, KafkaSecurityError

SCRAM = {
    "kafka_security_protocol": "SASL_SSL",
    "kafka_sasl_mechanism": "SCRAM-SHA-512",
    "kafka_username": "dsr-worker",
    "kafka_password": "s3cret-pass",
}


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("certs"))


def test_plaintext_by_default_for_every_client():
    security = load_settings().kafka_security()
    assert security.client_kwargs() == {"security_protocol": "PLAINTEXT"}
    assert faust_credentials(security) is None


def test_sasl_ssl_gives_the_same_arguments_to_kafka_python_and_aiokafka(certs):
    security = load_settings(**SCRAM, kafka_ca_file=certs.ca_file).kafka_security()
    kwargs = security.client_kwargs()
    assert kwargs["security_protocol"] == "SASL_SSL" and kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("dsr-worker", "s3cret-pass")
    context = kwargs["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_faust_gets_sasl_credentials_over_tls_or_ssl_credentials(certs):
    sasl = faust_credentials(load_settings(**SCRAM, kafka_ca_file=certs.ca_file).kafka_security())
    assert isinstance(sasl, faust.SASLCredentials) and sasl.protocol.value == "SASL_SSL"
    assert sasl.mechanism.value == "SCRAM-SHA-512" and sasl.ssl_context is not None
    tls = faust_credentials(
        load_settings(
            kafka_security_protocol="SSL",
            kafka_ca_file=certs.ca_file,
            kafka_cert_file=certs.client.cert_file,
            kafka_key_file=certs.client.key_file,
        ).kafka_security()
    )
    assert isinstance(tls, faust.SSLCredentials) and tls.protocol.value == "SSL"
    plain = faust_credentials(load_settings(**SCRAM | {"kafka_security_protocol": "SASL_PLAINTEXT"}).kafka_security())
    assert plain.protocol.value == "SASL_PLAINTEXT" and plain.ssl_context is None


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        ({"kafka_security_protocol": "TLS"}, "DSR_KAFKA_SECURITY_PROTOCOL"),
        ({"kafka_security_protocol": "SASL_SSL"}, "DSR_KAFKA_SASL_MECHANISM"),
        ({**SCRAM, "kafka_sasl_mechanism": "GSSAPI"}, "DSR_KAFKA_SASL_MECHANISM"),
        ({**SCRAM, "kafka_password": ""}, "DSR_KAFKA_PASSWORD"),
        ({**SCRAM, "kafka_username": None}, "DSR_KAFKA_USERNAME"),
        ({"kafka_username": "someone"}, "DSR_KAFKA_USERNAME"),
        ({"kafka_security_protocol": "SSL", "kafka_ca_file": "/nowhere/ca.pem"}, "DSR_KAFKA_CA_FILE"),
        ({"kafka_ca_file": "/etc/hostname"}, "DSR_KAFKA_CA_FILE"),
        ({"kafka_security_protocol": "SSL", "kafka_cert_file": "/etc/hostname"}, "DSR_KAFKA_KEY_FILE"),
        ({"kafka_connect_timeout": 0}, "DSR_KAFKA_CONNECT_TIMEOUT"),
    ],
)
def test_a_bad_setting_stops_the_start_naming_the_variable(settings, variable):
    with pytest.raises(SystemExit, match=variable):
        load_settings(**settings)


def test_the_sdk_reads_the_same_variables_without_the_pipeline_settings(certs):
    environ = {
        "DSR_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "DSR_KAFKA_SASL_MECHANISM": "PLAIN",
        "DSR_KAFKA_USERNAME": "billing",
        "DSR_KAFKA_PASSWORD": "pw",
        "DSR_KAFKA_CA_FILE": str(certs.ca_file),
        "DSR_KAFKA_CERT_FILE": "",
    }
    security = KafkaSecurity.from_env(environ)
    assert security == KafkaSecurity("SASL_SSL", "PLAIN", "billing", "pw", certs.ca_file)
    assert KafkaSecurity.from_env({}) == KafkaSecurity()
    with pytest.raises(KafkaSecurityError) as refused:
        KafkaSecurity.from_env({"DSR_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"})
    assert refused.value.field == "sasl_mechanism"


def test_the_password_never_shows(certs):
    settings = load_settings(**SCRAM, kafka_ca_file=certs.ca_file)
    assert "s3cret-pass" not in repr(settings) and "s3cret-pass" not in repr(settings.kafka_security())
