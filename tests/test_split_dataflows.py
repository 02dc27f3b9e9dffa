"""The split dataflows as real processes: go.py input-transform and go.py merge-output sharing a
document store, real Celery workers writing into it.

Kill-and-resume, two consumers with different reducers, and a plot that updates while the run
is still being read. The same on CouchDB (a real pouchdb-server) is in
test_split_dataflows_couchdb.py.
"""
from __future__ import annotations

import json
import signal
import subprocess

from maus_online.doc_store import open_doc_store
from tests.celery_workers import GO_TIMEOUT, go_in_background as background, run_go
from tests.image_directory import sidecar_paths
from tests.processes import wait_until

COMMON = ["--particles_per_spill", "30", "--random_seed", "11"]


def sqlite_store(tmp_path):
    return ["--doc_store_class", "sqlite", "--doc_store_url", f"sqlite:///{tmp_path}/store.db"]


def store_of(args):
    config = dict(zip([a.lstrip("-") for a in args[::2]], args[1::2]))
    return open_doc_store(config)


def sidecars(directory):
    """Every image document's metadata by tag: spills seen and histogram contents."""
    result = {}
    for path in sidecar_paths(directory):
        image = json.loads(path.read_text())["image"]
        result[image["tag"]] = (image["spills_seen"], image["histograms"])
    return result


def test_input_transform_and_merge_output_as_two_processes_on_sqlite(
        start_workers, queue, worker_env, tmp_path):
    (worker,) = start_workers(1, concurrency=2)
    store = sqlite_store(tmp_path)
    single = run_go(queue, worker_env, tmp_path, *COMMON, "--spill_count", "12",
                    "--image_directory", "single")
    assert single.returncode == 0, single.stderr
    with background(queue, worker_env, tmp_path, *store, "--type_of_dataflow",
                    "multi_process_merge_output", "--image_directory", "split") as merge:
        produced = run_go(queue, worker_env, tmp_path, *COMMON, *store, "--spill_count", "12",
                          "--type_of_dataflow", "multi_process_input_transform")
        assert produced.returncode == 0, produced.stderr + worker.log()
        assert "spills stored:    14 in the document store" in produced.stdout
        merge.wait(timeout=GO_TIMEOUT)
        stdout, stderr = merge.communicate()
    assert merge.returncode == 0, stderr
    assert "spills done:      14 (12 physics, 2 run markers)" in stdout
    assert sidecars(tmp_path / "split") == sidecars(tmp_path / "single")
    with store_of(store) as opened:
        assert opened.count() == 0  # reduced by the only consumer, then deleted


def test_merge_output_killed_mid_run_resumes_and_counts_every_spill_once(
        start_workers, queue, worker_env, tmp_path):
    start_workers(1, concurrency=2)
    store = sqlite_store(tmp_path)
    spills = ["--spill_count", "40"]
    single = run_go(queue, worker_env, tmp_path, *COMMON, *spills, "--image_directory", "single")
    produced = run_go(queue, worker_env, tmp_path, *COMMON, *store, *spills,
                      "--type_of_dataflow", "multi_process_input_transform")
    assert single.returncode == 0 and produced.returncode == 0, produced.stderr
    # Drawn inline every 3 spills, merge-output takes seconds: long enough to be killed.
    merge_output = [*store, "--type_of_dataflow", "multi_process_merge_output",
                    "--image_directory", "split", "--refresh_rate", "3",
                    "--histogram_drawing", "inline"]
    with store_of(store) as opened, \
            background(queue, worker_env, tmp_path, *merge_output) as doomed:
        wait_until(lambda: opened.consumers().get("default", None) is not None
                   and opened.consumers()["default"].cursor >= 15, "15 spills reduced",
                   process=doomed)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=30)
        state = opened.consumers()["default"]
        assert state.reduced < state.cursor < 42  # killed inside the run
    resumed = run_go(queue, worker_env, tmp_path, *merge_output)
    assert resumed.returncode == 0, resumed.stderr
    assert "rebuilt the open run from" in resumed.stdout
    final = sidecars(tmp_path / "split")
    assert {seen for seen, _ in final.values()} == {40}
    assert final == sidecars(tmp_path / "single")


