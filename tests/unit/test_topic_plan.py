"""The topics the pipeline needs: replicas and min.insync.replicas, faust's own topics, and what a check reports."""

from __future__ import annotations

import pytest

from dsr.topics_admin import CHANGELOGS, LEADER, TopicSpec, min_insync, topic_plan, topic_problems
from streams import topics


@pytest.mark.parametrize(("replication", "expected"), [(1, 1), (2, 1), (3, 2), (4, 3), (5, 3)])
def test_min_insync_replicas_lets_acks_all_survive_one_broker(replication, expected):
    assert min_insync(replication) == expected


def test_replication_3_creates_every_topic_with_min_insync_2():
    plan = topic_plan(("crm",), partitions=6, replication=3)
    assert all(spec.replication == 3 and spec.configs["min.insync.replicas"] == "2" for spec in plan.values())
    assert plan[topics.INTAKE].configs["retention.ms"] == str(topics.ONE_DAY_MS)
    assert plan[topics.tasks("crm")].partitions == 6


def test_one_replica_sets_no_min_insync():
    assert all("min.insync.replicas" not in spec.configs for spec in topic_plan(("crm",)).values())


def test_faust_changelogs_and_leader_topic_are_planned_too():
    plan = topic_plan((), partitions=4, replication=3)
    for changelog, source in CHANGELOGS.items():
        assert plan[changelog].configs["cleanup.policy"] == "compact"
        assert plan[changelog].exact and plan[source].exact and plan[changelog].partitions == 4
    assert plan[LEADER].partitions == 1


def described(partitions: int, replicas: int) -> dict:
    """As kafka-python describes a topic."""
    layout = [{"partition_index": i, "replica_nodes": list(range(replicas))} for i in range(partitions)]
    return {"name": "t", "error_code": 0, "partitions": layout}


def test_the_check_names_the_topic_and_what_it_lacks():
    spec = TopicSpec(partitions=6, replication=3, configs={"min.insync.replicas": "2"})
    assert topic_problems("dsr.audit", spec, None) == [
        "dsr.audit: missing (create it with 6 partition(s), replication 3, min.insync.replicas=2)"
    ]
    assert topic_problems("dsr.audit", spec, described(4, 1)) == [
        "dsr.audit: 4 partition(s), needs at least 6 (DSR_PARTITIONS)",
        "dsr.audit: 1 replica(s), needs 3 (DSR_REPLICATION_FACTOR)",
    ]
    assert topic_problems("dsr.audit", spec, described(12, 3), min_insync_set=2) == []
    assert topic_problems("dsr.audit", spec, described(12, 3), min_insync_set=1) == [
        "dsr.audit: min.insync.replicas=1, needs 2 (DSR_REPLICATION_FACTOR)"
    ]


def test_a_table_and_its_topic_need_exactly_the_partitions_planned():
    spec = TopicSpec(partitions=6, replication=1, exact=True)
    assert topic_problems("dsr.cases", spec, described(12, 1)) == [
        "dsr.cases: 12 partition(s), needs exactly 6 (DSR_PARTITIONS)"
    ]


def test_dsr_topics_plan_prints_what_the_owners_create(monkeypatch):
    from click.testing import CliRunner

    from dsr.cli import main

    monkeypatch.setenv("DSR_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("DSR_PARTITIONS", "6")
    printed = CliRunner().invoke(main, ["topics", "plan"]).output.splitlines()
    assert "dsr.cases  partitions=exactly 6 replication=3 min.insync.replicas=2" in printed
    assert "dsr-pipeline-__assignor-__leader  partitions=1 replication=3 min.insync.replicas=2" in printed
