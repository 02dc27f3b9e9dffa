"""Drawing off the merge path: the histogram reducers' images are drawn in a process of their own.

Drawing the 20 default plots takes ~1.4 s of matplotlib, far longer than adding a spill's
partial histograms (DESIGN §7a). So at each refresh a histogram reducer hands a snapshot of its
plots to the :class:`DrawingService`, and merge-output goes on adding spills while a child
process (``python -m reducers.drawing``) draws them. The service:

* draws one refresh at a time, in the order they were asked for;
* when drawing falls behind, replaces a refresh still waiting with the newer one of the same
  reducer and run (the latest state is drawn, the refreshes in between are skipped) -- except a
  *pinned* refresh, such as the end of a run, which is always drawn;
* restarts the child when it dies; the refresh it was drawing fails with the reason.

Requests and replies are JSON (orjson) frames over the child's stdin and stdout, never pickle:
``{"id", "reducer", "config", "label", "plots": [plot, ...]}`` in, ``{"id", "images": {tag:
base64}, "errors": {tag: message}}`` out. A plot travels as :func:`plot_json` (its histograms in
UHI form, which the image document carries anyway). The child rebuilds the reducer from the
module registry and draws with that reducer's own ``render``, so a subclass's ``draw`` applies.
"""
from __future__ import annotations

import atexit
import base64
import logging
import os
import queue
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from .image_document import histogram_json, histograms_from_json
from .plotting import Mark, Plot
from .reference import reference_from_json, reference_json

log = logging.getLogger(__name__)

#: Frame header: the length of the JSON body that follows, big-endian.
_HEADER = struct.Struct(">I")
#: Niceness of the drawing process: on a small machine the transforms and the merge go first,
#: and drawing falls behind (skipping refreshes) rather than slowing the run.
DRAWING_NICENESS = 10
#: Where Linux keeps the niceness of a process's autogroup (sched(7)): with autogroups on, CPU
#: is shared between sessions first, so a process's own niceness only ranks it in its session.
AUTOGROUP = "/proc/self/autogroup"
#: Longest wait for one refresh's drawing before it is reported as failed.
DRAWING_TIMEOUT = 300.0
WAITING, DRAWING, DONE, SKIPPED, FAILED = "waiting", "drawing", "done", "skipped", "failed"


def plot_json(plot: Plot) -> dict[str, Any]:
    """``plot`` as plain JSON values, its histograms in UHI form (:func:`histogram_json`)."""
    return {"tag": plot.tag, "title": plot.title, "description": plot.description,
            "keywords": list(plot.keywords), "y_label": plot.y_label,
            "marks": [[mark.position, mark.label] for mark in plot.marks],
            "x_ticks": [[position, text] for position, text in plot.x_ticks.items()],
            "histograms": [histogram_json(name, h) for name, h in plot.histograms.items()],
            "peaks": dict(plot.peaks), "reference": reference_json(plot.reference)}


def plot_from_json(data: Mapping[str, Any]) -> Plot:
    """The :class:`Plot` of :func:`plot_json`, histograms rebuilt in their order."""
    return Plot(data["tag"], data["title"], data["description"], tuple(data["keywords"]),
                histograms_from_json(data["histograms"]), y_label=data["y_label"],
                marks=tuple(Mark(position, label) for position, label in data["marks"]),
                x_ticks={position: text for position, text in data["x_ticks"]},
                peaks=data.get("peaks") or {}, reference=reference_from_json(data.get("reference")))


@dataclass(eq=False)
class Drawing:
    """One refresh of one reducer, being drawn: consumes plot snapshots, produces images.

    ``images`` maps tags to base64 image data, ``errors`` tags to why they could not be drawn;
    a ``failed`` drawing has ``reason`` instead.
    """

    owner: str
    run: Any
    request: dict[str, Any]
    pinned: bool = False
    state: str = WAITING
    images: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    reason: str = ""

    @property
    def finished(self) -> bool:
        return self.state in (DONE, SKIPPED, FAILED)


def frame(document: Any) -> bytes:
    """``document`` as one frame: its JSON's length, then the JSON."""
    body = orjson.dumps(document)
    return _HEADER.pack(len(body)) + body


