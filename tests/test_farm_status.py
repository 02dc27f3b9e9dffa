"""farm.json: the farm's status as go.py writes it (maus_online/farm_status.py and
workers/farm_monitor.py).

The arithmetic (rates over the last minute, lost after a silence, stale sub-processes, alarms
said once) on hand-made snapshots; then real workers and a real go.py: both workers listed,
one SIGKILLed and marked lost within 10 s, restarted and online again, a sub-process forced
onto another configuration flagged; and the single-thread document that says there is no farm.
"""
from __future__ import annotations

import glob
import io
import json
import os
import signal
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pytest

from maus_online.catalogue import CATALOGUE
from maus_online.configuration import default_configuration
from maus_online.dataflows import assemble, spill_side_spec
from maus_online.farm_status import (FILE_NAME, FarmSnapshot, FarmStatus, RateWindow,
                                     RunCounts, StoreWatch, WorkerSighting, iso, servers_of)
from maus_online.outages import Outages
from maus_online.registry import build_default_registry
from tests.celery_workers import WorkerProcess, go_in_background, run_go
from tests.private_servers import private_rabbitmq, private_redis  # noqa: F401 - fixtures
from tests.test_outages import farm  # noqa: F401 - one worker on a private broker and Redis
from tests.processes import wait_until

CHAIN = ("MapPyGroup(MapPyBeamMaker, MapPySimulation, MapPyTOFMCDigitizer, "
         "MapPyTOFDigits, MapPyTOFSlabHits, MapPyTOFSpacePoints)")


# --- The arithmetic -----------------------------------------------------------------------

def test_the_rate_is_taken_over_the_last_minute():
    rate = RateWindow(60.0)
    assert rate.add(0.0, 0) == 0.0
    for second in range(2, 62, 2):
        assert rate.add(float(second), 5 * second) == pytest.approx(5.0)
    # From now on nothing is done: the rate falls as the busy minute slides out of the window.
    assert rate.add(90.0, 300) == pytest.approx((300 - 5 * 30) / 60)
    assert rate.add(122.0, 300) == 0.0
    assert len(rate.history) == 30  # one sample per write, the last 30 only


def test_a_counter_that_starts_again_starts_the_rate_again():
    rate = RateWindow(60.0)
    rate.add(0.0, 0)
    rate.add(10.0, 100)
    assert rate.add(12.0, 4) == 0.0  # not a negative rate
    assert rate.add(14.0, 14) == pytest.approx(5.0)


class Farm:
    """A farm as a test decides it: :meth:`snapshot` returns what the test set."""

    def __init__(self, snapshot: FarmSnapshot) -> None:
        self.current = snapshot
        self.closed = False

    def snapshot(self) -> FarmSnapshot:
        return self.current

    def close(self) -> None:
        self.closed = True


def status_of(tmp_path, farm, clock, notes, **options):
    config = default_configuration({"image_directory": str(tmp_path / "images")})
    counts = RunCounts(7, 120, 8, 110, 0)
    return FarmStatus(config, lambda: counts, dataflow="multi_process", farm=farm,
                      note=notes.append, clock=lambda: clock[0], **options)


def sighting(name, heard, **fields):
    return WorkerSighting(name=name, host="node", last_heard=heard, joined=0.0, **fields)


