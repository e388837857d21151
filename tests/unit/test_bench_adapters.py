"""bench.adapters renders its report: 3 people on SQLite through the real runtime, no timing asserted."""

from __future__ import annotations

import pytest

from bench import adapters

pytestmark = pytest.mark.unit


def test_a_tiny_sqlite_run_writes_its_section_and_keeps_the_rest(tmp_path, capsys):
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n<!-- measured:begin -->\nthe pipeline's numbers\n<!-- measured:end -->\n\nafter\n")

    assert adapters.main(["--people", "3", "--backends", "sqlite", "--doc", str(doc)]) == 0
    first = doc.read_text()
    assert "<!-- measured:begin -->\nthe pipeline's numbers\n<!-- measured:end -->\n\nafter\n" in first
    section = first.split(adapters.BEGIN, 1)[1].split(adapters.END, 1)[0]
    for system, backend in (
        ("crm", "SQLite"),
        ("recruitment", "SQLite"),
        ("newsletter", "SQLite"),
        ("webhook", "HTTP → memory"),
        ("webhook", "memory (direct)"),
    ):
        for action in ("record_submission", "lookup", "export", "erase"):
            assert f"| {system} | {backend} | {action} |" in section
    assert "(errors)" not in section and "PostgreSQL:" not in section

    assert adapters.main(["--people", "3", "--backends", "sqlite", "--systems", "newsletter", "--doc", str(doc)]) == 0
    second = doc.read_text()
    assert second.count(adapters.BEGIN) == 1 and second.count(adapters.END) == 1
    assert "| crm |" not in second and second.startswith(first.split(adapters.BEGIN)[0])
