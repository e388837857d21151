"""The `dsr` command line and settings, as a user types them."""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from dsr.cli import main
from dsr.register import load_register
from dsr.settings import Settings, SettingsError, for_development, for_production, load_settings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "args, expected",
    [
        (["2027-03-05T10:00:00Z"], "2027-04-05"),  # V1
        (["2027-03-05T10:00:00Z", "--extended"], "2027-06-07"),  # V1, D3 reading (b)
        (["2027-04-08T09:00:00Z"], "2027-05-10"),  # V6, GS-15
        (["2026-11-25T09:00:00Z"], "2026-12-28"),  # V9
        (["2028-01-31T09:00:00Z", "--extended"], "2028-05-02"),  # V4
    ],
)
def test_deadline_prints_the_legal_date(args, expected):
    result = CliRunner().invoke(main, ["deadline", *args])
    assert result.exit_code == 0 and result.output.strip() == expected


def test_deadline_json_shows_raw_and_rolled_dates():
    result = CliRunner().invoke(main, ["deadline", "2027-04-08T09:00:00Z", "--json"])
    data = json.loads(result.output)
    assert (data["receipt_day"], data["raw_d1"], data["d1"]) == ("2027-04-08", "2027-05-08", "2027-05-10")


def test_deadline_rejects_garbage_with_a_clear_message():
    result = CliRunner().invoke(main, ["deadline", "last tuesday"])
    assert result.exit_code != 0 and "ISO 8601" in result.output


def test_a_bad_setting_names_its_variable(monkeypatch):
    monkeypatch.setenv("DSR_WEB_PORT", "eighty")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "DSR_WEB_PORT" in str(err.value)


def test_a_short_secret_is_refused(monkeypatch):
    monkeypatch.setenv("DSR_SECRET_KEY", "short")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "DSR_SECRET_KEY" in str(err.value)


PRODUCTION = {
    "DSR_SECRET_KEY": "a-production-secret-of-at-least-32-characters",
    "DSR_CONTROLLER_NAME": "AAS Amicale Assistances Services",
    "DSR_CONTROLLER_ADDRESS": "2 rue de la Paix, 75002 Paris, France",
    "DSR_KAFKA_BOOTSTRAP": "kafka.internal:9092",
    "DSR_SMTP_HOST": "smtp.internal",
    "DSR_PRIVACY_URL": "https://www.example.fr/confidentialite",
    "DSR_DPO_EMAIL": "dpo@example.fr",
    "DSR_PUBLIC_URL": "https://privacy.example.fr",
}


