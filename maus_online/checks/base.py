"""The check module API: ``CheckPy*`` classes, born from one entry of the quality-checks file.

A check consumes one plot's histograms (and its reference run's, when there is one) and
produces a :class:`~maus_online.checks.levels.Quality`. Its parameters are declared, typed and
defaulted in :attr:`CheckBase.parameters`; :meth:`CheckBase.birth` checks the entry's values
against them, so a misspelt or mistyped parameter stops go.py at birth (MAUS-172)::

    class CheckPyAtLeastOne(CheckBase):
        parameters = {"minimum": Parameter("int", 1, "entries needed", minimum=0)}
        def judge(self, histograms, reference, context):
            n = sum(int(h.sum(flow=True)) for h in histograms.values())
            return Quality(GOOD if n >= self.minimum else BAD, n, f"{n} entries")

A third-party package adds checks through the ``maus_online.modules`` entry points.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import boost_histogram as bh

from ..catalogue import say
from ..errors import ConfigurationError
from ..modules import Config, ModuleBase
from .levels import Quality

Histograms = Mapping[str, bh.Histogram]

_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,),
                                       "list[str]": (list,)}


@dataclass(frozen=True)
class Parameter:
    """One parameter of a check: type (int, float, str, list[str]), default (None: required),
    meaning, and optional limits."""

    type: str
    default: Any
    help: str
    minimum: float | None = None
    choices: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class Context:
    """What a check may know beside the histograms: the plot, the run so far (physics spills
    in the histograms; physics spills seen, filled or not), the spills with errors by module
    (counted on the merge side) and the plot's expected peaks."""

    tag: str = ""
    spills_seen: int = 0
    spills: int = 0
    error_spills: Mapping[str, int] = field(default_factory=dict)
    peaks: Mapping[str, float] = field(default_factory=dict)


class CheckBase(ModuleBase):
    """Judges one plot: :meth:`judge` consumes its histograms by legend label, the reference's
    (or None) and a :class:`Context`; produces a :class:`Quality`.

    A check keeps nothing between judgements: one instance, born once per entry of the file,
    judges every plot the entry matches, at every refresh. What it needs of the run so far
    comes in the context."""

    kind = "check"

    #: The parameters of the check, by name.
    parameters: ClassVar[Mapping[str, Parameter]] = {}

    def birth(self, config: Config) -> None:
        """Set each parameter from ``config`` (one entry of the quality-checks file) or its
        default; an unknown, missing or mistyped parameter raises ConfigurationError."""
        where = str(config.get("where", self.module_name()))
        values = {key: value for key, value in config.items() if key not in ("check", "where")}
        unknown = sorted(set(values) - set(self.parameters))
        if unknown:
            raise ConfigurationError(self._bad(where, unknown[0], values[unknown[0]],
                                               "a parameter of this check"))
        for name, parameter in self.parameters.items():
            if name not in values and parameter.default is None:
                raise ConfigurationError(self._bad(where, name, None, f"set ({parameter.help})"))
            # Defaults are the check's own and need no checking (NaN may mean "not set").
            setattr(self, name, self._value(where, name, parameter, values[name])
                    if name in values else parameter.default)
        self.configure(where)

    def configure(self, where: str) -> None:
        """Hook: check the parameters together (raise :meth:`bad`); called by birth."""

    def judge(self, histograms: Histograms, reference: Histograms | None,
              context: Context) -> Quality:
        raise NotImplementedError(f"{self.module_name()} must implement judge()")

    def bad(self, where: str, name: str, expected: str) -> ConfigurationError:
        """The error of parameter ``name`` at ``where``, which should be ``expected``."""
        return ConfigurationError(self._bad(where, name, getattr(self, name, None), expected))

    def _value(self, where: str, name: str, parameter: Parameter, value: Any) -> Any:
        expected = f"{parameter.type}"
        ok = isinstance(value, _TYPES[parameter.type]) and not isinstance(value, bool)
        if ok and parameter.type == "float":
            ok, value = math.isfinite(value), float(value)
        if ok and parameter.type == "list[str]":
            ok = all(isinstance(item, str) for item in value)
        if ok and parameter.minimum is not None:
            ok, expected = value >= parameter.minimum, f"{expected} >= {parameter.minimum:g}"
        if ok and parameter.choices is not None:
            ok, expected = value in parameter.choices, f"one of {', '.join(parameter.choices)}"
        if not ok:
            raise ConfigurationError(self._bad(where, name, value, expected))
        return value

    def _bad(self, where: str, name: str, value: Any, expected: str) -> str:
        known = ", ".join(self.parameters) or "none"
        return say("MAUS-172", where=where, check=self.module_name(), parameter=name,
                   value=value, expected=expected, known=known)


def entries(histograms: Histograms) -> int:
    """Entries of the plot's first histogram, flow bins included (as its summary counts)."""
    first = next(iter(histograms.values()), None)
    return 0 if first is None else int(first.sum(flow=True))
