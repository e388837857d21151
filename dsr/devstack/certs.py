"""Throwaway TLS certificates for the embedded broker and its clients: a CA, a server and a client cert."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = timedelta(days=2)  # tests and dev sessions only


@dataclass(frozen=True)
class Pem:
    """A certificate and its unencrypted PKCS#8 key, as PEM files."""

    cert_file: Path
    key_file: Path


@dataclass(frozen=True)
class DevCertificates:
    """The CA clients trust, the broker's certificate (127.0.0.1 and localhost) and a client's."""

    ca_file: Path
    server: Pem
    client: Pem


def make_certificates(folder: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> DevCertificates:
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dsr devstack CA")])
    ca = _builder(ca_name, ca_name, ca_key).add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
    ca_cert = ca.sign(ca_key, hashes.SHA256())
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    server = _issue(folder / "server", ca_cert, ca_key, "dsr devstack broker", hosts, ExtendedKeyUsageOID.SERVER_AUTH)
    client = _issue(folder / "client", ca_cert, ca_key, "dsr devstack client", (), ExtendedKeyUsageOID.CLIENT_AUTH)
    return DevCertificates(ca_file, server, client)


def _issue(stem: Path, ca_cert, ca_key, name: str, hosts: tuple[str, ...], usage) -> Pem:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = _builder(subject, ca_cert.subject, key).add_extension(x509.ExtendedKeyUsage([usage]), False)
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), False)
    pem = Pem(stem.with_suffix(".pem"), stem.with_suffix(".key"))
    pem.cert_file.write_bytes(builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    pem.key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    pem.key_file.chmod(0o600)
    return pem


def _builder(subject: x509.Name, issuer: x509.Name, key) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
    )


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)
