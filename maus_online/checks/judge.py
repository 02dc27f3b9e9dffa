"""The judge: runs the configured checks on one plot and makes its ``image.quality``.

Consumes the loaded quality-checks file, a reducer's name and, at each refresh, one plot's
histograms (with its reference's, and a :class:`~maus_online.checks.base.Context`); produces
the sidecar's quality (docs/quality.md)::

    {"level": "Bad", "groups": ["TOF1"],
     "checks": [{"check": "CheckPyDeadChannels", "level": "Bad", "value": 0.0,
                 "reason": "TDC hits plane 0 slab 3 PMT 0: 0 hits, baseline 412 (partner)"}]}

A check that raises is recorded as Null with its error (MAUS-177) and the other checks still
run: one broken check must not hide what the others see. It runs on the merge side, where
the histograms are added up (DESIGN §7a), never in the drawing process nor on the workers.

>>> from maus_online.checks.config import EMPTY
>>> Judge(EMPTY, "ReducePyTOFPlot").quality("tof_nsp", {}, None, Context())
{'level': 'Null', 'groups': [], 'checks': []}
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..catalogue import say
from ..modules import describe_error
from .base import CheckBase, Context, Histograms
from .config import QualityChecks
from .levels import NULL, Quality, worst

log = logging.getLogger(__name__)


class Judge:
    """The checks of one reducer's plots, looked up once per tag."""

    def __init__(self, checks: QualityChecks, reducer: str) -> None:
        self.checks = checks
        self.reducer = reducer
        self._plans: dict[str, tuple[list[CheckBase], list[str]]] = {}
        #: (check, tag) pairs whose failure is logged already: a broken check fails at every
        #: refresh, and the log needs it once per run (the sidecar says it every time).
        self._logged: set[tuple[str, str]] = set()

    def plan(self, tag: str) -> tuple[list[CheckBase], list[str]]:
        """The checks and the groups of plot ``tag``."""
        plan = self._plans.get(tag)
        if plan is None:
            plan = self._plans[tag] = (self.checks.checks_of(self.reducer, tag),
                                       self.checks.groups_of(tag))
        return plan

    def quality(self, tag: str, histograms: Histograms, reference: Histograms | None,
                context: Context) -> dict[str, Any]:
        """``image.quality`` of plot ``tag`` now."""
        checks, groups = self.plan(tag)
        verdicts = [self._run(check, tag, histograms, reference, context) for check in checks]
        return {"level": worst(verdicts), "groups": list(groups),
                "checks": [verdict.as_json() for verdict in verdicts]}

    def _run(self, check: CheckBase, tag: str, histograms: Histograms,
             reference: Mapping[str, Any] | None, context: Context) -> Quality:
        name = check.module_name()
        try:
            verdict = check.judge(histograms, reference, context)
            if not isinstance(verdict, Quality):
                raise TypeError(f"judge() returned {type(verdict).__name__}, not a Quality")
        except Exception as exc:  # noqa: BLE001 - recorded as Null, the other checks run
            reason = say("MAUS-177", check=name, tag=tag,
                         error=describe_error(exc).splitlines()[0])
            if (name, tag) not in self._logged:
                self._logged.add((name, tag))
                log.warning("%s", reason)
            return Quality(NULL, None, reason, name)
        return Quality(verdict.level, verdict.value, verdict.reason, name)
