"""The state the front doors share between workers (accounts, sessions, rate limits, answers): port and twin."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol


class Role(StrEnum):
    DPO = "dpo"  # sees and decides
    VIEWER = "viewer"  # sees, never decides


@dataclass(frozen=True)
class Account:
    """A person who logs in to the DPO console; the password only as its argon2id hash."""

    name: str
    role: Role
    password_hash: str
    enabled: bool = True
    failures: int = 0  # consecutive failed logins
    locked_until: datetime | None = None
    token_serial: int = 0  # `dsr user token` issues serial+1; older API tokens stop working

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


@dataclass(frozen=True)
class Session:
    name: str
    csrf: str
    expires_at: datetime


class AccountExists(ValueError):
    pass


class FrontDoorStore(Protocol):
    """Every write is seen by every worker at once: a second worker behind the same load balancer must refuse
    a revoked session, count the same failed logins and the same requests per minute, and answer a replayed
    event id as the first worker did. `session_key` values are already hashes of the cookie's session id."""

    def add_account(self, name: str, role: Role, password_hash: str) -> None:
        """Raises AccountExists."""

    def account(self, name: str) -> Account | None: ...

    def set_enabled(self, name: str, enabled: bool) -> bool:
        """Enabling also lifts a lock-out; disabling closes the account's sessions. False: no such account."""

    def login_failed(self, name: str, now: datetime, limit: int, lock_for: timedelta) -> None:
        """One more consecutive failure; at `limit` the account is locked until now + lock_for."""

    def login_succeeded(self, name: str) -> None: ...

    def new_token_serial(self, name: str) -> int: ...

    def open_session(self, session_key: str, session: Session) -> None: ...

    def session(self, session_key: str, now: datetime) -> Session | None:
        """The session while it has not expired, nor been closed, and its account is enabled."""

    def close_session(self, session_key: str) -> None: ...

    def hit(self, bucket: str, now: datetime, window: timedelta, limit: int, count: int = 1) -> float:
        """Count `count` hits in the current fixed window of `bucket`; 0 if allowed, else seconds to wait."""

    def remember_answer(self, key: str, answer: str, now: datetime) -> None:
        """Keep the first answer given for `key`; a later one does not replace it."""

    def answer(self, key: str) -> str | None: ...

    def forget_expired(self, now: datetime, answers_kept: timedelta) -> None:
        """Drop expired sessions, rate windows over a day old, and answers older than `answers_kept`."""


DAY = 86400  # seconds: rate windows are never longer


def window_start(now: datetime, window: timedelta) -> int:
    seconds = int(window.total_seconds())
    return int(now.timestamp()) // seconds * seconds


def wait_for(now: datetime, window: timedelta) -> float:
    """Seconds until the current window ends (at least one)."""
    return max(1.0, window_start(now, window) + window.total_seconds() - now.timestamp())


class MemoryFrontDoorStore:
    """The in-memory twin: one process only (tests and a single `dsr dev`)."""

    def __init__(self) -> None:
        self._accounts: dict[str, Account] = {}
        self._sessions: dict[str, Session] = {}
        self._hits: dict[tuple[str, int], int] = {}
        self._answers: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def add_account(self, name: str, role: Role, password_hash: str) -> None:
        with self._lock:
            if name in self._accounts:
                raise AccountExists(name)
            self._accounts[name] = Account(name, Role(role), password_hash)

    def account(self, name: str) -> Account | None:
        return self._accounts.get(name)

    def set_enabled(self, name: str, enabled: bool) -> bool:
        with self._lock:
            if name not in self._accounts:
                return False
            changes = {"enabled": enabled} | ({"failures": 0, "locked_until": None} if enabled else {})
            self._accounts[name] = replace(self._accounts[name], **changes)
            if not enabled:
                self._sessions = {k: s for k, s in self._sessions.items() if s.name != name}
            return True

    def login_failed(self, name: str, now: datetime, limit: int, lock_for: timedelta) -> None:
        with self._lock:
            if (account := self._accounts.get(name)) is None:
                return
            failures = account.failures + 1
            locked = now + lock_for if failures >= limit else account.locked_until
            self._accounts[name] = replace(account, failures=failures, locked_until=locked)

    def login_succeeded(self, name: str) -> None:
        with self._lock:
            if name in self._accounts:
                self._accounts[name] = replace(self._accounts[name], failures=0, locked_until=None)

    def new_token_serial(self, name: str) -> int:
        with self._lock:
            account = self._accounts[name]
            self._accounts[name] = replace(account, token_serial=account.token_serial + 1)
            return account.token_serial + 1

    def open_session(self, session_key: str, session: Session) -> None:
        self._sessions[session_key] = session

    def session(self, session_key: str, now: datetime) -> Session | None:
        found = self._sessions.get(session_key)
        account = self._accounts.get(found.name) if found else None
        return found if found and account and account.enabled and now < found.expires_at else None

    def close_session(self, session_key: str) -> None:
        self._sessions.pop(session_key, None)

    def hit(self, bucket: str, now: datetime, window: timedelta, limit: int, count: int = 1) -> float:
        key = (bucket, window_start(now, window))
        with self._lock:
            self._hits[key] = self._hits.get(key, 0) + count
            return 0.0 if self._hits[key] <= limit else wait_for(now, window)

    def remember_answer(self, key: str, answer: str, now: datetime) -> None:
        self._answers.setdefault(key, (answer, now))

    def answer(self, key: str) -> str | None:
        found = self._answers.get(key)
        return found[0] if found else None

    def forget_expired(self, now: datetime, answers_kept: timedelta) -> None:
        with self._lock:
            self._sessions = {k: s for k, s in self._sessions.items() if s.expires_at > now}
            self._hits = {k: n for k, n in self._hits.items() if k[1] >= now.timestamp() - DAY}
            self._answers = {k: a for k, a in self._answers.items() if a[1] >= now - answers_kept}
