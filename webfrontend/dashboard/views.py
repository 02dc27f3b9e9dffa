"""The dashboard's views: requests in, calls of the plain modules, templates or JSON out.

Pages: ``/`` (the dashboard, with search), ``/plots/<tag>`` (one plot). Files:
``/images/<tag>`` (an image, found through its sidecar only). JSON: ``/api/images``,
``/api/images/<tag>`` and ``/api/dashboard`` (docs/webfrontend.md). Each view but the last also
serves an archived run under ``/runs/<N>/`` (its ``run`` argument; sources.py): the same page,
reading that run's directory, linking within it, and not polling, since a past run does not
change. Every view answers GET and HEAD only: nothing here changes anything.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .compare import comparable_runs, compare_with, reference_of
from .conf import archive_for
from .histograms import HistogramError, summarise
from .image_store import ImageRecord, ImageStore, latest, latest_per_series
from .payloads import (
    dashboard_summary,
    display_value,
    freshness,
    freshness_summary,
    image_summary,
    now,
)
from .search import Query, QueryError, keyword_counts
from .security import csp_update
from .sources import Source, source_for

#: Policy of the image files themselves: an SVG opened on its own runs no script.
IMAGE_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"
#: A versioned image URL (``?v=<version>``) names one file's content forever.
IMMUTABLE = "public, max-age=31536000, immutable"


def _page_source(run: int | None) -> Source:
    source = source_for(run)
    if source is None:
        raise Http404(f"no run {run} in the archive")
    return source


def _query(request: HttpRequest) -> Query:
    return Query.from_params(dict(request.GET.lists()))


def _dashboard(source: Source, query: Query) -> tuple[dict[str, Any], list[ImageRecord]]:
    """The dashboard's data for ``query``, and every plot the layout shows (for keywords)."""
    layout = source.config.layout
    records = latest_per_series(source.store.records())
    moment = now()
    state = freshness(records, now=moment, stale_seconds=source.config.stale_seconds,
                      live=source.live)
    shown = [record for group in layout.arrange(records) for record in group.records]
    groups = layout.arrange(query.filter(shown))
    # The run shown: an archived run's own number; live, that of the newest plot (the plots
    # of an earlier run stay until go.py's next run redraws them).
    newest = latest(records)
    run_number = (source.run.run_number if source.run is not None
                  else newest.run_number if newest is not None else None)
    data = dashboard_summary(groups, state, now=moment, image_url=source.image_url,
                             detail_url=source.series_url, run_number=run_number)
    return data, shown


def _page_context(source: Source) -> dict[str, Any]:
    """What every page of plots tells the templates about where its plots come from."""
    return {"title": source.config.layout.title, "run": source.run,
            "dashboard_url": source.url("dashboard")}


@require_safe
@never_cache
def dashboard(request: HttpRequest, run: int | None = None) -> HttpResponse:
    source = _page_source(run)
    try:
        query, error = _query(request), ""
    except QueryError as exc:
        query, error = Query(), str(exc)
    data, shown = _dashboard(source, query)
    api = reverse("dashboard:api-dashboard")
    context = {
        **_page_context(source),
        "dashboard": data,
        "query": query,
        "query_error": error,
        "keywords": keyword_counts(shown),
        "plot_count": sum(len(group["images"]) for group in data["groups"]),
        "client_config": {
            "api_url": f"{api}?{urlencode(query.params())}" if query.active else api,
            "dashboard_url": source.url("dashboard"),
            "refresh_seconds": source.config.refresh_seconds,
            "live": source.live,  # a past run does not change: its page does not poll
        },
    }
    return render(request, "dashboard/dashboard.html", context, status=400 if error else 200)


@require_safe
@never_cache
# plotly.js writes its own <style> element at start-up; the npm bundle ships no stylesheet
# to use instead. Scripts stay 'self' only.
@csp_update(style_src=["'unsafe-inline'"])
def detail(request: HttpRequest, tag: str, run: int | None = None) -> HttpResponse:
    source = _page_source(run)
    record = source.store.get(tag)
    document = source.store.document(record) if record is not None else None
    if document is None:
        raise Http404(f"no plot with tag {tag!r}")
    histograms = document.get("histograms")
    histograms = histograms if isinstance(histograms, list) else []
    summaries = []
    for index, histogram in enumerate(histograms):
        try:
            summaries.append({"index": index, "summary": summarise(histogram)})
        except HistogramError as exc:
            summaries.append({"index": index, "error": str(exc)})
    latest_api = f"{source.url('api-images')}?{urlencode({'tag': tag, 'latest': 1})}"
    # Overlays are a view choice (?compare=N): read from the archive, never written.
    comparison = compare_with(request.GET.get("compare"), tag=record.series,
                              histograms=histograms, store_of=_run_store)
    reference, reference_note = reference_of(document, record.tag, histograms)
    archive = archive_for(source.config.archive_directory, source.config.limits)
    context = {
        **_page_context(source),
        "image": image_summary(record, now=now(), image_url=source.image_url,
                               detail_url=source.detail_url),
        "api_image_url": source.url("api-image", record.tag),
        "following_series": tag != record.tag,
        "metadata": [(key, _metadata_text(key, value)) for key, value in document.items()
                     if key != "histograms"],
        "summaries": summaries,
        "compare": {"runs": comparable_runs(archive.runs(), source.run),
                    "selected": comparison.run_number if comparison.histograms else None,
                    "action": source.url("detail", tag),
                    "notes": [note for note in (comparison.note, reference_note) if note]},
        "trends_url": f"{reverse('dashboard:trends')}?{urlencode({'tag': record.series})}",
        "plot_data": {"tag": record.tag, "version": record.version, "histograms": histograms,
                      "compare": comparison.client_data(), "reference": reference},
        "client_config": {
            "latest_url": latest_api,
            "detail_api_url": source.url("api-image", tag),
            "refresh_seconds": source.config.refresh_seconds,
            "live": source.live,
        },
    }
    return render(request, "dashboard/detail.html", context)


