"""The record of processing as the streams use it: systems it does not describe are shown, never a crash."""

from __future__ import annotations

from gdpr.register import Register
from gdpr.ropa import access_information, portability_exclusions, portable_records, recipients_of
from mail.names import system_label

Records = dict[str, list[dict]]
MARKETING_PURPOSE = "marketing"  # purposes whose id names marketing (email_marketing, marketing_choices)


class RegisterView:
    def __init__(self, register: Register) -> None:
        self.register = register

    def known(self, systems) -> list[str]:
        return [s for s in systems if s in self.register.systems]

    def access_information(self, systems: list[str], records: dict[str, Records] | None = None) -> dict:
        """Art. 15(1)(a)-(h); a system missing from the register is named so the DPO completes it (R44)."""
        known = self.known(systems)
        info = access_information(
            self.register,
            known,
            {s: r for s, r in (records or {}).items() if s in known} if records is not None else None,
        )
        return {**info, "unregistered_systems": [s for s in systems if s not in known]}

    def portable(self, system: str, records: Records) -> Records:
        """R28: only what the register says is portable; an undescribed system gives nothing portable."""
        if system not in self.register.systems:
            return {}
        return portable_records(self.register, system, records)

    def portability_exclusions(self, records_by_system: dict[str, Records]) -> list[dict]:
        """R28: what the person's portable file leaves out or cuts, and why; an undescribed system's data
        are left out until the register says on what basis they are processed (R44)."""
        excluded: list[dict] = []
        for system, records in sorted(records_by_system.items()):
            if system in self.register.systems:
                excluded += portability_exclusions(self.register, system, records)
            elif any(records.values()):
                excluded.append(
                    {"category": None, "system": system_label(system), "reason": "not_registered", "bases": []}
                )
        return excluded

    def category_label(self, system: str, category: str) -> dict | None:
        entry = self.register.systems.get(system)
        found = entry.categories.get(category) if entry else None
        return found.label.model_dump() if found else None

    def recipient_name(self, recipient_id: str) -> str:
        recipient = self.register.recipients.get(recipient_id)
        return recipient.name if recipient else recipient_id

    def recipients_by_system(self) -> dict[str, tuple[str, ...]]:
        """R35: which recipients to notify after a change in each system."""
        return {s: tuple(r.id for r in recipients_of(self.register, [s])) for s in self.register.systems}

    def marketing_systems(self) -> tuple[str, ...]:
        """Systems with a category used for a marketing purpose: told to stop on an objection (R30)."""
        return tuple(
            sorted(
                s.id
                for s in self.register.systems.values()
                if any(MARKETING_PURPOSE in p for c in s.categories.values() for p in c.purposes)
            )
        )
