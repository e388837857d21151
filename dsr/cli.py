"""The `dsr` command: run the workers, the dev stack, the deadline calculator, schemas, publishing."""

from __future__ import annotations

import json
import sys
from contextlib import closing
from datetime import datetime
from pathlib import Path

import click

from gdpr.deadlines import PARIS, compute_deadline
from mail.templates import LANGUAGES, MESSAGE_TYPES

LOGLEVEL = click.option(
    "--loglevel",
    default=None,
    type=click.Choice(["critical", "error", "warning", "info", "debug", "crit", "warn"]),
    callback=lambda _ctx, _param, value: {"crit": "critical", "warn": "warning"}.get(value, value),
    help="Overrides DSR_LOG_LEVEL (default warning).",
)


@click.group(help="GDPR data-subject requests on Kafka.")
def main() -> None:
    pass


@main.command(help="Run the workers against DSR_KAFKA_BOOTSTRAP and DSR_SMTP_HOST.")
@LOGLEVEL
def run(loglevel: str | None) -> None:
    from dsr.runner import run_pipeline

    run_pipeline(dev=False, loglevel=loglevel)


@main.command(help="Everything on this machine: embedded Kafka, workers, sample adapters, SMTP sink + mailbox.")
@LOGLEVEL
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 32),
    help="Worker processes in one consumer group, listening on DSR_WEB_PORT + 2i and DSR_ADMIN_PORT + 2i.",
)
@click.option("--group-member", is_flag=True, hidden=True, help="A worker started by `dsr dev --workers N`.")
def dev(loglevel: str | None, workers: int, group_member: bool) -> None:
    if workers > 1:
        from dsr.dev_group import run_group

        run_group(workers, loglevel)
        return
    from dsr.runner import run_pipeline

    run_pipeline(dev=True, loglevel=loglevel, group_member=group_member)