def test_a_silent_worker_is_lost_said_once_and_back_once(tmp_path):
    clock, notes = [1000.0], []
    farm = Farm(FarmSnapshot(configuration_id="c1", queue="q", queue_depth=3, lost_after=6.0,
                             workers=(sighting("w1@node", 999.0, active=1),
                                      sighting("w2@node", 999.0))))
    status = status_of(tmp_path, farm, clock, notes)
    document = status.document()
    assert [w["state"] for w in document["workers"]] == ["busy", "online"]
    assert document["alarms"] == [] and status.progress_text() is None
    assert document["run"] == {"run_number": 7, "spills_read": 120, "spills_in_flight": 8,
                               "spills_done": 110, "spills_failed": 0,
                               "spills_per_second": 0.0, "queue_depth": 3, "queue": "q"}

    clock[0] = 1005.9  # 6.9 s since w1 and w2 were heard; w2 spoke again at 1005
    farm.current = FarmSnapshot(configuration_id="c1", lost_after=6.0, workers=(
        sighting("w1@node", 999.0), sighting("w2@node", 1005.0)))
    for _ in range(3):  # said once, however many documents show it
        document = status.document()
    assert [w["state"] for w in document["workers"]] == ["lost", "online"]
    assert [alarm["id"] for alarm in document["alarms"]] == ["MAUS-146"]
    assert "w1@node lost" in document["alarms"][0]["text"]
    assert [CATALOGUE["MAUS-146"].found_in(note) for note in notes] == [True]
    assert status.progress_text().startswith("MAUS-146 worker w1@node lost")

    clock[0] = 1010.0
    farm.current = FarmSnapshot(configuration_id="c1", lost_after=6.0, workers=(
        sighting("w1@node", 1009.5), sighting("w2@node", 1009.0)))
    document = status.document()
    assert [w["state"] for w in document["workers"]] == ["online", "online"]
    assert document["alarms"] == [] and status.progress_text() is None
    assert CATALOGUE["MAUS-147"].found_in(notes[-1]) and len(notes) == 2


def test_the_progress_line_names_a_lost_worker(tmp_path):
    from maus_online.dataflows import ProgressDisplay, RunStatistics

    clock, notes, stream = [1000.0], [], io.StringIO()
    farm = Farm(FarmSnapshot(workers=(sighting("w1@node", 990.0),)))
    status = status_of(tmp_path, farm, clock, notes)
    progress = ProgressDisplay(RunStatistics(), stream)
    progress.alarms = status.progress_text
    status.document()
    progress.update(force=True)
    assert stream.getvalue().rstrip().endswith(
        "| MAUS-146 worker w1@node lost: not heard from since "
        f"{datetime.fromtimestamp(990.0):%H:%M:%S}")


def test_a_worker_that_said_goodbye_is_lost_at_once(tmp_path):
    clock, notes = [1000.0], []
    farm = Farm(FarmSnapshot(workers=(sighting("w1@node", 999.9, offline=True),)))
    assert status_of(tmp_path, farm, clock, notes).document()["workers"][0]["state"] == "lost"


def test_a_sub_process_on_another_configuration_is_stale(tmp_path):
    clock, notes = [1000.0], []
    farm = Farm(FarmSnapshot(configuration_id="new-run2", workers=(
        sighting("w1@node", 999.0, processes=((11, "new-run2"), (12, "old-run1"))),)))
    document = status_of(tmp_path, farm, clock, notes).document()
    assert document["workers"][0]["processes"] == [
        {"pid": 11, "configuration_id": "new-run2", "stale": False},
        {"pid": 12, "configuration_id": "old-run1", "stale": True}]
    assert [alarm["id"] for alarm in document["alarms"]] == ["MAUS-148"]
    assert CATALOGUE["MAUS-148"].found_in(notes[0])


def test_a_worker_that_starts_after_go_is_announced(tmp_path):
    clock, notes = [1000.0], []
    farm = Farm(FarmSnapshot(workers=(WorkerSighting("w1@node", "node", 999.0, joined=10.0),)))
    status = status_of(tmp_path, farm, clock, notes)
    status.document()
    assert notes == []  # there before go.py
    farm.current = FarmSnapshot(workers=(
        *farm.current.workers, WorkerSighting("w2@node", "node", 1001.0, joined=1000.5)))
    clock[0] = 1002.0
    status.document()
    assert [CATALOGUE["MAUS-149"].found_in(note) for note in notes] == [True]