def test_two_consumers_with_different_reducers_and_deletion_after_both(
        start_workers, queue, worker_env, tmp_path):
    start_workers(1, concurrency=2)
    store = sqlite_store(tmp_path)
    consumer = [*store, "--type_of_dataflow", "multi_process_merge_output"]
    with store_of(store) as opened, \
            background(queue, worker_env, tmp_path, *consumer, "--merge_output_consumer",
                       "counts", "--reducers", "ReducePyCountSpills", "--outputters",
                       "OutputPyJSON", "--output_json_file_name", "counts.jsonl") as counts, \
            background(queue, worker_env, tmp_path, *consumer, "--merge_output_consumer",
                       "tof", "--reducers", "ReducePyTOFPlot",
                       "--image_directory", "tof") as tof:
        wait_until(lambda: set(opened.consumers()) == {"counts", "tof"},
                   "both consumers registered")
        # The producer's configuration names what its consumers read: both reducers' fill
        # parts run on the workers, and OutputPyJSON has whole spills stored.
        produced = run_go(queue, worker_env, tmp_path, *COMMON, *store, "--spill_count", "8",
                          "--type_of_dataflow", "multi_process_input_transform",
                          "--reducers", "ReducePyCountSpills,ReducePyTOFPlot",
                          "--outputters", "OutputPyJSON")
        assert produced.returncode == 0, produced.stderr
        for process in (counts, tof):
            process.wait(timeout=GO_TIMEOUT)
            stdout, stderr = process.communicate()
            assert process.returncode == 0, stderr
            assert "spills done:      10 (8 physics, 2 run markers)" in stdout
        assert opened.count() == 0
        assert {state.reduced for state in opened.consumers().values()} == {10}
    spills = (tmp_path / "counts.jsonl").read_text().splitlines()
    assert [json.loads(line)["spill_number"] for line in spills] == list(range(10))
    assert {seen for seen, _ in sidecars(tmp_path / "tof").values()} == {8}


def test_multi_process_updates_a_plot_while_the_run_is_still_being_read(
        start_workers, queue, worker_env, tmp_path):
    start_workers(1, concurrency=2)
    args = [*COMMON, *sqlite_store(tmp_path), "--type_of_dataflow", "multi_process",
            "--spill_count", "40", "--spill_interval", "0.25", "--refresh_rate", "2",
            "--image_directory", "live"]
    with background(queue, worker_env, tmp_path, *args) as go:
        plot = tmp_path / "live" / "tof_time_01.json"
        wait_until(plot.exists, "a first plot", process=go)
        early = json.loads(plot.read_text())["image"]["spills_seen"]
        assert go.poll() is None and early < 40  # drawn while spills are still coming in
        go.wait(timeout=GO_TIMEOUT)
        assert go.returncode == 0, go.communicate()
    assert json.loads(plot.read_text())["image"]["spills_seen"] == 40


def test_an_in_memory_store_cannot_be_shared_with_workers(go_command, tmp_path):
    result = subprocess.run([*go_command, "--type_of_dataflow", "multi_process",
                             "--doc_store_class", "memory"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "doc_store_class memory lives inside one process" in result.stderr


def test_every_dataflow_gives_the_same_bins_and_two_merge_outputs_each_reduce_every_spill(
        start_workers, queue, worker_env, tmp_path):
    # The fill parts run in go.py (single thread) or on the workers (the others); the sums of
    # the partials are exact, so every sidecar holds the same numbers, whoever filled them.
    (worker,) = start_workers(1, concurrency=2)
    common = [*COMMON, "--spill_count", "15", "--refresh_rate", "4"]
    single = run_go(queue, worker_env, tmp_path, *common, "--image_directory", "single")
    multi = run_go(queue, worker_env, tmp_path, *common, "--type_of_dataflow", "multi_process",
                   *sqlite_store(tmp_path / "multi"), "--image_directory", "multi")
    assert single.returncode == 0 and multi.returncode == 0, single.stderr + multi.stderr
    store = sqlite_store(tmp_path / "split")
    consumer = [*store, "--type_of_dataflow", "multi_process_merge_output", "--refresh_rate", "4"]
    with store_of(store) as opened, \
            background(queue, worker_env, tmp_path, *consumer, "--merge_output_consumer", "a",
                       "--image_directory", "split_a") as first, \
            background(queue, worker_env, tmp_path, *consumer, "--merge_output_consumer", "b",
                       "--image_directory", "split_b") as second:
        wait_until(lambda: set(opened.consumers()) == {"a", "b"}, "both consumers registered")
        produced = run_go(queue, worker_env, tmp_path, *common, *store,
                          "--type_of_dataflow", "multi_process_input_transform")
        assert produced.returncode == 0, produced.stderr + worker.log()
        for process in (first, second):
            process.wait(timeout=GO_TIMEOUT)
            stdout, stderr = process.communicate()
            assert process.returncode == 0, stderr
            assert "spills done:      17 (15 physics, 2 run markers)" in stdout
    reference = sidecars(tmp_path / "single")
    assert len(reference) == 20 and {seen for seen, _ in reference.values()} == {15}
    for directory in ("multi", "split_a", "split_b"):
        assert sidecars(tmp_path / directory) == reference, directory
