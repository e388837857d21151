"""The reference systems for the contract tests written as plain functions; `where` says where they store.

`where(name)` is a SQLite file here; test_postgres.py overrides it with a PostgreSQL schema and
runs the same functions again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from handlers.reference import CrmAdapter, NewsletterAdapter, RecruitmentAdapter
from handlers.reference.db import Location
from tests.contract.stores import OnSqlite
from tests.contract.test_adapters import SECRET, clock


@pytest.fixture
def where(tmp_path: Path) -> Callable[[str], Location]:
    return lambda name: OnSqlite().location(tmp_path, name)


@pytest.fixture
def crm(where):
    return CrmAdapter(where("crm"), clock=clock)


@pytest.fixture
def recruitment(where, tmp_path):
    return RecruitmentAdapter(where("recruitment"), cv_dir=tmp_path / "cv", clock=clock)


@pytest.fixture
def newsletter(where):
    return NewsletterAdapter(where("newsletter"), secret=SECRET, clock=clock)