def test_per_worker_rates_and_history(tmp_path):
    clock, notes = [0.0], []
    farm = Farm(FarmSnapshot(workers=(sighting("w1@node", 0.0, spills_done=0),)))
    status = status_of(tmp_path, farm, clock, notes)
    for second in (0, 2, 4):
        clock[0] = float(second)
        farm.current = FarmSnapshot(workers=(sighting("w1@node", clock[0],
                                                      spills_done=3 * second),))
        worker = status.document()["workers"][0]
    assert worker["spills_done"] == 12 and worker["spills_per_second"] == 3.0
    assert worker["rate_history"] == [0.0, 3.0, 3.0]


def test_the_servers_come_from_the_runs_outages_and_the_stores_watch(tmp_path):
    outages, watch = Outages(300, note=lambda text: None), StoreWatch(clock=lambda: 1234.5)
    outages.failed("Redis (spill exchange)", "redis://127.0.0.1:6379/1", "refused")
    watch.failed()
    servers = servers_of(outages, watch)()
    assert servers["RabbitMQ"] is None and servers["document store"] == 1234.5
    assert servers["Redis"] == pytest.approx(time.time(), abs=60)
    clock, notes = [1000.0], []
    document = status_of(tmp_path, Farm(FarmSnapshot()), clock, notes,
                         servers=lambda: servers).document()
    assert document["servers"]["document store"] == {"up": False, "since": iso(1234.5)}
    assert document["servers"]["RabbitMQ"] == {"up": True, "since": None}


def test_the_document_is_written_whole_and_a_failure_said_once(tmp_path):
    clock, notes = [1796126400.0], []
    farm = Farm(FarmSnapshot())
    status = status_of(tmp_path, farm, clock, notes).start()
    status.close()
    document = json.loads((tmp_path / "images" / FILE_NAME).read_text())
    assert document["written"] == "2026-12-01T12:00:00.000Z"
    assert set(document) == {"format_version", "written", "written_epoch", "dataflow", "farm",
                             "go", "run", "servers", "workers", "alarms"}
    assert farm.closed and not list((tmp_path / "images").glob(".*tmp"))
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the directory should be")
    config = default_configuration({"image_directory": str(blocked)})
    broken = FarmStatus(config, RunCounts, dataflow="multi_process", note=notes.append)
    broken.write()
    broken.write()
    assert [CATALOGUE["MAUS-145"].found_in(note) for note in notes] == [True]


# --- Real workers, real go.py -----------------------------------------------------------

def read_farm(directory):
    try:
        return json.loads((directory / FILE_NAME).read_text())
    except FileNotFoundError:
        return None


def worker_of(document, name):
    if document is None:
        return None
    return next((w for w in document["workers"] if w["name"] == name), None)


def farm_go(queue, worker_env, cwd, *args):
    return go_in_background(queue, worker_env, cwd, "--type_of_dataflow", "multi_process",
                            "--particles_per_spill", "20", "--transformer", CHAIN,
                            "--spill_count", "100000", "--image_directory", str(cwd / "images"),
                            *args)


def born(document, names):
    """Every worker of ``names`` listed, heard, with its sub-processes on go.py's configuration."""
    if document is None or document["go"]["configuration_id"] is None:
        return False
    workers = [worker_of(document, name) for name in names]
    return all(w is not None and w["state"] != "lost" and w["processes"] and all(
        p["configuration_id"] == document["go"]["configuration_id"] and not p["stale"]
        for p in w["processes"]) for w in workers)


