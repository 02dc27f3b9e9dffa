"""Dynamic worker configuration: the ``maus_birth`` broadcast and the ``maus_configuration`` query.

go.py broadcasts what the spill side runs (the transform specification and the reducers whose
fill parts run next to the data), its configuration, a configuration ID and its version. The
worker's main process refuses another version, then asks **every** pool sub-process, by PID,
over its control channel, to kill the old spill side and birth the new one;
only when all confirm does it keep the new ID. It keeps the configuration in memory, so a
sub-process forked later (to replace one that died) inherits it and is born with it at start.
Replies are small status dicts, as Celery's own control commands return.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from celery import signals
from celery.worker.control import control_command, inspect_command, nok, ok

from maus_online import __version__
from maus_online.catalogue import GUIDE, say
from maus_online.tuning import tune_garbage_collector

from .child_channel import ChildChannel, ask_child, make_channel_directory
from .host import current_host

log = logging.getLogger(__name__)

#: Seconds a status query waits for one sub-process.
STATUS_TIMEOUT = 5.0
#: Seconds the farm status's query waits for one sub-process (it asks every few seconds).
PEEK_TIMEOUT = 1.0

# State of the worker's main process; a sub-process inherits it when it is forked.
_channel_directory: Path | None = None
_committed: dict[str, Any] | None = None
_channel: ChildChannel | None = None
#: When this worker started (epoch s): the farm status's "joined".
_started: float | None = None

Ask = Callable[[int, dict[str, Any], float], dict[str, Any]]


# --- Start-up and shut-down ---------------------------------------------------------------

@signals.worker_init.connect
def _make_channel_directory(**_: Any) -> None:
    global _channel_directory, _started
    _channel_directory = make_channel_directory()
    _started = time.time()


@signals.worker_process_init.connect
def _start_sub_process(**_: Any) -> None:
    """In each new pool sub-process: open its channel, then birth the kept configuration."""
    global _channel
    tune_garbage_collector()
    if _channel_directory is None:
        return
    _channel = ChildChannel(_channel_directory, handle_request).start()
    if _committed is not None:
        status = handle_request({"command": "birth", **_committed})
        if not status["ok"]:
            log.error("%s", say("MAUS-203", config_id=_committed["config_id"],
                                error=status["error"]))


@signals.worker_ready.connect
def _announce(sender: Any = None, **_: Any) -> None:
    """Say, once the worker consumes, which version and queues, and where the guide is."""
    try:
        queues = ", ".join(sorted(q.name for q in sender.task_consumer.queues))
    except AttributeError:  # not a regular consumer (tests, a custom bootstep)
        queues = "?"
    log.info("%s", say("MAUS-200", version=__version__, queues=queues, guide=GUIDE))


@signals.worker_shutdown.connect
def _remove_channel_directory(**_: Any) -> None:
    if _channel_directory is not None:
        shutil.rmtree(_channel_directory, ignore_errors=True)


def handle_request(request: dict[str, Any]) -> dict[str, Any]:
    """What a sub-process does with a request from its main process."""
    host = current_host()
    if request.get("command") == "birth":
        return host.birth(request["spill_side"], request["configuration"], request["config_id"])
    if request.get("command") == "status":
        return host.status()
    if request.get("command") == "peek":
        return host.peek()
    return {"ok": False, "error": {"type": "UnknownCommand",
                                   "message": f"unknown request {request.get('command')!r}"}}


# --- Birth in every sub-process -------------------------------------------------------------

def birth_everywhere(list_pids: Callable[[], list[int]], ask: Ask, request: dict[str, Any],
                     timeout: float, commit: Callable[[], None]) -> dict[str, Any]:
    """Birth ``request`` in every sub-process; ``commit`` only when every one confirmed.

    Returns ``{"processes": {pid: config_id}, "failed": {pid: error}}``. After the commit the
    pool is looked at once more: a sub-process forked during the birth inherited the old
    configuration and is asked too.
    """
    deadline = time.monotonic() + timeout
    confirmed: dict[str, Any] = {}
    failed: dict[str, Any] = {}

    def ask_all(pids: list[int]) -> None:
        for pid in pids:
            reply = ask(pid, {"command": "birth", **request},
                        max(0.1, deadline - time.monotonic()))
            if reply.get("ok") and reply.get("config_id") == request["config_id"]:
                confirmed[str(pid)] = request["config_id"]
            else:
                failed[str(pid)] = reply.get("error") or {"message": "no reason given"}

    ask_all(list_pids())
    if failed or not confirmed:
        return {"processes": confirmed, "failed": failed}
    commit()
    ask_all([pid for pid in list_pids() if str(pid) not in confirmed])
    return {"processes": confirmed, "failed": failed}


def _pool_pids(state: Any) -> list[int]:
    """PIDs of the prefork pool's sub-processes; none for a solo or thread pool."""
    return list(state.consumer.pool.info.get("processes", []))


