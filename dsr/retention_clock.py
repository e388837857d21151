"""The clock's daily retention sweep: once the DPO approved a first plan, each day's plan runs unless it is too big."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from dsr.settings import Settings
from gdpr.deadlines import PARIS

log = logging.getLogger(__name__)
EXPIRY_EVERY = timedelta(hours=1)
MEMBERS = Path("retention") / "workers"  # under DSR_DATA_DIR: an empty file per worker keeping its sweep state there
REFUSED = "refused: workers of the group keep the sweep's state under another DSR_DATA_DIR"


def member_name(admin_url: str) -> str:
    """A worker as the group knows it: the host and port of the admin URL it advertises (faust's canonical_url)."""
    parts = urlsplit(admin_url)
    return f"{parts.hostname}-{parts.port}"


class DailySweep:
    """Called on every tick of the faust timer; sweeps at most once a day, in a thread beside the event loop.
    Nothing runs before the DPO approved a first plan (`dsr retention approve`); a plan over
    DSR_RETENTION_APPROVAL_LIMIT people waits for its own approval (R44). Without DSR_VAULT_DSN the sweep's state
    is files under the data dir: each worker marks itself there, and the leader refuses to sweep while a worker of
    its group has not (workers on several machines, each with its own DSR_DATA_DIR, would each keep their own)."""

    def __init__(self, settings: Settings, secret: bytes) -> None:
        self._settings, self._secret = settings, secret
        self._last: date | None = None
        self._expired_at: datetime | None = None
        self._running: asyncio.Future | None = None
        if not settings.vault_dsn:
            (Path(settings.data_dir) / MEMBERS).mkdir(parents=True, exist_ok=True)
            (Path(settings.data_dir) / MEMBERS / member_name(settings.advertised_admin_url())).touch()

    async def __call__(self, now: datetime, group: Iterable[str] = ()) -> None:
        """`group`: the admin URLs of the group's workers, as faust's assignor spread them at the last rebalance."""
        day = now.astimezone(PARIS).date()
        if self._last == day or (self._running is not None and not self._running.done()):
            return
        self._last = day
        self._running = asyncio.ensure_future(asyncio.to_thread(self.sweep, day, tuple(group)))

    def apart(self, group: Iterable[str]) -> list[str]:
        """The workers of the group that do not keep the sweep's state where this one does (none with a DSR_VAULT_DSN:
        every worker shares its schema dsr_retention)."""
        if self._settings.vault_dsn:
            return []
        here = {path.name for path in (Path(self._settings.data_dir) / MEMBERS).iterdir()}
        return [url for url in group if member_name(url) not in here]

    def expire_keys(self) -> int:
        """Every tick until the day's sweep ran, approved or not: the keys of form submissions no case claimed, and
        of the sweep's and the re-contact's tasks, go when their leases end (dsr.retention.expire_keys)."""
        from dsr.composition import key_vault
        from dsr.retention import expire_keys
        from dsr.retention_kafka import KafkaSweepSink

        now = datetime.now(PARIS)
        if self._expired_at is not None and now - self._expired_at < EXPIRY_EVERY:
            return 0  # the clock asks again every tick while a first approval is awaited: an hour is soon enough
        self._expired_at = now
        bootstrap, security = self._settings.kafka_bootstrap, self._settings.kafka_security()
        try:
            vault = key_vault(self._settings, self._secret)
            try:
                return expire_keys(vault, now, lambda: KafkaSweepSink(bootstrap, security))
            finally:
                getattr(vault, "close", lambda: None)()
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - the clock must keep ticking; the next tick tries again
            log.error("key expiry failed: %s", type(exc).__name__)
            return 0

    def sweep(self, day: date, group: Iterable[str] = ()) -> str:
        from dsr.retention_cli import Shell, carry_out
        from dsr.retention_kafka import KafkaSweepSink

        self.expire_keys()
        apart = self.apart(group)
        if apart:  # the next leader would not see this one's approval, progress or re-contacts: tomorrow tries again
            log.error("retention sweep %s (%d of them): set DSR_VAULT_DSN on every worker", REFUSED, len(apart))
            return REFUSED
        shell = None
        try:
            shell = Shell.load(self._settings, self._secret)
            if not shell.store.approvals():
                self._last = None  # asked again at the next tick: the DPO may approve any minute
                return "waiting for a first approved plan"
            bootstrap, security = self._settings.kafka_bootstrap, self._settings.kafka_security()
            outcome = carry_out(shell, day, (), lambda: KafkaSweepSink(bootstrap, security))
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - the clock must keep ticking; tomorrow tries again
            # SystemExit: the composition root's word for a shared store unreachable, fatal at start only.
            log.error("retention sweep failed: %s", type(exc).__name__)
            return "failed"
        finally:
            if shell is not None:
                shell.close()  # a PostgreSQL store's connection: the next day's sweep opens its own
        state = "waits for approval" if outcome.published is None else "published"
        asked = "off" if outcome.asked is None else f"{outcome.asked} asked"
        log.info(
            "retention sweep of %s: plan %s, %s; prospects' re-contact: %s", day, outcome.plan.plan_id, state, asked
        )
        return state
