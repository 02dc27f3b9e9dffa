"""The quality views: ``/quality`` (the big screen: one tile per detector group),
``/api/quality`` (quality.json, checked) and ``/runs/<N>/quality`` (an archived run's, from
its run.json). The data are read by quality.py; this module adds the links and renders.
"""
from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .image_store import TAG_PATTERN
from .json_files import printable
from .messages import say
from .quality import quality_file_for
from .sources import Source, source_for
from .views import json_error, json_response


def quality_summary(source: Source) -> tuple[dict[str, Any] | None, str]:
    """The source's quality summary with a link to each plot, or None and the reason
    (MAUS-317) shown instead."""
    if source.run is not None:
        summary = source.run.quality
        message = "" if summary is not None else say(
            "MAUS-317", directory=f"run {source.run.run_number}'s run.json")
    else:
        summary, _ = quality_file_for(source.config.image_directory, source.config.limits).read()
        message = "" if summary is not None else say(
            "MAUS-317", directory=printable(source.config.image_directory))
    return (_linked(summary, source) if summary is not None else None), message


def _linked(summary: dict[str, Any], source: Source) -> dict[str, Any]:
    """A copy of ``summary`` (the reader's cache is shared) whose plots link to their page;
    a tag that is no plot's (not a plain file name) gets no link."""
    groups = [{**group, "plots": [
        {**plot, "detail_url": source.url("detail", plot["tag"])
         if TAG_PATTERN.fullmatch(plot["tag"]) else ""} for plot in group["plots"]]}
        for group in summary["groups"]]
    return {**summary, "groups": groups}


@require_safe
@never_cache
def quality(request: HttpRequest, run: int | None = None) -> HttpResponse:
    source = source_for(run)
    if source is None:
        raise Http404(f"no run {run} in the archive")
    summary, message = quality_summary(source)
    return render(request, "dashboard/quality.html", {
        "title": source.config.layout.title, "run": source.run, "quality": summary,
        "message": message, "dashboard_url": source.url("dashboard"),
        "client_config": {"api_url": source.url("api-quality") if source.live else "",
                          "refresh_seconds": source.config.refresh_seconds,
                          "live": source.live}})


@require_safe
@never_cache
def api_quality(request: HttpRequest) -> JsonResponse:
    summary, message = quality_summary(source_for(None))
    if summary is None:
        return json_error(message, 404)
    return json_response(summary)
