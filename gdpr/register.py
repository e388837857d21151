"""The record of processing (RoPA) as data: purposes, categories, retention, recipients (R44, R48)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

ID = r"^[a-z0-9][a-z0-9_-]*$"
RECIPIENT_ID = r"^[a-z0-9][a-z0-9-]*$"  # also the suffix of the recipient's Art. 19 topic
FieldRef = Annotated[str, Field(pattern=r"^([a-z0-9_]+\.)?[a-z0-9_]+$")]  # `field` of the category, or `category.field`
Scalar = bool | int | str

EEA = frozenset(
    {
        # the 27 member states
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        # the EEA states outside the EU
        "IS",
        "LI",
        "NO",
    }
)
# Art. 45 adequacy decisions. Check this list against the Commission's page "Adequacy decisions"
# (commission.europa.eu) at every register review: decisions are added and reviewed. Canada covers
# PIPEDA organisations only. The US is absent on purpose: only DPF-certified recipients are
# covered, and they are recorded as `dpf` (Decision 2023/1795, R48).
ADEQUACY = frozenset(["AD", "AR", "CA", "CH", "FO", "GG", "IL", "IM", "JP", "JE", "NZ", "KR", "UY", "GB"])
# R47: the framework invalidated by C-311/18 on 16 Jul 2020 must never be cited (any case, any spacing).
_INVALIDATED = re.compile(r"privacy[\s_-]*shield", re.IGNORECASE)


class RegisterError(ValueError):
    """The register is invalid, or a caller named a system it does not declare; the message says what to fix."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Text(_Model):
    """A text in both languages of the company's e-mails."""

    fr: str = Field(min_length=1)
    en: str = Field(min_length=1)


class LegalBasis(StrEnum):
    """The Art. 6(1) bases this controller relies on."""

    CONSENT = "consent"  # 6(1)(a)
    CONTRACT = "contract"  # 6(1)(b), pre-contractual steps at the person's request included
    LEGAL_OBLIGATION = "legal_obligation"  # 6(1)(c)
    LEGITIMATE_INTEREST = "legitimate_interest"  # 6(1)(f)


PORTABLE_BASES = frozenset({LegalBasis.CONSENT, LegalBasis.CONTRACT})  # Art. 20(1)(a), R28


class Origin(StrEnum):
    PROVIDED = "provided"  # given actively and knowingly by the person (R28: portable)
    OBSERVED = "observed"  # recorded from the person's activity (R28: portable)
    INFERRED = "inferred"  # derived by the controller: access only, never ported (R23, R28)


class Action(StrEnum):
    DELETE = "delete"
    ANONYMISE = "anonymise"
    ARCHIVE = "archive"  # moved to a restricted intermediate archive (§5 row 6, R46)


class Role(StrEnum):
    PROCESSOR = "processor"
    FRANCHISEE = "franchisee"
    PARTNER = "partner"
    AUTHORITY = "authority"


class TransferTool(StrEnum):
    NONE_EEA = "none_eea"  # the recipient is in the EEA: no transfer
    ADEQUACY = "adequacy"  # Art. 45
    DPF = "dpf"  # EU-US Data Privacy Framework, Decision 2023/1795: certified US recipients only
    SCC = "scc"  # Art. 46(2)(c), Decision 2021/914, with a transfer impact assessment
    BCR = "bcr"  # Art. 47, only within a group holding approved BCRs


class Purpose(_Model):
    id: str = Field(pattern=ID, examples=["quote_handling"])
    label: Text


class Duration(_Model):
    years: int = Field(default=0, ge=0, le=100)
    months: int = Field(default=0, ge=0, le=1200)

    def after(self, day: date) -> date:
        return day + relativedelta(years=self.years, months=self.months)  # 29 Feb -> 28 Feb


class StartField(_Model):
    """A record field whose latest value starts the clock. `where` keeps only the rows that count,
    e.g. inbound calls: an outgoing call or an e-mail open never restarts a prospect's clock (§5 row 5)."""

    field: FieldRef = Field(examples=["created_at", "call_notes.called_at"])
    where: dict[str, Scalar] = Field(default_factory=dict, examples=[{"direction": "inbound"}])

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"field": data} if isinstance(data, str) else data


