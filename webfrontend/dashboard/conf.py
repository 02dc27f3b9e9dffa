"""The dashboard's settings, read from Django's settings with their defaults in one table.

The project's settings module (``maus_web/settings.py``) fills them from the environment; a
test or another project may override any of them. Values are read at each request, so
``override_settings`` and a changed layout take effect without a restart of the app.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings

from .addresses import DEFAULT_ALLOWED
from .archive import RunArchive
from .farm import FarmReader
from .image_store import ImageStore
from .json_files import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, DEPTH_CEILING, JsonLimits
from .layout import DEFAULT_LAYOUT_FILE, Layout, read_layout_file

#: Setting -> (default, meaning). The environment variables of the same names feed them.
DEFAULTS: dict[str, tuple[Any, str]] = {
    "MAUS_IMAGE_DIRECTORY": ("images", ("directory of the images and JSON sidecars "
                                        "(OutputPyImage's image_directory)")),
    "MAUS_REFRESH_SECONDS": (5.0, "seconds between two polls of the dashboard in the browser"),
    "MAUS_STALE_SECONDS": (60.0, ("seconds without a new plot before the page says the data "
                                  "is stale")),
    "MAUS_DASHBOARD_LAYOUT": (None, ("the layout (groups, order, hidden tags) as a mapping; "
                                     "None reads dashboard/default_layout.toml")),
    "MAUS_ARCHIVE_DIRECTORY": (None, ("directory of the archived runs, one run_NNNNNN/ each; "
                                      "None is 'archive' beside MAUS_IMAGE_DIRECTORY")),
    "MAUS_SIDECAR_MAX_BYTES": (DEFAULT_MAX_BYTES, ("largest sidecar or run.json read, in bytes; "
                                                   "a larger one is skipped with a warning")),
    "MAUS_SIDECAR_MAX_DEPTH": (DEFAULT_MAX_DEPTH, ("deepest nesting of arrays and objects in a "
                                                   f"sidecar or run.json (1 to {DEPTH_CEILING})")),
    "MAUS_WEB_METRICS_ALLOWED": (list(DEFAULT_ALLOWED), ("addresses and networks that may read "
                                                         "/metrics (addresses.py)")),
}


@dataclass(frozen=True)
class DashboardSettings:
    image_directory: str
    refresh_seconds: float
    stale_seconds: float
    layout: Layout
    archive_directory: str
    limits: JsonLimits


def setting(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name][0])


def dashboard_settings() -> DashboardSettings:
    """The current settings, checked; raises ValueError (LayoutError for the layout) naming
    the setting that is wrong. The system checks (``checks.py``) report the same at start-up."""
    numbers = {}
    for name in ("MAUS_REFRESH_SECONDS", "MAUS_STALE_SECONDS"):
        value = setting(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"setting {name} is {value!r}; it must be a number of seconds > 0")
        numbers[name] = float(value)
    try:
        limits = JsonLimits(max_bytes=setting("MAUS_SIDECAR_MAX_BYTES"),
                            max_depth=setting("MAUS_SIDECAR_MAX_DEPTH"))
    except ValueError as exc:
        name = "MAUS_SIDECAR_MAX_BYTES" if "max_bytes" in str(exc) else "MAUS_SIDECAR_MAX_DEPTH"
        raise ValueError(f"setting {name}: {exc}") from None
    image_directory = str(setting("MAUS_IMAGE_DIRECTORY"))
    archive = setting("MAUS_ARCHIVE_DIRECTORY")
    layout = setting("MAUS_DASHBOARD_LAYOUT")
    return DashboardSettings(
        image_directory=image_directory,
        refresh_seconds=numbers["MAUS_REFRESH_SECONDS"],
        stale_seconds=numbers["MAUS_STALE_SECONDS"],
        layout=Layout.from_mapping(default_layout() if layout is None else layout),
        archive_directory=str(default_archive(image_directory) if archive is None else archive),
        limits=limits)


def default_archive(image_directory: str) -> Path:
    """Where the archive is when MAUS_ARCHIVE_DIRECTORY is not set: beside the images."""
    return Path(image_directory).parent / "archive"


@lru_cache(maxsize=1)
def default_layout() -> dict[str, Any]:
    return read_layout_file(DEFAULT_LAYOUT_FILE)


@lru_cache(maxsize=32)
def store_for(directory: str, limits: JsonLimits,
              ignore: frozenset[str] = frozenset()) -> ImageStore:
    """One store (and so one sidecar cache) per directory for the whole process: the live
    image directory and the archived runs last looked at."""
    return ImageStore(directory, limits=limits, ignore=ignore)


@lru_cache(maxsize=4)
def archive_for(directory: str, limits: JsonLimits) -> RunArchive:
    """One archive reader (and so one run.json cache) per directory."""
    return RunArchive(directory, limits=limits)


@lru_cache(maxsize=4)
def farm_reader_for(directory: str, limits: JsonLimits) -> FarmReader:
    """One reader (and so one parsed farm.json) per image directory."""
    return FarmReader(directory, limits)
