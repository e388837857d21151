"""The faust app as settings make it: where its tables live; its publisher outside agents (web views, the clock),
for which a producer not connected yet (or any more) is a 503, not a 500."""

from __future__ import annotations

import pytest
from faust.exceptions import NotReady

from dsr.settings import Settings
from streams.app import FaustPublisher, make_faust_app
from streams.web.guards import TryAgain
from streams.web.peers import FaustPeers, FaustReadiness

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
    assert str(app.conf.datadir).startswith(str(tmp_path))  # each worker's files under its own faust directory


def test_a_table_store_faust_does_not_have_is_refused_with_the_setting_named(monkeypatch):
    from dsr.settings import SettingsError, load_settings

    monkeypatch.setenv("DSR_TABLE_STORE", "redis")
    with pytest.raises(SettingsError, match="DSR_TABLE_STORE"):
        load_settings()


def test_a_lookup_while_the_producer_is_stopped_is_told_to_try_again(tmp_path):
    # A worker stopping (rolling restart) has no producer to hash a request id to its partition: the owner of a
    # case is then unknown (503), and nothing is replayed; never a 500 to the person clicking.
    app = make_faust_app("127.0.0.1:9092", "http://127.0.0.1:8081", tmp_path, partitions=6)
    with pytest.raises(NotReady):
        app.producer.key_partition("dsr.cases", b"request-1")  # not started, as when stopped
    with pytest.raises(TryAgain):
        FaustPeers(app, "token").owner("request-1")
    assert FaustReadiness(app).caught_up("request-1") is False
