"""Start, watch and stop the front-end's servers (and go.py) as child processes: for
``make run`` (live.py), the browser and Apache tests, and bench/bench_web.py.

Each child runs in a session of its own. A terminal's Ctrl-C then reaches only the parent,
which stops its children itself, in order and for sure: SIGINT (what Ctrl-C would have sent:
go.py closes its run and draws the final plots, Django's server exits), then SIGTERM, then
SIGKILL, each to the child's whole process group, so that nothing outlives the parent.

Servers bind 127.0.0.1 only. Nothing here imports Django or the reconstruction.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

WEBFRONTEND = Path(__file__).resolve().parent
REPO_ROOT = WEBFRONTEND.parent
HOST = "127.0.0.1"
#: The served environment's venv that .ci/install-test-deps builds (conf/apache/requirements.txt).
WSGI_VENV = Path(os.environ.get("MAUS_WSGI_VENV", "/opt/maus-online/wsgi-venv"))


def free_port() -> int:
    """A TCP port of 127.0.0.1 that is free now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start(command: Sequence[str], *, env: Mapping[str, str] | None = None,
          output: IO | int | None = None, cwd: Path | str | None = None) -> subprocess.Popen:
    """Start ``command`` in a new session (its own process group); ``output`` takes its
    standard output and error (None: this process's)."""
    return subprocess.Popen(list(command), env=None if env is None else dict(env), cwd=cwd,
                            stdin=subprocess.DEVNULL, stdout=output,
                            stderr=None if output is None else subprocess.STDOUT,
                            start_new_session=True)


def session_members(session: int) -> list[int]:
    """The processes of ``session`` (a session leader's pid) still alive, zombies excepted
    (Linux /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        # Fields after the command name in parentheses (which may hold spaces):
        # state ppid pgrp session ...
        state, _ppid, _pgrp, sid = stat[stat.rindex(")") + 2:].split()[:4]
        if int(sid) == session and state != "Z":
            members.append(int(entry.name))
    return members


def stop(process: subprocess.Popen, *, grace: float = 20.0) -> int:
    """Stop ``process`` and everything in its session; returns its exit status.

    SIGINT, then SIGTERM, then SIGKILL, each given ``grace`` seconds; then SIGKILL to any
    process the child left behind in its session (a server's workers)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
    process.wait()
    for pid in session_members(process.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return process.returncode


def wait_for_url(url: str, *, timeout: float, process: subprocess.Popen | None = None) -> bytes:
    """Poll ``url`` until it answers 200 and return the body. Raises RuntimeError when
    ``process`` (the server) exits first, TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode} "
                               f"before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last_error = str(exc)
        time.sleep(0.1)  # between two polls of the condition
    raise TimeoutError(f"{url} did not answer within {timeout:g} s: {last_error}")


def web_environment(image_directory: Path | str, **settings: str) -> dict[str, str]:
    """This process's environment plus the front-end's settings: ``MAUS_IMAGE_DIRECTORY``, a
    secret key made for the session unless ``MAUS_WEB_SECRET_KEY`` is set (nothing signed
    must outlive the server), and ``settings`` (e.g. MAUS_REFRESH_SECONDS="1")."""
    env = dict(os.environ)
    env["MAUS_IMAGE_DIRECTORY"] = str(Path(image_directory).resolve())
    env.setdefault("MAUS_WEB_SECRET_KEY", secrets.token_urlsafe(50))
    env.update(settings)
    return env


def runserver_command(port: int, *, python: str = sys.executable) -> list[str]:
    """Django's own server for the front-end on 127.0.0.1:``port``. No auto-reloader, so that
    it is one process that a signal stops."""
    return [python, str(WEBFRONTEND / "manage.py"), "runserver", f"{HOST}:{port}", "--noreload"]


@dataclass(frozen=True)
class ServedTree:
    """A copy of the front-end laid out as conf/apache/maus-online.conf expects, in a directory
    that Apache's user (www-data) can read, with its static files collected."""

    root: Path

    @property
    def wsgi_file(self) -> Path:
        return self.root / "conf" / "apache" / "maus_web.wsgi"

    @property
    def apache_conf(self) -> Path:
        return self.root / "conf" / "apache"

    @property
    def static_root(self) -> Path:
        return self.root / "static"

    @property
    def env_file(self) -> Path:
        return self.root / "web.env"


def prepare_served_tree(root: Path, settings: Mapping[str, str], *,
                        venv: Path = WSGI_VENV) -> ServedTree:
    """Copy conf/apache/ and the Django project into ``root``, write ``settings`` to the
    environment file that the WSGI file reads, and collect the static files with the served
    venv's Django. ``root`` must lie where www-data can reach (not under /root or /tmp's
    private pytest directories); what it writes becomes readable to all but the environment
    file, which holds the secret key (root:www-data, 0640)."""
    tree = ServedTree(root)
    shutil.copytree(REPO_ROOT / "conf" / "apache", tree.apache_conf, dirs_exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "node_modules", "jstests", "*.pyc")
    for name in ("maus_web", "dashboard"):
        shutil.copytree(WEBFRONTEND / name, root / "webfrontend" / name, ignore=ignore,
                        dirs_exist_ok=True)
    shutil.copy2(WEBFRONTEND / "manage.py", root / "webfrontend" / "manage.py")
    tree.env_file.write_text("".join(f"{name}={value}\n" for name, value in settings.items()))
    env = {**os.environ, **settings, "MAUS_WEB_STATIC_ROOT": str(tree.static_root)}
    subprocess.run([str(venv / "bin" / "python"), str(root / "webfrontend" / "manage.py"),
                    "collectstatic", "--noinput", "--verbosity", "0"], env=env, check=True)
    # Only what this function made: the image directory keeps the modes go.py gave it.
    root.chmod(0o755)
    for top in (root / "conf", root / "webfrontend", tree.static_root):
        for path in [top, *top.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    tree.env_file.chmod(0o640)
    shutil.chown(tree.env_file, group="www-data")
    return tree


def mod_wsgi_express_command(tree: ServedTree, port: int, server_root: Path, *,
                             venv: Path = WSGI_VENV, processes: int = 2,
                             threads: int = 15) -> list[str]:
    """mod_wsgi-express serving ``tree`` on 127.0.0.1:``port`` as www-data (Apache refuses to
    serve as root), static files by Apache from the collected root, with the security headers
    of conf/apache/security-headers.conf, as the VirtualHost does. Pass the environment file
    in the server's environment: ``MAUS_WEB_ENV_FILE=tree.env_file``."""
    return [str(venv / "bin" / "mod_wsgi-express"), "start-server", str(tree.wsgi_file),
            "--host", HOST, "--port", str(port), "--user", "www-data", "--group", "www-data",
            "--locale", "C.UTF-8", "--server-root", str(server_root),
            "--processes", str(processes), "--threads", str(threads),
            # Both with a slash, or Apache maps /static/x.css to .../staticx.css.
            "--url-alias", "/static/", f"{tree.static_root}/",
            "--include-file", str(tree.apache_conf / "security-headers.conf"),
            "--log-to-terminal"]
