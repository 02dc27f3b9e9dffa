"""The registry of known modules: the only way a name becomes a class.

Transform specifications travel between processes (and, later, over the network to Celery
workers); they are rebuilt from names looked up here, never by evaluating text. Modules come
from three places:

* the built-ins of :mod:`maus_online.inputs`, :mod:`maus_online.maps` and
  :mod:`maus_online.checks` (the ``CheckPy*`` quality checks, kind "check");
* the entry-point group ``maus_online.modules`` (how reducers/, outputters/ and third-party
  packages plug in: ``MyMap = "mypackage.maps:MapPyMyMap"``);
* an explicit import path ``package.module:Class`` named in the local configuration, loaded
  only through :meth:`Registry.load_import_path`.

>>> registry = build_default_registry()
>>> registry.get("MapPyTOFDigits", kind="map").__name__
'MapPyTOFDigits'
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from importlib.metadata import entry_points

from .errors import RegistryError, UnknownModuleError
from .modules import MapPyGroup, ModuleBase

ENTRY_POINT_GROUP = "maus_online.modules"
KINDS = ("input", "map", "reduce", "output", "check")

log = logging.getLogger(__name__)


class Registry:
    """Maps module names to module classes; refuses two different classes under one name."""

    def __init__(self) -> None:
        self._modules: dict[str, type[ModuleBase]] = {}

    def register(self, cls: type[ModuleBase]) -> type[ModuleBase]:
        """Register ``cls`` under its class name (the name reflection gives it) and return it.

        Registering the same class again is harmless; a different class under a taken name
        is an error, because silently replacing a module would change physics unnoticed.
        """
        if not (isinstance(cls, type) and issubclass(cls, ModuleBase)) or not cls.kind:
            raise RegistryError(f"{cls!r} is not a MAUS module class "
                                "(derive from InputBase, MapBase, ReduceBase, OutputBase or CheckBase)")
        name = cls.module_name()
        existing = self._modules.get(name)
        if existing is not None and existing is not cls:
            raise RegistryError(
                f"module name {name!r} is already registered for "
                f"{existing.__module__}.{existing.__qualname__}; cannot register "
                f"{cls.__module__}.{cls.__qualname__} under the same name")
        self._modules[name] = cls
        return cls

    def __contains__(self, name: object) -> bool:
        return name in self._modules

    def names(self, kind: str | None = None) -> list[str]:
        """Registered names, sorted, optionally only those of one kind."""
        return sorted(n for n, c in self._modules.items() if kind is None or c.kind == kind)

    def get(self, name: str, kind: str | None = None) -> type[ModuleBase]:
        """The class registered under ``name``; an unknown name lists the known ones."""
        cls = self._modules.get(name)
        if cls is None or (kind is not None and cls.kind != kind):
            what = f"{kind} module" if kind else "module"
            known = ", ".join(self.names(kind)) or "none"
            raise UnknownModuleError(f"unknown {what} {name!r}; known: {known}")
        return cls

    def create(self, name: str, kind: str | None = None) -> ModuleBase:
        """A new instance of the module registered under ``name``."""
        return self.get(name, kind)()

    def load_import_path(self, path: str) -> str:
        """Import ``package.module:Class``, register the class, and return its registered name.

        For modules named in the local configuration only: text that arrives from the network
        is looked up with :meth:`get`, never imported.
        """
        module_name, _, attribute = path.partition(":")
        if not module_name or not attribute:
            raise UnknownModuleError(
                f"{path!r} is not an import path; write it as package.module:Class")
        try:
            cls = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise UnknownModuleError(f"cannot load module {path!r}: {exc}") from exc
        return self.register(cls).module_name()

    def resolve(self, name: str, kind: str | None = None) -> str:
        """Return the registered name for ``name``, loading it first if it is an import path."""
        if ":" in name:
            name = self.load_import_path(name)
        self.get(name, kind)
        return name


def _builtin_modules() -> Iterable[type[ModuleBase]]:
    from . import checks, inputs, maps  # imported here: they import the modules API

    yield MapPyGroup
    yield from inputs.MODULES
    yield from maps.MODULES
    yield from checks.MODULES


def _entry_point_modules() -> Iterable[type[ModuleBase]]:
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = entry_point.load()
        except Exception as exc:  # noqa: BLE001 - one broken plug-in must not hide the rest
            log.warning("entry point %s = %s of group %s cannot be loaded: %s",
                        entry_point.name, entry_point.value, ENTRY_POINT_GROUP, exc)
            continue
        # Reflection names a module by its class name, so that is the name it must have here.
        if getattr(cls, "__name__", None) != entry_point.name:
            log.warning("entry point %s = %s of group %s is skipped: its name must be the "
                        "class name", entry_point.name, entry_point.value, ENTRY_POINT_GROUP)
            continue
        yield cls


def build_default_registry() -> Registry:
    """A new registry holding the built-ins and every module of the entry-point group."""
    registry = Registry()
    for cls in _builtin_modules():
        registry.register(cls)
    for cls in _entry_point_modules():
        registry.register(cls)
    return registry