def parse_received_at(text: str) -> datetime:
    """ISO 8601; a date or a time without offset is read as Europe/Paris local time."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"'{text}' is not an ISO 8601 date or date-time, e.g. 2027-03-05T10:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=PARIS)


@main.command(help="Print the legal deadline of a request received at RECEIVED_AT (Art. 12(3) GDPR).")
@click.argument("received_at")
@click.option("--extended", is_flag=True, help="The deadline extended by two further months (LEGAL §2.3).")
@click.option("--suspended-days", default=0, type=click.IntRange(min=0), help="Days the clock was suspended.")
@click.option("--json", "as_json", is_flag=True, help="Receipt day, raw and rolled dates, as JSON.")
def deadline(received_at: str, extended: bool, suspended_days: int, as_json: bool) -> None:
    result = compute_deadline(parse_received_at(received_at), suspended_days=suspended_days)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "received_at": result.received_at.isoformat(),
                    "receipt_day": result.receipt_day.isoformat(),
                    "raw_d1": result.raw_d1.isoformat(),
                    "d1": result.d1.isoformat(),
                    "raw_d3": result.raw_d3.isoformat(),
                    "d3": result.d3.isoformat(),
                    "suspended_days": result.suspended_days,
                    "internal_target": result.internal_target.isoformat(),
                    "d1_instant": result.d1_instant.isoformat(),
                    "d3_instant": result.d3_instant.isoformat(),
                },
                indent=2,
            )
        )
    else:
        click.echo((result.d3 if extended else result.d1).isoformat())


@main.command("system-token", help="Print the bearer token with which system NAME opens its tasks over HTTP.")
@click.argument("name")
def system_token_command(name: str) -> None:
    from dsr.composition import secret_from
    from dsr.settings import load_settings
    from streams.web.task_api import system_token

    settings = load_settings()
    click.echo(system_token(secret_from(settings), name))


@main.command("site-key", help="Print the key with which website NAME posts CloudEvents to POST /intake (Bearer).")
@click.argument("name")
def site_key_command(name: str) -> None:
    from dsr.composition import secret_from
    from dsr.settings import load_settings
    from streams.web.intake_api import site_key

    try:
        click.echo(site_key(secret_from(load_settings()), name))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None


@main.command("webhook-secret", help="Print the secret with which webhook system NAME checks our signatures.")
@click.argument("name")
def webhook_secret_command(name: str) -> None:
    from dsr.composition import secret_from
    from dsr.settings import load_settings
    from dsr.webhooks import webhook_secret

    settings = load_settings()
    click.echo(webhook_secret(secret_from(settings), name).decode())


def checked_kafka(bootstrap: str):
    """The DSR_KAFKA_* security settings, once a broker accepted them (else exit naming the setting at fault)."""
    from dsr.kafka_access import check_kafka
    from dsr.settings import load_settings

    settings = load_settings()
    check_kafka(settings, bootstrap)
    return settings.kafka_security()


@main.group(help="E-mails that could not be delivered (parked after their retries).")
def mail() -> None:
    pass


@mail.command("parked", help="List parked e-mails not sent since: case reference, message type, reason (no addresses).")
@click.option("--bootstrap", envvar="DSR_KAFKA_BOOTSTRAP", default="127.0.0.1:9092", show_default=True)
def mail_parked(bootstrap: str) -> None:
    from dsr.parked_mail import waiting

    security = checked_kafka(bootstrap)
    with closing(sent_emails()) as ledger:
        found = waiting(bootstrap, ledger, security=security)
    for parked in found:
        click.echo(f"{parked.reference}  {parked.request.message_type:<24} {parked.parked_at}  {parked.reason}")
    click.echo(f"{len(found)} parked e-mail(s)")


@mail.command("retry", help="Send the parked e-mails of case REFERENCE again (or 'all'), those not sent since.")
@click.argument("reference")
@click.option("--bootstrap", envvar="DSR_KAFKA_BOOTSTRAP", default="127.0.0.1:9092", show_default=True)
def mail_retry(reference: str, bootstrap: str) -> None:
    from dsr.parked_mail import retry

    security = checked_kafka(bootstrap)
    with closing(sent_emails()) as ledger:
        sent = retry(bootstrap, reference, ledger, security=security)
    if not sent:
        raise click.ClickException(f"no parked e-mail for '{reference}' (see `dsr mail parked`)")
    for parked in sent:
        click.echo(f"requeued {parked.request.message_type} of {parked.reference}")


def sent_emails():
    """The sent-e-mail ledger the workers share: an e-mail a retry delivered is no longer parked, as in the console."""
    from dsr.composition import sent_ledger
    from dsr.settings import load_settings

    return sent_ledger(load_settings())


@mail.command("preview", help="Render message TYPE with sample values: the subject and text, or the HTML part.")
@click.argument("message_type", metavar="TYPE", required=False)
@click.option("--lang", "language", type=click.Choice(LANGUAGES), default=LANGUAGES[0], show_default=True)
@click.option("--html", "as_html", is_flag=True, help="The HTML part (e.g. to save and open in a browser).")
@click.option("--list", "list_types", is_flag=True, help="List the message types.")
def mail_preview(message_type: str | None, language: str, as_html: bool, list_types: bool) -> None:
    if list_types:
        click.echo("\n".join(MESSAGE_TYPES))
        return
    if message_type not in MESSAGE_TYPES:
        hint = f"unknown message type '{message_type}'" if message_type else "give a message type"
        raise click.UsageError(f"{hint}; one of: {', '.join(MESSAGE_TYPES)} (dsr mail preview --list)")
    click.echo(_preview(message_type, language, as_html), nl=False)


def _preview(message_type: str, language: str, as_html: bool) -> str:
    from mail.samples import sample_context
    from mail.templates import EmailRenderer

    email = EmailRenderer().render(message_type, language, sample_context(message_type))
    body = email.html if as_html else f"Subject: {email.subject}\n\n{email.text}"
    return body if body.endswith("\n") else body + "\n"


@main.group(help="The key vault.")
def vault() -> None:
    pass


@vault.command(
    "replay-destructions",
    help="After restoring the vault from a backup, before any worker starts: destroy again every key that "
    "dsr.audit records as destroyed (key_destroyed). Idempotent.",
)
@click.option("--bootstrap", envvar="DSR_KAFKA_BOOTSTRAP", default="127.0.0.1:9092", show_default=True)
def vault_replay(bootstrap: str) -> None:
    from dsr.composition import key_vault, secret_from
    from dsr.settings import load_settings
    from dsr.shredding import audit_trail, replay_destructions

    settings = load_settings()
    security = checked_kafka(bootstrap)
    secret = secret_from(settings)
    done = replay_destructions(key_vault(settings, secret), audit_trail(bootstrap, security))
    click.echo(
        f"{done.records} audit records read, {done.destructions} key destructions replayed, "
        f"{done.resurrected} of them on keys the restored vault still held"
    )
    if done.unreadable:
        raise click.ClickException(
            f"{done.unreadable} records of dsr.audit are not audit records: a key destruction in them was not "
            "replayed; find them (kafka-console-consumer on dsr.audit) before any worker starts"
        )


@main.group(help="The pipeline's Kafka topics.")
def topics() -> None:
    pass


@topics.command("plan", help="Print every topic the workers need, as DSR_PARTITIONS and DSR_REPLICATION_FACTOR say.")
def topics_plan() -> None:
    from dsr.composition import register_view
    from dsr.settings import load_settings
    from dsr.topics_admin import topic_plan

    settings = load_settings()
    systems = settings.system_names() + tuple(register_view(settings).register.recipients)  # as `dsr run` does
    for name, spec in topic_plan(systems, settings.topic_partitions(), settings.replication_factor).items():
        configs = " ".join(f"{key}={value}" for key, value in spec.configs.items())
        exactly = "exactly " if spec.exact else ""
        click.echo(f"{name}  partitions={exactly}{spec.partitions} replication={spec.replication} {configs}".rstrip())


@main.group(help="Wire contracts.")
def schemas() -> None:
    pass


@schemas.command(
    "export", help="Write the JSON Schemas of every contract: to schemas/json/ in a checkout, else to ./dsr-schemas."
)
@click.option("--out", default=None, type=click.Path(file_okay=False, path_type=Path), help="The folder to write to.")
def schemas_export(out: Path | None) -> None:
    from schemas.export import default_out, export_all, in_checkout

    if out is None and not in_checkout():
        click.echo(f"installed package: writing to {default_out()} (--out DIR to choose)", err=True)
    for path in export_all(out):
        click.echo(str(path))


@main.command(help="Publish a CloudEvent JSON file to dsr.intake with kafka-python.")
@click.argument("event_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--bootstrap", envvar="DSR_KAFKA_BOOTSTRAP", default="127.0.0.1:9092", show_default=True)
@click.option("--fresh", is_flag=True, help="Give the event a new id and the current time (a new request).")
def publish(event_file: Path, bootstrap: str, fresh: bool) -> None:
    from dsr.client import publish_event

    event = json.loads(event_file.read_text())
    event_id = publish_event(bootstrap, event, fresh=fresh, security=checked_kafka(bootstrap))
    click.echo(f"published {event['type']} id={event_id} to dsr.intake at {bootstrap}")


from dsr.case_cli import case  # noqa: E402 - its own module: the DPO's commands

main.add_command(case)

from dsr.user_cli import user  # noqa: E402 - its own module: the console's accounts

main.add_command(user)

from dsr.retention_cli import retention  # noqa: E402 - its own module: the retention sweep

main.add_command(retention)

if __name__ == "__main__":
    sys.exit(main())
