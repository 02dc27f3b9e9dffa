"""The Celery application of MAUS Online.

Configured from the same configuration table as go.py (``conf/defaults.toml``, then
``$MAUS_CONFIGURATION_FILE`` on a farm node, then environment variables such as
``MAUS_BROKER_URL``), with the settings that make a spill survive a dying worker:

* JSON only, in both directions: a worker never unpickles anything from the network;
* late acknowledgement, reject-on-worker-lost and prefetch 1: a task is acknowledged after it
  ran, so a spill in a process that dies is redelivered, and a worker holds one spill per
  sub-process, so a dying worker strands no queue of them.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from celery import Celery
from celery.signals import celeryd_init

from maus_online.configuration import default_configuration, load_configuration

#: Environment variable naming a configuration file for a farm node's workers.
CONFIGURATION_FILE_ENV = "MAUS_CONFIGURATION_FILE"
TASK_NAME = "maus_online.execute_transform"


def node_configuration() -> dict[str, Any]:
    """The configuration a worker starts with (go.py sends the run's own at each birth)."""
    path = os.environ.get(CONFIGURATION_FILE_ENV)
    return load_configuration(["--configuration_file", path]) if path else default_configuration()


def configure_app(app: Celery, config: Mapping[str, Any]) -> Celery:
    """Apply the connection and delivery settings of ``config`` to ``app``."""
    app.conf.update(
        broker_url=config["broker_url"],
        result_backend=config["result_backend"],
        task_default_queue=config["task_queue"],
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # Results are tiny (keys and statuses) and collected at once; an hour is plenty.
        result_expires=3600,
        broker_connection_retry_on_startup=True,
        # A broker restart is ridden out, however long (go.py decides when a run gives up,
        # after server_outage_timeout): a worker reconnects by itself and goes on.
        broker_connection_max_retries=None,
        # A worker whose link was cut reconnects before the broker has noticed that its old
        # connection is dead; with the default exclusive control queue, re-declaring it fails
        # (RESOURCE_LOCKED) and the worker exits for good (seen in tests/test_two_hosts.py).
        control_queue_exclusive=False,
        worker_hijack_root_logger=True,
    )
    return app


@celeryd_init.connect
def _ride_out_outages_in_a_worker(conf: Any = None, **_: Any) -> None:
    """In a worker only: a result the back end does not take (Redis restarting) is stored
    again with back-off, for about server_outage_timeout's default, rather than lost. Not in
    go.py, which must not block inside Celery: it rides out the outage itself (MAUS-108).
    Heartbeats too: a worker's event loop sends them; go.py's publishing connection would
    miss them between spills and be dropped."""
    conf.update(result_backend_always_retry=True, result_backend_max_retries=40,
                result_backend_max_sleep_between_retries_ms=10_000,
                # The broker notices a worker cut off within ~20 s (two missed heartbeats)
                # and gives the spills it held to the others, or to the worker once back.
                broker_heartbeat=10)


def create_app(config: Mapping[str, Any] | None = None) -> Celery:
    # fixups=[]: a worker has nothing to do with Django, even on a node whose environment
    # sets DJANGO_SETTINGS_MODULE for the web front-end (Celery would set Django up).
    app = Celery("maus_online", include=["workers.tasks", "workers.control"], fixups=[])
    return configure_app(app, config or node_configuration())


app = create_app()
