"""The WSGI file that Apache's mod_wsgi loads (conf/apache/maus-online.conf): the MAUS Online
web front-end's ``application``, its settings read from the environment.

mod_wsgi's daemon processes inherit Apache's environment, which holds none of the front-end's
settings, and Apache's ``SetEnv`` reaches only each request's WSGI environ, after Django has
read its settings. So this file first reads an environment file of ``NAME=value`` lines (blank
lines and ``#`` comments ignored; the value is everything after the first ``=``, unquoted), as
systemd's ``EnvironmentFile`` would: the file ``MAUS_WEB_ENV_FILE`` names, by default
``/etc/maus-online/web.env``. It holds the secret key, so it belongs to root, group www-data,
mode 0640. A variable already set in the environment wins over the file.

The front-end's packages (``maus_web``, ``dashboard``) come from the checkout this file lives
in (``webfrontend/`` beside ``conf/``) or, without one, from the Python environment
(``pip install``). docs/webfrontend.md, "Deployment under Apache", has the whole set-up.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_ENV_FILE = "/etc/maus-online/web.env"


def read_environment_file(path: str) -> dict[str, str]:
    """The ``NAME=value`` pairs of the environment file at ``path``; ``{}`` if it does not
    exist. A line that is not ``NAME=value`` raises ValueError naming the file and line (not
    the line itself, which may hold the secret key)."""
    try:
        with open(path, encoding="utf-8") as stream:
            lines = stream.read().splitlines()
    except FileNotFoundError:
        return {}
    values = {}
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.partition("=")
        name = name.strip()
        if not equals or not name.isidentifier():
            raise ValueError(f"{path}, line {number}: write NAME=value "
                             f"(e.g. MAUS_IMAGE_DIRECTORY=/data/maus/images)")
        values[name] = value.strip()
    return values


for _name, _value in read_environment_file(
        os.environ.get("MAUS_WEB_ENV_FILE", DEFAULT_ENV_FILE)).items():
    os.environ.setdefault(_name, _value)

_CHECKOUT_WEBFRONTEND = Path(__file__).resolve().parents[2] / "webfrontend"
if (_CHECKOUT_WEBFRONTEND / "maus_web").is_dir():
    sys.path.insert(0, str(_CHECKOUT_WEBFRONTEND))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maus_web.settings")

from maus_web.wsgi import application  # noqa: E402  (needs the path and settings above)

__all__ = ["application"]
