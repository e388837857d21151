"""What the record of processing answers: Art. 15 information, retention dates, portability, recipients."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gdpr.register import (
    PORTABLE_BASES,
    Category,
    LegalBasis,
    Origin,
    Recipient,
    Register,
    SystemEntry,
    Text,
)
from gdpr.register import TransferTool as T
from gdpr.retention import Records, retention_end

_EVERY_ROW = object()  # the register read without a person's records: every conditional purpose is listed

BASIS_LABELS = {
    LegalBasis.CONSENT: Text(fr="Votre consentement (art. 6(1)(a) RGPD)", en="Your consent (GDPR Art. 6(1)(a))"),
    LegalBasis.CONTRACT: Text(
        fr="L'exécution d'un contrat ou de mesures précontractuelles prises à votre demande (art. 6(1)(b) RGPD)",
        en="Performance of a contract, or steps taken at your request before one (GDPR Art. 6(1)(b))",
    ),
    LegalBasis.LEGAL_OBLIGATION: Text(
        fr="Une obligation légale (art. 6(1)(c) RGPD)", en="A legal obligation (GDPR Art. 6(1)(c))"
    ),
    LegalBasis.LEGITIMATE_INTEREST: Text(
        fr="Notre intérêt légitime (art. 6(1)(f) RGPD)", en="Our legitimate interest (GDPR Art. 6(1)(f))"
    ),
}
_SAFEGUARDS = {  # Art. 15(2); GS-25 wording for the DPF with its fallback
    T.NONE_EEA: Text(fr="Pas de transfert hors de l'EEE", en="No transfer outside the EEA"),
    T.ADEQUACY: Text(
        fr="Décision d'adéquation de la Commission européenne pour {c} (art. 45 RGPD)",
        en="European Commission adequacy decision for {c} (GDPR Art. 45)",
    ),
    T.DPF: Text(
        fr="Certifié DPF (cadre UE–États-Unis de protection des données, décision (UE) 2023/1795)",
        en="DPF-certified (EU-U.S. Data Privacy Framework, Decision (EU) 2023/1795)",
    ),
    T.SCC: Text(
        fr="Clauses contractuelles types (CCT 2021/914), avec une analyse d'impact du transfert",
        en="Standard contractual clauses (SCC 2021/914), with a transfer impact assessment",
    ),
    T.BCR: Text(
        fr="Règles d'entreprise contraignantes du groupe {g} (art. 47 RGPD)",
        en="Binding corporate rules of the {g} group (GDPR Art. 47)",
    ),
}
_FALLBACK = Text(fr=" ; CCT 2021/914 également en place", en="; SCC 2021/914 also in place")  # R49
_MISSING_RULE = Text(
    fr="Catégorie absente du registre des traitements : le DPO doit la compléter.",
    en="Category missing from the record of processing: the DPO must complete it.",
)
RIGHTS_15_1_E = ("rectification", "erasure", "restriction", "objection")  # Art. 15(1)(e)


def safeguard_label(recipient: Recipient) -> dict[str, str]:
    """Art. 15(2): the transfer safeguard in words, e.g. "DPF-certified; SCC 2021/914 also in place"."""
    base = _SAFEGUARDS[recipient.transfer_tool]
    fallback = recipient.scc_fallback and recipient.transfer_tool is T.DPF
    return {
        lang: getattr(base, lang).format(c=recipient.country, g=recipient.bcr_group)
        + (getattr(_FALLBACK, lang) if fallback else "")
        for lang in ("fr", "en")
    }


def recipients_of(register: Register, systems: Iterable[str] | Mapping[str, Iterable[str]]) -> list[Recipient]:
    """Who received data from these systems: Art. 19 notices (R35) and 15(1)(c) answers (R24, R36).
    Given `{system: the person's categories}`, only the recipients of those categories (C-154/21)."""
    held = systems if isinstance(systems, Mapping) else dict.fromkeys(systems)
    wanted = {link.id for sid, cats in held.items() for link in register.system(sid).recipients if link.receives(cats)}
    return [recipient for rid, recipient in register.recipients.items() if rid in wanted]


def _uses(
    system: SystemEntry, category_id: str, held: Iterable[str], records: Any = None
) -> set[tuple[str, LegalBasis]]:
    """(purpose, basis) pairs of a category for a person holding `held` categories of this system. With the
    person's `records`, purposes bound to rows or fields apply only when those rows or fields are there."""
    category = system.categories[category_id]
    rows = records if records is _EVERY_ROW or records is None else list(records.get(category_id) or ())
    followed = [c for c in category.follows if c in held]
    if followed:
        uses = {use for c in followed for use in _uses(system, c, held, records)}
    else:
        uses = {(p, _basis(category, p)) for p in category.purposes if _row_purpose(category, p, rows)}
    return uses | {
        (p, _basis(category, p))
        for field, purposes in category.field_purposes.items()
        if not isinstance(rows, list) or any(row.get(field) for row in rows)
        for p in purposes
    }


