"""Serves the two listeners, public and admin, from the worker's event loop, from start-up to shutdown."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import faust
from aiohttp import web
from mode import Service

from streams.web.guards import LIMITS
from streams.web.malformed import ServerLog, answer_malformed_plainly

log = logging.getLogger(__name__)
BROKER_PROBE_SECONDS = 2.0


@dataclass(frozen=True)
class Listener:
    name: str  # "public" or "admin"
    app: web.Application
    host: str
    port: int


class WebListeners(Service):
    """Started by the worker before the faust app, so that /livez answers while tables recover."""

    def __init__(self, listeners: list[Listener], on_stop: list[Callable[[], Awaitable[None]]] = (), **kwargs):
        super().__init__(**kwargs)
        self.listeners = listeners
        self._runners: list[web.AppRunner] = []
        self._on_stop = list(on_stop)

    async def on_start(self) -> None:
        for listener in self.listeners:
            runner = web.AppRunner(listener.app, logger=ServerLog(), **listener.app[LIMITS].runner_options())
            await runner.setup()
            answer_malformed_plainly(runner)
            try:
                await web.TCPSite(runner, listener.host, listener.port).start()
            except OSError as exc:
                await runner.cleanup()
                variable = "DSR_WEB_PORT" if listener.name == "public" else "DSR_ADMIN_PORT"
                raise SystemExit(
                    f"cannot listen on {listener.host}:{listener.port} for the {listener.name} "
                    f"listener ({exc.strerror}); set {variable} to a free port"
                ) from None
            self._runners.append(runner)
            log.info("%s listener on http://%s:%s", listener.name, listener.host, listener.port)

    async def on_stop(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        for close in self._on_stop:
            await close()


def consuming(app: faust.App) -> bool:
    """Tables recovered, partitions assigned, no rebalance under way: the worker processes events."""
    recovered = app.tables.recovery.completed.is_set()
    return bool(recovered and not getattr(app, "rebalancing", False) and app.consumer.assignment())


def readiness(app: faust.App) -> Callable[[], Awaitable[bool]]:
    """/readyz: the worker consumes and the broker answers a metadata request."""
    broker = BrokerProbe(app)

    async def ready() -> bool:
        return consuming(app) and await broker.reachable()

    return ready


class BrokerProbe:
    """Whether the broker answers a metadata request; asked at most once a second, whatever the probe rate."""

    def __init__(self, app: faust.App) -> None:
        self.app = app
        self._checked_at = 0.0
        self._reachable = False

    async def reachable(self) -> bool:
        if time.monotonic() - self._checked_at > 1.0:
            self._reachable = await self._ask()
            self._checked_at = time.monotonic()
        return self._reachable

    async def _ask(self) -> bool:
        try:
            client = self.app.producer._ensure_producer().client  # aiokafka's client under faust's producer
            async with asyncio.timeout(BROKER_PROBE_SECONDS):
                await client.fetch_all_metadata()
            return True
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable now"
            log.warning("broker probe failed: %s", type(exc).__name__)
            return False
