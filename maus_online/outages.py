"""Riding out a server outage: which server is down, since when, said once, and given up late.

A run must outlive a RabbitMQ or Redis restart (issue 12): go.py keeps what it holds and
waits, and the shifter is told, once per outage and with a catalogue identifier, which server
is down and since when; when it answers again the run goes on by itself. Only a server that
stays away longer than ``server_outage_timeout`` ends the run, with one message::

    outages = Outages(timeout=300, note=progress.note)
    try:
        publish()
    except ConnectionError as exc:
        outages.failed("RabbitMQ", url, exc)   # MAUS-108 the first time; MAUS-141 past 300 s
    else:
        outages.answered("RabbitMQ")           # MAUS-140 when it had been down

The document store has its own blocking :class:`~maus_online.doc_store.Retrying` (every store
call is one the caller cannot go on without); this is for the non-blocking paths, where go.py
keeps feeding what it can while one server is away.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from .catalogue import say
from .errors import MausError


class ServerDown(MausError):
    """A server stayed unreachable past ``server_outage_timeout``: the run ends (MAUS-141)."""


@dataclass
class Outage:
    """One server that does not answer: since when (both clocks), and the last reason."""

    server: str
    url: str
    since: float  # time.monotonic()
    since_wall: datetime
    reason: str

    def describe(self) -> str:
        return f"{self.server} down since {self.since_wall:%H:%M:%S}"


class Outages:
    """Consumes failures and successes of calls to servers; produces the notes a shifter reads
    (MAUS-108 at the first failure, MAUS-140 when the server is back) and :class:`ServerDown`
    once a server has been down longer than ``timeout`` seconds.

    ``paused`` is what the progress line shows while any server is down.
    """

    def __init__(self, timeout: float, note: Callable[[str], None] = print, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = float(timeout)
        self.note = note
        self.clock = clock
        self.down: dict[str, Outage] = {}
        #: How many outages ended: a caller resends what may have been lost meanwhile.
        self.recoveries = 0

    def failed(self, server: str, url: str, reason: object) -> None:
        """``server`` (at ``url``) did not answer; raise :class:`ServerDown` when it has not
        answered for longer than the timeout."""
        now = self.clock()
        text = _one_line(reason)
        outage = self.down.get(server)
        if outage is None:
            outage = self.down[server] = Outage(server, url, now, datetime.now().astimezone(),
                                                text)
            self.note(say("MAUS-108", server=server, url=url,
                          since=f"{outage.since_wall:%H:%M:%S}", reason=text,
                          timeout=f"{self.timeout:g}"))
        outage.reason = text
        if now - outage.since > self.timeout:
            raise ServerDown(say("MAUS-141", server=server, url=url,
                                 timeout=f"{self.timeout:g}", reason=text))

    def answered(self, server: str) -> None:
        """``server`` answered: if it was down, say that it is back."""
        outage = self.down.pop(server, None)
        if outage is not None:
            self.recoveries += 1
            self.note(say("MAUS-140", server=server, url=outage.url,
                          seconds=f"{self.clock() - outage.since:.0f}"))

    @property
    def paused(self) -> str | None:
        """``"RabbitMQ down since 10:02:03"`` while a server is down, else None."""
        if not self.down:
            return None
        return "PAUSED: " + ", ".join(outage.describe() for outage in self.down.values())


def _one_line(reason: object) -> str:
    text = str(reason).strip() or type(reason).__name__
    return text.splitlines()[0]
