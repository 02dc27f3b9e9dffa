#!/usr/bin/env python
"""``make run``: a simulated live beam and its dashboard, in one command.

    python webfrontend/live.py [--port 8000] [go.py options ...]

Starts go.py on a simulated live beam -- a spill every second, the plots redrawn every 5
spills, a day's worth of spills -- and the web front-end (Django's server on 127.0.0.1, DEBUG
off, a secret key made for the session), prints the dashboard's URL once it answers, and runs
until Ctrl-C, which stops both: the server exits, go.py closes its run and draws the final
plots. go.py's options override the live defaults (``--spill_interval 2``, ``--spill_count
50``); ``--image_directory DIR`` on this command line is where go.py writes and what the
dashboard shows.

When go.py ends its run by itself, the dashboard stays up until Ctrl-C. When go.py fails or
the server stops, the other is stopped too.

Exit status: 0 when stopped by Ctrl-C (or SIGTERM) and both stopped cleanly; otherwise go.py's
status when it failed, 1 when the server stopped or a child had to be killed.
"""
from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import servers

#: go.py's options for a live beam (docs/webfrontend.md); the user's come after and win.
LIVE_BEAM = ["--spill_interval", "1", "--refresh_rate", "5", "--spill_count", "86400"]
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
#: go.py's statuses after a stop: 0 (the run had ended) and 130 (interrupted, closed cleanly).
GO_STOPPED = {0, 130}


def image_directory(go_options: Sequence[str]) -> str:
    """The ``--image_directory`` of go.py's options (the last one wins, as in go.py), or
    go.py's default."""
    directory = "images"
    for index, option in enumerate(go_options):
        if option == "--image_directory" and index + 1 < len(go_options):
            directory = go_options[index + 1]
        elif option.startswith("--image_directory="):
            directory = option.partition("=")[2]
    return directory


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def say(message: str) -> None:
    """A line of the launcher's own, on standard error (standard output has the URL)."""
    print(f"live: {message}", file=sys.stderr, flush=True)


def supervise(go: subprocess.Popen, web: subprocess.Popen, url: str) -> int:
    """Wait for Ctrl-C or a child's end, printing the URL once the dashboard answers; stop
    both and return the exit status."""
    # Signals are taken synchronously, so none lands between a check and the wait: SIGCHLD
    # says a child ended. (Blocked only now: the children must not inherit the mask.)
    waited = STOP_SIGNALS | {signal.SIGCHLD}
    signal.pthread_sigmask(signal.SIG_BLOCK, waited)
    shown, go_ended = False, False
    status = 0
    while True:
        if web.poll() is not None:
            say(f"the web server stopped (status {web.returncode}); stopping go.py")
            status = 1
            break
        if not go_ended and go.poll() is not None:
            go_ended = True
            if go.returncode != 0:
                say(f"go.py failed (status {go.returncode}); stopping the web server")
                status = go.returncode
                break
            say(f"go.py ended its run; the dashboard stays up at {url} until Ctrl-C")
        if not shown and answers(url + "api/dashboard"):
            print(f"MAUS Online dashboard: {url}  (Ctrl-C stops go.py and the dashboard)",
                  flush=True)
            shown = True
        # Until the URL answers, look again every quarter second; then sleep until a signal.
        received = (signal.sigwaitinfo(waited) if shown
                    else signal.sigtimedwait(waited, 0.25))
        if received is not None and received.si_signo in STOP_SIGNALS:
            if sys.stderr.isatty():
                print(file=sys.stderr)  # off go.py's progress line
            say("stopping go.py (it closes the run and draws the final plots) and the dashboard")
            break
    web_status = servers.stop(web)
    go_status = servers.stop(go)
    if status == 0 and (web_status != 0 or go_status not in GO_STOPPED):
        status = 1
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the launcher with ``argv`` (default: the command line); returns the exit status."""
    parser = argparse.ArgumentParser(
        description="A simulated live beam (go.py) and its dashboard; Ctrl-C stops both. "
                    "Other options go to go.py (python go.py --help).")
    parser.add_argument("--port", type=int, default=8000,
                        help="port of the dashboard on 127.0.0.1 (default 8000)")
    options, go_options = parser.parse_known_args(argv)
    # Handlers of our own for Ctrl-C and SIGTERM (until supervise() takes them over), even when
    # started with them ignored, as a script's background job is: the children then start
    # with both at their defaults (exec resets caught signals, not ignored ones), so that
    # go.py closes its run on SIGINT.
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.default_int_handler)
    images = Path(image_directory(go_options)).resolve()
    # go.py would make it too, a little later: made now, the server's start-up check does not
    # warn that the dashboard has no directory to read.
    images.mkdir(parents=True, exist_ok=True)
    url = f"http://{servers.HOST}:{options.port}/"
    say(f"go.py writes plots into {images}; the dashboard shows them at {url}")
    children = []
    try:
        children.append(servers.start(
            servers.runserver_command(options.port), env=servers.web_environment(images)))
        children.append(servers.start(
            [sys.executable, str(servers.REPO_ROOT / "go.py"), *LIVE_BEAM, *go_options]))
        return supervise(children[1], children[0], url)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM before supervise() took them over
        say("stopping")
        return 0
    finally:
        # After an early Ctrl-C or an error above (a no-op for children already stopped),
        # with Ctrl-C held back, so that a second one cannot leave a child behind.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        for child in children:
            servers.stop(child)


if __name__ == "__main__":
    sys.exit(main())