def _asker(state: Any) -> tuple[Callable[[], list[int]], Ask]:
    """How to reach the processes that run tasks: the sub-processes, or this one."""
    if _channel_directory is not None and _pool_pids(state):
        directory = _channel_directory
        return (lambda: _pool_pids(state),
                lambda pid, request, timeout: ask_child(directory, pid, request, timeout))
    # A solo or thread pool: tasks run in this very process.
    return (lambda: [os.getpid()], lambda pid, request, timeout: handle_request(request))


@control_command(
    args=[("spill_side", dict), ("configuration", dict), ("config_id", str),
          ("version", str), ("timeout", float)],
    signature="<spill_side> <configuration> <config_id> <version> [timeout]",
)
def maus_birth(state: Any, spill_side: dict | None = None, configuration: dict | None = None,
               config_id: str = "", version: str = "", timeout: float = 60.0) -> dict:
    """Birth a new spill side (transform chain and fill parts, a SpillSideSpec's dict) in every
    sub-process of this worker."""
    global _committed
    if version != __version__:
        message = say("MAUS-103", theirs=version or "(none given)", ours=__version__)
        log.error("%s", message)
        return nok(message)
    if _committed is not None and _committed["config_id"] == config_id:
        return ok({"config_id": config_id, "processes": {}, "note": "already configured"})
    request = {"spill_side": spill_side, "configuration": configuration,
               "config_id": config_id}

    def commit() -> None:
        global _committed
        _committed = request

    list_pids, ask = _asker(state)
    outcome = birth_everywhere(list_pids, ask, request, timeout, commit)
    if outcome["failed"] or not outcome["processes"]:
        log.error("%s", say("MAUS-202", config_id=config_id, failed=outcome["failed"]))
        return nok({"reason": "birth failed in a sub-process", **outcome})
    log.info("configuration %s born in sub-processes %s", config_id,
             ", ".join(outcome["processes"]))
    return ok({"config_id": config_id, **outcome})


@inspect_command()
def maus_configuration(state: Any) -> dict:
    """This worker's configuration ID, what its spill side runs (transform specification and
    fill parts), its version, and each sub-process's configuration ID."""
    list_pids, ask = _asker(state)
    processes = {}
    for pid in list_pids():
        reply = ask(pid, {"command": "status"}, STATUS_TIMEOUT)
        processes[str(pid)] = reply.get("config_id") if "config_id" in reply else reply
    committed = _committed or {}
    spill_side = committed.get("spill_side") or {}
    return {"config_id": committed.get("config_id"),
            "specification": spill_side.get("transform"),
            "fillers": spill_side.get("fillers", []),
            "version": __version__, "processes": processes}


@inspect_command()
def maus_farm(state: Any) -> dict:
    """What go.py's farm status shows of this worker: when it started, the queues it consumes,
    its configuration ID, and each sub-process's, in that sub-process's own word.

    Each sub-process is asked (over its control channel, without waiting for the spill it
    processes) rather than answered for from the births this process saw: a sub-process
    forked to replace a dead one births itself, and may have failed to (MAUS-203).
    """
    list_pids, ask = _asker(state)
    processes = {}
    for pid in list_pids():
        reply = ask(pid, {"command": "peek"}, PEEK_TIMEOUT)
        processes[str(pid)] = reply.get("config_id")
    try:
        queues = sorted(queue.name for queue in state.consumer.task_consumer.queues)
    except AttributeError:  # not consuming yet
        queues = []
    return {"started": _started, "queues": queues,
            "config_id": (_committed or {}).get("config_id"), "processes": processes}
