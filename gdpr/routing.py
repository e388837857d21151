"""Which systems receive what: forms to their owning system, rights to every system that holds data."""

from __future__ import annotations

from schemas.intake import Channel, EventType, MarketingConsent, Right
from schemas.tasks import TaskAction

FORM_OWNERS: dict[EventType, str] = {
    EventType.QUOTE_REQUESTED: "crm",
    EventType.CONTACT_SUBMITTED: "crm",
    EventType.JOB_APPLICATION_SUBMITTED: "recruitment",
}
NEWSLETTER = "newsletter"

DIRECTIVES = "directives"  # the register of post-mortem directives (LIL 85, R38) is a system like the others
DIRECTIVE_SUBMISSION = "dsr.post_mortem.directive"  # submission_type of the task that records a directive
ALL_CHANNELS: tuple[Channel, ...] = tuple(Channel)  # R32: one lawful basis per channel
# suppress_marketing reasons: why marketing stops. Before an erasure is verified only marketing stops;
# the data wait for the verified erase (§3.2: a wrongful erasure is a breach too).
OBJECTION, WITHDRAWAL, ERASURE_PENDING = "objection", "withdrawal", "erasure_pending"
# Besides the channels, a suppress_marketing answer may report this: marketing profiling stopped (Art. 21(2)).
PROFILING = "profiling"

# The main action each right asks of the systems holding data (LEGAL §4).
RIGHT_ACTIONS: dict[Right, TaskAction] = {
    Right.ACCESS: TaskAction.EXPORT,
    Right.PORTABILITY: TaskAction.EXPORT,  # filtered to provided and observed data at packaging (R28)
    Right.RECTIFICATION: TaskAction.RECTIFY,
    Right.ERASURE: TaskAction.ERASE,
    Right.RESTRICTION: TaskAction.RESTRICT,
    Right.OBJECTION: TaskAction.SUPPRESS_MARKETING,  # Art. 21(2); a general objection goes to the DPO first
    Right.CONSENT_WITHDRAWAL: TaskAction.SUPPRESS_MARKETING,
}
# The rights each action serves, derived from the table above; lifting a restriction ends Art. 18's.
RIGHTS_OF_ACTION: dict[TaskAction, tuple[Right, ...]] = {
    action: tuple(r for r, a in RIGHT_ACTIONS.items() if a == action) for action in set(RIGHT_ACTIONS.values())
} | {TaskAction.LIFT_RESTRICTION: (Right.RESTRICTION,)}


def submission_systems(form_type: EventType, consent: MarketingConsent, known: tuple[str, ...]) -> list[str]:
    """The owning system, plus the newsletter when the person opted in to e-mail marketing (R32)."""
    systems = [FORM_OWNERS[form_type]]
    if consent.email and NEWSLETTER in known:
        systems.append(NEWSLETTER)
    return [s for s in systems if s in known]


def data_categories(form_type: EventType) -> list[str]:
    """Categories of data a form gives, for the record of who gave what (R44, access 15(1)(b))."""
    base = ["identity", "contact"]
    extra = {
        EventType.QUOTE_REQUESTED: ["postal_address", "project"],
        EventType.CONTACT_SUBMITTED: ["message"],
        EventType.JOB_APPLICATION_SUBMITTED: ["application", "cv"],
    }
    return base + extra.get(form_type, [])