def dsr(*args: str, env: dict, cwd) -> subprocess.CompletedProcess:
    """The installed command as a user runs it, with only the environment given (no DSR_ leaking in)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DSR_")} | env
    return subprocess.run(
        [sys.executable, "-m", "dsr.cli", *args], env=clean, cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("missing", sorted(PRODUCTION))
def test_dsr_run_refuses_to_start_without_each_production_setting(missing, tmp_path):
    done = dsr("run", env={k: v for k, v in PRODUCTION.items() if k != missing}, cwd=tmp_path)
    assert done.returncode != 0
    assert missing in done.stderr and "not set" in done.stderr
    assert not (tmp_path / "var").exists()  # refused before touching anything


def test_dsr_run_refuses_demo_values_and_sample_people(tmp_path):
    env = PRODUCTION | {
        "DSR_CONTROLLER_NAME": "Exemple Services",
        "DSR_DPO_EMAIL": "dpo@example.test",
        "DSR_SAMPLE_DATA": "true",
    }
    done = dsr("run", env=env, cwd=tmp_path)
    assert done.returncode != 0
    for name in ("DSR_CONTROLLER_NAME", "DSR_DPO_EMAIL", "DSR_SAMPLE_DATA"):
        assert name in done.stderr


def test_production_settings_pass_and_seed_nobody():
    settings = for_production(Settings(**{k.removeprefix("DSR_").lower(): v for k, v in PRODUCTION.items()}))
    assert settings.sample_data is False and settings.sender() == "dpo@example.fr"


def test_dev_settings_fill_in_demo_values_and_sample_people():
    settings = for_development(Settings())
    assert settings.controller_name == "AAS Amicale Assistances Services" and settings.sample_data is True
    assert settings.controller_address == load_register().controller.address  # the register's controller


def test_the_pipeline_names_the_register_s_controller_unless_the_settings_name_another(monkeypatch):
    # Neither DSR_CONTROLLER_NAME nor DSR_CONTROLLER_ADDRESS set (tests, tools): e-mails name the register's company,
    # never a sample one; the settings, when given, win.
    from dsr.composition import pipeline_config
    from streams.context import Controller

    for name in ("DSR_CONTROLLER_NAME", "DSR_CONTROLLER_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    named = load_register().controller
    controller = pipeline_config(Settings(), b"k" * 32).controller
    assert (controller.name, controller.postal_address) == (named.name, named.address)
    given = Settings(controller_name="Vivaservices Lyon", controller_address="2 rue Neuve, 69002 Lyon")
    assert pipeline_config(given, b"k" * 32).controller.name == "Vivaservices Lyon"
    with pytest.raises(TypeError):
        Controller()  # no sample company to fall back on


@pytest.mark.parametrize(
    "command", [["system-token", "crm"], ["webhook-secret", "helpdesk"], ["case", "list"], ["site-key", "shop"]]
)
def test_commands_never_mint_a_secret_key(command, tmp_path):
    done = dsr(*command, env={"DSR_DATA_DIR": str(tmp_path / "var")}, cwd=tmp_path)
    assert done.returncode != 0 and "DSR_SECRET_KEY" in done.stderr
    assert not (tmp_path / "var" / "secret.key").exists()


def test_commands_use_the_dev_key_that_dsr_dev_made(tmp_path):
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "secret.key").write_text("k" * 48)
    first = dsr("system-token", "crm", env={"DSR_DATA_DIR": str(tmp_path / "var")}, cwd=tmp_path)
    again = dsr("system-token", "crm", env={"DSR_DATA_DIR": str(tmp_path / "var")}, cwd=tmp_path)
    assert first.returncode == 0 and first.stdout == again.stdout and len(first.stdout.strip()) == 64


def test_a_site_key_names_its_site_and_is_checked_against_the_key(tmp_path):
    from streams.web.intake_api import site_of

    env = {"DSR_SECRET_KEY": "s" * 40}
    done = dsr("site-key", "shop", env=env, cwd=tmp_path)
    key = done.stdout.strip()
    assert done.returncode == 0 and key.startswith("shop.")
    assert site_of(b"s" * 40, f"Bearer {key}") == "shop" and site_of(b"t" * 40, f"Bearer {key}") is None
    assert dsr("site-key", "Bad Name", env=env, cwd=tmp_path).returncode != 0


def test_dsr_user_asks_the_password_and_keeps_only_its_argon2id_hash(tmp_path):
    from dsr.doors_store import sqlite_store
    from streams.web.console.accounts import token_user

    env = {"DSR_SECRET_KEY": "s" * 40, "DSR_DATA_DIR": str(tmp_path / "var")}
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DSR_")} | env

    def user(*args: str, given: str = "") -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "dsr.cli", "user", *args]
        return subprocess.run(command, env=clean, cwd=tmp_path, input=given, capture_output=True, text=True, timeout=60)

    assert user("add", "dana", "--role", "dpo", given="short\nshort\n").returncode != 0  # under 12 characters
    created = user("add", "dana", "--role", "dpo", given="a long passphrase\na long passphrase\n")
    assert created.returncode == 0 and "a long passphrase" not in created.stdout
    assert user("add", "dana", "--role", "viewer", given="another passphrase\nanother passphrase\n").returncode != 0
    stored = sqlite_store(tmp_path / "var" / "doors.sqlite3").account("dana")
    assert stored.password_hash.startswith("$argon2id$") and "passphrase" not in stored.password_hash
    token = user("token", "dana").stdout.strip()
    store = sqlite_store(tmp_path / "var" / "doors.sqlite3")
    assert token_user(store, b"s" * 40, f"Bearer {token}").name == "dana"
    assert user("disable", "dana").returncode == 0
    assert token_user(store, b"s" * 40, f"Bearer {token}") is None
    assert user("disable", "nobody").returncode != 0 and user("add", "Dana Smith", "--role", "dpo").returncode != 0


def test_dsr_run_spreads_topics_over_several_partitions_by_default_and_dsr_dev_keeps_one():
    production = Settings(**{k.removeprefix("DSR_").lower(): v for k, v in PRODUCTION.items()})
    assert for_production(production).partitions == 6  # up to 6 workers share the work
    assert for_development(Settings()).partitions == 1  # ./var keeps the topics `make run` made
    assert for_production(production.model_copy(update={"partitions": 12})).partitions == 12
    assert for_development(Settings(partitions=3)).partitions == 3


def test_the_prune_bound_of_the_systems_on_postgresql_comes_from_the_settings(monkeypatch, tmp_path):
    # DSR_POSTGRES_SCRUB_*: erased rows are VACUUMed within so many erasures or seconds (reference/postgres.py).
    from dsr.composition import store_of
    from handlers.reference.db import ScrubPolicy

    monkeypatch.setenv("DSR_POSTGRES_DSN", "postgresql://dsr@127.0.0.1:5432/dsr")
    monkeypatch.setenv("DSR_POSTGRES_SCRUB_ERASURES", "50")
    monkeypatch.setenv("DSR_POSTGRES_SCRUB_SECONDS", "15")
    monkeypatch.setenv("DSR_DATA_DIR", str(tmp_path))
    assert store_of(load_settings(), "crm").scrub == ScrubPolicy(erasures=50, seconds=15.0)
    monkeypatch.setenv("DSR_POSTGRES_SCRUB_ERASURES", "0")
    with pytest.raises(SettingsError, match="DSR_POSTGRES_SCRUB_ERASURES"):
        load_settings()


def test_by_default_erased_rows_are_pruned_within_a_thousand_erasures_or_a_minute():
    assert Settings().postgres_scrub_erasures == 1000 and Settings().postgres_scrub_seconds == 60
