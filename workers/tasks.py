"""The Celery task: ``execute_transform`` runs this sub-process's spill side on a batch of spills.

One task carries a batch of spills (one spill when a worker was free, up to
``spills_per_task`` when go.py had a backlog), each with its ``seq``. Spill in: inline (a small
skeleton) or, for a big one, a key in the spill exchange. Spill out: written by the worker
itself into the document store at its ``seq`` -- the spill side's form: envelope, partials,
the fields the merge side reads; the task's result is a small JSON dict with a status and the
``seq`` numbers that failed, never a body (DESIGN §5). A redelivered task writes the same
``seq`` numbers again, which replaces: each spill is stored once. The task never raises: an
exception becomes a JSON-safe error record, so nothing that cannot be serialised ever reaches
the result back end.
"""
from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from typing import Any

from maus_online import codec
from maus_online.catalogue import say
from maus_online.doc_store import DocumentStore, Retrying, StoredSpill, open_doc_store

from .app import TASK_NAME, app
from .errors import ConfigurationMismatch, describe_exception, one_line
from .host import current_host
from .spill_exchange import SpillExchange

log = logging.getLogger(__name__)

_exchanges: dict[tuple[int, str, int], SpillExchange] = {}
_stores: dict[tuple[int, str, str], DocumentStore] = {}


def exchange_for(config: Mapping[str, Any]) -> SpillExchange:
    """This process's connection to the spill exchange named in the born configuration."""
    key = (os.getpid(), config["spill_exchange_url"], config["spill_exchange_ttl"])
    if key not in _exchanges:
        _exchanges[key] = SpillExchange(config["spill_exchange_url"],
                                        config["spill_exchange_ttl"])
    return _exchanges[key]


def store_for(config: Mapping[str, Any]) -> DocumentStore:
    """This process's connection to the document store named in the born configuration.

    Only the built-in back ends: the name arrived over the network (the birth broadcast).
    """
    key = (os.getpid(), config["doc_store_class"], config["doc_store_url"])
    if key not in _stores:
        _stores[key] = open_doc_store(config, allow_import_path=False)
    return _stores[key]


def _store(config: Mapping[str, Any], seq: int, spill: dict[str, Any]) -> None:
    # A store restarting for a few seconds must not lose the spill: wait it out.
    retrying = Retrying(config["server_outage_timeout"], log.warning)
    document = StoredSpill.encode(seq, spill)
    retrying.call(f"store spill {seq}", lambda: store_for(config).put(document))


@app.task(name=TASK_NAME, bind=True)
def execute_transform(self, batch: list[dict[str, Any]] | None = None,
                      config_id: str = "") -> dict[str, Any]:
    """Transform each spill of ``batch`` (``{"seq", "spill" or "spill_key"}``) with the spill
    side born for ``config_id``, into the store at its ``seq``.

    A spill that fails is reported by ``seq`` in ``failed`` and the others go on; a task for
    another configuration is refused whole, before any spill is read.
    """
    host = current_host()
    # The node name (w1@host) tells workers on one machine apart.
    # The broker's flag: another worker (or this one, before it died) had the task first;
    # go.py counts it per worker in the farm status.
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    where = {"hostname": self.request.hostname or socket.gethostname(), "pid": os.getpid(),
             "seqs": [item.get("seq") for item in batch or ()], "redelivered": redelivered}
    failed: dict[str, Any] = {}
    try:
        # Checked before a spill is even read, and again under the lock that processes it
        # (a birth may come in between: the rest of the batch is then refused too).
        config = host.configuration_for(config_id)
        for item in batch or ():
            seq = item["seq"]
            try:
                spill = item.get("spill")
                if item.get("spill_key") is not None:
                    spill = codec.loads(exchange_for(config).get(item["spill_key"]))
                _store(config, seq, host.process(spill, config_id))
            except ConfigurationMismatch:
                raise
            except Exception as exc:  # noqa: BLE001 - reported to go.py with its traceback
                failed[str(seq)] = error = describe_exception(exc)
                log.error("%s\n%s", say("MAUS-132", reason=f"spill {seq}: {one_line(error)}"),
                          error["traceback"])
    except ConfigurationMismatch as exc:
        error = describe_exception(exc)
        log.error("%s", say("MAUS-131", reason=one_line(error)))
        return {"status": "refused", "error": error, **where}
    return {"status": "ok", "failed": failed, **where}
