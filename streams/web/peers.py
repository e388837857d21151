"""The other workers of the consumer group, as faust's partition assignor knows them, reached on their admin
listeners with the cluster token."""

from __future__ import annotations

import logging

import aiohttp
import faust
from faust.exceptions import NotReady
from faust.types import TP
from yarl import URL

from gdpr.tokens import derived_secret
from streams import topics
from streams.web.case_directory import CasesUnavailable

log = logging.getLogger(__name__)
CASES_TABLE = "cases"
ASK_SECONDS = 5.0


def cluster_token(secret: bytes) -> str:
    """What workers present to each other's /internal routes; derived from DSR_SECRET_KEY."""
    return derived_secret(secret, "cluster")


class FaustPeers:
    """Owners of the case table's partitions, from the assignment faust spreads with each rebalance (every
    worker advertises its admin URL as faust's canonical_url)."""

    def __init__(self, app: faust.App, token: str) -> None:
        self.app = app
        self._headers = {"Authorization": f"Bearer {token}"}
        self._session: aiohttp.ClientSession | None = None

    def owner(self, request_id: str) -> str | None:
        try:
            url = self._changelog_owners()[case_partition(self.app, request_id)]
        except (KeyError, TypeError, AttributeError, NotReady) as exc:  # no metadata, no assignment, stopping
            raise CasesUnavailable(f"no owner known for the case's partition ({type(exc).__name__})") from None
        return None if _same(URL(url), self.app.conf.canonical_url) else url

    def _changelog_owners(self) -> dict[int, str]:
        distribution = self.app.assignor.changelog_distribution
        return {p: url for url, tps in distribution.items() for p in tps.get(cases_changelog(self.app), ())}

    def others(self) -> list[str]:
        hosts = self.app.assignor.changelog_distribution
        return [url for url in hosts if not _same(URL(url), self.app.conf.canonical_url)]

    async def ask(self, url: str, query: dict) -> dict | None:
        try:
            async with self._client().get(f"{url}/internal/cases", params=query, headers=self._headers) as answer:
                if answer.status == 404:
                    return None
                if answer.status != 200:
                    raise CasesUnavailable(f"{url} answered {answer.status}")
                return await answer.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CasesUnavailable(f"{url} unreachable ({type(exc).__name__})") from None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=ASK_SECONDS))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class FaustReadiness:
    """Whether the case table is replayed, from faust's recovery: its first recovery has completed, and during a
    rebalance the case's changelog partition was kept or has been read up to its highwater."""

    def __init__(self, app: faust.App) -> None:
        self.app = app

    def caught_up(self, request_id: str) -> bool:
        if self.all_caught_up():
            return True
        try:
            changelog = TP(cases_changelog(self.app), case_partition(self.app, request_id))
        except (KeyError, TypeError, AttributeError, NotReady):  # no metadata or no producer: nothing is known
            return False
        recovery = self.app.tables.recovery
        remaining = recovery.active_remaining()  # highwater - offset read, per changelog partition being replayed
        settled = recovery.completed.is_set() and changelog in recovery.active_tps
        return settled and changelog in remaining and remaining[changelog] <= 0

    def all_caught_up(self) -> bool:
        recovery = self.app.tables.recovery  # `completed` stays set after the first recovery: rebalances say more
        return recovery.completed.is_set() and not getattr(self.app, "rebalancing", False)


def case_partition(app: faust.App, request_id: str) -> int:
    """The partition the publisher's partitioner gives the request id (murmur2 of its UTF-8 bytes, as
    FaustPublisher sends it): the same partition of dsr.cases and of the case table's changelog."""
    return app.producer.key_partition(topics.CASES, request_id.encode()).partition


def cases_changelog(app: faust.App) -> str:
    return app.tables[CASES_TABLE].changelog_topic.get_topic_name()


def _same(a: URL, b: URL) -> bool:
    return (a.host, a.port) == (b.host, b.port)
