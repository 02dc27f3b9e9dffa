"""Shared fixtures: the repository root, a fresh module registry, spill skeletons."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from maus_online.spill import skeleton  # noqa: F401 - the tests' spill skeletons

REPO_ROOT = Path(__file__).resolve().parent.parent

# Fixtures that start real servers and workers, available to every test module.
pytest_plugins = ["tests.celery_workers", "tests.doc_store_backends",
                  "tests.couchdb_server"]


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def registry():
    """A private registry (built-ins + entry points), so tests never share registrations."""
    from maus_online.registry import build_default_registry

    return build_default_registry()


@pytest.fixture
def go_command(repo_root: Path) -> list[str]:
    """The command that runs go.py with this interpreter."""
    return [sys.executable, str(repo_root / "go.py")]


def make_config(**overrides) -> dict:
    """The merged default configuration with ``overrides``, as go.py would hand it to birth."""
    from maus_online.configuration import default_configuration

    return default_configuration(overrides)

