"""One root exception and a small tree, so callers can catch exactly what they mean.

Messages name the offending value and, where there is one, the fix. Conversion to an
exit status happens only at the edge (go.py).
"""
from __future__ import annotations


class MausError(Exception):
    """Root of every error MAUS Online raises on purpose."""


class ConfigurationError(MausError):
    """A configuration key is unknown, has the wrong type, or names something that does not exist."""


class UnknownModuleError(ConfigurationError):
    """A module name is not in the registry; the message lists the known names of that kind."""


class RegistryError(MausError):
    """A module was registered twice under one name, or is not a module class."""


class SpecificationError(ConfigurationError):
    """A transform specification string or structure cannot be parsed."""


class ModuleLifecycleError(MausError):
    """A module's birth or death failed; the message names the module."""


class ExecutorError(MausError):
    """Transforms cannot run on the workers: none answered, a birth failed, versions differ."""


class SpillError(MausError):
    """A spill is malformed: the message names its run, its spill and the offending field."""


class DocumentStoreError(MausError):
    """The document store cannot be reached or refused an operation; keeps the back end's message."""
