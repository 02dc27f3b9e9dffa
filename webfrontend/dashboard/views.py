"""The dashboard's views: requests in, calls of the plain modules, templates or JSON out.

Pages: ``/`` (the dashboard, with search), ``/plots/<tag>`` (one plot). Files:
``/images/<tag>`` (an image, found through its sidecar only). JSON: ``/api/images``,
``/api/images/<tag>`` and ``/api/dashboard`` (docs/webfrontend.md). Every view answers GET and
HEAD only: nothing here changes anything.
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

from .conf import DashboardSettings, dashboard_settings, store_for
from .histograms import HistogramError, summarise
from .image_store import ImageRecord, ImageStore, latest_per_series
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

#: Policy of the image files themselves: an SVG opened on its own runs no script.
IMAGE_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"
#: A versioned image URL (``?v=<version>``) names one file's content forever.
IMMUTABLE = "public, max-age=31536000, immutable"


def image_url(record: ImageRecord) -> str:
    return f"{reverse('dashboard:image', args=[record.tag])}?v={record.version}"


def detail_url(record: ImageRecord) -> str:
    """The detail page of this very refresh."""
    return reverse("dashboard:detail", args=[record.tag])


def series_url(record: ImageRecord) -> str:
    """The detail page that follows the plot's latest refresh."""
    return reverse("dashboard:detail", args=[record.series])


def _settings() -> tuple[DashboardSettings, ImageStore]:
    config = dashboard_settings()
    return config, store_for(config.image_directory)


def _query(request: HttpRequest) -> Query:
    return Query.from_params(dict(request.GET.lists()))


def _dashboard(query: Query) -> tuple[DashboardSettings, dict[str, Any], list[ImageRecord]]:
    """The dashboard's data for ``query``, and every plot the layout shows (for keywords)."""
    config, store = _settings()
    records = latest_per_series(store.records())
    moment = now()
    state = freshness(records, now=moment, stale_seconds=config.stale_seconds)
    shown = [record for group in config.layout.arrange(records) for record in group.records]
    groups = config.layout.arrange(query.filter(shown))
    data = dashboard_summary(groups, state, now=moment, image_url=image_url,
                             detail_url=series_url)
    return config, data, shown


@require_safe
@never_cache
def dashboard(request: HttpRequest) -> HttpResponse:
    try:
        query, error = _query(request), ""
    except QueryError as exc:
        query, error = Query(), str(exc)
    config, data, shown = _dashboard(query)
    api = reverse("dashboard:api-dashboard")
    context = {
        "title": config.layout.title,
        "dashboard": data,
        "query": query,
        "query_error": error,
        "keywords": keyword_counts(shown),
        "plot_count": sum(len(group["images"]) for group in data["groups"]),
        "client_config": {
            "api_url": f"{api}?{urlencode(query.params())}" if query.active else api,
            "dashboard_url": reverse("dashboard:dashboard"),
            "refresh_seconds": config.refresh_seconds,
        },
    }
    return render(request, "dashboard/dashboard.html", context, status=400 if error else 200)


@require_safe
@never_cache
# plotly.js writes its own <style> element at start-up; the npm bundle ships no stylesheet
# to use instead. Scripts stay 'self' only.
@csp_update(style_src=["'unsafe-inline'"])
def detail(request: HttpRequest, tag: str) -> HttpResponse:
    config, store = _settings()
    record = store.get(tag)
    document = store.document(record) if record is not None else None
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
    latest_api = f"{reverse('dashboard:api-images')}?{urlencode({'tag': tag, 'latest': 1})}"
    context = {
        "title": config.layout.title,
        "image": image_summary(record, now=now(), image_url=image_url, detail_url=detail_url),
        "following_series": tag != record.tag,
        "metadata": [(key, display_value(value)) for key, value in document.items()
                     if key != "histograms"],
        "summaries": summaries,
        "plot_data": {"tag": record.tag, "version": record.version, "histograms": histograms},
        "client_config": {
            "latest_url": latest_api,
            "detail_api_url": reverse("dashboard:api-image", args=[tag]),
            "refresh_seconds": config.refresh_seconds,
        },
    }
    return render(request, "dashboard/detail.html", context)


@require_safe
def image_file(request: HttpRequest, tag: str) -> HttpResponse:
    _, store = _settings()
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


def _json_error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@require_safe
@never_cache
def api_images(request: HttpRequest) -> JsonResponse:
    latest = request.GET.get("latest", "0")
    if latest not in ("0", "1"):
        return _json_error(f"latest={latest!r}: write latest=1 (one per plot) or latest=0", 400)
    try:
        query = _query(request)
    except QueryError as exc:
        return _json_error(str(exc), 400)
    config, store = _settings()
    records = store.records()
    listed = latest_per_series(records) if latest == "1" else records
    moment = now()
    state = freshness(records, now=moment, stale_seconds=config.stale_seconds)
    images = [image_summary(record, now=moment, image_url=image_url, detail_url=detail_url)
              for record in query.filter(listed)]
    return JsonResponse({"count": len(images), "freshness": freshness_summary(state),
                         "images": images})


@require_safe
@never_cache
def api_image(request: HttpRequest, tag: str) -> JsonResponse:
    _, store = _settings()
    record = store.get(tag)
    document = store.document(record) if record is not None else None
    if document is None:
        return _json_error(f"no plot with tag {tag!r}", 404)
    payload = image_summary(record, now=now(), image_url=image_url, detail_url=detail_url)
    payload["metadata"] = {key: value for key, value in document.items() if key != "histograms"}
    payload["histograms"] = document.get("histograms", [])
    return JsonResponse(payload)


@require_safe
@never_cache
def api_dashboard(request: HttpRequest) -> JsonResponse:
    try:
        query = _query(request)
    except QueryError as exc:
        return _json_error(str(exc), 400)
    _, data, _ = _dashboard(query)
    return JsonResponse(data)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The project's 404 page (``handler404``): plain, with the way back."""
    return render(request, "dashboard/404.html", {"path": request.path}, status=404)
