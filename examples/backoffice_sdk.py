"""A back-office billing system served through the SDK (handlers/sdk.py): lookup, export and erase.

Against `make run`:

    DSR_SYSTEMS=crm,recruitment,newsletter,directives,billing \
      DSR_BUILTIN_ADAPTERS=crm,recruitment,newsletter,directives make run
    .venv/bin/python examples/backoffice_sdk.py --token "$(.venv/bin/dsr system-token billing)"

then publish an access or erasure request for camille.durand@example.test (README, "Try it"). On a cluster
with TLS or credentials it reads the pipeline's DSR_KAFKA_* variables (KafkaSecurity.from_env()).
"""

from __future__ import annotations

import argparse
import logging
import threading
from datetime import date

from handlers.sdk import BackOffice, Erased, Exported, KafkaSecurity, KeepGround, KeptItem, Lookup, OpenedTask

INVOICE_YEARS = 10  # Code de commerce L123-22: invoices stay, restricted, for 10 years (Art. 17(3)(b))


class BillingStore:
    """The team's own data: customers, payment methods and invoices, keyed by e-mail (in memory here)."""

    def __init__(self) -> None:
        self.people: dict[str, dict[str, list[dict]]] = {}
        self._lock = threading.Lock()

    def seed(self, email: str, name: str, invoices: list[dict]) -> None:
        self.people[email.lower()] = {
            "customer": [{"name": name, "email": email, "_origin": "provided"}],
            "payment_methods": [{"kind": "card", "last4": "4242", "_origin": "provided"}],
            "invoices": [{**invoice, "_origin": "observed"} for invoice in invoices],
        }

    def records(self, email: str) -> dict[str, list[dict]]:
        with self._lock:
            return {category: list(rows) for category, rows in self.people.get(email.lower(), {}).items() if rows}

    def erase(self, email: str) -> tuple[int, int]:
        """Delete the customer file and payment methods; keep the invoices. (erased, kept)."""
        with self._lock:
            held = self.people.get(email.lower(), {})
            erased = len(held.pop("customer", [])) + len(held.pop("payment_methods", []))
            return erased, len(held.get("invoices", []))


def build_office(store: BillingStore, system: str = "billing", **connection) -> BackOffice:
    """The whole integration: three functions from the SDK's tasks to the store."""
    office = BackOffice(system=system, **connection)

    @office.handles("lookup")
    def lookup(task: OpenedTask) -> Lookup:
        known = bool(store.records(task.email))
        return Lookup(holds_data=known, channels=["email"] if known else [])

    @office.handles("export")
    def export(task: OpenedTask) -> Exported:
        return Exported(records=store.records(task.email))

    @office.handles("erase")
    def erase(task: OpenedTask) -> Erased:
        erased, invoices = store.erase(task.email)
        until = f"{date.today().year + INVOICE_YEARS}-12-31"
        kept = [KeptItem(item="invoices", count=invoices, ground=KeepGround.LEGAL_OBLIGATION, until=until)]
        return Erased(erased_items=erased, kept=kept if invoices else [])

    return office


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--api-url", default="http://127.0.0.1:8081", help="the worker's admin listener")
    parser.add_argument("--system", default="billing")
    parser.add_argument("--state-dir", default="var/backoffice", help="where the record of answered tasks lives")
    parser.add_argument("--token", required=True, help="output of `dsr system-token <system>`")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    store = BillingStore()
    store.seed(
        "camille.durand@example.test",
        "Camille Durand",
        [{"invoice": "F-2026-001", "date": "2026-03-14", "amount_eur": 240}],
    )
    office = build_office(
        store,
        args.system,
        bootstrap=args.bootstrap,
        api_url=args.api_url,
        token=args.token,
        state_dir=args.state_dir,
        security=KafkaSecurity.from_env(),
    )
    print(f"serving dsr.tasks.{args.system} (lookup, export, erase); Ctrl-C to stop")
    try:
        office.run()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
