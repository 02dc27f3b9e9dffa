"""``maus-worker``: start a Celery worker of MAUS Online, as ``celery -A workers worker`` does.

    maus-worker -c 2 -l INFO --purge

Every option of ``celery worker`` is accepted; the broker comes from ``MAUS_BROKER_URL`` or
the ``broker_url`` key of ``$MAUS_CONFIGURATION_FILE`` (docs/workers.md).
"""
from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    from .app import app

    app.worker_main(["worker", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
