"""The worker's birth protocol as plain logic: every sub-process by PID, commit only when all agree."""
from __future__ import annotations

from pathlib import Path

from workers.child_channel import ChildChannel, ask_child
from workers.control import birth_everywhere
from workers.host import TransformHost

REQUEST = {"spill_side": {"transform": "MapPyTOFDigits"}, "configuration": {},
           "config_id": "c2"}


def test_commit_only_after_every_sub_process_confirmed():
    committed = []

    def ask(pid, request, timeout):
        return {"ok": True, "config_id": request["config_id"], "pid": pid}

    outcome = birth_everywhere(lambda: [11, 12], ask, REQUEST, 5.0,
                               lambda: committed.append(True))
    assert outcome == {"processes": {"11": "c2", "12": "c2"}, "failed": {}}
    assert committed == [True]


def test_one_failure_means_no_commit_and_names_the_pid():
    committed = []

    def ask(pid, request, timeout):
        if pid == 12:
            return {"ok": False, "error": {"type": "RuntimeError", "message": "no calibration"}}
        return {"ok": True, "config_id": request["config_id"]}

    outcome = birth_everywhere(lambda: [11, 12], ask, REQUEST, 5.0,
                               lambda: committed.append(True))
    assert outcome["failed"] == {"12": {"type": "RuntimeError", "message": "no calibration"}}
    assert committed == []


def test_a_sub_process_forked_during_the_birth_is_asked_after_the_commit():
    pools = iter([[11, 12], [11, 13]])  # 12 died and 13 replaced it meanwhile
    asked = []

    def ask(pid, request, timeout):
        asked.append(pid)
        return {"ok": True, "config_id": request["config_id"]}

    outcome = birth_everywhere(lambda: next(pools), ask, REQUEST, 5.0, lambda: None)
    assert asked == [11, 12, 13]
    assert set(outcome["processes"]) == {"11", "12", "13"}


def test_host_refuses_a_task_of_another_configuration(registry):
    host = TransformHost()
    status = host.birth({"transform": "MapPyTOFDigits"}, _config(), "c1")
    assert status["ok"] and status["config_id"] == "c1"
    try:
        host.process({"daq_event_type": "physics_event"}, "c0")
    except Exception as exc:  # noqa: BLE001
        assert "runs configuration c1" in str(exc) and "c0" in str(exc)
    else:
        raise AssertionError("a task of another configuration was processed")


def test_a_failed_birth_leaves_no_chain_running():
    host = TransformHost()
    assert host.birth({"transform": "MapPyTOFDigits"}, _config(), "c1")["ok"]
    status = host.birth({"transform": "MapPyNoSuchMap"}, _config(), "c2")
    assert not status["ok"] and status["config_id"] is None
    assert "MapPyNoSuchMap" in status["error"]["message"]
    assert status["error"]["traceback"].startswith("Traceback")


def test_the_child_channel_answers_by_pid(tmp_path: Path):
    import os

    channel = ChildChannel(tmp_path, lambda request: {"ok": True, "echo": request}).start()
    try:
        reply = ask_child(tmp_path, os.getpid(), {"command": "status"}, 5.0)
        assert reply == {"ok": True, "echo": {"command": "status"}}
        missing = ask_child(tmp_path, 999_999_999, {"command": "status"}, 0.2)
        assert not missing["ok"] and "did not open" in missing["error"]["message"]
    finally:
        channel.close()


def test_a_spill_side_spec_from_the_network_is_checked():
    host = TransformHost()
    status = host.birth({"transform": "MapPyTOFDigits", "fillers": "ReducePyTOFPlot"},
                        _config(), "c1")
    assert not status["ok"] and "must be lists of names" in status["error"]["message"]
    status = host.birth({"transform": "MapPyTOFDigits", "fillers": ["os:system"]}, _config(),
                        "c2")
    assert not status["ok"] and "unknown reduce module 'os:system'" in status["error"]["message"]


def test_the_host_fills_the_partials_of_the_reducers_it_was_born_with():
    host = TransformHost()
    spec = {"transform": "MapPyGroup(MapPyBeamMaker)", "fillers": ["ReducePyTOFPlot"],
            "fields": []}
    from maus_online.specification import parse_specification

    spec["transform"] = parse_specification(spec["transform"])
    assert host.birth(spec, _config(), "c1")["ok"]
    stored = host.process({"maus_event_type": "Spill", "daq_event_type": "physics_event",
                           "run_number": 1, "spill_number": 1, "errors": {}}, "c1")
    assert "mc_events" not in stored  # made on the worker, read by no merge side
    assert set(stored["partials"]) == {"ReducePyTOFPlot"}


def _config():
    from maus_online.configuration import default_configuration

    return default_configuration()


def test_the_installed_console_script_starts_a_celery_worker():
    import subprocess
    import sys

    script = Path(sys.executable).parent / "maus-worker"
    assert script.exists(), "maus-worker is not installed beside this Python (pip install -e .)"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--concurrency" in result.stdout and "--purge" in result.stdout
