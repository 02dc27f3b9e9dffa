"""Output modules (``OutputPy*``): they consume documents and save the ones they understand.

* :class:`~outputters.json_file.OutputPyJSON` -- spills as JSON lines, readable by InputPyJSON.
* :class:`~outputters.image.OutputPyImage` -- image documents as image files and JSON sidecars
  (imported from :mod:`outputters.image`; ``MODULES`` lists what this module imports).

Modules here reach the registry through the ``maus_online.modules`` entry points of
pyproject.toml, the way a third-party package's modules would.
"""
from __future__ import annotations

from .json_file import OutputPyJSON

MODULES = (OutputPyJSON,)

__all__ = ["MODULES", "OutputPyJSON"]
