"""The published contracts: JSON Schemas in sync with the models, examples valid, bad input explained."""

import json
from pathlib import Path

import pytest

from schemas.export import JSON_DIR, contracts, render
from schemas.intake import DATA_MODELS, EventType, IntakeError, parse_intake

pytestmark = pytest.mark.unit
EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"


@pytest.mark.parametrize("name", sorted(contracts()))
def test_committed_json_schema_matches_the_model(name):
    committed = (JSON_DIR / f"{name}.schema.json").read_text()
    assert committed == render(contracts()[name]), "run `make schemas` and commit schemas/json/"


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_intake_type_has_a_valid_example(event_type):
    event, data = parse_intake((EXAMPLES / f"{event_type.value}.json").read_bytes())
    assert event.type == event_type and isinstance(data, DATA_MODELS[event_type])


def test_reasons_never_echo_the_input():
    raw = json.loads((EXAMPLES / "dsr.rights.requested.json").read_text())
    raw["data"]["subject_identities"][0]["identity_value"] = "secret-person-without-at-sign"
    with pytest.raises(IntakeError) as err:
        parse_intake(json.dumps(raw).encode())
    assert "secret-person" not in str(err.value) and "subject_identities" in str(err.value)


def test_no_reason_is_ever_required():  # R3, C-307/22
    raw = json.loads((EXAMPLES / "dsr.rights.requested.json").read_text())
    raw["data"].pop("message", None)
    parse_intake(json.dumps(raw).encode())


def test_nothing_the_project_ships_names_the_invalidated_transfer_framework():  # R47, C-311/18
    root = Path(__file__).resolve().parents[2]
    banned = "privacy" + " shield"
    for folder in ("templates", "schemas", "streams", "gdpr", "handlers", "dsr", "README.md"):
        paths = [root / folder] if (root / folder).is_file() else (root / folder).rglob("*")
        for path in paths:
            if path.is_file() and path.suffix in {".j2", ".json", ".py", ".md", ".html", ".txt"}:
                assert banned not in path.read_text(errors="ignore").lower(), path


@pytest.mark.parametrize(
    "path", sorted((EXAMPLES.parents[1] / "examples" / "requests").glob("*.json")), ids=lambda p: p.stem
)
def test_every_example_request_in_the_readme_is_valid(path):
    event, data = parse_intake(path.read_bytes())
    assert event.type == EventType.RIGHTS_REQUESTED and data.subject_request_type.value in path.read_text()


def test_schemas_export_writes_to_the_checkout_here_and_beside_the_user_from_a_wheel(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from dsr.cli import main
    from schemas import export

    assert export.default_out() == JSON_DIR  # the tests run from the checkout
    # An installed wheel: the package folder has no pyproject.toml beside it; nothing is written there.
    monkeypatch.setattr(export, "JSON_DIR", tmp_path / "site-packages" / "schemas" / "json")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["schemas", "export"])
    assert result.exit_code == 0, result.output
    assert "installed package: writing to" in result.output
    assert sorted(p.name for p in (tmp_path / "dsr-schemas").iterdir()) == sorted(
        f"{n}.schema.json" for n in contracts()
    )
    assert not (tmp_path / "site-packages").exists()
