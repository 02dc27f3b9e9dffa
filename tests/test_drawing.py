"""Drawing off the merge path (reducers/drawing.py): a real drawing process, held busy by a gate.

The test plug-in's ReducePyGatedDraw draws only once its gate file exists, so a test knows
that the drawing process is busy without timing anything: the refreshes asked for meanwhile
wait, the newer replaces the older, the end of a run is always drawn, the merge goes on.
"""
from __future__ import annotations

import pytest

from maus_online.dataflows import MergeOutput, RunStatistics
from maus_online.modules import PARTIALS
from maus_online.spill import skeleton
from reducers.drawing import DONE, DRAWING, FAILED, SKIPPED, WAITING, DrawingService, plot_json
from reducers.plotting import Plot
from tests.celery_workers import write_plugin
from tests.conftest import make_config
from tests.list_modules import OutputPyList

TIMEOUT = 60.0


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """The test plug-in on this process's path, so the drawing process finds it too."""
    directory = tmp_path / "plugin"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(write_plugin(directory)))
    return tmp_path


@pytest.fixture
def service():
    made = DrawingService()
    yield made
    made.close()


def request(config, label):
    import boost_histogram as bh

    plot = Plot("gated", "Gated", "d", ("test",), {"Spills": bh.Histogram(bh.axis.Integer(0, 3))})
    return {"reducer": "ReducePyGatedDraw", "config": config, "label": label,
            "plots": [plot_json(plot)]}


def test_a_waiting_refresh_gives_way_to_the_newer_and_the_end_of_a_run_is_always_drawn(
        plugin, service):
    gate = plugin / "gate"
    config = make_config(test_draw_gate=str(gate))
    busy = service.submit("ReducePyGatedDraw", 1, request(config, "refresh 1"))
    assert busy.state == DRAWING  # the drawing process took it: it waits for the gate
    older = service.submit("ReducePyGatedDraw", 1, request(config, "refresh 2"))
    newer = service.submit("ReducePyGatedDraw", 1, request(config, "refresh 3"))
    assert (older.state, newer.state) == (SKIPPED, WAITING) and service.has_waiting(
        "ReducePyGatedDraw")
    end = service.submit("ReducePyGatedDraw", 1, request(config, "end of run 1"), pinned=True)
    next_run = service.submit("ReducePyGatedDraw", 2, request(config, "refresh of run 2"))
    # The end of run 1 replaced the waiting refresh and is not replaced by run 2's.
    assert (newer.state, end.state, next_run.state) == (SKIPPED, WAITING, WAITING)
    gate.touch()
    for drawing in (busy, end, next_run):
        service.wait(drawing, timeout=TIMEOUT)
    assert [d.state for d in (busy, end, next_run)] == [DONE, DONE, DONE]
    assert end.images["gated"] and not end.errors


def test_a_pinned_refresh_is_never_skipped(plugin, service):
    gate = plugin / "gate"
    config = make_config(test_draw_gate=str(gate))
    service.submit("ReducePyGatedDraw", 1, request(config, "busy"))
    pinned = service.submit("ReducePyGatedDraw", 1, request(config, "pinned"), pinned=True)
    later = service.submit("ReducePyGatedDraw", 1, request(config, "later"))
    assert (pinned.state, later.state) == (WAITING, WAITING)
    gate.touch()
    service.wait(later, timeout=TIMEOUT)
    assert (pinned.state, later.state) == (DONE, DONE)


def test_a_drawing_process_that_dies_fails_its_refresh_and_a_new_one_draws_the_next(
        plugin, service):
    crash = service.submit("ReducePyGatedDraw", 1,
                           request(make_config(test_draw_crash=True), "crash"))
    service.wait(crash, timeout=TIMEOUT)
    assert crash.state == FAILED and crash.reason == "the drawing process ended (status 3)"
    after = service.submit("ReducePyGatedDraw", 1, request(make_config(), "after"))
    service.wait(after, timeout=TIMEOUT)
    assert after.state == DONE and after.images["gated"]


def test_the_merge_goes_on_while_drawing_and_images_come_in_refresh_order(plugin):
    from maus_online.registry import build_default_registry

    gate = plugin / "gate"
    config = make_config(test_draw_gate=str(gate), refresh_rate=1)
    registry = build_default_registry()
    reducer, filler = (registry.create("ReducePyGatedDraw") for _ in range(2))
    filler.birth_fill(config)
    output = OutputPyList()
    merge = MergeOutput([reducer], [output], config, RunStatistics())
    merge.process(skeleton(1, 0, "start_of_run"))
    for n in range(1, 6):  # a refresh at every spill; the drawing process is stuck on the first
        spill = skeleton(1, n)
        merge.process({**spill, PARTIALS: {"ReducePyGatedDraw": filler.fill_partial(spill)}})
    assert [d["spill_number"] for d in output.saved if d["maus_event_type"] == "Spill"] == \
        [0, 1, 2, 3, 4, 5]  # every spill reduced and output, no image yet
    assert not [d for d in output.saved if d["maus_event_type"] == "Image"]
    gate.touch()
    merge.finish()  # the end of the run waits for its images
    images = [d["image"] for d in output.saved if d["maus_event_type"] == "Image"]
    numbers = [image["spill_number"] for image in images]
    assert numbers == sorted(numbers) and numbers[0] == 1 and numbers[-1] == 6
    # Refreshes asked for while the first was drawn were owed, and drawn as the latest state.
    assert len(images) < 6 and images[-1]["spills_seen"] == 5
