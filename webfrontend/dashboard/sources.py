"""Where a page's plots come from: the live image directory, or one run of the archive.

The dashboard, the detail page, the image files and the plot API are one set of views; each
is reached at two addresses, ``/plots/<tag>`` for the live directory and
``/runs/<N>/plots/<tag>`` for run N of the archive. A :class:`Source` gives the views their
store and builds the addresses of the same kind, so a page of a past run links only within
that run and the templates need not know which they show.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from .archive import RUN_FILE, RunSummary, run_directory_name
from .conf import DashboardSettings, archive_for, dashboard_settings, store_for
from .image_store import ImageRecord, ImageStore


@dataclass(frozen=True)
class Source:
    """The store a view reads and the run it belongs to (None: the live image directory)."""

    config: DashboardSettings
    store: ImageStore
    run: RunSummary | None = None

    @property
    def live(self) -> bool:
        return self.run is None

    def url(self, name: str, *args: object) -> str:
        """The address called ``name`` in dashboard/urls.py, of this source: ``url("detail",
        "tof_time_01")`` is ``/plots/tof_time_01`` live and ``/runs/7/plots/tof_time_01`` for
        run 7."""
        if self.run is None:
            return reverse(f"dashboard:{name}", args=args)
        return reverse(f"dashboard:run-{name}", args=[self.run.run_number, *args])

    def image_url(self, record: ImageRecord) -> str:
        return f"{self.url('image', record.tag)}?v={record.version}"

    def detail_url(self, record: ImageRecord) -> str:
        """The detail page of this very refresh."""
        return self.url("detail", record.tag)

    def series_url(self, record: ImageRecord) -> str:
        """The detail page that follows the plot's latest refresh."""
        return self.url("detail", record.series)


def source_for(run_number: int | None) -> Source | None:
    """The live source (``run_number`` None) or that of an archived run; None when the archive
    holds no readable run of that number."""
    config = dashboard_settings()
    if run_number is None:
        return Source(config, store_for(config.image_directory, config.limits))
    archive = archive_for(config.archive_directory, config.limits)
    run = archive.run(run_number)
    if run is None:
        return None
    directory = archive.directory / run_directory_name(run.run_number)
    # A run directory holds the run's sidecars and its run.json, which is no sidecar.
    return Source(config, store_for(str(directory), config.limits, frozenset({RUN_FILE})), run)
