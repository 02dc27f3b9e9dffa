"""The front-end's own catalogued messages (MAUS-304 to MAUS-309), as log lines and banners.

The catalogue (``maus_online/catalogue.py``) is the reconstruction's, and the web imports nothing
of the reconstruction (it may run on another machine), so the texts are copied here;
tests/test_webfrontend_runs.py holds each copy equal to the catalogue's entry. The recovery
guide (docs/recovery.md) explains each under its identifier.
"""
from __future__ import annotations

GUIDE = "docs/recovery.md"

TEXTS: dict[str, str] = {
    "MAUS-304": "image directory {directory}: skipped sidecar {name}: {reason}",
    "MAUS-305": "run archive {directory}: skipped {name}: {reason}",
    "MAUS-306": ("No archived runs. The front-end reads the directory named by "
                 "MAUS_ARCHIVE_DIRECTORY ({directory}); go.py archives each run there when "
                 "the run ends."),
    "MAUS-307": ("refused a request for the host {host}: it is not in MAUS_WEB_ALLOWED_HOSTS "
                 "({path})"),
}


def say(code: str, **fields: object) -> str:
    """The message ``code`` as logged or shown: identifier, text, where the guide explains it."""
    return f"{code} {TEXTS[code].format(**fields)} [{GUIDE}#{code.lower()}]"