def test_both_workers_listed_one_killed_is_lost_and_restarted_is_online(
        start_workers, celery_app, queue, worker_env, tmp_path):
    doomed, survivor = start_workers(2, concurrency=1)
    images = tmp_path / "images"
    with farm_go(queue, worker_env, tmp_path, "--spill_interval", "0.25") as go:
        first = wait_until(lambda: born(read_farm(images), [doomed.nodename,
                                                            survivor.nodename])
                           and read_farm(images), "both workers born in farm.json", 120, go)
        assert first["farm"] is True and first["run"]["queue"] == queue
        assert all(server["up"] for server in first["servers"].values())
        pids = {p["pid"] for p in worker_of(first, doomed.nodename)["processes"]}
        assert pids and pids <= {int(child) for child in
                                 doomed.configuration(celery_app)["processes"]}

        # Rewritten at least every 2 s (a little scheduling latency allowed on a busy machine).
        written = [first["written_epoch"]]
        while len(written) < 4:
            written.append(wait_until(
                lambda: (read_farm(images)["written_epoch"] > written[-1]
                         and read_farm(images)["written_epoch"]), "farm.json rewritten", 10, go))
        assert max(b - a for a, b in zip(written, written[1:])) <= 2.3, written

        joined = worker_of(read_farm(images), doomed.nodename)["joined"]
        doomed.kill(signal.SIGKILL)  # the whole node: main process and sub-processes
        killed = time.monotonic()
        lost = wait_until(lambda: (worker_of(read_farm(images), doomed.nodename)["state"]
                                   == "lost") and read_farm(images),
                          "the killed worker lost in farm.json", 10, go)
        print(f"killed worker marked lost in farm.json after {time.monotonic() - killed:.1f} s")
        assert time.monotonic() - killed <= 10
        assert worker_of(lost, survivor.nodename)["state"] != "lost"
        assert any(alarm["id"] == "MAUS-146" and doomed.nodename in alarm["text"]
                   for alarm in lost["alarms"])
        wait_until(lambda: CATALOGUE["MAUS-146"].found_in(go.stdout)
                   and doomed.nodename in go.stdout, "MAUS-146 in go.py's output", 10, go)

        doomed.process.wait(30)
        again = WorkerProcess(queue, tmp_path, worker_env, concurrency=1, name=doomed.name,
                              purge=False)
        try:
            again.start()
            back = wait_until(lambda: (worker_of(read_farm(images), doomed.nodename)["state"]
                                       != "lost") and read_farm(images),
                              "the restarted worker online again", 90, go)
            # Its start, as the restarted worker answers it (at once: it announced itself).
            wait_until(lambda: worker_of(read_farm(images), doomed.nodename)["joined"] > joined,
                       "the restarted worker's start in farm.json", 10, go)
            assert not any(alarm["id"] == "MAUS-146" for alarm in back["alarms"])
            wait_until(lambda: CATALOGUE["MAUS-147"].found_in(go.stdout),
                       "MAUS-147 in go.py's output", 10, go)
            # Its first spill is refused, go.py gives it the run's configuration (MAUS-134).
            wait_until(lambda: born(read_farm(images), [doomed.nodename]),
                       "the restarted worker born with the run's configuration", 60, go)
        finally:
            again.stop()


def test_a_sub_process_on_another_configuration_is_flagged_stale(
        start_workers, queue, worker_env, tmp_path):
    from workers.child_channel import ask_child

    (worker,) = start_workers(1, concurrency=2)
    images = tmp_path / "images"
    # A spill every 30 s: the first one births the worker, and the next comes long after
    # the test has forced one sub-process onto another configuration and seen it flagged.
    with farm_go(queue, worker_env, tmp_path, "--spill_interval", "30") as go:
        document = wait_until(lambda: born(read_farm(images), [worker.nodename])
                              and read_farm(images), "the worker born in farm.json", 120, go)
        victim = worker_of(document, worker.nodename)["processes"][0]["pid"]
        # The worker's own control channel, as a birth reaches each sub-process: this one
        # alone is born with another configuration, as a replacement whose birth went wrong.
        (socket_path,) = glob.glob(os.path.join(tempfile.gettempdir(), "maus-worker-*",
                                                f"{victim}.sock"))
        config = default_configuration()
        spec = spill_side_spec(assemble(config, build_default_registry())).as_dict()
        reply = ask_child(Path(socket_path).parent, victim,
                          {"command": "birth", "spill_side": spec, "configuration": config,
                           "config_id": "an-old-configuration"}, 60)
        assert reply["ok"] and reply["config_id"] == "an-old-configuration", reply
        stale = wait_until(lambda: any(
            p["stale"] and p["pid"] == victim and p["configuration_id"] == "an-old-configuration"
            for p in (worker_of(read_farm(images), worker.nodename) or {}).get("processes", ())
        ) and read_farm(images), "the sub-process flagged stale", 20, go)
        others = [p for p in worker_of(stale, worker.nodename)["processes"] if p["pid"] != victim]
        assert others and not any(p["stale"] for p in others)
        assert any(alarm["id"] == "MAUS-148" and str(victim) in alarm["text"]
                   for alarm in stale["alarms"])
        wait_until(lambda: CATALOGUE["MAUS-148"].found_in(go.stdout),
                   "MAUS-148 in go.py's output", 10, go)


