"""Dev mailbox store: received messages kept in memory, optionally persisted as .eml files."""

from __future__ import annotations

import asyncio
import bisect
import email.utils
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from functools import cached_property
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

HOST = "127.0.0.1"  # the dev servers (SMTP sink, web mailbox) listen on loopback only
_META_PREFIX = b"X-Dsr-"
_PARSER = BytesParser(policy=policy.default)

Predicate = Callable[["StoredMessage"], bool]


@dataclass(frozen=True)
class StoredMessage:
    """One received message. Parsing is lazy (and cached) to keep the SMTP handler light."""

    id: str
    received_at: datetime
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes = field(repr=False)

    @cached_property
    def parsed(self) -> EmailMessage:
        return _parse(self.raw)

    @cached_property
    def subject(self) -> str:
        return _header(self.parsed, "subject") or ""

    @cached_property
    def message_id(self) -> str | None:
        return _header(self.parsed, "message-id")

    @cached_property
    def text(self) -> str | None:
        """The text/plain part, decoded, with LF line endings."""
        return _part_content(self.parsed, "plain")

    @cached_property
    def html(self) -> str | None:
        """The text/html part, decoded, with LF line endings."""
        return _part_content(self.parsed, "html")

    def headers(self) -> list[tuple[str, str]]:
        """All headers of the message, in order, decoded."""
        return [(name, str(value)) for name, value in self.parsed.items()]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape served by /api/messages."""
        return {
            "id": self.id,
            "received_at": self.received_at.isoformat(),
            "from": self.mail_from,
            "to": list(self.rcpt_tos),
            "subject": self.subject,
            "message_id": self.message_id,
            "text": self.text,
            "html": self.html,
        }


def _parse(raw: bytes) -> EmailMessage:
    return _PARSER.parsebytes(raw)  # type: ignore[return-value]


def _part_content(msg: EmailMessage, subtype: str) -> str | None:
    part = msg.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    try:
        content = part.get_content()
    except (LookupError, ValueError, AttributeError):
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace")
    return content.replace("\r\n", "\n")


def _header(msg: EmailMessage, name: str) -> str | None:
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - a malformed header: fall back to the raw value
        value = next((v for k, v in msg.raw_items() if k.lower() == name), None)
    return None if value is None else str(value).strip()


def _eml_bytes(msg: StoredMessage) -> bytes:
    lines = [f"X-Dsr-Received-At: {msg.received_at.isoformat()}"]
    lines.append(f"X-Dsr-Envelope-From: {msg.mail_from}")
    lines += [f"X-Dsr-Envelope-To: {rcpt}" for rcpt in msg.rcpt_tos]
    prefix = "".join(line + "\r\n" for line in lines)
    return prefix.encode("utf-8") + msg.raw


def _split_eml(data: bytes) -> tuple[dict[str, list[str]], bytes]:
    meta: dict[str, list[str]] = {}
    while data.startswith(_META_PREFIX):
        line, _, data = data.partition(b"\n")
        name, _, value = line.rstrip(b"\r").decode("utf-8").partition(":")
        meta.setdefault(name.strip().lower(), []).append(value.strip())
    return meta, data


def _envelope_from_headers(raw: bytes) -> tuple[str, list[str]]:
    msg = _parse(raw)
    senders = email.utils.getaddresses([str(msg.get("from", ""))])
    rcpts = email.utils.getaddresses([str(v) for v in msg.get_all("to", [])])
    return (senders[0][1] if senders else ""), [addr for _, addr in rcpts if addr]


class Mailbox:
    """Thread-safe store of received messages, optionally persisted as <id>.eml files."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self._cond = threading.Condition()
        self._messages: list[StoredMessage] = []
        self._by_id: dict[str, StoredMessage] = {}
        self._next_id = 1
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.directory = Path(directory) if directory is not None else None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._load()

    # -- writing

    def add(self, envelope_from: str, rcpt_tos: list[str], raw_bytes: bytes) -> StoredMessage:
        """Store a message as received over SMTP; wakes every waiter."""
        raw = bytes(raw_bytes)
        with self._cond:
            msg = StoredMessage(
                id=str(self._next_id),
                received_at=datetime.now(UTC),
                mail_from=envelope_from or "",
                rcpt_tos=list(rcpt_tos),
                raw=raw,
            )
            self._persist(msg)
            self._append(msg)
            waiters = list(self._async_waiters)
        _wake_all(waiters)
        return msg

    def clear(self) -> None:
        """Forget every message (and delete the .eml files). Ids keep increasing."""
        with self._cond:
            for msg in self._messages:
                self._unlink(msg.id)
            self._messages.clear()
            self._by_id.clear()

    # -- reading

    def all(self) -> list[StoredMessage]:
        """Every message, oldest first."""
        with self._cond:
            return list(self._messages)

    def get(self, message_id: str | int) -> StoredMessage | None:
        with self._cond:
            return self._by_id.get(str(message_id))

    def count(self) -> int:
        with self._cond:
            return len(self._messages)

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[StoredMessage]:
        return iter(self.all())

    # -- waiting

    def wait_for(self, predicate: Predicate, timeout: float) -> StoredMessage:
        """Block until a stored or future message matches; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        seen, last_id = 0, 0
        while True:
            found, seen, last_id = _scan(self._since(last_id), predicate, seen, last_id)
            if found is not None:
                return found
            if time.monotonic() >= deadline or not self._wait_newer(last_id, deadline):
                raise self._timeout_error(timeout, seen)

    async def async_wait_for(self, predicate: Predicate, timeout: float) -> StoredMessage:
        """Like wait_for, without blocking the event loop; woken by add()."""
        loop = asyncio.get_running_loop()
        waiter = (loop, asyncio.Event())
        with self._cond:
            self._async_waiters.add(waiter)
        try:
            return await self._async_wait(waiter[1], predicate, loop.time() + timeout, timeout)
        finally:
            with self._cond:
                self._async_waiters.discard(waiter)

    async def _async_wait(
        self, event: asyncio.Event, predicate: Predicate, deadline: float, timeout: float
    ) -> StoredMessage:
        loop = asyncio.get_running_loop()
        seen, last_id = 0, 0
        while True:
            event.clear()
            found, seen, last_id = _scan(self._since(last_id), predicate, seen, last_id)
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise self._timeout_error(timeout, seen)
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass

    # -- internals

    def _append(self, msg: StoredMessage) -> None:
        self._messages.append(msg)
        self._by_id[msg.id] = msg
        self._next_id = max(self._next_id, int(msg.id) + 1)
        self._cond.notify_all()

    def _since(self, last_id: int) -> list[StoredMessage]:
        """Messages with an id above last_id (predicates then run outside the lock)."""
        with self._cond:
            start = bisect.bisect_right(self._messages, last_id, key=lambda m: int(m.id))
            return self._messages[start:]

    def _wait_newer(self, last_id: int, deadline: float) -> bool:
        def has_newer() -> bool:
            return bool(self._messages) and int(self._messages[-1].id) > last_id

        with self._cond:
            return self._cond.wait_for(has_newer, max(0.0, deadline - time.monotonic()))

    def _timeout_error(self, timeout: float, seen: int) -> TimeoutError:
        recent = ", ".join(f"{m.rcpt_tos} {m.subject!r}" for m in self.all()[-5:])
        return TimeoutError(
            f"no matching message within {timeout:g}s: saw {seen} message(s), "
            f"none matched; mailbox holds {self.count()}" + (f" (latest: {recent})" if recent else "")
        )

    def _path(self, msg_id: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{msg_id}.eml"

    def _persist(self, msg: StoredMessage) -> None:
        if self.directory is None:
            return
        tmp = self.directory / f".{msg.id}.eml.tmp"
        tmp.write_bytes(_eml_bytes(msg))
        os.replace(tmp, self._path(msg.id))

    def _unlink(self, msg_id: str) -> None:
        if self.directory is not None:
            self._path(msg_id).unlink(missing_ok=True)

    def _load(self) -> None:
        assert self.directory is not None
        files = [p for p in self.directory.glob("*.eml") if p.stem.isdigit()]
        with self._cond:
            self._next_id = max([int(p.stem) + 1 for p in files], default=1)  # never overwrite
            for path in sorted(files, key=lambda p: int(p.stem)):
                try:
                    self._append(_load_eml(path))
                except (OSError, ValueError) as error:
                    log.warning("skipping unreadable %s: %s", path, error)


def _load_eml(path: Path) -> StoredMessage:
    meta, raw = _split_eml(path.read_bytes())
    mail_from, rcpt_tos = _envelope_from_headers(raw)
    received = meta.get("x-dsr-received-at")
    return StoredMessage(
        id=str(int(path.stem)),
        received_at=(
            datetime.fromisoformat(received[0]) if received else datetime.fromtimestamp(path.stat().st_mtime, UTC)
        ),
        mail_from=meta.get("x-dsr-envelope-from", [mail_from])[0],
        rcpt_tos=meta.get("x-dsr-envelope-to", rcpt_tos),
        raw=raw,
    )


def _scan(
    new: list[StoredMessage], predicate: Predicate, seen: int, last_id: int
) -> tuple[StoredMessage | None, int, int]:
    for msg in new:
        seen, last_id = seen + 1, int(msg.id)
        if predicate(msg):
            return msg, seen, last_id
    return None, seen, last_id


def _wake_all(waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]) -> None:
    for loop, event in waiters:
        try:
            loop.call_soon_threadsafe(event.set)
        except RuntimeError:  # loop already closed
            pass
