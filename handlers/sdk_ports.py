"""The back-office SDK's two ports: the pipeline's task API over HTTP, and the local record of answers."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Protocol

from handlers.answers import SqliteAnswerRecord  # noqa: F401 - the SDK's record of answers
from schemas.scans import SealedSubject, SealedSubjects, SubjectsToSeal
from schemas.sealed import Sealed
from schemas.tasks import Task


class SubjectErased(Exception):
    """410: the person's key is destroyed; nothing about them can be opened or sealed any more."""


class TokenRejected(Exception):
    """401/403: the token is not this system's. Fatal: every task would fail the same way."""


class PipelineUnavailable(Exception):
    """The worker did not answer (down, restarting, 5xx): worth retrying."""


class TaskApi(Protocol):
    """`POST /api/tasks/open`, `/api/tasks/seal` (README, "Tasks and results") and `/api/retention/subjects`."""

    def open(self, task: Task) -> dict:
        """{"subject": {"email", "name"}, "payload": dict | None}; raises SubjectErased, TokenRejected."""

    def seal(self, task: Task, answer: dict) -> Sealed:
        """Seal {"export": {"records": ...}} or {"changes": ...} under the subject's key."""

    def seal_subjects(self, system: str, emails: list[str]) -> list[SealedSubject]:
        """A retention scan page's people: each named by subject_ref, the address sealed (in the order given)."""


class HttpTaskApi:
    """The pipeline's task API, authenticated with the system's token (`dsr system-token NAME`)."""

    def __init__(self, api_url: str, token: str, timeout: float = 10.0) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.timeout = timeout

    def open(self, task: Task) -> dict:
        return self._post("/api/tasks/open", task.to_bytes())

    def seal(self, task: Task, answer: dict) -> Sealed:
        body = {"task": json.loads(task.to_bytes()), **answer}
        return Sealed.model_validate(self._post("/api/tasks/seal", json.dumps(body, default=str).encode()))

    def seal_subjects(self, system: str, emails: list[str]) -> list[SealedSubject]:
        body = SubjectsToSeal(system=system, emails=emails).to_bytes()
        return SealedSubjects.model_validate(self._post("/api/retention/subjects", body)).subjects

    def _post(self, path: str, body: bytes) -> dict:
        request = urllib.request.Request(
            self.api_url + path,
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            raise _refusal(exc.code, path) from None
        except (urllib.error.URLError, OSError) as exc:  # connection refused, timeout
            raise PipelineUnavailable(f"{path}: {type(exc).__name__}") from None


def _refusal(status: int, path: str) -> Exception:
    if status == 410:
        return SubjectErased("the subject's data were erased before this task was answered")
    if status in (401, 403):
        return TokenRejected(
            f"{path} answered {status}: the token is not this system's; "
            "use the output of `dsr system-token <system>` for the system named in the tasks"
        )
    if status >= 500:
        return PipelineUnavailable(f"{path} answered {status}")
    return ValueError(f"{path} answered {status}")
