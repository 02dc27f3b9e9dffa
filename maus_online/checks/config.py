"""The quality-checks file (``quality_checks_file``): which checks judge which plots.

Consumes a TOML file (docs/quality.md; the project's is ``conf/quality_checks.toml``)::

    format_version = 1
    [groups]                          # detector groups, in display order: tag patterns
    TOF1 = ["tdcadc_occupancy_tof1", "tof_xy_1"]
    [[plots]]
    tags = ["tdcadc_occupancy_tof*"]  # glob patterns of image tags
    reducer = "ReducePyHistogramTDCADCCounts"   # optional: only when it is configured
    [[plots.checks]]
    check = "CheckPyDeadChannels"     # a registered check (CheckPy*), then its parameters
    baseline = "partner"

produces a :class:`QualityChecks` with every check born (so an unknown check, MAUS-171, or a
bad parameter, MAUS-172, stops go.py when the run starts). A file that cannot be read or
has the wrong shape is MAUS-170 / MAUS-174; a pattern that matches no plot is MAUS-173
(:meth:`QualityChecks.unmatched`, checked by the merge side, which knows every reducer).
"""
from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any

from ..catalogue import say
from ..errors import ConfigurationError, UnknownModuleError
from ..resources import conf_path
from .base import CheckBase

#: The configuration key.
KEY = "quality_checks_file"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Entry:
    """One ``[[plots]]`` entry: its tag patterns, the reducer it belongs to ("" for any),
    its born checks, and where it is in the file (for messages)."""

    tags: tuple[str, ...]
    reducer: str
    checks: tuple[CheckBase, ...]
    where: str

    def matches(self, reducer: str, tag: str) -> bool:
        return (not self.reducer or self.reducer == reducer) and \
            any(fnmatchcase(tag, pattern) for pattern in self.tags)


@dataclass(frozen=True)
class QualityChecks:
    """The loaded file: the groups (name, tag patterns) in display order, and the entries."""

    path: str
    groups: tuple[tuple[str, tuple[str, ...]], ...]
    entries: tuple[Entry, ...]

    def checks_of(self, reducer: str, tag: str) -> list[CheckBase]:
        """The checks of plot ``tag`` of ``reducer``, in file order."""
        return [check for entry in self.entries if entry.matches(reducer, tag)
                for check in entry.checks]

    def groups_of(self, tag: str) -> list[str]:
        """The groups plot ``tag`` counts in, in display order."""
        return [name for name, patterns in self.groups
                if any(fnmatchcase(tag, pattern) for pattern in patterns)]

    def unmatched(self, tags: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
        """(where, pattern) of each entry's pattern that matches no plot of the reducers
        ``tags`` lists ({reducer: its plots' tags}); an entry of a reducer that is not
        configured is not in use, and so matches nothing on purpose."""
        missing = []
        for entry in self.entries:
            if entry.reducer and entry.reducer not in tags:
                continue
            plots = [tag for reducer, names in tags.items()
                     if not entry.reducer or reducer == entry.reducer for tag in names]
            missing += [(entry.where, pattern) for pattern in entry.tags
                        if not any(fnmatchcase(tag, pattern) for tag in plots)]
        return missing


EMPTY = QualityChecks("", (), ())


def quality_checks(config: Mapping[str, Any]) -> QualityChecks:
    """The checks ``quality_checks_file`` names (empty when the key is empty), read once per
    version of the file."""
    name = str(config.get(KEY) or "").strip()
    if not name:
        return EMPTY
    path = conf_path(name)
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError as exc:
        raise ConfigurationError(say("MAUS-170", path=str(path), reason=exc.strerror)) from None
    return _load(str(path), stamp)


@lru_cache(maxsize=8)
def _load(path: str, stamp: int) -> QualityChecks:
    from ..registry import build_default_registry  # the registry imports the checks

    try:
        with open(path, "rb") as stream:
            table = tomllib.load(stream)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(say("MAUS-170", path=path, reason=str(exc))) from None
    if table.get("format_version") != FORMAT_VERSION:
        raise _shape(path, "format_version", table.get("format_version"), f"{FORMAT_VERSION}")
    unknown = sorted(set(table) - {"format_version", "groups", "plots"})
    if unknown:
        raise _shape(path, unknown[0], "(set)", "only format_version, [groups], [[plots]]")
    groups = table.get("groups", {})
    if not isinstance(groups, dict):
        raise _shape(path, "groups", groups, "a table of group name = [tag patterns]")
    for name, patterns in groups.items():
        _patterns(path, f"groups.{name}", patterns)
    registry = build_default_registry()
    plots = table.get("plots", [])
    if not isinstance(plots, list):
        raise _shape(path, "plots", plots, "an array of tables, [[plots]]")
    entries = tuple(_entry(path, n, entry, registry) for n, entry in enumerate(plots))
    return QualityChecks(path, tuple((name, tuple(p)) for name, p in groups.items()), entries)


def _entry(path: str, n: int, entry: Any, registry: Any) -> Entry:
    where = f"{path} [[plots]] {n + 1}"
    if not isinstance(entry, dict):
        raise _shape(path, f"plots {n + 1}", entry, "a table")
    unknown = sorted(set(entry) - {"tags", "reducer", "checks"})
    if unknown:
        raise _shape(path, f"plots {n + 1}.{unknown[0]}", entry[unknown[0]],
                     "only tags, reducer and [[plots.checks]]")
    tags = entry.get("tags")
    tags = [tags] if isinstance(tags, str) else tags
    _patterns(path, f"plots {n + 1}.tags", tags)
    reducer = entry.get("reducer", "")
    if not isinstance(reducer, str):
        raise _shape(path, f"plots {n + 1}.reducer", reducer, "a reducer's name")
    checks = entry.get("checks", [])
    if not isinstance(checks, list) or not all(isinstance(c, dict) for c in checks):
        raise _shape(path, f"plots {n + 1}.checks", checks, "an array of tables")
    born = []
    for k, parameters in enumerate(checks):
        name = parameters.get("check")
        at = f"{where} check {k + 1}"
        try:
            cls = registry.get(str(name), kind="check")
        except UnknownModuleError:
            raise ConfigurationError(say("MAUS-171", where=at, check=name,
                                         known=", ".join(registry.names("check")))) from None
        check = cls()
        check.birth({**parameters, "where": at})
        born.append(check)
    return Entry(tuple(tags), reducer, tuple(born), where)


def _patterns(path: str, where: str, patterns: Any) -> None:
    if not isinstance(patterns, list) or not patterns or \
            not all(isinstance(p, str) and p for p in patterns):
        raise _shape(path, where, patterns, "a non-empty list of tag patterns")


def _shape(path: str, where: str, value: Any, expected: str) -> ConfigurationError:
    return ConfigurationError(say("MAUS-174", path=path, where=where, value=value,
                                  expected=expected))

