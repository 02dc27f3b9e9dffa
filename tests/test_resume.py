"""A restarted producer resumes its stream (issue 12, item 2): an input-transform SIGKILLed in
the middle of a run and started again on the same input goes on where the store says it
stopped. Nothing is stored twice, merge-output reduces each spill once, and the final bins
equal a single-thread run of the same input -- for the simulated beam and for a file. Another
input refuses (MAUS-143) unless --restart_run starts the stream over (MAUS-144).
"""
from __future__ import annotations

import pytest

from maus_online.catalogue import CATALOGUE
from maus_online.doc_store import open_doc_store
from tests.celery_workers import go_in_background, run_go
from tests.processes import wait_until
from tests.test_split_dataflows import sidecars

SPILLS = 30
BEAM = ["--particles_per_spill", "20", "--random_seed", "7", "--spill_count", str(SPILLS)]


def store_args(tmp_path):
    return ["--doc_store_class", "sqlite", "--doc_store_url", f"sqlite:///{tmp_path}/store.db"]


def opened(tmp_path):
    return open_doc_store({"doc_store_class": "sqlite",
                           "doc_store_url": f"sqlite:///{tmp_path}/store.db"})


def stored(tmp_path) -> int:
    with opened(tmp_path) as store:
        return store.stream().watermark


def kill_mid_run(queue, env, tmp_path, *producer):
    """Start the producer, SIGKILL it once the run is under way; the stream is unfinished."""
    with go_in_background(queue, env, tmp_path, *producer) as first:
        wait_until(lambda: stored(tmp_path) >= 8, "8 spills stored", process=first)
        first.kill()
        first.wait(30)
    with opened(tmp_path) as store:
        stream = store.stream()
    assert not stream.finished and stream.position is not None, stream
    return stream


@pytest.mark.parametrize("input_kind", ["beam", "file"])
def test_a_killed_input_transform_resumes_and_nothing_is_lost_or_doubled(
        start_workers, queue, worker_env, tmp_path, input_kind):
    start_workers(1, concurrency=2)
    if input_kind == "beam":
        source = [*BEAM, "--spill_interval", "0.2"]
    else:
        recorded = run_go(queue, worker_env, tmp_path, *BEAM, "--image_directory", "rec",
                          "--output_json_file_name", "recorded.jsonl")
        assert recorded.returncode == 0, recorded.stderr
        source = ["--inputter", "InputPyJSON", "--input_json_file_name", "recorded.jsonl",
                  "--max_spills_in_flight", "2", "--spills_per_task", "1"]
    single = run_go(queue, worker_env, tmp_path, *source, "--image_directory", "single")
    assert single.returncode == 0, single.stderr
    producer = [*source, *store_args(tmp_path), "--type_of_dataflow",
                "multi_process_input_transform"]
    with go_in_background(queue, worker_env, tmp_path, *store_args(tmp_path),
                          "--type_of_dataflow", "multi_process_merge_output",
                          "--image_directory", "split") as merge:
        stream = kill_mid_run(queue, worker_env, tmp_path, *producer)
        again = run_go(queue, worker_env, tmp_path, *producer)
        assert again.returncode == 0, again.stdout + again.stderr
        assert CATALOGUE["MAUS-142"].found_in(again.stdout), again.stdout
        assert "spills skipped:" in again.stdout
        stdout, stderr = merge.communicate(timeout=240)
        assert merge.returncode == 0, stdout + stderr
    # 0 lost, 0 doubled: every plot saw each physics spill once, with the same bins.
    assert sidecars(tmp_path / "split") == sidecars(tmp_path / "single")
    assert {seen for seen, _ in sidecars(tmp_path / "split").values()} == {SPILLS}
    assert stream.watermark >= 8


def test_another_input_refuses_to_resume_unless_told_to_start_over(
        start_workers, queue, worker_env, tmp_path):
    start_workers(1, concurrency=2)
    producer = [*BEAM, "--spill_interval", "0.2", *store_args(tmp_path),
                "--type_of_dataflow", "multi_process_input_transform"]
    kill_mid_run(queue, worker_env, tmp_path, *producer)
    other = [*producer, "--random_seed", "8"]
    refused = run_go(queue, worker_env, tmp_path, *other)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert CATALOGUE["MAUS-143"].found_in(refused.stderr), refused.stderr
    assert "random_seed 7" in refused.stderr and "random_seed 8" in refused.stderr
    over = run_go(queue, worker_env, tmp_path, *other, "--spill_interval", "0",
                  "--restart_run", "true")
    assert over.returncode == 0, over.stdout + over.stderr
    assert CATALOGUE["MAUS-144"].found_in(over.stdout), over.stdout
    assert "spills skipped:" not in over.stdout
