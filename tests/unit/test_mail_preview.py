"""`dsr mail preview`: the DPO reads any message, in either language, with sample values."""

import pytest
from click.testing import CliRunner

from dsr.cli import main
from mail.templates import MESSAGE_TYPES

pytestmark = pytest.mark.unit


def preview(*args: str):
    return CliRunner().invoke(main, ["mail", "preview", *args])


def test_the_list_names_every_message_type():
    result = preview("--list")
    assert result.exit_code == 0 and result.output.split() == list(MESSAGE_TYPES)


@pytest.mark.parametrize("language, words", [("fr", "Référence du dossier"), ("en", "Case reference")])
def test_text_preview_shows_the_subject_then_the_body(language, words):
    result = preview("receipt", "--lang", language)
    assert result.exit_code == 0
    assert result.output.startswith("Subject: ") and "DSR-2027-0042" in result.output.splitlines()[0]
    assert words in result.output


def test_french_is_the_default_and_html_is_the_whole_page():
    result = preview("outcome_erasure", "--html")
    assert result.exit_code == 0
    assert result.output.lstrip().startswith("<!DOCTYPE html>") and 'lang="fr"' in result.output
    assert result.output.rstrip().endswith("</html>")


@pytest.mark.parametrize("args", [("outcome_teleportation",), ()])
def test_an_unknown_or_missing_type_names_the_valid_ones(args):
    result = preview(*args)
    assert result.exit_code == 2
    assert "outcome_erasure" in result.output and "dsr mail preview --list" in result.output


def test_an_unknown_language_is_refused():
    result = preview("receipt", "--lang", "de")
    assert result.exit_code == 2 and "'fr', 'en'" in result.output
