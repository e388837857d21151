"""The wheel as a company installs it: built from the checkout, installed with the locked dependencies in a
fresh virtual environment outside it, and run from elsewhere: the deadline, every e-mail's preview, and one
erasure end to end through the installed `dsr run` against Kafka and an SMTP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dsr.devstack.kafka import EmbeddedKafka, free_port
from mail.templates import LANGUAGES, MESSAGE_TYPES
from tests.integration.pipeline import ROOT, Pipeline, example, link, new_person, rights_request

pytestmark = pytest.mark.integration


def outside_the_checkout(env: dict[str, str]) -> dict[str, str]:
    """The environment less what could lead the installed code back to the checkout's modules."""
    return {k: v for k, v in env.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


class Installed:
    """A virtual environment holding the wheel, and a folder outside the checkout to run it from."""

    def __init__(self, venv: Path, cwd: Path) -> None:
        self.bin = venv / "bin"
        self.cwd = cwd
        self.env = outside_the_checkout(dict(os.environ))

    def run(self, program: str, *args: str) -> str:
        return succeed([str(self.bin / program), *args], cwd=self.cwd, env=self.env)


def succeed(command: list[str], **options) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, **options)
    assert done.returncode == 0, f"{' '.join(command)[:300]} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout


def build_wheel(out: Path) -> Path:
    # `build` makes the sdist, then the wheel from it in a temporary folder: what ships is what the
    # sdist and the wheel declare, never a stale build/ folder of the checkout.
    succeed([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)])
    (wheel,) = out.glob("dsr_pipeline-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("installed-wheel")
    wheel = build_wheel(work / "dist")
    succeed([sys.executable, "-m", "venv", str(work / "venv")])
    target = Installed(work / "venv", cwd=work)
    # The dependencies as the lock pins them (with hashes), then the wheel alone; pip check proves the
    # lock satisfies what the wheel requires.
    target.run("pip", "install", "--progress-bar", "off", "--no-compile", "-r", str(ROOT / "requirements.lock"))
    target.run("pip", "install", "--no-deps", str(wheel))
    target.run("pip", "check")
    return target


def test_the_code_and_its_files_come_from_the_virtual_environment(installed):
    paths = installed.run(
        "python",
        "-c",
        "import dsr, streams, dsr_pipeline_templates as t; from dsr.register import DEFAULT_REGISTER as r;"
        "from dsr.devstack.kafka import POM_FILE as p;"
        "print(dsr.__file__, streams.__file__, t.template_folder('email'), t.template_folder('web'), r, p)",
    ).split()
    assert all(Path(path).is_relative_to(installed.bin.parent) for path in paths), paths
    assert all(Path(path).exists() for path in paths), paths


def test_deadline(installed):
    assert installed.run("dsr", "deadline", "2027-03-05T10:00:00Z").strip() == "2027-04-05"


def test_schemas_export_writes_beside_the_user_never_into_the_installed_package(installed):
    (packaged,) = installed.bin.parent.glob("lib/python*/site-packages/schemas/json")
    before = {path.name: path.stat().st_mtime_ns for path in packaged.iterdir()}
    written = [Path(line) for line in installed.run("dsr", "schemas", "export").split()]
    folder = (installed.cwd / "dsr-schemas").resolve()
    assert written and all(path.parent.resolve() == folder and path.is_file() for path in written), written
    assert {path.name: path.stat().st_mtime_ns for path in packaged.iterdir()} == before


# Runs `dsr` (the installed click command) once per argument list in one interpreter: 124 processes
# would take a minute of start-ups; the console script itself is run as a process below.
DSR_IN_ONE_PROCESS = """
import json, sys
from click.testing import CliRunner
from dsr.cli import main
results = [CliRunner().invoke(main, args) for args in json.loads(sys.argv[1])]
print(json.dumps([[result.exit_code, result.output] for result in results]))
"""


def test_every_message_previews_in_both_languages(installed):
    assert installed.run("dsr", "mail", "preview", "--list").split() == list(MESSAGE_TYPES)
    assert installed.run("dsr", "mail", "preview", "receipt", "--lang", "en").startswith("Subject: We have received")
    cases = [(t, lang, html) for t in MESSAGE_TYPES for lang in LANGUAGES for html in (False, True)]
    commands = [["mail", "preview", t, "--lang", lang, *(["--html"] if html else [])] for t, lang, html in cases]
    results = json.loads(installed.run("python", "-c", DSR_IN_ONE_PROCESS, json.dumps(commands)))
    for (message_type, language, html), (exit_code, output) in zip(cases, results, strict=True):
        assert exit_code == 0, (message_type, language, html, output[-2000:])
        if html:
            assert f'<html lang="{language}"' in output and "</html>" in output, (message_type, language)
        else:
            assert output.startswith("Subject: ") and len(output.splitlines()) > 3, (message_type, language)


@pytest.fixture(scope="module")
def installed_pipeline(installed, tmp_path_factory) -> Iterator[Pipeline]:
    """The installed `dsr run` as the only worker of a broker of its own: the consumer group and topics
    are fixed (streams/app.py), so on the session's broker it would share the work of the session's
    worker."""
    broker = EmbeddedKafka(tmp_path_factory.mktemp("wheel-kafka"), port=free_port()).start()
    running = None
    try:
        running = Pipeline(broker.bootstrap, tmp_path_factory.mktemp("wheel-pipeline"))
        running.launch = ((str(installed.bin / "dsr"),), installed.cwd)
        running.env = outside_the_checkout(running.env)
        yield running.start()
    finally:
        if running is not None:
            running.close()
        broker.stop()


def test_an_erasure_end_to_end_through_the_installed_worker(installed_pipeline):
    pipeline = installed_pipeline
    email, name = new_person()
    # A quote request puts the person in the CRM; then the person asks for erasure.
    pipeline.publish(example("dsr.form.quote_requested", email=email, first_name=name, last_name="Durand"))
    pipeline.email(email)
    pipeline.publish(rights_request(email, name, language="en"))
    assert "Case reference" in pipeline.email(email, "Reply due by").text
    # The confirmation page comes from the packaged web template; the POST confirms.
    url = link(pipeline.email(email, "/verify/"), "verify")
    status, page, _ = pipeline.get(url)
    assert status == 200 and b"<form" in page
    assert pipeline.post(url)[0] == 200
    outcome = pipeline.email(email, "DATA ERASED", timeout=90)
    assert "(CRM)" in outcome.text
