"""The other workers of the consumer group, as faust's partition assignor knows them, reached on their admin
listeners with the cluster token."""

from __future__ import annotations

import logging

import aiohttp
import faust
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
        # The partition the publisher's partitioner gives the request id (murmur2 of its UTF-8 bytes, as
        # FaustPublisher sends it), and the worker the assignment gives that partition of the table's changelog.
        try:
            partition = self.app.producer.key_partition(topics.CASES, request_id.encode()).partition
            url = self._changelog_owners()[partition]
        except (KeyError, TypeError, AttributeError) as exc:  # no metadata or no assignment yet
            raise CasesUnavailable(f"no owner known for the case's partition ({type(exc).__name__})") from None
        return None if _same(URL(url), self.app.conf.canonical_url) else url

    def _changelog_owners(self) -> dict[int, str]:
        changelog = self.app.tables[CASES_TABLE].changelog_topic.get_topic_name()
        distribution = self.app.assignor.changelog_distribution
        return {p: url for url, tps in distribution.items() for p in tps.get(changelog, ())}

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


def _same(a: URL, b: URL) -> bool:
    return (a.host, a.port) == (b.host, b.port)
