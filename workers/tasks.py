"""The Celery task: ``execute_transform`` runs this sub-process's transform chain on one spill.

Spill in: inline (a small skeleton) or, for a big one, a key in the spill exchange. Spill out:
always through the spill exchange; the task's result is a small JSON dict with the key and a
status, never the body (DESIGN §5). The task never raises: an exception becomes a JSON-safe
error record, so nothing that cannot be serialised ever reaches the result back end.
"""
from __future__ import annotations

import logging
import os
import socket
from typing import Any

from maus_online import codec

from .app import TASK_NAME, app
from .errors import ConfigurationMismatch, describe_exception, one_line
from .host import current_host
from .spill_exchange import SpillExchange, output_key

log = logging.getLogger(__name__)

_exchanges: dict[tuple[int, str, int], SpillExchange] = {}


def exchange_for(config: dict[str, Any]) -> SpillExchange:
    """This process's connection to the spill exchange named in the born configuration."""
    key = (os.getpid(), config["spill_exchange_url"], config["spill_exchange_ttl"])
    if key not in _exchanges:
        _exchanges[key] = SpillExchange(config["spill_exchange_url"],
                                        config["spill_exchange_ttl"])
    return _exchanges[key]


@app.task(name=TASK_NAME, bind=True)
def execute_transform(self, spill: dict[str, Any] | None = None, config_id: str = "",
                      spill_key: str | None = None) -> dict[str, Any]:
    """Transform one spill with the chain born for ``config_id``; return its key and status."""
    host = current_host()
    # The node name (w1@host) tells workers on one machine apart.
    where = {"hostname": self.request.hostname or socket.gethostname(), "pid": os.getpid()}
    try:
        # Checked before the spill is even read, and again under the lock that processes it.
        exchange = exchange_for(host.configuration_for(config_id))
        if spill_key is not None:
            spill = codec.loads(exchange.get(spill_key))
        transformed = host.process(spill, config_id)
        key = exchange.put(output_key(self.request.id), codec.dumps(transformed))
        return {"status": "ok", "spill_key": key, **where}
    except ConfigurationMismatch as exc:
        error = describe_exception(exc)
        log.error("spill refused: %s", one_line(error))
        return {"status": "refused", "error": error, **where}
    except Exception as exc:  # noqa: BLE001 - reported to go.py with its traceback
        error = describe_exception(exc)
        log.error("spill failed: %s\n%s", one_line(error), error["traceback"])
        return {"status": "failed", "error": error, **where}
