"""MAUS Online: the framework of the online reconstruction (modules, configuration, spills, dataflows).

This package is the ground floor: it imports neither Celery nor Django.
"""
from __future__ import annotations

__version__ = "0.1.0"
