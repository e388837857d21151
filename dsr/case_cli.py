"""`dsr case ...`: the DPO's view of the cases and the decisions the law reserves for a person."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import date

import click

from schemas.decisions import ExtensionReason, LiftReason, RefusalReason
from schemas.tasks import KeepGround

BY = click.option(
    "--by",
    envvar="DSR_DPO_ROLE",
    default="dpo",
    show_default=True,
    help="Who decides: a role or a login, recorded in dsr.audit (never a person's name).",
)
API = click.option(
    "--api",
    envvar="DSR_API_URL",
    default=None,
    help="Base URL of a worker's admin listener [default: http://$DSR_ADMIN_HOST:$DSR_ADMIN_PORT].",
)


def api_base(api: str | None) -> str:
    if api:
        return api.rstrip("/")
    from dsr.settings import load_settings

    return load_settings().admin_url()


def token() -> str:
    """A person's own token (DSR_API_TOKEN, from `dsr user token NAME`: decisions are recorded as theirs), else
    the DPO token derived from DSR_SECRET_KEY (decisions recorded as --by)."""
    import os

    if os.environ.get("DSR_API_TOKEN"):
        return os.environ["DSR_API_TOKEN"].strip()
    from dsr.composition import secret_from
    from dsr.settings import load_settings
    from streams.web.dpo_api import dpo_token

    settings = load_settings()
    return dpo_token(secret_from(settings))


def call(api: str | None, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{api_base(api)}{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token()}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise click.ClickException(_error_of(exc)) from None
    except urllib.error.URLError as exc:
        reason = f"cannot reach the worker at {api_base(api)} ({exc.reason}); is `dsr run` up?"
        raise click.ClickException(reason) from None


def _error_of(exc: urllib.error.HTTPError) -> str:
    try:
        return f"refused ({exc.code}): {json.loads(exc.read())['error']}"
    except (ValueError, KeyError):
        return f"refused ({exc.code})"


def decide(api: str | None, ref: str, body: dict) -> None:
    answer = call(api, "POST", f"/api/cases/{ref}/decisions", body)
    click.echo(f"{answer['accepted']} recorded on {answer['reference']} at {answer['at']}")


@click.group(help="Cases and the DPO's decisions (each one an event in dsr.cases, visible in dsr.audit).")
def case() -> None:
    pass


@case.command("list", help="Open cases by deadline (--all: closed ones too).")
@click.option("--all", "everything", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@API
def list_cases(everything: bool, as_json: bool, api: str | None) -> None:
    cases = call(api, "GET", f"/api/cases?which={'all' if everything else 'open'}")["cases"]
    if as_json:
        return click.echo(json.dumps(cases, indent=2))
    for c in cases:
        flags = " ".join(f for f, on in (("extended", c["extended"]), ("minor", c["minor"])) if on)
        click.echo(
            f"{c['reference']}  {c['right']:<18} {c['status']:<22} received {c['received_on']}  "
            f"target {c['target']}  deadline {c['deadline']}  {c['identity_level']} {flags}".rstrip()
        )
    click.echo(f"{len(cases)} case(s)")


@case.command("show", help="The procedural record of one case (no personal data).")
@click.argument("ref")
@API
def show(ref: str, api: str | None) -> None:
    click.echo(json.dumps(call(api, "GET", f"/api/cases/{ref}"), indent=2, ensure_ascii=False))


@case.command(help="Extend the deadline by two months (R10): by D1 only, with reasons from the list.")
@click.argument("ref")
@click.option(
    "--reason", "reasons", multiple=True, required=True, type=click.Choice([r.value for r in ExtensionReason])
)
@click.option("--explanation", default="")
@BY
@API
def extend(ref: str, reasons: tuple[str, ...], explanation: str, by: str, api: str | None) -> None:
    decide(api, ref, {"kind": "extend", "by": by, "reasons": list(reasons), "explanation": explanation})


@case.command(help="Refuse to act, in whole or in part (R11): the person gets the reasons and the remedies.")
@click.argument("ref")
@click.option("--reason", required=True, type=click.Choice([r.value for r in RefusalReason]))
@click.option("--explanation", required=True, help="Shown to the person; write no personal data.")
@click.option("--partial", is_flag=True, help="The rest of the request goes on.")
@BY
@API
def refuse(ref: str, reason: str, explanation: str, partial: bool, by: str, api: str | None) -> None:
    decide(api, ref, {"kind": "refuse", "by": by, "reason": reason, "explanation": explanation, "partial": partial})


@case.command("flag-excessive", help="Flag as manifestly excessive (R21), with the facts: ask a fee or refuse.")
@click.argument("ref")
@click.option("--facts", required=True, help="The documented facts (at least 20 characters).")
@click.option("--fee", type=float, default=None, help="Fee in euros; the person is told first and may withdraw.")
@click.option("--refuse", "refusing", is_flag=True, help="Refuse instead of asking a fee.")
@click.option(
    "--further-copy", is_flag=True, help="The same data for the same period again (access, fee only: Art. 15(3))."
)
@BY
@API
def flag_excessive(
    ref: str, facts: str, fee: float | None, refusing: bool, further_copy: bool, by: str, api: str | None
) -> None:
    if (fee is None) == (not refusing):
        raise click.UsageError("give either --fee EUROS or --refuse")
    cents = None if refusing else round(fee * 100)
    basis = "further_copy" if further_copy else "manifestly_excessive"
    decide(api, ref, {"kind": "flag_excessive", "by": by, "facts": facts, "fee_cents": cents, "basis": basis})


@case.command(
    "verify-id",
    help="L3: record that an ID document was checked (and deleted); for a death reported without proof, that the"
    " death certificate and the requester's standing were (R40). Nothing else is kept.",
)
@click.argument("ref")
@BY
@API
def verify_id(ref: str, by: str, api: str | None) -> None:
    decide(api, ref, {"kind": "verify_id", "by": by})


@case.command("request-id", help="L3: ask for an ID document, where the situation requires it (R14).")
@click.argument("ref")
@click.option(
    "--reason", required=True, type=click.Choice(["challenge_failed", "no_channel_on_file", "sensitive_data"])
)
@BY
@API
def request_id(ref: str, reason: str, by: str, api: str | None) -> None:
    decide(api, ref, {"kind": "request_id", "by": by, "reason": reason})


@case.command(help="Place a legal hold (R46) before erasure: scoped categories, ground, owner, review date.")
@click.argument("ref")
@click.option("--hold-id", required=True)
@click.option("--category", "categories", multiple=True, required=True, help="Export category, or '*' for all.")
@click.option(
    "--ground",
    default=KeepGround.LEGAL_CLAIMS.value,
    show_default=True,
    type=click.Choice([g.value for g in KeepGround if g != KeepGround.SUPPRESSION_LIST]),
)
@click.option("--owner", required=True)
@click.option("--review-on", required=True, type=click.DateTime(["%Y-%m-%d"]))
@BY
@API
def hold(ref: str, hold_id: str, categories, ground: str, owner: str, review_on, by: str, api: str | None) -> None:
    decide(
        api,
        ref,
        {
            "kind": "hold",
            "by": by,
            "hold_id": hold_id,
            "categories": list(categories),
            "ground": ground,
            "owner": owner,
            "review_on": review_on.date().isoformat(),
        },
    )


@case.command(help="Release a legal hold: what it kept is erased now (R46).")
@click.argument("ref")
@click.option("--hold-id", required=True)
@BY
@API
def release(ref: str, hold_id: str, by: str, api: str | None) -> None:
    decide(api, ref, {"kind": "release", "by": by, "hold_id": hold_id})


@case.command("decide-objection", help="Decide a general objection (Art. 21(1), R29).")
@click.argument("ref")
@click.option("--uphold/--reject", required=True)
@click.option("--explanation", required=True, help="When rejecting: the compelling legitimate grounds.")
@BY
@API
def decide_objection(ref: str, uphold: bool, explanation: str, by: str, api: str | None) -> None:
    decide(api, ref, {"kind": "decide_objection", "by": by, "upheld": uphold, "explanation": explanation})


@case.command("lift-restriction", help="Tell the person, then lift the restriction on --on (Art. 18(3)).")
@click.argument("ref")
@click.option("--on", "lift_on", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--reason", required=True, type=click.Choice([r.value for r in LiftReason]))
@BY
@API
def lift_restriction(ref: str, lift_on, reason: str, by: str, api: str | None) -> None:
    decide(api, ref, {"kind": "lift_restriction", "by": by, "lift_on": lift_on.date().isoformat(), "reason": reason})


@case.command("fee-paid", help="The person agreed to the fee and paid it: the answer goes out.")
@click.argument("ref")
@BY
@API
def fee_paid(ref: str, by: str, api: str | None) -> None:
    decide(api, ref, {"kind": "fee_paid", "by": by})


@case.command(help="The person withdrew the request: the case closes.")
@click.argument("ref")
@BY
@API
def withdraw(ref: str, by: str, api: str | None) -> None:
    decide(api, ref, {"kind": "withdraw", "by": by})


@case.command("apply-directives", help="The post-mortem directives were carried out (R39); then erase, or --keep.")
@click.argument("ref")
@click.option("--keep", is_flag=True, help="The directives ask to keep the data.")
@click.option("--explanation", default="")
@BY
@API
def apply_directives(ref: str, keep: bool, explanation: str, by: str, api: str | None) -> None:
    decide(api, ref, {"kind": "apply_directives", "by": by, "erase": not keep, "explanation": explanation})


@case.command("estate-access", help="LIL 85-II: what an heir obtains to settle the estate (else refuse, R11).")
@click.argument("ref")
@click.option("--category", "categories", multiple=True, required=True, help="Export category, e.g. invoices.")
@click.option("--explanation", required=True, help="Why these are needed for the estate; shown to the heir.")
@BY
@API
def estate_access(ref: str, categories: tuple[str, ...], explanation: str, by: str, api: str | None) -> None:
    body = {"kind": "decide_estate_access", "by": by, "categories": list(categories), "explanation": explanation}
    decide(api, ref, body)


__all__ = ["case", "date"]
