"""What the wheel ships: every package folder and every data file, as pyproject.toml lists them."""

import tomllib
from pathlib import Path

import pytest

from dsr_pipeline_templates import template_folder

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def folder_of(package: str) -> Path:
    top, _, rest = package.partition(".")
    base = ROOT / SETUPTOOLS.get("package-dir", {}).get(top, top)
    return base.joinpath(*rest.split(".")) if rest else base


def source_files() -> list[Path]:
    """Every file under the listed top-level packages, sub-folders included."""
    tops = [name for name in SETUPTOOLS["packages"] if "." not in name]
    found = [path for top in tops for path in folder_of(top).rglob("*") if path.is_file()]
    return [path for path in found if "__pycache__" not in path.parts]


def owner(path: Path) -> str:
    """The deepest listed package whose folder holds `path`."""
    holders = [p for p in SETUPTOOLS["packages"] if path.is_relative_to(folder_of(p))]
    return max(holders, key=lambda p: len(folder_of(p).parts))


def test_every_folder_with_python_code_is_a_listed_package():
    for path in source_files():
        if path.suffix == ".py":
            assert folder_of(owner(path)) == path.parent, f"add {path.parent.relative_to(ROOT)} to packages"


def test_every_data_file_is_matched_by_package_data():
    patterns = SETUPTOOLS["package-data"]
    for path in source_files():
        if path.suffix != ".py":
            package = owner(path)
            shipped = {found for pattern in patterns.get(package, ()) for found in folder_of(package).glob(pattern)}
            assert path in shipped, f"{path.relative_to(ROOT)} would be left out of the wheel: add it to package-data"


def test_templates_are_found_through_the_package():
    assert (template_folder("email") / "receipt" / "fr.txt.j2").is_file()
    assert (template_folder("web") / "page.html.j2").is_file()
    with pytest.raises(FileNotFoundError, match="no 'sms' templates"):
        template_folder("sms")