def _basis(category: Category, purpose: str) -> LegalBasis:
    return category.purpose_bases.get(purpose, category.legal_basis)


def _row_purpose(category: Category, purpose: str, rows: Any) -> bool:
    """A purpose bound to rows (`purpose_where`) applies when one of the person's rows matches a condition;
    without the person's records, only when the whole register is described."""
    conditions = category.purpose_where.get(purpose)
    if conditions is None or rows is _EVERY_ROW:
        return True
    return isinstance(rows, list) and any(all(r.get(k) == v for k, v in c.items()) for c in conditions for r in rows)


def _held(system: SystemEntry, categories: Iterable[str] | None) -> list[str]:
    return list(system.categories) if categories is None else [c for c in system.categories if c in categories]


def portable_categories(
    register: Register, system: str, held: Iterable[str] | None = None, records: Records | None = None
) -> frozenset[str]:
    """R28: consent or contract, provided or observed. `held`: the person's categories (default: all);
    `records`: the person's rows, which decide the purposes bound to rows (e.g. a consent given)."""
    entry = register.system(system)
    categories = _held(entry, held)
    return frozenset(
        c
        for c in categories
        if entry.categories[c].origin is not Origin.INFERRED
        and {basis for _, basis in _uses(entry, c, categories, records)} & PORTABLE_BASES
    )


def portability_bases(register: Register, holdings: Mapping[str, Iterable[str] | None]) -> dict[str, set[LegalBasis]]:
    """Per system, the bases of the person's categories (`{system: export records}` fits). None of
    them in PORTABLE_BASES: "Art. 20 does not apply (basis: legitimate interest)" (R28, GS-12b)."""
    out = {}
    for sid, held in holdings.items():
        entry = register.system(sid)
        categories = _held(entry, held)
        records = held if isinstance(held, Mapping) else None
        out[sid] = {basis for c in categories for _, basis in _uses(entry, c, categories, records)}
    return out


def portable_records(register: Register, system: str, records: Records) -> dict[str, list[dict]]:
    """The portability copy: portable categories only, inferred fields removed (R28, GS-12a)."""
    entry, held = register.system(system), [c for c, rows in records.items() if rows]
    keep = portable_categories(register, system, held, records)
    return {c: [_without(row, entry.categories[c].inferred_fields) for row in records[c]] for c in held if c in keep}


def portability_exclusions(register: Register, system: str, records: Records) -> list[dict]:
    """R28, GS-12: each of the person's categories left out of the portable file, or cut, with its true
    reason: `basis` (neither consent nor contract, Art. 20(1)(a)), `inferred` (derived by us, not provided
    or observed), or `inferred_fields` (a portable category whose derived fields are removed)."""
    entry, held = register.system(system), [c for c, rows in records.items() if rows]
    portable = portable_categories(register, system, held, records)
    return [e for c in held if (e := _exclusion(register, entry, c, held, records, portable)) is not None]


def _exclusion(register, entry: SystemEntry, category_id, held, records, portable) -> dict | None:
    category = entry.categories.get(category_id)
    label = {"category": _label_of(category, category_id), "system": entry.label.model_dump()}
    if category is None:
        return {**label, "reason": "not_registered", "bases": []}  # R44: the DPO completes the register
    if category.origin is Origin.INFERRED:
        return {**label, "reason": "inferred", "bases": []}
    if category_id not in portable:
        bases = sorted(
            {b.value for _, b in _uses(entry, category_id, held, records)} - {b.value for b in PORTABLE_BASES}
        )
        return {**label, "reason": "basis", "bases": bases}
    inferred = {
        *category.inferred_fields,
        *(f for row in records[category_id] for f in row.get("_inferred_fields", ())),
    }
    if inferred & {k for row in records[category_id] for k in row}:
        return {**label, "reason": "inferred_fields", "bases": []}
    return None


def _label_of(category: Category | None, category_id: str) -> dict:
    return category.label.model_dump() if category else {"fr": category_id, "en": category_id}


def _without(row: dict, inferred: list[str]) -> dict:
    dropped = {*inferred, *row.get("_inferred_fields", ()), "_inferred_fields"}
    return {k: v for k, v in row.items() if k not in dropped}


def retention_dates(register: Register, system: str, records: Records) -> list[dict]:
    """Art. 15(1)(d): the person's own end date per category held, from the exported records.
    `until` is None when the records cannot date it (process not ended, a field missing): no guessing."""
    entry = register.system(system)
    return [_retention(register, entry, category, records) for category, rows in records.items() if rows]


def _retention(register: Register, system: SystemEntry, category_id: str, records: Records) -> dict:
    category = system.categories.get(category_id)
    if category is None:  # R44: a category the register lacks is shown, not hidden
        return {
            "category": category_id,
            "label": None,
            "rule": None,
            "description": _MISSING_RULE.model_dump(),
            "action": None,
            "until": None,
        }
    rule = register.retention_rules[category.retention]
    until = retention_end(rule, records, category_id)
    return {
        "category": category_id,
        "label": category.label.model_dump(),
        "rule": rule.id,
        "description": rule.description.model_dump(),
        "action": rule.action.value,
        "until": until.isoformat() if until else None,
    }