class Clock(_Model):
    """When every `when` field has its value, the data end at the latest `start` value + `duration`."""

    when: dict[FieldRef, Scalar] = Field(default_factory=dict, examples=[{"candidate.talent_pool_consent": True}])
    start: list[StartField] = Field(min_length=1)
    duration: Duration = Field(default_factory=Duration, description="Zero: the end is the start event itself.")
    from_financial_year_end: str | None = Field(
        default=None,
        pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
        examples=["12-31"],
        description=(
            "MM-DD of the close of the financial year: the duration runs from the first close on or after the "
            "start event, not from the event (accounting documents, Code de commerce L123-22)."
        ),
    )


class RetentionRule(_Model):
    """R44: start event, duration, action. With several clocks the latest end wins: the data stay as
    long as one purpose still needs them. `start`/`duration`/`when` at the top level make one clock."""

    id: str = Field(pattern=ID, examples=["prospect_3y"])
    description: Text
    action: Action
    clocks: list[Clock] = Field(min_length=1)
    recontact: bool = Field(
        default=False,
        description="CNIL-COM, §5 row 5: before the end, the person may be asked once whether they want to keep "
        "hearing from us; a yes is a contact from them and restarts the clock (DSR_RETENTION_RECONTACT_DAYS).",
    )

    @model_validator(mode="before")
    @classmethod
    def _single_clock(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or "clocks" in data or "start" not in data:
            return data
        clock = {k: v for k, v in data.items() if k in ("when", "start", "duration", "from_financial_year_end")}
        return {k: v for k, v in data.items() if k not in clock} | {"clocks": [clock]}

    def field_refs(self) -> Iterator[str]:
        for clock in self.clocks:
            yield from clock.when
            yield from (ref.field for ref in clock.start)


class Category(_Model):
    """One export category of a system, as the system names it (R23, R44; Art. 15(1)(b),(d),(g))."""

    id: str = Field(pattern=ID, examples=["call_notes"])
    label: Text
    purposes: list[str] = Field(min_length=1)
    legal_basis: LegalBasis
    purpose_bases: dict[str, LegalBasis] = Field(
        default_factory=dict,
        examples=[{"talent_pool": "consent"}],
        description="Purposes served on another basis than legal_basis.",
    )
    follows: list[str] = Field(
        default_factory=list,
        description=(
            "Sibling categories whose purposes and bases this one takes when the person has them (the CRM "
            "person record serves the quote or message that created it); its own apply when none is held."
        ),
    )
    purpose_where: dict[str, list[dict[str, Scalar]]] = Field(
        default_factory=dict,
        examples=[{"phone_sms_marketing": [{"channel": "phone", "granted": True}]}],
        description=(
            "Purposes that apply only to a person with a row matching one of the conditions (with the person's "
            "records); the register read without records lists them all."
        ),
    )
    field_purposes: dict[str, list[str]] = Field(
        default_factory=dict,
        examples=[{"lead_score": ["prospect_scoring"]}],
        description="Purposes a field serves whenever the person's rows carry it, whatever the category follows.",
    )
    origin: Origin
    inferred_fields: list[str] = Field(default_factory=list, examples=[["lead_score"]])
    source: Text | None = Field(default=None, description="Art. 15(1)(g): where the data came from, if not the person.")
    source_where: dict[str, Scalar] = Field(
        default_factory=dict,
        examples=[{"received_via": "franchisee"}],
        description="The source applies only to the person's rows with these values; empty: to every row.",
    )
    retention: str = Field(description="Id of a retention rule.")


def _with_ids(data: Any, *keys: str) -> Any:
    """Entries are keyed by id: the key becomes each entry's `id`."""
    if not isinstance(data, Mapping):
        return data
    out = dict(data)
    for key in keys:
        if isinstance(out.get(key), Mapping):
            out[key] = {k: {"id": k, **v} if isinstance(v, Mapping) else v for k, v in out[key].items()}
    return out


class RecipientLink(_Model):
    """A recipient of a system's data: of every category, or only of `categories` (Art. 15(1)(c): an access
    answer names the recipients of the person's own data, not of the whole system)."""

    id: str = Field(pattern=RECIPIENT_ID, examples=["cabinet-comptable"])
    categories: list[str] = Field(default_factory=list, examples=[["invoices"]])

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"id": data} if isinstance(data, str) else data

    def receives(self, held: Iterable[str] | None) -> bool:
        """Whether it received data of these categories (None: the whole system)."""
        return held is None or not self.categories or bool(set(self.categories) & set(held))


