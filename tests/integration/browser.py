"""A real browser for the front doors: Debian's Chromium driven by Playwright for Python (never a browser download),
axe-core injected into the page for the WCAG 2.1 A/AA check, and a screenshot of each page for the README."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from tests.integration.pipeline import ROOT

CHROMIUM = os.environ.get("DSR_TEST_CHROMIUM", "/usr/bin/chromium")
# This machine's closed network: no background traffic, no component updates, no QUIC.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "docs" / "screenshots"
AXE = (files("axe_playwright_python") / "axe.min.js").read_text()  # axe-core, pinned by the test dependencies
MAX_SHOT_HEIGHT = 1800  # px, about two screens
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def launch(playwright) -> Browser:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run scripts/ensure-chromium (make test does)")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def start_browser():
    playwright = sync_playwright().start()
    return playwright, launch(playwright)


def new_page(browser: Browser, language: str = "fr-FR") -> Page:
    context = browser.new_context(locale=language, viewport={"width": 1200, "height": 860})
    return context.new_page()


def axe_violations(page: Page) -> list[dict]:
    """axe-core's WCAG 2.1 A and AA rules on the page as it is now (evaluated through the DevTools protocol,
    which the pages' strict Content-Security-Policy does not block)."""
    page.evaluate(AXE)
    result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_21_AA)
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]]} for v in result["violations"]
    ]


def assert_accessible(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, indent=1)


def shoot(page: Page, name: str) -> Path:
    """The page from its top, as tall as its content up to MAX_SHOT_HEIGHT: a picture for the README, never a
    scroll of every row a long page may hold."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    height = min(page.evaluate("document.documentElement.scrollHeight"), MAX_SHOT_HEIGHT)
    width = page.viewport_size["width"]
    page.screenshot(path=str(path), full_page=True, clip={"x": 0, "y": 0, "width": width, "height": height})
    return path


def dsr_command(env: dict, *args: str, given: str = "") -> subprocess.CompletedProcess:
    """A `dsr` command as an operator runs it against the pipeline under test (its settings, its data dir)."""
    return subprocess.run(
        [sys.executable, "-m", "dsr.cli", *args], env=env, cwd=ROOT, input=given, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
