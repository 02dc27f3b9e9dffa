"""The archive's own views: ``/runs`` (the list of past runs) and ``/api/runs`` (the same as
JSON). A run's plots are shown by the plot views of views.py, at ``/runs/<N>/...``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .archive import MAX_RUN_NUMBER, RunArchive
from .conf import archive_for, dashboard_settings
from .messages import say
from .payloads import run_summary
from .views import json_response


def _run_url(name: str) -> Callable[[int], str]:
    """The address ``name`` of a run, for any run number. ``reverse`` costs tens of
    microseconds, and a list of 1,000 runs needs 2,000 addresses: reverse once, with a marker
    number (six digits, never part of the rest of an address), and put each run's in its place."""
    head, tail = reverse(f"dashboard:{name}", args=[MAX_RUN_NUMBER]).rsplit(
        str(MAX_RUN_NUMBER), 1)
    return lambda run_number: f"{head}{run_number}{tail}"


def _runs() -> tuple[str, RunArchive, list[dict[str, Any]]]:
    config = dashboard_settings()
    archive = archive_for(config.archive_directory, config.limits)
    page_url, images_url = _run_url("run-dashboard"), _run_url("run-api-images")
    runs = [run_summary(run, url=page_url(run.run_number), images_url=images_url(run.run_number))
            for run in archive.runs()]
    return config.layout.title, archive, runs


def _empty_message(archive: RunArchive, runs: list[dict[str, Any]]) -> str:
    return "" if runs else say("MAUS-306", directory=archive.directory)


@require_safe
@never_cache
def runs(request: HttpRequest) -> HttpResponse:
    title, archive, listed = _runs()
    return render(request, "dashboard/runs.html", {
        "title": title, "runs": listed, "message": _empty_message(archive, listed)})


@require_safe
@never_cache
def api_runs(request: HttpRequest) -> JsonResponse:
    _, archive, listed = _runs()
    return json_response({"count": len(listed), "message": _empty_message(archive, listed),
                          "runs": listed})
