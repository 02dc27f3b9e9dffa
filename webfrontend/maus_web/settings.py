"""Settings of the MAUS Online web front-end, all read from the environment.

* ``MAUS_IMAGE_DIRECTORY`` (``images``): where go.py's OutputPyImage writes the images and
  sidecars; relative to the current directory, as go.py's ``image_directory``.
* ``MAUS_REFRESH_SECONDS`` (5): seconds between two polls of an open dashboard.
* ``MAUS_STALE_SECONDS`` (60): seconds without a new plot before the page says so.
* ``MAUS_DASHBOARD_LAYOUT`` (``dashboard/default_layout.toml``): a TOML or JSON layout file.
* ``MAUS_ARCHIVE_DIRECTORY`` (``archive`` beside the image directory): go.py's run archive,
  one ``run_NNNNNN/`` directory per run, listed at ``/runs``.
* ``MAUS_SIDECAR_MAX_BYTES`` (2 MiB) and ``MAUS_SIDECAR_MAX_DEPTH`` (32): the largest and the
  most deeply nested sidecar or ``run.json`` read; a larger or deeper one is skipped.
* ``MAUS_WEB_DEBUG`` (0): 1 turns Django's DEBUG on -- tracebacks in the browser, so never in
  the control room.
* ``MAUS_WEB_SECRET_KEY``: required while DEBUG is off; with DEBUG on a throw-away key is made.
* ``MAUS_WEB_ALLOWED_HOSTS`` (``127.0.0.1,localhost``): host names answered, comma-separated.
* ``MAUS_WEB_METRICS_ALLOWED`` (``127.0.0.1,::1``): the addresses and networks (``10.1.0.0/24``)
  that may read ``/metrics``, comma-separated; others are refused (403).
* ``MAUS_WEB_STATIC_ROOT``: where ``manage.py collectstatic`` puts the static files for a web
  server to serve.

A value that cannot be used stops the start-up with ImproperlyConfigured naming the variable.
There is no database: the front-end reads files only, so no model, session, auth or admin app
is installed. docs/webfrontend.md has the details.
"""
from __future__ import annotations

import os

from dashboard.addresses import DEFAULT_ALLOWED, parse_networks
from dashboard.json_files import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, DEPTH_CEILING
from dashboard.layout import DEFAULT_LAYOUT_FILE, LayoutError, read_layout_file
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key


def _flag(name: str) -> bool:
    value = os.environ.get(name, "0").strip()
    if value not in ("", "0", "1"):
        raise ImproperlyConfigured(f"{name}={value!r}: write {name}=1 (on) or {name}=0 (off)")
    return value == "1"


def _seconds(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ImproperlyConfigured(f"{name}={value!r}: write a number of seconds > 0, "
                                   f"e.g. {name}={default:g}")
    return seconds


def _whole_number(name: str, default: int, low: int, high: int | None = None) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    number = int(value) if value.isdigit() else low - 1
    if number < low or (high is not None and number > high):
        bounds = f"from {low} to {high}" if high is not None else f">= {low}"
        raise ImproperlyConfigured(f"{name}={value!r}: write a whole number {bounds}, "
                                   f"e.g. {name}={default}")
    return number


def _layout(name: str) -> dict:
    path = os.environ.get(name, "").strip() or DEFAULT_LAYOUT_FILE
    try:
        return read_layout_file(path)
    except LayoutError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None


DEBUG = _flag("MAUS_WEB_DEBUG")

SECRET_KEY = os.environ.get("MAUS_WEB_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "MAUS_WEB_SECRET_KEY is not set. The front-end runs with DEBUG off unless "
            "MAUS_WEB_DEBUG=1, and then needs a secret key from the environment: "
            "export MAUS_WEB_SECRET_KEY=\"$(python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))')\"")
    # Development only: nothing here signs data that must outlive the process (no sessions,
    # no cookies), so a key made afresh at each start is enough.
    SECRET_KEY = get_random_secret_key()

ALLOWED_HOSTS = [host.strip() for host in
                 os.environ.get("MAUS_WEB_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
                 if host.strip()]

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "dashboard",
]

# No CSRF or session middleware: every view answers GET and HEAD only and nothing is stored.
# CommonMiddleware asks every request for its host, which is what enforces ALLOWED_HOSTS
# (Django checks the host only when something asks for it).
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "dashboard.security.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "maus_web.urls"
WSGI_APPLICATION = "maus_web.wsgi.application"

TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                       # the farm's line in every page's header
                                       "dashboard.farm_views.farm_header"]},
}]

DATABASES: dict = {}

USE_I18N = False
USE_TZ = True
TIME_ZONE = "UTC"

# Static files: the app's own CSS and JS, and plotly.min.js that `make webassets` copies from
# npm into dashboard/static/dashboard/vendor/. WhiteNoise serves them from the apps'
# directories (no collectstatic needed); a web server can serve MAUS_WEB_STATIC_ROOT instead.
STATIC_URL = "static/"
STATIC_ROOT = os.environ.get("MAUS_WEB_STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True

# Security headers (the Content-Security-Policy comes from dashboard.security).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    # A request for a host not in ALLOWED_HOSTS is the client's mistake (or a scan), not the
    # code's: one catalogued line (MAUS-307) instead of Django's traceback.
    "filters": {"refused_host": {"()": "dashboard.security.RefusedHostFilter"}},
    # Django's own default sends errors only to mail_admins while DEBUG is off; the console
    # (runserver's terminal, Apache's error log) is where a control room looks.
    "loggers": {"dashboard": {"handlers": ["console"], "level": "INFO"},
                "django": {"handlers": ["console"], "level": "WARNING"},
                "django.security.DisallowedHost": {"level": "WARNING",
                                                   "filters": ["refused_host"]}},
}

# The dashboard's own settings (dashboard/conf.py has their meanings and defaults).
MAUS_IMAGE_DIRECTORY = os.environ.get("MAUS_IMAGE_DIRECTORY", "").strip() or "images"
MAUS_REFRESH_SECONDS = _seconds("MAUS_REFRESH_SECONDS", 5.0)
MAUS_STALE_SECONDS = _seconds("MAUS_STALE_SECONDS", 60.0)
MAUS_DASHBOARD_LAYOUT = _layout("MAUS_DASHBOARD_LAYOUT")
# None: dashboard/conf.py puts the archive beside the image directory.
MAUS_ARCHIVE_DIRECTORY = os.environ.get("MAUS_ARCHIVE_DIRECTORY", "").strip() or None
MAUS_SIDECAR_MAX_BYTES = _whole_number("MAUS_SIDECAR_MAX_BYTES", DEFAULT_MAX_BYTES, 1)
MAUS_SIDECAR_MAX_DEPTH = _whole_number("MAUS_SIDECAR_MAX_DEPTH", DEFAULT_MAX_DEPTH, 1,
                                       DEPTH_CEILING)


def _networks(name: str, default: tuple[str, ...]) -> list[str]:
    value = os.environ.get(name, "").strip()
    entries = [entry.strip() for entry in value.split(",") if entry.strip()] or list(default)
    try:
        parse_networks(entries)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r}: {exc}") from None
    return entries


# Who may read /metrics (dashboard/addresses.py): this machine only unless named.
MAUS_WEB_METRICS_ALLOWED = _networks("MAUS_WEB_METRICS_ALLOWED", DEFAULT_ALLOWED)
