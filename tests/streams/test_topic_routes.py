"""The faust app and the in-memory bus consume the same topics with the same functions: one routing table."""

import pytest

from streams import topics
from streams.app import make_faust_app, wire
from streams.routes import routes
from tests.streams.bus import Bus

pytestmark = pytest.mark.streams


def test_the_app_declares_one_agent_per_route_and_nothing_else(tmp_path):
    bus = Bus()
    app = make_faust_app("127.0.0.1:9", "http://127.0.0.1:8081", tmp_path, partitions=1)  # connects to nothing
    wire(app, bus.ctx)
    declared = {agent.name: set(agent.channel.topics) for agent in app.agents.values()}
    expected: dict[str, set[str]] = {}
    for route in routes(bus.ctx, bus.cases, bus.sent, bus.retries):
        expected.setdefault(route.agent, set()).add(route.topic)
    assert declared == expected
    assert expected["tasks-crm"] == {topics.tasks("crm")}
    # The case table's two writers are one agent, so that an answer and a case event never interleave.
    assert expected["coordinator"] == {topics.CASES, topics.TASK_RESULTS}


def test_the_bus_delivers_a_task_topic_only_to_a_system_served_here():
    bus = Bus()
    served = {route.topic for route in routes(bus.ctx, bus.cases, bus.sent, bus.retries)}
    assert topics.tasks("crm") in served and topics.tasks("billing") not in served
    assert topics.dlq(topics.INTAKE) not in served  # dead letters are read by people, never consumed again
