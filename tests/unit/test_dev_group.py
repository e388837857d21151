"""`dsr dev --workers N`: what each worker is told, what is refused, and a worker that dies is reported."""

import subprocess
import sys
from pathlib import Path

import pytest

from dsr.dev_group import member_settings, refuse_shared_ports, watch, worker_env
from dsr.settings import Settings, SettingsError, for_development

pytestmark = pytest.mark.unit


def test_several_dev_workers_get_a_partition_each_at_least():
    assert for_development(Settings(), workers=2).partitions == 6  # as `dsr run`: 1, 2, 3 or 6 share them evenly
    assert for_development(Settings(), workers=8).partitions == 8
    assert for_development(Settings(partitions=3), workers=3).partitions == 3
    with pytest.raises(SettingsError, match="DSR_PARTITIONS=2 gives work to 2 of 3 workers"):
        for_development(Settings(partitions=2), workers=3)


def test_each_worker_has_its_listeners_and_faust_dir_and_shares_the_rest(tmp_path):
    settings = for_development(Settings(data_dir=tmp_path, kafka_bootstrap="127.0.0.1:9", smtp_host="127.0.0.1"), 2)
    workers = [member_settings(settings, index) for index in range(2)]
    envs = [worker_env(worker) for worker in workers]
    assert [(env["DSR_WEB_PORT"], env["DSR_ADMIN_PORT"]) for env in envs] == [("8080", "8081"), ("8082", "8083")]
    assert [Path(env["DSR_FAUST_DIR"]) for env in envs] == [tmp_path / "faust-worker-0", tmp_path / "faust-worker-1"]
    assert {env["DSR_DATA_DIR"] for env in envs} == {str(tmp_path)}  # vault, exports, answers, ledger, systems
    assert {env["DSR_PARTITIONS"] for env in envs} == {"6"} and {env["DSR_SAMPLE_DATA"] for env in envs} == {"false"}
    assert [env["DSR_RETENTION_CLOCK"] for env in envs] == ["true", "false"]  # one sweep a day, not one per worker
    assert all(env["DSR_KAFKA_BOOTSTRAP"] == "127.0.0.1:9" for env in envs)


def test_a_setting_the_parent_left_unset_is_not_passed_on(tmp_path, monkeypatch):
    monkeypatch.setenv("DSR_SMTP_USERNAME", "someone")  # replaced by the sink's, which asks none
    settings = Settings(data_dir=tmp_path).model_copy(update={"smtp_username": None})
    assert "DSR_SMTP_USERNAME" not in worker_env(member_settings(settings, 0))


def test_listeners_that_would_meet_are_refused_with_the_settings_named(tmp_path):
    settings = Settings(data_dir=tmp_path, web_port=8080, admin_port=8082)  # worker 1's public port is 8082
    with pytest.raises(SettingsError, match="DSR_WEB_PORT and DSR_ADMIN_PORT"):
        refuse_shared_ports(settings, [member_settings(settings, index) for index in range(2)])


def test_a_worker_that_dies_is_reported_and_the_group_stops_when_none_is_left(capsys):
    processes = {index: subprocess.Popen([sys.executable, "-c", f"raise SystemExit({index * 3})"]) for index in (0, 1)}
    with pytest.raises(SystemExit, match="every worker of the group has stopped"):
        watch(processes)
    said = capsys.readouterr().err
    assert "worker 1 stopped (exit code 3)" in said and "worker 0 stopped (exit code 0)" in said
