"""The faust app as settings make it: where its tables live; its publisher outside agents (web views, the clock),
for which a producer not connected yet (or any more) is a 503, not a 500."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from faust.exceptions import NotReady

from dsr.settings import Settings
from streams import topics
from streams.app import FaustPublisher, coordinator, make_faust_app
from streams.cases import parsed
from streams.web.guards import TryAgain
from tests.streams.bus import Bus
from tests.streams.test_flow import example, raw

pytestmark = pytest.mark.streams


class StoppingApp:
    """A faust app whose producer is stopping, as during a rolling restart: every send is refused."""

    def topic(self, name: str, **options):
        return self

    async def send(self, **message):
        raise NotReady("Producer service not yet started")


async def test_a_click_while_the_worker_stops_is_told_to_try_again():
    with pytest.raises(TryAgain):  # answered 503 with Retry-After by every listener
        await FaustPublisher(StoppingApp()).publish("dsr.cases", "request-1", b"{}")


@pytest.mark.parametrize("setting", ["memory", "rocksdb"])
def test_tables_live_where_dsr_table_store_says(setting, tmp_path, monkeypatch):
    monkeypatch.setenv("DSR_TABLE_STORE", setting)
    store = Settings().table_store
    app = make_faust_app("127.0.0.1:9092", "http://127.0.0.1:8081", tmp_path, partitions=6, store=store)
    assert app.conf.store.scheme == setting  # rocksdb: faust's RocksDB store, through rocksdict
    assert str(app.conf.datadir).startswith(str(tmp_path))  # each worker's files under its DSR_DATA_DIR


def test_a_table_store_faust_does_not_have_is_refused_with_the_setting_named(monkeypatch):
    from dsr.settings import SettingsError, load_settings

    monkeypatch.setenv("DSR_TABLE_STORE", "redis")
    with pytest.raises(SettingsError, match="DSR_TABLE_STORE"):
        load_settings()


class Brokers:
    """A faust app whose sends the test acknowledges, or fails, when it chooses."""

    def __init__(self) -> None:
        self.sent: list[asyncio.Future] = []

    def topic(self, name: str, **options):
        return self

    async def send(self, **message) -> asyncio.Future:
        self.sent.append(asyncio.get_running_loop().create_future())
        return self.sent[-1]


async def opened_case_event() -> tuple[bytes, Bus]:
    bus = Bus()
    await bus.submit(raw(example("dsr.rights.requested")))
    return bus.on(topics.CASES)[0], bus


async def test_the_coordinator_stores_a_case_only_once_the_brokers_hold_what_it_sent():
    # Killed between the two, a worker must not leave a changelog saying "task issued" for a task that no
    # broker received: the redelivered event would not issue it again, and the case would wait forever.
    event, bus = await opened_case_event()
    brokers, cases = Brokers(), {}
    coordinate = coordinator(dataclasses.replace(bus.ctx, publisher=FaustPublisher(brokers)), cases)
    running = asyncio.ensure_future(coordinate(event))
    await asyncio.sleep(0.05)
    assert brokers.sent and cases == {}  # lookups and the receipt handed to the producer, the case not stored
    for future in brokers.sent:
        future.set_result(None)
    await running
    assert list(cases) and parsed(next(iter(cases.values()))).tasks  # stored with the tasks it issued


async def test_a_send_the_brokers_refuse_leaves_the_case_as_it_was():
    event, bus = await opened_case_event()
    brokers, cases = Brokers(), {}
    coordinate = coordinator(dataclasses.replace(bus.ctx, publisher=FaustPublisher(brokers)), cases)
    running = asyncio.ensure_future(coordinate(event))
    await asyncio.sleep(0.05)
    brokers.sent[0].set_exception(ConnectionError("not enough in-sync replicas"))
    for future in brokers.sent[1:]:
        future.set_result(None)
    with pytest.raises(ConnectionError):  # process_safely retries the event: the same ids are sent again
        await running
    assert cases == {}