class SystemEntry(_Model):
    id: str = Field(pattern=ID, examples=["crm"])
    label: Text
    categories: dict[str, Category] = Field(min_length=1)
    recipients: list[RecipientLink] = Field(
        default_factory=list, description="Recipients this system's data go to (R35), by id, or {id, categories}."
    )

    @model_validator(mode="before")
    @classmethod
    def _keyed(cls, data: Any) -> Any:
        return _with_ids(data, "categories")


class Recipient(_Model):
    """A recipient by its identity, not a category (C-154/21, R24), with its transfer tool (R48)."""

    id: str = Field(pattern=RECIPIENT_ID, examples=["franchise-lyon"])
    name: str = Field(min_length=1, description="Legal name.", examples=["Exemple Services Lyon (franchisee)"])
    role: Role
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2.", examples=["FR"])
    transfer_tool: TransferTool
    scc_fallback: bool = Field(default=False, description="SCC 2021/914 signed as well (R49: every US recipient).")
    tia_done_on: date | None = Field(default=None, description="Date of the transfer impact assessment (R48).")
    bcr_group: str | None = Field(default=None, description="Group holding the approved BCRs (Art. 47).")
    purpose: Text

    @property
    def third_country(self) -> bool:
        return self.country not in EEA

    @model_validator(mode="after")
    def _transfer(self) -> Recipient:
        problem = next((message for broken, message in _TRANSFER_CHECKS if broken(self)), None)
        if problem:
            raise ValueError(f"recipient '{self.id}' ({self.name}): " + problem.format(c=self.country))
        return self


T = TransferTool
_TRANSFER_CHECKS: list[tuple[Callable[[Recipient], bool], str]] = [
    (
        lambda r: r.transfer_tool is T.NONE_EEA and r.third_country,
        "country {c} is outside the EEA: set transfer_tool to adequacy, dpf, scc or bcr (R48)",
    ),
    (
        lambda r: r.transfer_tool is not T.NONE_EEA and not r.third_country,
        "country {c} is in the EEA: set transfer_tool to none_eea (record its sub-processors as recipients)",
    ),
    (
        lambda r: r.transfer_tool is T.ADEQUACY and r.country == "US",
        "the US has no general adequacy decision: use dpf for a DPF-certified recipient, else scc (R48)",
    ),
    (
        lambda r: r.transfer_tool is T.ADEQUACY and r.country not in ADEQUACY,
        "no adequacy decision covers {c}: use scc (with tia_done_on) or bcr (R48)",
    ),
    (
        lambda r: r.transfer_tool is T.DPF and r.country != "US",
        "dpf covers certified US recipients only, not {c}: use adequacy, scc or bcr (R48)",
    ),
    (
        lambda r: r.transfer_tool is T.DPF and not r.scc_fallback,
        "a US recipient relying on the DPF needs SCC 2021/914 as a fallback: sign them, set scc_fallback: true (R49)",
    ),
    (
        lambda r: (r.transfer_tool is T.SCC or r.scc_fallback) and r.tia_done_on is None,
        "SCC 2021/914 need a transfer impact assessment: set tia_done_on to its date (R48)",
    ),
    (
        lambda r: r.transfer_tool is T.BCR and not r.bcr_group,
        "bcr needs bcr_group, the group whose approved BCRs cover this recipient (Art. 47, R48)",
    ),
]

NO_AUTOMATED_DECISIONS = Text(
    fr="Aucune décision fondée exclusivement sur un traitement automatisé (art. 22 RGPD) n'est prise à votre sujet.",
    en="No decision based solely on automated processing (GDPR Art. 22) is made about you.",
)


class AutomatedDecisions(_Model):
    """Art. 15(1)(h), R33: the access answer says whether Art. 22 decisions exist; "none" by default."""

    exists: bool = False
    label: Text = NO_AUTOMATED_DECISIONS

    @model_validator(mode="after")
    def _explained(self) -> AutomatedDecisions:
        if self.exists and self.label == NO_AUTOMATED_DECISIONS:
            raise ValueError("automated decisions exist: describe their logic, significance and consequences in label")
        return self


class Controller(_Model):
    """Who answers for the processing (Art. 13(1)(a), 30(1)(a)): named in e-mails and access answers."""

    name: str = Field(min_length=1, examples=["AAS Amicale Assistances Services"])
    address: str = Field(min_length=1, description="Postal address, as e-mails give it.")
    network: Text | None = Field(default=None, description="The brand or network the company runs, if any.")


