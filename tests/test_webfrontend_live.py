"""``make run``'s launcher (webfrontend/live.py): go.py on a simulated beam and the dashboard
together, the URL printed, and Ctrl-C (SIGINT) stopping both with nothing left behind."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
WEBFRONTEND = REPO_ROOT / "webfrontend"
if str(WEBFRONTEND) not in sys.path:
    sys.path.insert(0, str(WEBFRONTEND))

import servers  # noqa: E402  (webfrontend/servers.py)
from tests.processes import wait_until  # noqa: E402

TIMEOUT = 90.0


def children_of(pid: int) -> list[int]:
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]


def command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")


def plots(url: str) -> int:
    try:
        return json.loads(servers.wait_for_url(url + "api/images", timeout=5))["count"]
    except (TimeoutError, ValueError):
        return 0


@pytest.fixture
def launch(tmp_path):
    """Starts live.py (in a session of its own, as a terminal's foreground job would be);
    whatever is left running at the end of the test is stopped."""
    launched = []

    def start(*options: str, port: int, sigint_ignored: bool = False) -> subprocess.Popen:
        command = [sys.executable, str(WEBFRONTEND / "live.py"), "--port", str(port),
                   "--image_directory", str(tmp_path / "images"), "--progress", "false",
                   *options]
        if sigint_ignored:  # as a shell script's background job starts: exec keeps SIG_IGN
            command = ["/bin/sh", "-c", 'trap "" INT; exec "$@"', "sh", *command]
        stdout = open(tmp_path / "stdout", "wb")
        stderr = open(tmp_path / "stderr", "wb")
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr,
                                   stdin=subprocess.DEVNULL, start_new_session=True,
                                   env={**os.environ, "MAUS_WEB_DEBUG": "0"})
        launched.append((process, stdout, stderr))
        return process

    yield start
    for process, stdout, stderr in launched:
        children = children_of(process.pid) if process.poll() is None else []
        servers.stop(process)
        for child in children:
            for pid in servers.session_members(child):
                os.kill(pid, signal.SIGKILL)
        stdout.close()
        stderr.close()


@pytest.mark.parametrize("sigint_ignored", [False, True],
                         ids=["from a terminal", "started with SIGINT ignored"])
def test_ctrl_c_stops_go_and_the_dashboard(launch, tmp_path, sigint_ignored):
    port = servers.free_port()
    url = f"http://127.0.0.1:{port}/"
    launcher = launch("--spill_interval", "0.25", "--refresh_rate", "4", port=port,
                      sigint_ignored=sigint_ignored)
    wait_until(lambda: f"MAUS Online dashboard: {url}" in (tmp_path / "stdout").read_text(),
               "the URL to be printed")
    wait_until(lambda: plots(url) >= 20, "go.py's plots on the dashboard")
    children = children_of(launcher.pid)
    assert sorted("go.py" in command_line(pid) for pid in children) == [False, True]
    assert any("runserver 127.0.0.1:" in command_line(pid) for pid in children)

    os.kill(launcher.pid, signal.SIGINT)
    assert launcher.wait(timeout=TIMEOUT) == 0, (tmp_path / "stderr").read_text()
    for child in children:
        assert servers.session_members(child) == [], f"{child} outlived the launcher"
    output = (tmp_path / "stdout").read_text()
    assert "MAUS Online summary (interrupted by Ctrl-C)" in output  # go.py closed its run
    with socket.socket() as probe:  # nothing listens on the port any more
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        probe.bind(("127.0.0.1", port))


def test_the_dashboard_stays_up_when_the_run_ends(launch, tmp_path):
    port = servers.free_port()
    url = f"http://127.0.0.1:{port}/"
    launcher = launch("--spill_count", "4", "--spill_interval", "0", "--refresh_rate", "4",
                      port=port)
    wait_until(lambda: "go.py ended its run" in (tmp_path / "stderr").read_text(),
               "go.py to end its 4-spill run")
    assert plots(url) >= 20 and launcher.poll() is None
    launcher.send_signal(signal.SIGTERM)
    assert launcher.wait(timeout=TIMEOUT) == 0


def test_a_dashboard_that_cannot_start_stops_go(launch, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        launcher = launch(port=port)
        assert launcher.wait(timeout=TIMEOUT) == 1
    stderr = (tmp_path / "stderr").read_text()
    assert "the web server stopped" in stderr and "stopping go.py" in stderr
    assert "That port is already in use" in stderr
