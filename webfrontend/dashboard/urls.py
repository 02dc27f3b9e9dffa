"""The dashboard's addresses (docs/webfrontend.md). ``<str:tag>`` never matches a ``/``, and
every tag is looked up among the sidecars' tags, so no URL can name a path. A run number is one
to six digits (``<run:run>``), looked up among the archive's run directories by number, so it
cannot name a path either.

The plot views serve the live image directory at the top and each archived run under
``/runs/<N>/``, by the same names with ``run-`` in front (sources.Source.url builds either).
"""
from __future__ import annotations

from django.urls import include, path, register_converter

from . import farm_views, metrics, quality_views, run_views, trend_views, views
from .archive import MAX_RUN_NUMBER


class RunNumberConverter:
    """One to six digits, as in the archive's ``run_NNNNNN`` directories; anything else is no
    URL of ours (404)."""

    regex = "[0-9]{1,%d}" % len(str(MAX_RUN_NUMBER))

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(RunNumberConverter, "run")

app_name = "dashboard"


def _plot_pages(prefix: str) -> list:
    return [
        path("plots/<str:tag>", views.detail, name=f"{prefix}detail"),
        path("images/<str:tag>", views.image_file, name=f"{prefix}image"),
    ]


def _plot_api(prefix: str) -> list:
    return [
        path("images", views.api_images, name=f"{prefix}api-images"),
        path("images/<str:tag>", views.api_image, name=f"{prefix}api-image"),
    ]


urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    *_plot_pages(""),
    path("api/", include(_plot_api(""))),
    path("api/dashboard", views.api_dashboard, name="api-dashboard"),
    path("runs", run_views.runs, name="runs"),
    path("runs/<run:run>", views.dashboard, name="run-dashboard"),
    path("runs/<run:run>/", include(_plot_pages("run-"))),
    path("api/runs", run_views.api_runs, name="api-runs"),
    path("api/runs/<run:run>/", include(_plot_api("run-"))),
    path("trends", trend_views.trends, name="trends"),
    path("api/trends", trend_views.api_trends, name="api-trends"),
    path("quality", quality_views.quality, name="quality"),
    path("api/quality", quality_views.api_quality, name="api-quality"),
    path("runs/<run:run>/quality", quality_views.quality, name="run-quality"),
    path("farm", farm_views.farm, name="farm"),
    path("api/farm", farm_views.api_farm, name="api-farm"),
    path("metrics", metrics.metrics, name="metrics"),
]
