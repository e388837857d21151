"""The `dsr` command line and settings, as a user types them."""

import json

import pytest
from click.testing import CliRunner

from dsr.cli import main
from dsr.settings import SettingsError, load_settings

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
