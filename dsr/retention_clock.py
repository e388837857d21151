"""The clock's daily retention sweep: once the DPO approved a first plan, each day's plan runs unless it is too big."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime

from dsr.settings import Settings
from gdpr.deadlines import PARIS

log = logging.getLogger(__name__)


class DailySweep:
    """Called on every tick of the faust timer; sweeps at most once a day, in a thread beside the event loop.
    Nothing runs before the DPO approved a first plan (`dsr retention approve`); a plan over
    DSR_RETENTION_APPROVAL_LIMIT people waits for its own approval (R44)."""

    def __init__(self, settings: Settings, secret: bytes) -> None:
        self._settings, self._secret = settings, secret
        self._last: date | None = None
        self._running: asyncio.Future | None = None

    async def __call__(self, now: datetime) -> None:
        day = now.astimezone(PARIS).date()
        if self._last == day or (self._running is not None and not self._running.done()):
            return
        self._last = day
        self._running = asyncio.ensure_future(asyncio.to_thread(self.sweep, day))

    def sweep(self, day: date) -> str:
        from dsr.retention_cli import Shell, carry_out
        from dsr.retention_kafka import KafkaSweepSink

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
