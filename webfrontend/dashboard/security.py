"""Content-Security-Policy for every response, with a per-view way to loosen one directive.

Django 5.2 has no CSP support of its own (it arrives in 6.0), so this small middleware sets
the header from the ``MAUS_WEB_CSP`` setting (directive -> sources). The default policy allows
scripts from this site only, so the templates hold no inline script: configuration travels
in ``data-`` attributes and ``json_script`` blocks, which are data, not code.

A view that needs more marks its response with :func:`csp_update`; a response that already
carries the header (the image files set a stricter one) is left alone.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

from .json_files import printable
from .messages import say

HEADER = "Content-Security-Policy"

DEFAULT_POLICY: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    # data: and blob: for plotly.js, which draws heatmaps through data URLs and offers a
    # "download plot as PNG" button that builds one.
    "img-src": ["'self'", "data:", "blob:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def render_policy(policy: dict[str, list[str]]) -> str:
    return "; ".join(f"{name} {' '.join(sources)}".strip() for name, sources in policy.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if HEADER not in response:
            policy = {name: list(sources) for name, sources in
                      getattr(settings, "MAUS_WEB_CSP", DEFAULT_POLICY).items()}
            for name, sources in getattr(response, "csp_update", {}).items():
                policy[name] = policy.get(name, []) + [s for s in sources
                                                       if s not in policy.get(name, [])]
            response[HEADER] = render_policy(policy)
        return response


def csp_update(**directives: list[str]) -> Callable:
    """Decorate a view to add sources to directives of its responses' policy, e.g.
    ``@csp_update(style_src=["'unsafe-inline'"])`` (underscores become hyphens)."""
    update = {name.replace("_", "-"): sources for name, sources in directives.items()}

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(*args, **kwargs) -> HttpResponse:
            response = view(*args, **kwargs)
            response.csp_update = update
            return response
        return wrapped
    return decorator


class RefusedHostFilter(logging.Filter):
    """Turns Django's report of a refused Host header into one catalogued line (MAUS-307).

    Django logs DisallowedHost at ERROR with the whole traceback, for every request a scanner
    or a misconfigured proxy sends: pages of log that hide real failures, for what is a fact
    about the request. The record keeps its logger and level; the traceback is dropped.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exception = record.exc_info[1] if record.exc_info else None
        if isinstance(exception, DisallowedHost):
            request = getattr(record, "request", None)
            host = getattr(request, "META", {}).get("HTTP_HOST", "")
            path = getattr(request, "path", "")
            record.msg = say("MAUS-307", host=ascii(host[:200]), path=printable(path[:200]))
            record.args = ()
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True
