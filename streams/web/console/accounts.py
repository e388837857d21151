"""Who is at the console: argon2id passwords, lock-out, sessions and personal API tokens (shared store)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from streams.doors_port import Account, FrontDoorStore, Role, Session

HASHER = PasswordHasher()  # argon2id with the library's current parameters
DUMMY = HASHER.hash("not a password of anyone")  # unknown names take as long as known ones
COOKIE = "dsr_console"
MIN_PASSWORD = 12


@dataclass(frozen=True)
class ConsolePolicy:
    max_failures: int = 5
    lock_for: timedelta = timedelta(minutes=15)
    session_for: timedelta = timedelta(hours=8)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password has at least {MIN_PASSWORD} characters")
    return HASHER.hash(password)


def _matches(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def login(store: FrontDoorStore, policy: ConsolePolicy, name: str, password: str, now: datetime) -> tuple[str, str]:
    """("ok", session id), ("locked", until), or ("wrong", ""): the same answer for an unknown name, a disabled
    account and a wrong password. The page shows "locked" and "wrong" alike (an unknown name never locks, so a
    lock message would tell which names exist); each path checks one hash, so none answers faster."""
    account = store.account(name)
    if account is None or not account.enabled:
        _matches(DUMMY, password)
        return "wrong", ""
    if account.locked(now):
        _matches(DUMMY, password)
        return "locked", account.locked_until.isoformat()
    if not _matches(account.password_hash, password):
        store.login_failed(name, now, policy.max_failures, policy.lock_for)
        after = store.account(name)
        return ("locked", after.locked_until.isoformat()) if after and after.locked(now) else ("wrong", "")
    store.login_succeeded(name)
    session_id = secrets.token_urlsafe(32)
    store.open_session(session_key(session_id), Session(name, secrets.token_urlsafe(24), now + policy.session_for))
    return "ok", session_id


def session_key(session_id: str) -> str:
    """The store holds a hash of the cookie's value: a copy of the table opens no session."""
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    csrf: str = ""

    @property
    def decides(self) -> bool:
        return self.role == Role.DPO


def current_user(store: FrontDoorStore, session_id: str, now: datetime) -> User | None:
    session = store.session(session_key(session_id), now) if session_id else None
    account = store.account(session.name) if session else None
    return User(account.name, account.role, session.csrf) if account and session else None


def api_token(secret: bytes, account: Account) -> str:
    """A personal token for `dsr case` (DSR_API_TOKEN): the name, the serial, signed; a new one revokes the old."""
    return f"dsru.{account.name}.{account.token_serial}.{_token_mac(secret, account.name, account.token_serial)}"


def _token_mac(secret: bytes, name: str, serial: int) -> str:
    return hmac.new(secret, f"user-token:{name}:{serial}".encode(), hashlib.sha256).hexdigest()


def token_user(store: FrontDoorStore, secret: bytes, authorization: str) -> User | None:
    """The enabled account a personal bearer token belongs to, if it is its latest token."""
    parts = authorization.removeprefix("Bearer ").strip().split(".")
    if len(parts) != 4 or parts[0] != "dsru" or not parts[2].isdigit():
        return None
    _, name, serial, mac = parts
    account = store.account(name)
    if account is None or not account.enabled or account.token_serial != int(serial):
        return None
    return User(account.name, account.role) if hmac.compare_digest(mac, _token_mac(secret, name, int(serial))) else None
