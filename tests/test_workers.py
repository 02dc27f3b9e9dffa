"""multi_process on real Celery workers over the machine's RabbitMQ, with Redis behind them.

Every test starts its own worker processes on a queue of its own and stops them at the end
(the fixtures are in tests/celery_workers.py).
"""
from __future__ import annotations

import os
import signal
import time
import uuid

from maus_online import __version__, codec
from tests.celery_workers import GO_TIMEOUT, WorkerProcess, go_in_background, run_go
from tests.processes import wait_until

SLOW_CHAIN = ("MapPyGroup(MapPyBeamMaker, MapPySimulation, MapPyTOFMCDigitizer, "
              "MapPyTOFDigits, MapPyTOFSlabHits, MapPyTOFSpacePoints, MapPySlowDown)")


def running_go(queue, worker_env, cwd, *args):
    """go.py running a slow multi_process run in the background; killed if a test fails."""
    return go_in_background(queue, worker_env, cwd, "--type_of_dataflow", "multi_process",
                            "--particles_per_spill", "20", "--transformer", SLOW_CHAIN,
                            "--output_json_file_name", "out.jsonl", *args)


def read_spills(path):
    return [codec.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def physics_numbers(spills):
    return sorted(s["spill_number"] for s in spills if s["daq_event_type"] == "physics_event")


def without_time(value):
    """The document without its wall-clock ``time_stamp`` fields, at every depth."""
    if isinstance(value, dict):
        return {k: without_time(v) for k, v in value.items() if k != "time_stamp"}
    if isinstance(value, list):
        return [without_time(v) for v in value]
    return value


def wait_for_lines(path, count, process, timeout=60.0):
    """Wait until go.py has written ``count`` spills (the run is under way)."""
    wait_until(lambda: path.exists() and path.read_bytes().count(b"\n") >= count,
               f"{count} spills written", timeout, process=process)


def test_multi_process_reconstructs_the_same_spills_as_single_thread(
        start_workers, queue, worker_env, tmp_path):
    (worker,) = start_workers(1, concurrency=2)
    common = ["--spill_count", "12", "--particles_per_spill", "40", "--random_seed", "7"]
    single = run_go(queue, worker_env, tmp_path, *common, "--output_json_file_name", "one.jsonl")
    multi = run_go(queue, worker_env, tmp_path, *common, "--type_of_dataflow", "multi_process",
                   "--output_json_file_name", "many.jsonl")
    assert single.returncode == 0, single.stderr
    assert multi.returncode == 0, multi.stderr + worker.log()
    assert f"{worker.nodename}: updated, sub-processes" in multi.stdout
    assert f"spills by worker: {worker.nodename} 12" in multi.stdout
    one, many = read_spills(tmp_path / "one.jsonl"), read_spills(tmp_path / "many.jsonl")
    assert len(one) == len(many) == 14
    assert [without_time(s) for s in one] == [without_time(s) for s in many]


def test_a_new_configuration_reaches_every_sub_process(start_workers, celery_app, queue,
                                                       worker_env, tmp_path):
    (worker,) = start_workers(1, concurrency=2)
    seen = []
    for particles in (10, 25):
        output = f"run{particles}.jsonl"
        result = run_go(queue, worker_env, tmp_path, "--type_of_dataflow", "multi_process",
                        "--spill_count", "6", "--particles_per_spill", str(particles),
                        "--output_json_file_name", output)
        assert result.returncode == 0, result.stderr + worker.log()
        spills = read_spills(tmp_path / output)
        assert {len(s["mc_events"]) for s in spills if "mc_events" in s} == {particles}
        state = worker.configuration(celery_app)
        assert state["version"] == __version__
        assert len(state["processes"]) == 2
        assert set(state["processes"].values()) == {state["config_id"]}
        seen.append(state["config_id"])
    assert seen[0] != seen[1]


def test_sigkill_of_a_sub_process_loses_no_spill_and_doubles_none(
        start_workers, celery_app, queue, worker_env, tmp_path):
    (worker,) = start_workers(1, concurrency=2)
    with running_go(queue, worker_env, tmp_path, "--spill_count", "40") as go:
        wait_for_lines(tmp_path / "out.jsonl", 6, go)
        before = worker.configuration(celery_app)
        victim = int(next(iter(before["processes"])))
        # Each sub-process is always inside a 0.1 s spill: the kill lands mid-task.
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = go.communicate(timeout=GO_TIMEOUT)
    assert go.returncode == 0, stderr + worker.log()
    spills = read_spills(tmp_path / "out.jsonl")
    assert physics_numbers(spills) == list(range(1, 41))
    assert all(s["errors"] == {} and s.get("slowed_down") for s in spills
               if s["daq_event_type"] == "physics_event")
    after = worker.configuration(celery_app)
    assert str(victim) not in after["processes"]
    # The replacement sub-process was born with the configuration of the run.
    assert set(after["processes"].values()) == {before["config_id"]}
    assert "Process 'ForkPoolWorker" in worker.log() or "WorkerLostError" in worker.log()


def test_sigkill_of_a_whole_worker_loses_no_spill(start_workers, queue, worker_env, tmp_path):
    doomed, survivor = start_workers(2, concurrency=1)
    with running_go(queue, worker_env, tmp_path, "--spill_count", "30") as go:
        wait_for_lines(tmp_path / "out.jsonl", 5, go)
        doomed.kill(signal.SIGKILL)  # the whole node: main process and sub-processes
        stdout, stderr = go.communicate(timeout=GO_TIMEOUT)
    assert go.returncode == 0, stderr + survivor.log()
    spills = read_spills(tmp_path / "out.jsonl")
    assert physics_numbers(spills) == list(range(1, 31))
    assert all(not s["errors"] for s in spills)
    assert f"{survivor.nodename} " in stdout.split("spills by worker:")[1]


def test_a_killed_worker_restarted_mid_run_takes_the_run_over(
        start_workers, celery_app, queue, worker_env, tmp_path):
    # The only worker dies whole; its replacement starts during the run, knows no
    # configuration, and is given the run's at its first refusal (MAUS-134).
    (doomed,) = start_workers(1, concurrency=1)
    with running_go(queue, worker_env, tmp_path, "--spill_count", "30") as go:
        wait_for_lines(tmp_path / "out.jsonl", 5, go)
        doomed.kill(signal.SIGKILL)
        doomed.process.wait(30)
        replacement = WorkerProcess(queue, tmp_path, worker_env, concurrency=1, purge=False)
        try:
            replacement.start().wait_ready(celery_app)
            stdout, stderr = go.communicate(timeout=GO_TIMEOUT)
        finally:
            replacement.stop()
    assert go.returncode == 0, stderr + replacement.log()
    spills = read_spills(tmp_path / "out.jsonl")
    assert physics_numbers(spills) == list(range(1, 31))  # none lost, none doubled
    assert all(not s["errors"] for s in spills)
    assert f"{replacement.nodename} " in stdout.split("spills by worker:")[1]


def test_go_fails_within_the_timeout_when_no_worker_serves_its_queue(
        celery_app, worker_env, tmp_path):
    # A worker of another queue (another go.py's) is running: it is not ours to configure.
    other = WorkerProcess(f"maus-test-other-{uuid.uuid4().hex[:6]}", tmp_path, worker_env,
                          concurrency=1).start()
    try:
        other.wait_ready(celery_app)
        queue = f"maus-test-empty-{uuid.uuid4().hex[:6]}"
        started = time.monotonic()
        result = run_go(queue, worker_env, tmp_path, "--type_of_dataflow", "multi_process",
                        "--worker_birth_timeout", "3", "--spill_count", "2", timeout=60)
        elapsed = time.monotonic() - started
        assert result.returncode == 1
        assert "no worker answered within 3 s" in result.stderr and queue in result.stderr
        assert "celery -A workers worker" in result.stderr
        assert elapsed < 3 + 20  # the timeout, plus go.py's own start-up
        assert other.configuration(celery_app)["config_id"] is None
    finally:
        other.stop()


def test_a_worker_of_another_version_refuses_the_birth(start_workers, celery_app):
    (worker,) = start_workers(1, concurrency=1)
    replies = celery_app.control.broadcast(
        "maus_birth", reply=True, timeout=20, destination=[worker.nodename],
        arguments={"spill_side": {"transform": "MapPyTOFDigits"}, "configuration": {},
                   "config_id": "old-go", "version": "0.0.1"})
    error = replies[0][worker.nodename]["error"]
    assert "version mismatch" in error and "0.0.1" in error and __version__ in error


def test_a_failed_birth_stops_go_with_the_workers_reason(start_workers, queue, worker_env,
                                                         tmp_path):
    (worker,) = start_workers(1, concurrency=2)
    result = run_go(queue, worker_env, tmp_path, "--type_of_dataflow", "multi_process",
                    "--transformer", "MapPyGroup(MapPyBeamMaker, MapPyBirthFails)",
                    "--spill_count", "2")
    assert result.returncode == 1, result.stdout
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("MAUS-102 1 of 1 workers could not be born")
    assert worker.nodename in message
    assert "calibration database unreachable (deliberate)" in message


def test_an_unpicklable_exception_brings_its_traceback_to_go(start_workers, queue,
                                                             worker_env, tmp_path):
    (worker,) = start_workers(1, concurrency=2)
    result = run_go(queue, worker_env, tmp_path, "--type_of_dataflow", "multi_process",
                    "--transformer", "MapPyGroup(MapPyBeamMaker, MapPyRaiseUnpicklable)",
                    "--spill_count", "3", "--output_json_file_name", "out.jsonl")
    assert result.returncode == 0, result.stderr + worker.log()
    assert "spills failed:    3" in result.stdout
    assert "MapPyRaiseUnpicklable: Unpicklable: deliberate failure in spill 1" in result.stdout
    physics = [s for s in read_spills(tmp_path / "out.jsonl")
               if s["daq_event_type"] == "physics_event"]
    for spill in physics:
        (message,) = spill["errors"]["MapPyRaiseUnpicklable"]
        assert "Traceback" in message and "in raise_it" in message


def test_a_task_for_another_configuration_is_refused(start_workers, celery_app, queue):
    start_workers(1, concurrency=1)
    result = celery_app.send_task("maus_online.execute_transform", queue=queue, kwargs={
        "batch": [{"seq": 1, "spill": {"maus_event_type": "Spill",
                                       "daq_event_type": "physics_event", "run_number": 1,
                                       "spill_number": 1}}], "config_id": "never-born"})
    value = result.get(timeout=30)
    assert value["status"] == "refused"
    assert "never-born" in value["error"]["message"]
    assert value["error"]["traceback"].startswith("Traceback")
    assert value["error"]["pid"] > 0 and value["error"]["hostname"]
    result.forget()


def test_a_worker_started_during_the_run_is_given_the_run_and_loses_nothing(
        start_workers, celery_app, queue, worker_env, tmp_path):
    start_workers(1, concurrency=1)
    with running_go(queue, worker_env, tmp_path, "--spill_count", "30",
                    "--worker_birth_timeout", "30") as go:
        wait_for_lines(tmp_path / "out.jsonl", 3, go)
        # As systemd restarting a worker would: no --purge, the run's tasks stay queued.
        late = WorkerProcess(queue, tmp_path, worker_env, concurrency=1, purge=False).start()
        try:
            late.wait_ready(celery_app)
            stdout, stderr = go.communicate(timeout=GO_TIMEOUT)
        finally:
            late.stop()
    assert go.returncode == 0, stderr + late.log()
    spills = read_spills(tmp_path / "out.jsonl")
    assert physics_numbers(spills) == list(range(1, 31))
    assert not [s for s in spills if s.get("errors")], "a spill was lost to a refusal"
    assert f"MAUS-134 worker {late.nodename} refused spill" in stderr
    assert "spills by worker:" in stdout and late.nodename in stdout


def test_a_plug_in_s_own_configuration_key_reaches_its_map_in_go_and_on_the_workers(
        start_workers, queue, worker_env, tmp_path):
    (worker,) = start_workers(1, concurrency=1)
    chain = ["--transformer", "MapPyGroup(MapPyBeamMaker, MapPyTagged)",
             "--particles_per_spill", "5", "--spill_count", "3", "--reducers",
             "ReducePyCountSpills"]
    for dataflow in ("pipeline_single_thread", "multi_process"):
        output = f"{dataflow}.jsonl"
        result = run_go(queue, worker_env, tmp_path, *chain, "--type_of_dataflow", dataflow,
                        "--test_plugin_tag", "ab", "--test_plugin_repeat", "2",
                        "--output_json_file_name", output)
        assert result.returncode == 0, result.stderr + worker.log()
        tags = {s.get("plugin_tag") for s in read_spills(tmp_path / output)
                if s["daq_event_type"] == "physics_event"}
        assert tags == {"abab"}, dataflow
    refused = run_go(queue, worker_env, tmp_path, *chain, "--test_plugin_repeat", "0")
    assert refused.returncode == 2
    assert "'test_plugin_repeat' from the command line is 0, expected at least 1" in \
        refused.stderr
    listed = run_go(queue, worker_env, tmp_path, "--help")
    assert "--test_plugin_tag" in listed.stdout
    assert "declared by module MapPyTagged" in " ".join(listed.stdout.split())