class Register(_Model):
    """The company's record of processing, edited as data, not code (R44, R48)."""

    controller: Controller | None = None
    automated_decisions: AutomatedDecisions = Field(default_factory=AutomatedDecisions)
    purposes: dict[str, Purpose] = Field(min_length=1)
    retention_rules: dict[str, RetentionRule] = Field(min_length=1)
    recipients: dict[str, Recipient] = Field(default_factory=dict)
    systems: dict[str, SystemEntry] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _keyed(cls, data: Any) -> Any:
        return _with_ids(data, "purposes", "retention_rules", "recipients", "systems")

    @model_validator(mode="after")
    def _consistent(self) -> Register:
        problems = [*_id_problems(self), *_reference_problems(self), *_invalidated(self.model_dump(mode="json"))]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @classmethod
    def from_dict(cls, data: Any) -> Register:
        if not isinstance(data, Mapping):
            raise RegisterError(f"invalid register: expected a mapping at the top, got {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise RegisterError(_readable(exc)) from None

    def system(self, system_id: str) -> SystemEntry:
        try:
            return self.systems[system_id]
        except KeyError:
            raise RegisterError(
                f"system '{system_id}' holds data but is not in the register: "
                f"add it under systems (declared: {', '.join(self.systems)})"
            ) from None


def _readable(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        lines += [f"{where}: {line}" if where else line for line in message.splitlines()]
    return "invalid register:\n" + "\n".join(f"  - {line}" for line in lines)


def _id_problems(reg: Register) -> list[str]:
    tables: dict[str, Mapping[str, Any]] = {
        "purposes": reg.purposes,
        "retention_rules": reg.retention_rules,
        "recipients": reg.recipients,
        "systems": reg.systems,
    }
    tables |= {f"systems.{key}.categories": system.categories for key, system in reg.systems.items()}
    return [
        f"{name}.{key}: id '{item.id}' differs from its key"
        for name, table in tables.items()
        for key, item in table.items()
        if item.id != key
    ]


def _reference_problems(reg: Register) -> Iterator[str]:
    """R24, R44: every purpose, rule, recipient and category named must be declared."""
    for sid, system in reg.systems.items():
        for link in system.recipients:
            if link.id not in reg.recipients:
                yield f"systems.{sid}.recipients: unknown recipient '{link.id}'"
            yield from (
                f"systems.{sid}.recipients.{link.id}: unknown category '{c}'"
                for c in link.categories
                if c not in system.categories
            )
        for cid, category in system.categories.items():
            yield from _category_problems(reg, system, category, f"systems.{sid}.categories.{cid}")


def _category_problems(reg: Register, system: SystemEntry, category: Category, where: str) -> Iterator[str]:
    field_purposes = {p for purposes in category.field_purposes.values() for p in purposes}
    yield from (f"{where}.purposes: unknown purpose '{p}'" for p in category.purposes if p not in reg.purposes)
    yield from (f"{where}.field_purposes: unknown purpose '{p}'" for p in field_purposes if p not in reg.purposes)
    yield from (
        f"{where}.purpose_bases: '{p}' is not among its purposes"
        for p in category.purpose_bases
        if p not in {*category.purposes, *field_purposes}
    )
    yield from (
        f"{where}.purpose_where: '{p}' is not among its purposes"
        for p in category.purpose_where
        if p not in category.purposes
    )
    for followed in category.follows:
        if followed not in system.categories or system.categories[followed].follows:
            yield f"{where}.follows: '{followed}' must be a category of '{system.id}' that follows no other"
    rule = reg.retention_rules.get(category.retention)
    if rule is None:
        yield f"{where}.retention: unknown rule '{category.retention}' (declared: {', '.join(reg.retention_rules)})"
        return
    for ref in rule.field_refs():
        owner = ref.rpartition(".")[0]
        if owner and owner not in system.categories:
            yield f"{where}.retention: rule '{rule.id}' reads '{ref}', but '{system.id}' has no category '{owner}'"


def _invalidated(value: Any, path: str = "") -> list[str]:
    """R47: the invalidated EU-US framework may appear nowhere in the register."""
    if isinstance(value, str):
        found = _INVALIDATED.search(value)
        return (
            [
                f"{path or 'register'}: mentions '{found.group()}', invalidated by the CJEU on 16 Jul 2020 "
                "(C-311/18, R47): cite the DPF (Decision 2023/1795) or SCC 2021/914 instead"
            ]
            if found
            else []
        )
    items = value.items() if isinstance(value, Mapping) else enumerate(value) if isinstance(value, list) else ()
    return [p for key, item in items for p in _invalidated(item, f"{path}.{key}".lstrip("."))]
