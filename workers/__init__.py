"""Celery workers for MAUS Online: the app, the ``execute_transform`` task, worker birth.

``celery -A workers worker -c 2 -l INFO`` starts a worker from a checkout; ``maus-worker``
does the same once the package is installed. ``maus_online`` never imports this package:
go.py hands the ``multi_process`` dataflow a :class:`workers.executor.CeleryExecutor`.
"""
from __future__ import annotations

from . import control  # noqa: F401 - registers maus_birth / maus_configuration for the CLI too
from .app import app

__all__ = ["app"]