def read_frame(stream: IO[bytes]) -> Any | None:
    """The next frame's document, or None at the end of the stream."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (length,) = _HEADER.unpack(header)
    body = stream.read(length)
    if len(body) < length:
        return None
    return orjson.loads(body)


class DrawingService:
    """Consumes refresh snapshots of histogram reducers; produces their images, drawn in a
    child process one refresh at a time (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._waiting: list[Drawing] = []
        self._current: Drawing | None = None
        self._child: subprocess.Popen | None = None
        self._child_path: tuple[str, ...] = ()
        #: Frames for the child, written by a thread of their own: a busy (niced) child never
        #: blocks the merge on a full pipe.
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._next_id = 0

    def submit(self, owner: str, run: Any, request: dict[str, Any],
               pinned: bool = False) -> Drawing:
        """Queue a refresh of ``owner`` (a reducer name) in ``run``; ``request`` holds its
        ``reducer``, ``config``, ``label`` and ``plots``. A waiting, unpinned refresh of the
        same owner and run is skipped in its favour."""
        drawing = Drawing(owner, run, request, pinned)
        with self._lock:
            for older in [d for d in self._waiting if d.owner == owner and d.run == run
                          and not d.pinned]:
                older.state = SKIPPED
                self._waiting.remove(older)
            self._waiting.append(drawing)
            self._start_next()
            self._lock.notify_all()
        return drawing

    def has_waiting(self, owner: str) -> bool:
        """Whether a refresh of ``owner`` is waiting for the child (drawing is behind)."""
        with self._lock:
            return any(d.owner == owner for d in self._waiting)

    def pin(self, drawing: Drawing) -> None:
        """Make sure ``drawing`` is drawn, even if a newer refresh arrives (the end of a run)."""
        with self._lock:
            drawing.pinned = True

    def wait(self, drawing: Drawing, timeout: float = DRAWING_TIMEOUT) -> None:
        """Block until ``drawing`` is finished; after ``timeout`` it is failed."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not drawing.finished:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._fail(drawing, f"not drawn within {timeout:g} s")
                    break
                self._lock.wait(remaining)

    def close(self) -> None:
        """Stop the child (what is still waiting fails); the service starts a new one if used."""
        with self._lock:
            child, self._child = self._child, None
            for drawing in [*self._waiting, *([self._current] if self._current else [])]:
                self._fail(drawing, "the drawing process was stopped")
            self._waiting.clear()
            self._current = None
            if child is not None:
                self._outbox.put(None)
        if child is not None:
            try:
                child.wait(timeout=10)  # it ends at the end of its input
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    # --- Inside the lock ------------------------------------------------------------------

    def _start_next(self) -> None:
        if self._current is not None or not self._waiting:
            return
        drawing = self._waiting.pop(0)
        if self._child is not None and self._child_path != tuple(sys.path):
            # This process can import more than when the child started (a plug-in put on
            # the path): a new child finds the same modules as the reducers here.
            self._child = None
            self._outbox.put(None)  # its writer closes its input: it ends
        try:
            child = self._child or self._start_child()
        except OSError as exc:
            self._fail(drawing, f"cannot start the drawing process: {exc}")
            self._start_next()
            return
        self._next_id += 1
        self._outbox.put(frame({"id": self._next_id, **drawing.request}))
        drawing.state, self._current = DRAWING, drawing

    def _start_child(self) -> subprocess.Popen:
        # The child imports what this process imports: its search path, plug-ins included.
        self._child_path = tuple(sys.path)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        # A session of its own, so that its lower priority counts against every process of
        # the machine (the workers are in sessions of theirs), not only against go.py. It
        # still ends with go.py: at the end of its input, which closes when go.py goes.
        child = subprocess.Popen([sys.executable, "-m", "reducers.drawing"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                 start_new_session=True)
        self._child, self._outbox = child, queue.SimpleQueue()
        threading.Thread(target=self._read_replies, args=(child,), name="maus-drawing-replies",
                         daemon=True).start()
        threading.Thread(target=_write_requests, args=(child, self._outbox),
                         name="maus-drawing-requests", daemon=True).start()
        return child

    def _fail(self, drawing: Drawing, reason: str) -> None:
        drawing.state, drawing.reason = FAILED, reason
        self._lock.notify_all()

    # --- The reader thread ----------------------------------------------------------------

    def _read_replies(self, child: subprocess.Popen) -> None:
        while True:
            reply = read_frame(child.stdout)
            with self._lock:
                drawing = self._current
                if reply is None:  # the child ended: fail what it drew, start the next
                    status = child.wait()
                    child.stdout.close()
                    if self._child is child:
                        self._child = None
                        if drawing is not None:
                            self._fail(drawing, f"the drawing process ended (status {status})")
                        self._current = None
                        self._start_next()
                    return
                if drawing is not None:
                    drawing.images, drawing.errors = reply["images"], reply["errors"]
                    drawing.state = DONE
                self._current = None
                self._start_next()
                self._lock.notify_all()


def _write_requests(child: subprocess.Popen, outbox: queue.SimpleQueue) -> None:
    """Write each frame of ``outbox`` to the child until None, then close its input (the
    child ends at the end of its input). A child that died is the reader thread's business."""
    while (data := outbox.get()) is not None:
        try:
            child.stdin.write(data)
            child.stdin.flush()
        except OSError:
            break
    try:
        child.stdin.close()
    except OSError:
        pass


_service: DrawingService | None = None
_service_pid: int | None = None


def drawing_service() -> DrawingService:
    """This process's drawing service (a forked child makes its own: pipes and threads do not
    cross a fork)."""
    global _service, _service_pid
    if _service is None or _service_pid != os.getpid():
        _service, _service_pid = DrawingService(), os.getpid()
        atexit.register(_service.close)
    return _service


# --- The child process ----------------------------------------------------------------------

def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """Draw every request of ``requests`` with the reducer it names; reply on ``replies``."""
    from maus_online.registry import build_default_registry

    registry = build_default_registry()
    reducers: dict[tuple[str, bytes], Any] = {}
    while (request := read_frame(requests)) is not None:
        config = request["config"]
        key = (request["reducer"], orjson.dumps(config, option=orjson.OPT_SORT_KEYS))
        images: dict[str, str] = {}
        errors: dict[str, str] = {}
        try:
            reducer = reducers.get(key)
            if reducer is None:
                for name in config.get("reducers", ()):
                    registry.resolve(name, "reduce")  # import paths of the configuration
                reducer = registry.create(request["reducer"], "reduce")
                # The reference travels with each plot: the child never reads the archive.
                reducer.birth({**config, "histogram_drawing": "inline", "reference_run": ""})
                reducers[key] = reducer
        except Exception as exc:  # noqa: BLE001 - every plot of the request reports it
            errors = {plot["tag"]: f"{type(exc).__name__}: {exc}" for plot in request["plots"]}
        else:
            for data in request["plots"]:
                try:
                    image = reducer.render(plot_from_json(data), request["label"])
                    images[data["tag"]] = base64.b64encode(image).decode("ascii")
                except Exception as exc:  # noqa: BLE001 - one bad plot must not hide the others
                    errors[data["tag"]] = f"{type(exc).__name__}: {exc}"
        replies.write(frame({"id": request["id"], "images": images, "errors": errors}))
        replies.flush()


def lower_priority() -> None:
    """Run this process (its own session) at :data:`DRAWING_NICENESS`, in its autogroup too
    where Linux groups sessions; where either is not allowed, draw at the same priority."""
    try:
        os.nice(DRAWING_NICENESS)
    except OSError:
        pass
    try:
        with open(AUTOGROUP, "w") as stream:
            stream.write(str(DRAWING_NICENESS))
    except OSError:
        pass  # no autogroups (or not allowed): the process's own niceness is what counts


def main() -> None:
    # A Ctrl-C is go.py's to handle (it then closes its run and still needs its final images
    # drawn), even when sent to a process group this child has joined. The child ends when go.py
    # closes its input, or dies with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lower_priority()
    # stdout carries the frames: anything else printed goes to stderr.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
