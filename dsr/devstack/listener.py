"""The secured client listener of an embedded broker: TLS from PEM files, SASL users for PLAIN and SCRAM."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dsr.devstack.certs import DevCertificates

SCRAM = ("SCRAM-SHA-256", "SCRAM-SHA-512")
MECHANISMS = ("PLAIN", *SCRAM)
PROTOCOLS = ("SSL", "SASL_PLAINTEXT", "SASL_SSL")
NAME = "CLIENT"  # the listener's name in server.properties; brokers and the probe talk on PLAINTEXT
PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"


@dataclass(frozen=True)
class SecuredListener:
    """What clients reach: SSL, SASL_PLAINTEXT or SASL_SSL. `users` (name -> password) may log in with
    PLAIN (JAAS) and with both SCRAM mechanisms (credentials written at format time, `--add-scram`).
    `client_auth` makes the broker require a client certificate signed by the CA."""

    protocol: str
    certificates: DevCertificates | None = None
    users: Mapping[str, str] = field(default_factory=dict)
    client_auth: bool = False

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol {self.protocol!r}: one of {', '.join(PROTOCOLS)}")
        if self.tls and self.certificates is None:
            raise ValueError(f"{self.protocol} needs certificates (dsr.devstack.certs.make_certificates)")
        if self.sasl and not self.users:
            raise ValueError(f"{self.protocol} needs at least one user")

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    def properties(self) -> dict[str, str]:
        prefix = f"listener.name.{NAME.lower()}."
        values = self._tls_properties() if self.tls else {}
        if self.sasl:
            values |= self._sasl_properties()
        return {prefix + key: value for key, value in values.items()}

    def format_args(self) -> list[str]:
        """kafka-storage format arguments creating the SCRAM credentials of every user."""
        if not self.sasl:
            return []
        return [
            arg
            for mechanism in SCRAM
            for name, password in self.users.items()
            for arg in ("--add-scram", f"{mechanism}=[name={name},password={password}]")
        ]

    def _tls_properties(self) -> dict[str, str]:
        assert self.certificates is not None
        server = self.certificates.server
        values = {
            # Inline PEM: the key may stay unencrypted (a PEM keystore *file* needs an encrypted key).
            "ssl.keystore.type": "PEM",
            "ssl.keystore.certificate.chain": _inline(server.cert_file),
            "ssl.keystore.key": _inline(server.key_file),
        }
        if self.client_auth:
            values |= {
                "ssl.truststore.type": "PEM",
                "ssl.truststore.certificates": _inline(self.certificates.ca_file),
                "ssl.client.auth": "required",
            }
        return values

    def _sasl_properties(self) -> dict[str, str]:
        plain_users = " ".join(f'user_{name}="{password}"' for name, password in self.users.items())
        values = {
            "sasl.enabled.mechanisms": ",".join(MECHANISMS),
            "plain.sasl.jaas.config": f"{PLAIN_MODULE} required {plain_users};",
        }
        return values | {f"{m.lower()}.sasl.jaas.config": f"{SCRAM_MODULE} required;" for m in SCRAM}


def _inline(path: Path) -> str:
    """A PEM file as one properties value: java.util.Properties reads `\\n` back as a line break."""
    return path.read_text().strip().replace("\n", "\\n")