def access_information(
    register: Register, systems: Iterable[str], records: Mapping[str, Records] | None = None
) -> dict:
    """Art. 15(1)(a)-(h) and 15(2) for the systems holding the person's data (R22, R24, R33).
    With `records` ({system: export records}) the categories are the person's and `until` is dated."""
    held = {sid: _held(register.system(sid), _categories_in((records or {}).get(sid))) for sid in systems}
    rows = {sid: (records.get(sid) or {}) if records is not None else _EVERY_ROW for sid in held}
    retention = [_retention_info(register, sid, cats, (records or {}).get(sid)) for sid, cats in held.items()]
    return {
        "purposes": _purposes(register, held, rows),
        "categories": [_category_info(register.systems[sid], c) for sid, cats in held.items() for c in cats],
        "recipients": [_recipient_info(r) for r in recipients_of(register, held)],
        "retention": [entry for entries in retention for entry in entries],
        "sources": [
            _source_info(register.systems[sid], c)
            for sid, cats in held.items()
            for c in cats
            if _sourced(register.systems[sid].categories[c], (records or {}).get(sid), records is None)
        ],
        "automated_decisions": {
            "exists": register.automated_decisions.exists,
            "label": register.automated_decisions.label.model_dump(),
        },
        "rights": _rights(register, held, rows),
    }


def _categories_in(records: Records | None) -> list[str] | None:
    return None if records is None else [c for c, rows in records.items() if rows]


def _purposes(register: Register, held: Mapping[str, list[str]], rows: Mapping[str, Any]) -> list[dict]:
    uses = {use for sid, cats in held.items() for c in cats for use in _uses(register.systems[sid], c, cats, rows[sid])}
    return [
        {
            "id": p.id,
            "label": p.label.model_dump(),
            "legal_basis": basis.value,
            "legal_basis_label": BASIS_LABELS[basis].model_dump(),
        }
        for p in register.purposes.values()
        for basis in LegalBasis
        if (p.id, basis) in uses
    ]


def _category_info(system: SystemEntry, category_id: str) -> dict:
    category = system.categories[category_id]
    return {
        "id": category.id,
        "label": category.label.model_dump(),
        "system": system.label.model_dump(),
        "origin": category.origin.value,
        "inferred_fields": list(category.inferred_fields),
    }


def _sourced(category: Category, records: Records | None, register_wide: bool) -> bool:
    """Art. 15(1)(g): a source is named when it applies to the person's own rows (every row when the
    register is read without them)."""
    if category.source is None:
        return False
    if register_wide or not category.source_where:
        return True
    rows = (records or {}).get(category.id) or ()
    return any(all(row.get(k) == v for k, v in category.source_where.items()) for row in rows)


def _source_info(system: SystemEntry, category_id: str) -> dict:
    category = system.categories[category_id]
    return {
        "category": category.label.model_dump(),
        "system": system.label.model_dump(),
        "source": category.source.model_dump(),
    }


def _recipient_info(recipient: Recipient) -> dict:
    return {
        "id": recipient.id,
        "name": recipient.name,
        "role": recipient.role.value,
        "country": recipient.country,
        "third_country": recipient.third_country,
        "safeguard": recipient.transfer_tool.value,
        "safeguard_label": safeguard_label(recipient),
        "purpose": recipient.purpose.model_dump(),
    }


def _retention_info(register: Register, sid: str, held: list[str], records: Records | None) -> list[dict]:
    """Art. 15(1)(d): each rule in words; dated when the person's records are given."""
    system = register.systems[sid]
    entries = [_retention(register, system, c, records or {}) for c in held]
    return [
        {
            "system": system.label.model_dump(),
            "category": e["label"],
            "rule": e["description"],
            "action": e["action"],
            "until": e["until"],
        }
        for e in entries
    ]


def _rights(register: Register, held: Mapping[str, list[str]], rows: Mapping[str, Any]) -> list[str]:
    """15(1)(e), (f): the rights the answer must state, with portability only where it applies (R28)."""
    systems = [register.systems[sid] for sid in held]
    bases = {b for s in systems for c in held[s.id] for _, b in _uses(s, c, held[s.id], rows[s.id])}
    portable = any(
        register.systems[sid].categories[c].origin is not Origin.INFERRED
        and {b for _, b in _uses(register.systems[sid], c, cats, rows[sid])} & PORTABLE_BASES
        for sid, cats in held.items()
        for c in cats
    )
    return [
        *RIGHTS_15_1_E,
        *(["portability"] if portable else []),
        *(["consent_withdrawal"] if LegalBasis.CONSENT in bases else []),
        "post_mortem",
        "complaint",
    ]
