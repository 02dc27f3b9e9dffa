"""Automatic data quality: ``CheckPy*`` modules judge each plot Good, Medium, Bad or Null.

* :mod:`.levels` -- the levels and a check's verdict (:class:`Quality`);
* :mod:`.base` -- :class:`CheckBase`, the module API of a check, and its parameters;
* one module per family of checks: :mod:`.entries`, :mod:`.peaks`, :mod:`.channels`,
  :mod:`.reference`, :mod:`.error_rate`;
* :mod:`.config` -- the quality-checks file (``quality_checks_file``): plots to checks, groups;
* :mod:`.judge` -- runs one plot's checks and makes its ``image.quality`` (docs/quality.md).

``MODULES`` are the built-in checks the registry knows; a third-party package adds its own
through the ``maus_online.modules`` entry points.
"""
from __future__ import annotations

from .base import CheckBase, Context, Parameter
from .channels import CheckPyDeadChannels, CheckPyHotChannels
from .entries import CheckPyMinimumEntries
from .error_rate import CheckPyErrorRate
from .levels import BAD, GOOD, LEVELS, MEDIUM, NULL, Quality, worst
from .peaks import CheckPyPeakPosition
from .reference import CheckPyReferenceChi2, CheckPyReferenceKS

MODULES = (CheckPyMinimumEntries, CheckPyPeakPosition, CheckPyDeadChannels, CheckPyHotChannels,
           CheckPyReferenceChi2, CheckPyReferenceKS, CheckPyErrorRate)

__all__ = ["BAD", "GOOD", "LEVELS", "MEDIUM", "MODULES", "NULL", "CheckBase", "Context",
           "Parameter", "Quality", "worst", *(cls.__name__ for cls in MODULES)]
