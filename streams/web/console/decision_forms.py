"""The console's decision forms, and the decision body a filled form becomes (as `dsr case` builds it)."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.decisions import ExtensionReason, LiftReason, RefusalReason

ID_REASONS = ("challenge_failed", "no_channel_on_file", "sensitive_data")


@dataclass(frozen=True)
class Input:
    name: str
    kind: str = "text"  # text, textarea, select, checkboxes, checkbox, date, number
    options: tuple[str, ...] = ()
    required: bool = False


FORMS: dict[str, tuple[Input, ...]] = {
    "extend": (
        Input("reasons", "checkboxes", tuple(r.value for r in ExtensionReason), True),
        Input("explanation", "textarea"),
    ),
    "refuse": (
        Input("reason", "select", tuple(r.value for r in RefusalReason), True),
        Input("explanation", "textarea", required=True),
        Input("partial", "checkbox"),
    ),
    "flag_excessive": (
        Input("facts", "textarea", required=True),
        Input("fee", "number"),
        Input("further_copy", "checkbox"),
    ),
    "request_id": (Input("reason", "select", ID_REASONS, True),),
    "verify_id": (),
    "hold": (
        Input("hold_id", required=True),
        Input("categories", required=True),
        Input("owner", required=True),
        Input("review_on", "date", required=True),
    ),
    "release": (Input("hold_id", required=True),),
    "decide_objection": (
        Input("outcome", "select", ("uphold", "reject"), True),
        Input("explanation", "textarea", required=True),
    ),
    "lift_restriction": (
        Input("lift_on", "date", required=True),
        Input("reason", "select", tuple(r.value for r in LiftReason), True),
    ),
    "fee_paid": (),
    "withdraw": (),
    "apply_directives": (Input("keep", "checkbox"), Input("explanation", "textarea")),
    "decide_estate_access": (Input("categories", required=True), Input("explanation", "textarea", required=True)),
}


def decision_body(kind: str, form: dict[str, str], by: str) -> dict:
    """The JSON the DPO API takes, as `dsr case` builds it; `by` is the logged-in person, never a form field."""
    body = {"kind": kind, "by": by}
    for field in FORMS.get(kind, ()):
        value = form.get(field.name, "")
        body.update(CONVERT.get((kind, field.name), lambda v, n=field.name: {n: v} if v else {})(value))
    return body


def _fee(value: str) -> dict:
    try:
        return {"fee_cents": round(float(value.replace(",", ".")) * 100)} if value else {"fee_cents": None}
    except ValueError:
        return {"fee_cents": -1}  # refused by the checks with its reason


def _words(value: str) -> list[str]:
    return [w.strip() for w in value.replace(";", ",").split(",") if w.strip()]


CONVERT = {
    ("extend", "reasons"): lambda v: {"reasons": _words(v)},
    ("refuse", "partial"): lambda v: {"partial": v == "yes"},
    ("flag_excessive", "fee"): _fee,
    ("flag_excessive", "further_copy"): lambda v: {"basis": "further_copy" if v == "yes" else "manifestly_excessive"},
    ("hold", "categories"): lambda v: {"categories": _words(v)},
    ("decide_objection", "outcome"): lambda v: {"upheld": v == "uphold"} if v else {},
    ("apply_directives", "keep"): lambda v: {"erase": v != "yes"},
    ("decide_estate_access", "categories"): lambda v: {"categories": _words(v)},
}

LABELS = {
    "fr": {
        "extend": "Prolonger le délai de deux mois (article 12, paragraphe 3)",
        "refuse": "Refuser, en tout ou en partie (article 12, paragraphe 4)",
        "flag_excessive": "Signaler comme manifestement excessive : frais ou refus (article 12, paragraphe 5)",
        "request_id": "Demander un justificatif d'identité (niveau L3)",
        "verify_id": "Consigner la vérification du justificatif (le document est alors supprimé)",
        "hold": "Conservation pour un litige, avant l'effacement",
        "release": "Lever une conservation pour litige",
        "decide_objection": "Décider de l'opposition (article 21, paragraphe 1)",
        "lift_restriction": "Lever la limitation, après avis à la personne (article 18, paragraphe 3)",
        "fee_paid": "Frais acceptés et payés",
        "withdraw": "La personne a retiré sa demande",
        "apply_directives": "Directives post mortem appliquées",
        "decide_estate_access": "Ce que l'héritier obtient (article 85, II, de la loi Informatique et Libertés)",
        "reasons": "Motifs",
        "explanation": "Explication (transmise à la personne ; aucune donnée personnelle)",
        "reason": "Motif",
        "partial": "Refus partiel : le reste de la demande continue",
        "facts": "Faits documentés (20 caractères au moins)",
        "fee": "Frais en euros (vide : refus)",
        "further_copy": "Nouvelle copie des mêmes données pour la même période (accès)",
        "hold_id": "Identifiant de la conservation",
        "categories": "Catégories (séparées par des virgules ; * pour toutes)",
        "owner": "Responsable",
        "review_on": "Date de réexamen",
        "outcome": "Décision",
        "lift_on": "Date de levée",
        "keep": "Les directives demandent de conserver les données",
        "submit": "Enregistrer la décision",
        "uphold": "opposition retenue",
        "reject": "opposition rejetée (motifs impérieux)",
    },
    "en": {
        "extend": "Extend the deadline by two months (Art. 12(3))",
        "refuse": "Refuse, in whole or in part (Art. 12(4))",
        "flag_excessive": "Flag as manifestly excessive: fee or refusal (Art. 12(5))",
        "request_id": "Ask for an identity document (level L3)",
        "verify_id": "Record that the document was checked (it is then deleted)",
        "hold": "Legal hold, before erasure",
        "release": "Release a legal hold",
        "decide_objection": "Decide the objection (Art. 21(1))",
        "lift_restriction": "Lift the restriction, after notice to the person (Art. 18(3))",
        "fee_paid": "Fee agreed and paid",
        "withdraw": "The person withdrew the request",
        "apply_directives": "Post-mortem directives applied",
        "decide_estate_access": "What the heir obtains (Art. 85-II of the French Data Protection Act)",
        "reasons": "Reasons",
        "explanation": "Explanation (sent to the person; no personal data)",
        "reason": "Reason",
        "partial": "Partial refusal: the rest of the request goes on",
        "facts": "Documented facts (at least 20 characters)",
        "fee": "Fee in euros (empty: refuse)",
        "further_copy": "A further copy of the same data for the same period (access)",
        "hold_id": "Hold id",
        "categories": "Categories (comma-separated; * for all)",
        "owner": "Owner",
        "review_on": "Review date",
        "outcome": "Decision",
        "lift_on": "Lift on",
        "keep": "The directives ask to keep the data",
        "submit": "Record the decision",
        "uphold": "objection upheld",
        "reject": "objection rejected (compelling grounds)",
    },
}
