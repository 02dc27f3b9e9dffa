"""The farm on the page: ``/farm`` (the whole table), ``/api/farm`` (the same as JSON), and the
header line of every page (:func:`farm_header`, a template context processor).

All three show :func:`farm.farm_view` of the live image directory's ``farm.json``, so the
header, the table and the browser's refresh (farm.js, every 2 s) cannot disagree.
"""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .conf import dashboard_settings, farm_reader_for
from .farm import STALE_AFTER_SECONDS, farm_view
from .payloads import now
from .views import json_response

#: How often an open page asks /api/farm again: go.py writes farm.json every 2 s or less.
REFRESH_SECONDS = 2.0


def current_farm() -> dict[str, Any]:
    config = dashboard_settings()
    return farm_view(farm_reader_for(config.image_directory, config.limits).read(now=now()))


def farm_header(request: HttpRequest) -> dict[str, Any]:
    """Context processor: every page's header shows the farm's line or red banner.

    The pages of an archived run (``/runs/<N>...``, views named ``run-...``) poll nothing, as
    their plots do not: their header is the farm as it was when the page was served."""
    match = getattr(request, "resolver_match", None)
    past_run = bool(match and (match.url_name or "").startswith("run-"))
    return {"farm_header": current_farm(),
            "farm_client": {"api_url": reverse("dashboard:api-farm"),
                            "farm_url": reverse("dashboard:farm"),
                            "refresh_seconds": REFRESH_SECONDS, "live": not past_run}}


@require_safe
@never_cache
def farm(request: HttpRequest) -> HttpResponse:
    # The page's farm is the header's (the context processor); one read serves both.
    return render(request, "dashboard/farm.html",
                  {"title": dashboard_settings().layout.title,
                   "stale_after": f"{STALE_AFTER_SECONDS:g}"})


@require_safe
@never_cache
def api_farm(request: HttpRequest) -> JsonResponse:
    return json_response(current_farm())
