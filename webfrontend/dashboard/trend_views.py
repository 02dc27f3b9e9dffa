"""The trends' views: ``/trends`` (the page, drawn by static/dashboard/trends.js) and
``/api/trends`` (the series as JSON). Both take ``tag``, ``quantity`` and ``runs`` (trends.py
checks them); the runs come from the archive reader's cache, the live history from the live
plot's sidecar, read through the image store.
"""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .conf import archive_for, dashboard_settings, store_for
from .security import csp_update
from .trends import (
    MAX_RUNS,
    TrendChoice,
    TrendError,
    label,
    live_points,
    no_live_note,
    no_runs_note,
    quantities,
    run_points,
)
from .views import json_error, json_response


def trend_data(choice: TrendChoice) -> tuple[dict[str, Any], list[str], list[str]]:
    """The series of ``choice`` as the API answers them, the tags there are, and the
    quantities the plot's summaries offer (for the page's choices)."""
    config = dashboard_settings()
    runs = archive_for(config.archive_directory, config.limits).runs()
    points = run_points(runs, choice)
    store = store_for(config.image_directory, config.limits)
    record = store.get(choice.tag)
    document = (store.document(record) if record is not None else None) or {}
    history = live_points(document.get("summary_history"), choice.quantity)
    tags = sorted({tag for run in runs[:choice.runs] for tag in run.plot_summaries}
                  | {live.series for live in store.records()})
    offered = quantities([document.get("summary"),
                          *(run.plot_summaries.get(choice.tag) for run in runs[:choice.runs])])
    data = {
        **choice.params(), "runs": choice.runs, "label": label(choice.quantity),
        "archive": {"points": points, "message": no_runs_note(points, choice)},
        "live": {"run_number": document.get("run_number") if record is not None else None,
                 "points": history, "message": no_live_note(history, choice.tag)},
    }
    return data, tags, offered


@require_safe
@never_cache
def api_trends(request: HttpRequest) -> JsonResponse:
    try:
        choice = TrendChoice.from_params(dict(request.GET.lists()))
    except TrendError as exc:
        return json_error(str(exc), 400)
    data, _, _ = trend_data(choice)
    return json_response(data)


@require_safe
@never_cache
# plotly.js writes its own <style> element (as on the detail page); scripts stay 'self'.
@csp_update(style_src=["'unsafe-inline'"])
def trends(request: HttpRequest) -> HttpResponse:
    try:
        choice, error = TrendChoice.from_params(dict(request.GET.lists())), ""
    except TrendError as exc:
        choice, error = TrendChoice(), str(exc)
    data, tags, offered = trend_data(choice)
    if choice.tag not in tags:
        tags.append(choice.tag)
    if choice.quantity not in offered:
        offered.insert(0, choice.quantity)
    context = {
        "title": dashboard_settings().layout.title,
        "choice": choice, "error": error, "tags": tags, "max_runs": MAX_RUNS,
        "quantities": [(quantity, label(quantity)) for quantity in offered],
        "trend_data": data,
    }
    return render(request, "dashboard/trends.html", context, status=400 if error else 200)
