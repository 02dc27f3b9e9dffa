"""The front-end under Apache 2.4 with mod_wsgi, for real and with DEBUG off: served by
mod_wsgi-express, and by Apache with the VirtualHost of conf/apache/maus-online.conf.

Apache serves as www-data (it refuses root), from the venv that .ci/install-test-deps builds
from /usr/bin/python3.11, and from a copy of the front-end in /var/tmp, because www-data can
read neither the machine's pyenv Python under /root nor pytest's private tmp_path. Settings,
the secret key among them, reach the application only through the environment file that the
WSGI file reads: a server that answers at all has read it.
"""
from __future__ import annotations

import json
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
WEBFRONTEND = REPO_ROOT / "webfrontend"
if str(WEBFRONTEND) not in sys.path:
    sys.path.insert(0, str(WEBFRONTEND))

import servers  # noqa: E402  (webfrontend/servers.py)
from tests.image_directory import sidecar_paths

APACHE_MODULES = Path("/usr/lib/apache2/modules")
PAGE_HEADERS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin", "Cross-Origin-Opener-Policy": "same-origin"}


def fetch(url: str, *, host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a GET, error statuses included."""
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def served():
    """The front-end laid out for Apache in a directory www-data can read, with 20 real plots
    that go.py drew into its image directory."""
    mod_wsgi_express = servers.WSGI_VENV / "bin" / "mod_wsgi-express"
    if not mod_wsgi_express.exists() or not shutil.which("apache2"):
        pytest.fail(f"Apache or {mod_wsgi_express} is missing: run .ci/install-test-deps "
                    f"(`make test` does)")
    root = Path(tempfile.mkdtemp(prefix="maus-web-apache-", dir="/var/tmp"))
    try:
        images = root / "images"
        subprocess.run([sys.executable, str(REPO_ROOT / "go.py"), "--spill_count", "10",
                        "--progress", "false", "--image_directory", str(images)],
                       check=True, capture_output=True)
        settings = {"MAUS_WEB_SECRET_KEY": "apache-test-" + "s" * 40,
                    "MAUS_IMAGE_DIRECTORY": str(images),
                    "MAUS_WEB_ALLOWED_HOSTS": "127.0.0.1",
                    "MAUS_WEB_STATIC_ROOT": str(root / "static"),
                    "MAUS_WEB_DEBUG": "0"}
        yield servers.prepare_served_tree(root, settings)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def serve(command: list[str], tree: servers.ServedTree, port: int, log: Path):
    """Run an Apache command until the dashboard answers; yields its base URL, then stops it
    and everything it started."""
    with open(log, "wb") as output:
        process = servers.start(command, output=output,
                                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                                     "MAUS_WEB_ENV_FILE": str(tree.env_file)})
        try:
            url = f"http://127.0.0.1:{port}"
            try:
                servers.wait_for_url(url + "/api/images", timeout=90, process=process)
            except (RuntimeError, TimeoutError) as exc:
                logs = "".join(path.read_text(errors="replace")[-3000:] for path in
                               [log, *log.parent.glob("*error.log")] if path.exists())
                pytest.fail(f"{exc}\n{logs}")
            yield url, process
        finally:
            servers.stop(process)


@pytest.fixture(scope="module")
def express(served):
    """mod_wsgi-express serving the tree: static files by Apache, security headers included."""
    port = servers.free_port()
    server_root = served.root / "express"
    yield from serve(servers.mod_wsgi_express_command(served, port, server_root), served, port,
                     served.root / "express.log")


def minimal_apache_conf(tree: servers.ServedTree, port: int, server_root: Path) -> str:
    """A whole Apache configuration around conf/apache/maus-online.conf, as Debian's
    apache2.conf would be around it: everything denied but what the VirtualHost grants."""
    module_config = subprocess.run([str(servers.WSGI_VENV / "bin" / "mod_wsgi-express"),
                                    "module-config"], check=True, capture_output=True,
                                   text=True).stdout
    modules = "\n".join(f"LoadModule {name}_module {APACHE_MODULES}/mod_{name}.so" for name in
                        ("mpm_event", "authz_core", "alias", "headers", "mime", "filter",
                         "deflate"))
    return f"""
ServerRoot {server_root}
DefaultRuntimeDir {server_root}
PidFile {server_root}/apache2.pid
Mutex file:{server_root} default
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
User www-data
Group www-data
ErrorLog {server_root}/error.log
LogFormat "%h %l %u %t \\"%r\\" %>s %O" combined
TypesConfig /etc/mime.types
{modules}
{module_config}
# Debian's packages put mod_wsgi's sockets in /var/run/apache2, which a test's Apache lacks.
WSGISocketPrefix {server_root}/wsgi
<Directory />
    AllowOverride None
    Require all denied
</Directory>
Define MAUS_ROOT {tree.root}
Define MAUS_SRC {tree.root}
Define MAUS_VENV {servers.WSGI_VENV}
Define MAUS_PORT {port}
Define MAUS_SERVER_NAME 127.0.0.1
Define APACHE_LOG_DIR {server_root}
Include {tree.apache_conf}/maus-online.conf
"""


@pytest.fixture(scope="module")
def virtual_host(served):
    """Apache itself with conf/apache/maus-online.conf (checked by `apache2 -t` first)."""
    port = servers.free_port()
    server_root = served.root / "apache"
    server_root.mkdir()
    server_root.chmod(0o755)
    conf = server_root / "apache2.conf"
    conf.write_text(minimal_apache_conf(served, port, server_root))
    check = subprocess.run(["apache2", "-t", "-f", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert "Syntax OK" in check.stderr
    yield from serve(["apache2", "-f", str(conf), "-DFOREGROUND"], served, port,
                     server_root / "console.log")


@pytest.fixture(params=["mod_wsgi-express", "VirtualHost"])
def apache(request, served):
    """The base URL of each way of serving (both with DEBUG off)."""
    url, process = request.getfixturevalue(
        "express" if request.param == "mod_wsgi-express" else "virtual_host")
    return url, process


def test_served_requirements_pin_django_and_whitenoise_as_the_project_does():
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    project = {re.split(r"[<>=!~ \[]", spec)[0].lower(): spec
               for spec in pyproject["project"]["dependencies"]}
    served = [line for line in (REPO_ROOT / "conf/apache/requirements.txt").read_text()
              .splitlines() if line and not line.startswith("#")]
    for spec in served:
        name = re.split(r"[<>=!~ ]", spec)[0].lower()
        if name != "mod_wsgi":
            assert project[name] == spec, f"conf/apache/requirements.txt: {spec} vs {project[name]}"
    assert {re.split(r"[<>=!~ ]", spec)[0].lower() for spec in served} == {
        "django", "whitenoise", "mod_wsgi"}


def test_dashboard_page_with_security_headers(apache, served):
    url, _ = apache
    status, headers, body = fetch(url + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = body.decode()
    for name in ("tof_time_01", "tof_time_12", "tdcadc_adc"):
        assert f'data-series="{name}"' in page
    for name, value in PAGE_HEADERS.items():
        assert headers[name] == value, name
    # Django's policy, not Apache's stricter one for files: the page's scripts may run.
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "no-store" in headers["Cache-Control"]


def test_json_api_and_image_files(apache, served):
    url, _ = apache
    status, headers, body = fetch(url + "/api/images")
    assert status == 200 and headers["Content-Type"] == "application/json"
    listing = json.loads(body)
    on_disk = [path.stem for path in sidecar_paths(Path(served.root) / "images")]
    assert listing["count"] == 20 and sorted(i["tag"] for i in listing["images"]) == on_disk
    status, _, body = fetch(url + "/api/images/tof_time_01")
    detail = json.loads(body)
    assert status == 200 and detail["histograms"] and detail["spills_seen"] == 10
    status, headers, body = fetch(url + detail["image_url"])
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert body == (Path(served.root) / "images" / "tof_time_01.png").read_bytes()


def test_static_files_are_served_by_apache_with_headers(apache, served):
    url, _ = apache
    status, headers, body = fetch(url + "/static/dashboard/dashboard.js")
    assert status == 200 and "javascript" in headers["Content-Type"]
    assert body == (WEBFRONTEND / "dashboard/static/dashboard/dashboard.js").read_bytes()
    # conf/apache/security-headers.conf's policy for files: only Apache sets this one
    # (WhiteNoise answers before Django's CSP middleware and sets none).
    assert headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "ETag" in headers
    status, _, body = fetch(url + "/static/dashboard/vendor/plotly.min.js")
    assert status == 200 and len(body) > 1_000_000


def test_virtual_host_caches_static_files_briefly(virtual_host):
    url, _ = virtual_host
    _, headers, _ = fetch(url + "/static/dashboard/dashboard.css")
    assert headers["Cache-Control"] == "public, max-age=60"


def test_debug_is_off_and_other_hosts_are_refused(apache):
    url, _ = apache
    status, _, body = fetch(url + "/no/such/page")
    assert status == 404
    assert b"URLconf" not in body and b"Traceback" not in body and b"DEBUG" not in body
    status, _, body = fetch(url + "/", host="evil.example")
    assert status == 400 and b"evil.example" not in body


def test_the_application_runs_as_www_data(apache):
    _, process = apache
    members = servers.session_members(process.pid)
    users = {pid: Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[0]
             for pid in members}
    workers = [pid for pid in members if pid != process.pid]
    assert workers, "Apache started no worker"
    www_data = str(pwd.getpwnam("www-data").pw_uid)
    assert all(users[pid] == www_data for pid in workers), users
