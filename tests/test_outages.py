"""Fault injection on real servers: a run outlives a RabbitMQ or Redis outage (issue 12).

Each test gives go.py and one real worker a broker and a Redis of their own
(tests/private_servers.py), takes one away in the middle of a ``multi_process`` run, brings it
back, and checks what a shifter and a physicist would:

* go.py said which server was down (MAUS-108) and that it was back (MAUS-140), and printed no
  raw traceback;
* 0 spills lost and 0 doubled: every physics spill was reduced exactly once;
* the final bins equal a single-thread run of the same spills.

A server that stays away past ``server_outage_timeout`` ends the run with MAUS-141, and the
images of what was reduced are written.
"""
from __future__ import annotations

import time

import pytest

from maus_online.catalogue import CATALOGUE
from maus_online.configuration import default_configuration
from maus_online.doc_store import open_doc_store
from tests.celery_workers import WorkerProcess, go_in_background, run_go
from tests.private_servers import private_rabbitmq, private_redis  # noqa: F401 - fixtures
from tests.processes import wait_until
from tests.test_split_dataflows import sidecars

SPILLS = 40
COMMON = ["--particles_per_spill", "20", "--random_seed", "5", "--spill_count", str(SPILLS)]
#: Spills arrive as from the beam, so the outage falls in the middle of the run.
PACED = ["--spill_interval", "0.2"]
#: Seconds a server stays away: longer than any retry Celery or kombu makes on its own.
OUTAGE = 8.0


@pytest.fixture
def farm(tmp_path, worker_env, queue, private_rabbitmq, private_redis):
    """One worker (two sub-processes) on the private broker and Redis; go.py's environment."""
    env = {**worker_env, "MAUS_BROKER_URL": private_rabbitmq.url,
           "MAUS_RESULT_BACKEND": private_redis.url(0),
           "MAUS_SPILL_EXCHANGE_URL": private_redis.url(1)}
    from workers.app import create_app

    app = create_app({**default_configuration(), "broker_url": private_rabbitmq.url,
                      "result_backend": private_redis.url(0)})
    worker = WorkerProcess(queue, tmp_path, env, concurrency=2)
    try:
        worker.start().wait_ready(app)
        yield env, worker
    finally:
        worker.stop()
        app.close()


def single_thread_bins(queue, env, tmp_path):
    single = run_go(queue, env, tmp_path, *COMMON, "--image_directory", "single")
    assert single.returncode == 0, single.stderr
    return sidecars(tmp_path / "single")


def reduced(tmp_path):
    """How many spills go.py's merge side has reduced so far (the run is under way)."""
    store = open_doc_store({"doc_store_class": "sqlite",
                            "doc_store_url": f"sqlite:///{tmp_path}/store.db"})
    try:
        consumer = store.consumers().get("default")
        return consumer.cursor if consumer is not None else 0
    finally:
        store.close()


def multi_process(queue, env, tmp_path, *extra):
    return go_in_background(queue, env, tmp_path, *COMMON, *PACED, *extra,
                            "--type_of_dataflow", "multi_process",
                            "--doc_store_url", f"sqlite:///{tmp_path}/store.db",
                            "--image_directory", "multi")


def assert_whole_run(go, tmp_path, expected):
    stdout, stderr = go.communicate(timeout=240)
    assert go.returncode == 0, stdout + stderr
    assert "Traceback" not in stderr, stderr
    assert sidecars(tmp_path / "multi") == expected  # 0 lost, 0 doubled, same bins


@pytest.mark.parametrize("server", ["RabbitMQ", "Redis"])
def test_an_outage_pauses_the_run_and_it_goes_on(farm, queue, tmp_path, private_rabbitmq,
                                                  private_redis, server):
    # RabbitMQ: stop_app and start_app. Redis restarts empty, as a Redis without persistence
    # does: results it held are lost, and go.py sends what was in flight again.
    take_away, bring_back = {
        "RabbitMQ": (private_rabbitmq.stop_app, private_rabbitmq.start_app),
        "Redis": (private_redis.shutdown, private_redis.restart)}[server]
    env, worker = farm
    expected = single_thread_bins(queue, env, tmp_path)
    with multi_process(queue, env, tmp_path) as go:
        wait_until(lambda: reduced(tmp_path) >= 6, "the run under way", process=go)
        take_away()
        try:
            wait_until(lambda: CATALOGUE["MAUS-108"].found_in(go.output()),
                       f"go.py saying that {server} is down", timeout=60, process=go)
            time.sleep(OUTAGE)  # the fault itself: how long the server stays away
        finally:
            bring_back()
        wait_until(lambda: CATALOGUE["MAUS-140"].found_in(go.output()),
                   f"go.py saying that {server} is back", timeout=120, process=go)
        assert_whole_run(go, tmp_path, expected)
    assert f"MAUS-108 {server} " in go.output()
    assert f"MAUS-140 {server} " in go.output()


def test_a_broker_that_stays_away_ends_the_run_with_its_images(farm, queue, tmp_path,
                                                               private_rabbitmq):
    env, worker = farm
    with multi_process(queue, env, tmp_path, "--server_outage_timeout", "3") as go:
        wait_until(lambda: reduced(tmp_path) >= 6, "the run under way", process=go)
        private_rabbitmq.stop_app()
        try:
            stdout, stderr = go.communicate(timeout=120)
        finally:
            private_rabbitmq.start_app()
    assert go.returncode == 1, stdout + stderr
    assert CATALOGUE["MAUS-141"].found_in(stderr), stderr
    assert "Traceback" not in stdout + stderr
    plots = sidecars(tmp_path / "multi")
    assert plots, "no images of the spills reduced before the outage"
    seen = {spills for spills, _ in plots.values()}
    assert all(0 < spills < SPILLS for spills in seen), seen  # what was reduced, no more