def test_input_transform_writes_the_farm_status_with_the_spills_it_stored(
        start_workers, queue, worker_env, tmp_path):
    (worker,) = start_workers(1, concurrency=1)
    result = run_go(queue, worker_env, tmp_path, "--type_of_dataflow",
                    "multi_process_input_transform", "--spill_count", "3",
                    "--particles_per_spill", "20", "--image_directory", str(tmp_path / "images"),
                    "--doc_store_url", f"sqlite:///{tmp_path}/store.db")
    assert result.returncode == 0, result.stderr
    document = read_farm(tmp_path / "images")
    assert document["dataflow"] == "multi_process_input_transform" and document["farm"] is True
    assert document["run"]["spills_done"] == 5 and document["run"]["spills_in_flight"] == 0
    assert worker_of(document, worker.nodename)["spills_done"] == 3


def test_single_thread_says_there_is_no_farm(queue, worker_env, tmp_path):
    result = run_go(queue, worker_env, tmp_path, "--spill_count", "3",
                    "--particles_per_spill", "20", "--image_directory", str(tmp_path / "images"))
    assert result.returncode == 0, result.stderr
    document = read_farm(tmp_path / "images")
    assert document["farm"] is False and document["workers"] == []
    assert document["dataflow"] == "pipeline_single_thread"
    assert document["run"]["spills_done"] == 5 and document["run"]["spills_per_second"] > 0
    assert datetime.fromisoformat(document["written"]).timestamp() == pytest.approx(
        document["written_epoch"], abs=0.01)


def test_farm_status_false_writes_nothing(queue, worker_env, tmp_path):
    result = run_go(queue, worker_env, tmp_path, "--spill_count", "1", "--farm_status", "false",
                    "--particles_per_spill", "5", "--image_directory", str(tmp_path / "images"))
    assert result.returncode == 0, result.stderr
    assert read_farm(tmp_path / "images") is None


@pytest.mark.parametrize("server", ["RabbitMQ", "Redis"])
def test_a_server_down_is_in_the_farm_status_and_then_up(farm, queue, tmp_path,
                                                         private_rabbitmq, private_redis,
                                                         server):
    take_away, bring_back = {
        "RabbitMQ": (private_rabbitmq.stop_app, private_rabbitmq.start_app),
        "Redis": (private_redis.shutdown, private_redis.restart)}[server]
    env, worker = farm
    images = tmp_path / "images"
    with farm_go(queue, env, tmp_path, "--spill_interval", "0.25") as go:
        wait_until(lambda: born(read_farm(images), [worker.nodename]), "the worker born",
                   120, go)
        take_away()
        try:
            down = wait_until(lambda: not read_farm(images)["servers"][server]["up"]
                              and read_farm(images), f"{server} down in farm.json", 60, go)
        finally:
            bring_back()
        assert down["servers"][server]["since"] is not None
        assert all(down["servers"][other]["up"] for other in down["servers"] if other != server)
        wait_until(lambda: read_farm(images)["servers"][server]["up"]
                   and worker_of(read_farm(images), worker.nodename)["state"] != "lost",
                   f"{server} up again in farm.json, the worker heard", 120, go)
