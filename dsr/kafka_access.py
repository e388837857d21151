"""The DSR_KAFKA_* settings turned into every client's arguments, and the start-up check that names the culprit."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time

import aiokafka.errors as kafka_errors
import faust
from aiokafka.conn import collect_hosts, create_conn
from aiokafka.protocol.metadata import MetadataRequest
from faust.types.auth import CredentialsT

from dsr.settings import Settings, SettingsError
from handlers.kafka_security import KafkaSecurity

BOOTSTRAP = "DSR_KAFKA_BOOTSTRAP"
PROTOCOL = "DSR_KAFKA_SECURITY_PROTOCOL"
CREDENTIALS = "DSR_KAFKA_USERNAME / DSR_KAFKA_PASSWORD"


class KafkaRefused(Exception):
    """The broker answered, and said no for good: retrying will not help. The text names the setting."""


def faust_credentials(security: KafkaSecurity) -> CredentialsT | None:
    """faust's broker_credentials for the same settings (it builds its aiokafka clients from them)."""
    if security.sasl:
        return faust.SASLCredentials(
            username=security.username,
            password=security.password,
            mechanism=security.sasl_mechanism,
            ssl_context=security.ssl_context(),
        )
    if security.tls:
        return faust.SSLCredentials(security.ssl_context())
    return None


def check_kafka(settings: Settings, bootstrap: str | None = None) -> None:
    """Stop the start with a message naming the setting at fault, within DSR_KAFKA_CONNECT_TIMEOUT: a broker
    that refuses the credentials or the TLS handshake fails at once; one not reachable yet is retried."""
    target = bootstrap or settings.kafka_bootstrap or ""
    try:
        asyncio.run(_check(target, settings.kafka_security(), settings.kafka_connect_timeout))
    except KafkaRefused as exc:
        raise SettingsError(f"cannot use Kafka: {exc}") from None


async def _check(bootstrap: str, security: KafkaSecurity, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        reasons = []
        for host, port, _ in collect_hosts(bootstrap):
            try:
                return await _probe(host, port, security, max(1.0, min(10.0, deadline - time.monotonic())))
            except KafkaRefused as exc:
                raise KafkaRefused(f"{host}:{port}: {exc}") from None
            except (TimeoutError, OSError, kafka_errors.KafkaError) as exc:
                reasons.append(f"{host}:{port}: {_unreachable(exc, security)}")
        if time.monotonic() >= deadline:
            raise KafkaRefused(
                f"no broker of {bootstrap} answered within {timeout:.0f} s (DSR_KAFKA_CONNECT_TIMEOUT):\n  "
                + "\n  ".join(reasons)
            )
        await asyncio.sleep(1)


async def _probe(host: str, port: int, security: KafkaSecurity, timeout: float) -> None:
    """One connection as the clients make it (TLS, SASL), then a metadata request: what a client needs first."""
    try:
        conn = await asyncio.wait_for(
            create_conn(
                host, port, client_id="dsr-check", request_timeout_ms=int(timeout * 1000), **security.client_kwargs()
            ),
            timeout,
        )
    except ssl.SSLCertVerificationError as exc:
        raise KafkaRefused(
            f"DSR_KAFKA_CA_FILE: the broker's certificate is not trusted ({exc.verify_message})"
        ) from None
    except kafka_errors.SaslAuthenticationFailed:
        raise KafkaRefused(
            f"{CREDENTIALS}: the broker refused the user name or password ({security.sasl_mechanism})"
        ) from None
    except (kafka_errors.UnsupportedSaslMechanismError, kafka_errors.IllegalSaslStateError) as exc:
        raise KafkaRefused(
            f"DSR_KAFKA_SASL_MECHANISM: {security.sasl_mechanism} is not enabled on this listener ({exc})"
        ) from None
    try:
        await asyncio.wait_for(conn.send(MetadataRequest([])), timeout)
    finally:
        conn.close()


def _unreachable(exc: BaseException, security: KafkaSecurity) -> str:
    """Why a broker did not answer, naming the setting most likely at fault (the broker may also be starting)."""
    if isinstance(exc, ssl.SSLError):
        if "CERTIFICATE_REQUIRED" in str(exc).upper():
            return f"DSR_KAFKA_CERT_FILE / DSR_KAFKA_KEY_FILE: the broker wants a client certificate ({exc.reason})"
        return (
            f"{PROTOCOL}={security.security_protocol}: the TLS handshake failed ({exc.reason}); is it a TLS listener?"
        )
    if isinstance(exc, ConnectionRefusedError | socket.gaierror):
        return f"{BOOTSTRAP}: nothing listens there ({type(exc).__name__})"
    if isinstance(exc, asyncio.TimeoutError):
        return f"{BOOTSTRAP} / {PROTOCOL}={security.security_protocol}: no answer; does this listener speak it?"
    closed = f"the broker closed the connection ({type(exc).__name__})"
    hint = (
        " (or does it want a client certificate: DSR_KAFKA_CERT_FILE?)"
        if security.tls and not security.cert_file
        else ""
    )
    return f"{PROTOCOL}={security.security_protocol}: {closed}; does this listener speak it?{hint}"
