"""A faust worker on the pipeline's transport that records each offset it processes (test_rebalance_offsets)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from streams.kafka_transport import PipelineApp

TOPIC = os.environ.get("OFFSETS_TOPIC", "offsets-probe")
PARTITIONS = int(os.environ.get("OFFSETS_PARTITIONS", "4"))
PROCESSING_SECONDS = 0.004  # slower than the fetcher: records wait in the stream buffers when a rebalance comes

app = PipelineApp(
    os.environ.get("OFFSETS_GROUP", "offsets-probe"),
    broker=f"kafka://{os.environ.get('OFFSETS_BOOTSTRAP', '127.0.0.1:9092')}",
    store="memory://",
    datadir=os.environ.get("OFFSETS_DATA_DIR", "/tmp/offsets-worker"),
    topic_partitions=PARTITIONS,
    consumer_auto_offset_reset="earliest",
    web_enabled=False,
    broker_session_timeout=6.0,
    broker_heartbeat_interval=1.0,
)
topic = app.topic(TOPIC, partitions=PARTITIONS, key_serializer="raw", value_serializer="raw")
# A table, so that every rebalance goes through faust's changelog recovery, as the pipeline's do.
counts = app.Table("offsets-counts", default=int, partitions=PARTITIONS)
_out = open(Path(os.environ.get("OFFSETS_OUT", "/tmp/offsets-processed.txt")), "a", buffering=1)  # noqa: SIM115


@app.agent(topic)
async def record(stream) -> None:
    async for event in stream.events():
        await asyncio.sleep(PROCESSING_SECONDS)
        counts[event.key.decode()] += 1
        _out.write(f"{event.message.partition} {event.message.offset} {os.getpid()}\n")


if __name__ == "__main__":
    sys.argv = [sys.argv[0], "worker", "-l", "info", "--without-web"]
    app.main()
