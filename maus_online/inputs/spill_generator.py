"""InputPySpillGenerator: the spills of a simulated run, optionally paced like a live beam.

Consumes configuration only: ``run_number``, ``spill_count`` and ``spill_interval``.
Produces, all with ``maus_event_type`` "Spill", that ``run_number``, a ``time_stamp``,
``maus_online_version`` and an empty ``errors``:

* a ``start_of_run`` spill numbered 0,
* ``spill_count`` ``physics_event`` skeletons numbered 1 .. spill_count (no events: the
  maps simulate those),
* an ``end_of_run`` spill numbered spill_count + 1.
"""
from __future__ import annotations

import time
from collections.abc import Iterator

from .. import __version__
from ..modules import Config, InputBase, Spill
from ..spill.kinds import END_OF_RUN, PHYSICS_EVENT, START_OF_RUN, skeleton


class InputPySpillGenerator(InputBase):
    """A simulated run: run markers around ``spill_count`` empty physics spills.

    With ``spill_interval`` > 0 the physics spills arrive on a fixed schedule, one every
    ``spill_interval`` seconds after the start_of_run, like the spills of a live beam. The
    schedule runs on the monotonic clock and the time the consumer spends between two spills
    counts towards the wait, so a slow consumer sees no extra delay; one that fell behind
    gets the overdue spills at once, as a DAQ buffer would hand them over.
    """

    def birth(self, config: Config) -> None:
        # Types and ranges were checked when the configuration was merged.
        self.run_number: int = config["run_number"]
        self.spill_count: int = config["spill_count"]
        self.spill_interval: float = config["spill_interval"]

    def emitter(self) -> Iterator[Spill]:
        start = time.monotonic()  # before the first yield: the consumer's time counts too
        yield self._spill(START_OF_RUN, 0)
        for number in range(1, self.spill_count + 1):
            if self.spill_interval > 0:
                # Wait for the spill's slot on the schedule, not a fixed sleep after the last
                # spill: the consumer's processing time is part of the interval.
                delay = start + number * self.spill_interval - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield self._spill(PHYSICS_EVENT, number)
        yield self._spill(END_OF_RUN, self.spill_count + 1)

    def _spill(self, kind: str, number: int) -> Spill:
        return {**skeleton(self.run_number, number, kind), "time_stamp": time.time(),
                "maus_online_version": __version__}
