"""The jinja2 templates (e-mails, web pages), installed as the package `dsr_pipeline_templates`."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def template_folder(kind: str) -> Path:
    """The folder of one kind of templates ("email", "web") where the package is installed.

    Found through the import system, not the checkout, so that a wheel and an editable install
    read the same files; pip installs wheels unpacked, hence a real folder jinja2 can load from."""
    folder = files(__package__) / kind
    if not isinstance(folder, Path) or not folder.is_dir():
        raise FileNotFoundError(f"no {kind!r} templates in the installed package {__package__} ({folder})")
    return folder
