"""The dashboard's settings, read from Django's settings with their defaults in one table.

The project's settings module (``maus_web/settings.py``) fills them from the environment; a
test or another project may override any of them. Values are read at each request, so
``override_settings`` and a changed layout take effect without a restart of the app.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings

from .image_store import ImageStore
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
}


@dataclass(frozen=True)
class DashboardSettings:
    image_directory: str
    refresh_seconds: float
    stale_seconds: float
    layout: Layout


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
    layout = setting("MAUS_DASHBOARD_LAYOUT")
    return DashboardSettings(
        image_directory=str(setting("MAUS_IMAGE_DIRECTORY")),
        refresh_seconds=numbers["MAUS_REFRESH_SECONDS"],
        stale_seconds=numbers["MAUS_STALE_SECONDS"],
        layout=Layout.from_mapping(default_layout() if layout is None else layout))


@lru_cache(maxsize=1)
def default_layout() -> dict[str, Any]:
    return read_layout_file(DEFAULT_LAYOUT_FILE)


@lru_cache(maxsize=8)
def store_for(directory: str) -> ImageStore:
    """One store (and so one sidecar cache) per directory for the whole process."""
    return ImageStore(directory)
