"""`dsr user ...`: the DPO console's personal accounts; passwords are asked, never on the command line."""

from __future__ import annotations

import re

import click

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def _store():
    from dsr.composition import doors_store
    from dsr.settings import load_settings

    return doors_store(load_settings())


def _name(_ctx, _param, value: str) -> str:
    if not NAME.match(value):
        raise click.BadParameter("lower-case letters, digits, '-' or '_' (at most 40): a login, not a person's name")
    return value


@click.group(help="Personal accounts of the DPO console (/console/ on the admin listener).")
def user() -> None:
    pass


@user.command(help="Create an account; the password is asked twice (at least 12 characters).")
@click.argument("name", callback=_name)
@click.option("--role", type=click.Choice(["dpo", "viewer"]), required=True, help="dpo decides; viewer only sees.")
def add(name: str, role: str) -> None:
    from streams.doors_port import AccountExists, Role
    from streams.web.console.accounts import hash_password

    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        _store().add_account(name, Role(role), hash_password(password))
    except (AccountExists, ValueError) as exc:
        raise click.ClickException(f"'{name}' already exists" if isinstance(exc, AccountExists) else str(exc)) from None
    click.echo(f"account '{name}' created ({role})")


@user.command(help="Disable an account: its sessions and its API token stop working at once, on every worker.")
@click.argument("name", callback=_name)
def disable(name: str) -> None:
    if not _store().set_enabled(name, False):
        raise click.ClickException(f"no account '{name}'")
    click.echo(f"account '{name}' disabled")


@user.command(help="Enable an account again; this also lifts a lock-out after failed logins.")
@click.argument("name", callback=_name)
def enable(name: str) -> None:
    if not _store().set_enabled(name, True):
        raise click.ClickException(f"no account '{name}'")
    click.echo(f"account '{name}' enabled")


@user.command(
    help="Print a new personal token for `dsr case` (export DSR_API_TOKEN=...); the previous one stops working."
)
@click.argument("name", callback=_name)
def token(name: str) -> None:
    from dsr.composition import secret_from
    from dsr.settings import load_settings
    from streams.web.console.accounts import api_token

    store = _store()
    account = store.account(name)
    if account is None or not account.enabled:
        raise click.ClickException(f"no enabled account '{name}'")
    store.new_token_serial(name)
    click.echo(api_token(secret_from(load_settings()), store.account(name)))
