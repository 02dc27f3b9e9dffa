"""The split dataflow on CouchDB (a real pouchdb-server), and a store outage in mid-run.

Two go.py processes and a real Celery worker share a CouchDB database; the server is taken away
for a few seconds while spills flow, and everything resumes with nothing lost.
"""
from __future__ import annotations

import uuid

from maus_online.doc_store import open_doc_store
from tests.celery_workers import GO_TIMEOUT, go_in_background, run_go
from tests.processes import wait_until
from tests.test_split_dataflows import COMMON, sidecars


def couchdb_store(server):
    return ["--doc_store_class", "couchdb",
            "--doc_store_url", f"{server.url}/maus_{uuid.uuid4().hex[:8]}"]


def store_of(args):
    return open_doc_store({"doc_store_class": args[1], "doc_store_url": args[3]})


def test_input_transform_and_merge_output_as_two_processes_on_couchdb(
        start_workers, couchdb_server, queue, worker_env, tmp_path):
    (worker,) = start_workers(1, concurrency=2)
    store = couchdb_store(couchdb_server)
    single = run_go(queue, worker_env, tmp_path, *COMMON, "--spill_count", "10",
                    "--image_directory", "single")
    assert single.returncode == 0, single.stderr
    with go_in_background(queue, worker_env, tmp_path, *store, "--type_of_dataflow",
                          "multi_process_merge_output", "--image_directory", "split") as merge:
        produced = run_go(queue, worker_env, tmp_path, *COMMON, *store, "--spill_count", "10",
                          "--type_of_dataflow", "multi_process_input_transform")
        assert produced.returncode == 0, produced.stderr + worker.log()
        merge.wait(timeout=GO_TIMEOUT)
        output = merge.output()
    assert merge.returncode == 0, output
    assert "spills done:      12 (10 physics, 2 run markers)" in output
    assert sidecars(tmp_path / "split") == sidecars(tmp_path / "single")
    with store_of(store) as opened:
        assert opened.count() == 0


def test_a_couchdb_outage_mid_run_is_ridden_out_and_nothing_is_lost(
        start_workers, couchdb_disk_server, queue, worker_env, tmp_path):
    (worker,) = start_workers(1, concurrency=2)
    store = couchdb_store(couchdb_disk_server)
    common = [*COMMON, *store, "--spill_count", "30"]
    with go_in_background(queue, worker_env, tmp_path, *common, "--type_of_dataflow",
                          "multi_process_merge_output", "--image_directory", "split") as merge, \
            go_in_background(queue, worker_env, tmp_path, *common, "--type_of_dataflow",
                             "multi_process_input_transform", "--spill_interval", "0.3") as produce:
        with store_of(store) as opened:
            wait_until(lambda: "default" in opened.consumers()
                       and opened.consumers()["default"].cursor >= 5, "5 spills reduced",
                       process=merge)
        couchdb_disk_server.pause()
        try:
            # The server stays away until both halves have seen it go and said so.
            wait_until(lambda: "document store unavailable" in produce.output()
                       and "document store unavailable" in merge.output(),
                       "both halves reporting the outage", timeout=60)
        finally:
            couchdb_disk_server.resume()
        produce.wait(timeout=GO_TIMEOUT)
        merge.wait(timeout=GO_TIMEOUT)
        produced, merged = produce.output(), merge.output()
    assert produce.returncode == 0, produced + worker.log()
    assert merge.returncode == 0, merged
    for output in (produced, merged):
        assert "retrying in" in output and "document store back:" in output
    assert "spills stored:    32 in the document store (0 with no worker's result)" in produced
    assert "spills done:      32 (30 physics, 2 run markers)" in merged
    assert {seen for seen, _ in sidecars(tmp_path / "split").values()} == {30}
