"""Exports the JSON Schema of every public contract to schemas/json/ (committed; a test keeps it in sync)."""

from __future__ import annotations

import json
from pathlib import Path

from schemas.audit import AuditBatch, AuditRecord
from schemas.intake import DATA_MODELS, CloudEvent
from schemas.scans import RetentionScanPage, RetentionScanRequest, SealedSubjects, SubjectsToSeal
from schemas.tasks import Task, TaskResult

JSON_DIR = Path(__file__).resolve().parent / "json"
INSTALLED_OUT = Path("dsr-schemas")  # relative to the current folder: an installed package is not written to


def in_checkout() -> bool:
    """True when these modules are the repository's sources (pyproject.toml beside them), not an installed wheel."""
    return (JSON_DIR.parent.parent / "pyproject.toml").is_file()


def default_out() -> Path:
    """schemas/json/ of the checkout; from an installed wheel, ./dsr-schemas (never into site-packages)."""
    return JSON_DIR if in_checkout() else Path.cwd() / INSTALLED_OUT


def contracts() -> dict[str, type]:
    models: dict[str, type] = {f"{event_type.value}.data": model for event_type, model in DATA_MODELS.items()}
    models |= {"cloudevent": CloudEvent, "task": Task, "task-result": TaskResult}
    models |= {"audit-record": AuditRecord, "audit-batch": AuditBatch}  # dsr.audit carries either
    models |= {"retention-scan-request": RetentionScanRequest, "retention-scan-page": RetentionScanPage}
    models |= {"retention-subjects-request": SubjectsToSeal, "retention-subjects-answer": SealedSubjects}
    return models


def render(model: type) -> str:
    return json.dumps(model.model_json_schema(mode="validation"), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def export_all(out: Path | None = None) -> list[Path]:
    out = out or default_out()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in contracts().items():
        path = out / f"{name}.schema.json"
        path.write_text(render(model))
        written.append(path)
    return written