def _run_store(run_number: int) -> ImageStore | None:
    """Run ``run_number``'s plots, through the archive reader; None when it is not there."""
    found = source_for(run_number)
    return found.store if found is not None else None


def _metadata_text(key: str, value: Any) -> str:
    """A sidecar field for the metadata table; the overlay's and the trends' data are drawn,
    not printed (the summary history alone may hold 500 summaries)."""
    if key == "reference" and isinstance(value, dict):
        return f"run {display_value(value.get('run_number'))} (drawn dashed on the plot)"
    if key == "summary_history" and isinstance(value, list):
        return f"{len(value)} refreshes (see Trends)"
    return display_value(value)


@require_safe
def image_file(request: HttpRequest, tag: str, run: int | None = None) -> HttpResponse:
    store = _page_source(run).store
    record = store.get(tag)
    if record is None:
        raise Http404(f"no image with tag {tag!r}")
    etag = f'"{record.version}"'
    # Answer "not modified" before opening the file: a browser revalidating a card's image
    # costs a stat, not an open.
    unchanged = get_conditional_response(request, etag=etag, last_modified=int(record.modified))
    if unchanged is not None:
        return unchanged
    opened = store.open_image(record)
    if opened is None:
        raise Http404(f"no image with tag {tag!r}")
    stream, status = opened
    response = FileResponse(stream, content_type=record.content_type,
                            as_attachment=not record.browser_displayable,
                            filename=record.image_file)
    response["Last-Modified"] = http_date(status.st_mtime)
    response["ETag"] = etag
    response["Cache-Control"] = (IMMUTABLE if request.GET.get("v") == record.version
                                 else "no-cache")
    response["Content-Security-Policy"] = IMAGE_POLICY
    return response


def json_response(data: dict[str, Any], status: int = 200) -> JsonResponse:
    """Strict JSON: NaN and Infinity are refused when files are read (json_files.py), and
    should one slip through, the answer fails rather than send a browser invalid JSON."""
    return JsonResponse(data, status=status, json_dumps_params={"allow_nan": False})


def json_error(message: str, status: int) -> JsonResponse:
    return json_response({"error": message}, status=status)


@require_safe
@never_cache
def api_images(request: HttpRequest, run: int | None = None) -> JsonResponse:
    latest_only = request.GET.get("latest", "0")
    if latest_only not in ("0", "1"):
        return json_error(f"latest={latest_only!r}: write latest=1 (one per plot) or latest=0",
                          400)
    try:
        query = _query(request)
    except QueryError as exc:
        return json_error(str(exc), 400)
    source = source_for(run)
    if source is None:
        return json_error(f"no run {run} in the archive", 404)
    records = source.store.records()
    listed = latest_per_series(records) if latest_only == "1" else records
    moment = now()
    state = freshness(records, now=moment, stale_seconds=source.config.stale_seconds,
                      live=source.live)
    images = [image_summary(record, now=moment, image_url=source.image_url,
                            detail_url=source.detail_url)
              for record in query.filter(listed)]
    return json_response({"count": len(images), "freshness": freshness_summary(state),
                          "images": images})


@require_safe
@never_cache
def api_image(request: HttpRequest, tag: str, run: int | None = None) -> JsonResponse:
    source = source_for(run)
    if source is None:
        return json_error(f"no run {run} in the archive", 404)
    record = source.store.get(tag)
    document = source.store.document(record) if record is not None else None
    if document is None:
        return json_error(f"no plot with tag {tag!r}", 404)
    payload = image_summary(record, now=now(), image_url=source.image_url,
                            detail_url=source.detail_url)
    payload["metadata"] = {key: value for key, value in document.items() if key != "histograms"}
    payload["histograms"] = document.get("histograms", [])
    return json_response(payload)


@require_safe
@never_cache
def api_dashboard(request: HttpRequest) -> JsonResponse:
    try:
        query = _query(request)
    except QueryError as exc:
        return json_error(str(exc), 400)
    data, _ = _dashboard(source_for(None), query)
    return json_response(data)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The project's 404 page (``handler404``): plain, with the way back."""
    return render(request, "dashboard/404.html", {"path": request.path}, status=404)
