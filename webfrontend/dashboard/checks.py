"""System checks: Django runs them at start-up (runserver, ``manage.py check``, the WSGI
server's first request goes through the same settings), so a wrong setting is reported in
one line that names it, before a shifter opens the page."""
from __future__ import annotations

import os

from django.core.checks import Error, register
from django.core.checks import Warning as CheckWarning

from .conf import dashboard_settings, setting


@register()
def check_dashboard_settings(app_configs, **kwargs) -> list:
    try:
        dashboard_settings()
    except ValueError as exc:
        return [Error(str(exc), id="dashboard.E001",
                      hint="See docs/webfrontend.md for the settings and the layout file.")]
    directory = str(setting("MAUS_IMAGE_DIRECTORY"))
    if not os.path.isdir(directory):
        return [CheckWarning(f"MAUS_IMAGE_DIRECTORY {directory!r} is not a directory (yet); the "
                        "dashboard stays empty until go.py writes plots there",
                        id="dashboard.W001",
                        hint="Run go.py with the same image_directory, or set "
                             "MAUS_IMAGE_DIRECTORY to the directory it writes.")]
    return []
