"""The dashboard app: live plots, search, detail pages and the JSON API (docs/webfrontend.md)."""
from __future__ import annotations

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "MAUS Online dashboard"

    def ready(self) -> None:
        # Importing the module registers the system checks.
        from . import checks  # noqa: F401
