"""``python -m reducers.contract [PACKAGE] [pytest options]``: the reducer contract, run.

Exit status: pytest's (0 when every test passed), or 2 when PACKAGE declares no module in the
entry-point group ``maus_online.modules`` or has no reducer there.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from . import PACKAGE_OPTION, TRANSFORMER_OPTION

ENTRY_POINT_GROUP = "maus_online.modules"  # maus_online.registry's, without importing it
NO_TESTS_COLLECTED = 5


class _ContractOptions:
    """The pytest plug-in of this command: ``--maus-package`` and ``--maus-transformer``."""

    @staticmethod
    def pytest_addoption(parser: pytest.Parser) -> None:
        parser.addoption("--maus-package", dest=PACKAGE_OPTION, default=None,
                         help="run the contract on the reducers of this package only")
        parser.addoption("--maus-transformer", dest=TRANSFORMER_OPTION, default=None,
                         help="transform specification that makes the spills (default: "
                              "the configuration's default chain)")


def _declares_modules(package: str) -> bool:
    return any(ep.value.split(":")[0].split(".")[0] == package
               for ep in entry_points(group=ENTRY_POINT_GROUP))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    package = args.pop(0) if args and not args[0].startswith("-") else None
    if package is not None and not _declares_modules(package):
        print(f"reducers.contract: no registered reducer comes from package {package!r}; is it "
              f"installed, with its entry points in the group {ENTRY_POINT_GROUP}?",
              file=sys.stderr)
        return 2
    tests = Path(__file__).with_name("tests.py")
    options = ["-p", "no:cacheprovider", *args]
    if package:
        options += ["--maus-package", package]
    status = int(pytest.main([str(tests), *options], plugins=[_ContractOptions()]))
    if status == NO_TESTS_COLLECTED and package:
        print(f"reducers.contract: package {package!r} registers no reducer", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
