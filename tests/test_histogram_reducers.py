"""Histogram reducers beyond the contract (test_reducer_contract.py): the split into a fill part
and a merge part, the partials' wire form, a reducer that does not split, the plotting helpers."""
from __future__ import annotations

import boost_histogram as bh
import orjson
import pytest

from maus_online.dataflows import SpillSide
from maus_online.modules import PARTIALS, MapPyGroup, fields_read
from reducers.harness import ReducerHarness, reconstructed_spills, skeleton
from reducers.histogram_base import missing_partial
from reducers.image_document import histograms_from_json
from reducers.matplotlib_histogram import ReducePyMatplotlibHistogram
from reducers.partial_histograms import (PartialError, add_partial, binning_digest,
                                         encode_partial, flow_views)
from reducers.plotting import Plot, empty_note, per_bin, regular_axis
from reducers.tdc_adc_counts import ReducePyHistogramTDCADCCounts
from reducers.tof_plot import ReducePyTOFPlot
from tests.conftest import make_config


class ReducePyOldStyleTime(ReducePyMatplotlibHistogram):
    """A histogram reducer written before the split: book, fill, plots, no histograms()."""

    spill_fields = ("recon_events",)

    def book(self):
        self.time = bh.Histogram(regular_axis(200, 20.0, 40.0, "t [ns]"),
                                 storage=bh.storage.Int64())

    def fill(self, spill):
        self.time.fill([e["tof_event"]["time_of_flight"]["tof01"]
                        for e in spill.get("recon_events", ())
                        if "tof01" in (e.get("tof_event", {}).get("time_of_flight") or {})])

    def plots(self):
        return [Plot("old_time", "Old", "Old style.", ("TOF",), {"Triggers": self.time})]


def final_image(documents, tag):
    (image,) = [d["image"] for d in documents if d["image"]["tag"] == tag]
    return image


def test_an_old_style_reducer_fills_on_the_merge_side_from_whole_spills():
    assert not ReducePyOldStyleTime.splits() and ReducePyTOFPlot.splits()
    config = make_config(histogram_drawing="inline")
    old = ReducerHarness(ReducePyOldStyleTime(), config).run(reconstructed_spills(3))
    new = ReducerHarness(ReducePyTOFPlot(), config).run(reconstructed_spills(3))
    (old_time,) = histograms_from_json(final_image(old, "old_time")["histograms"]).values()
    (new_time,) = histograms_from_json(final_image(new, "tof_time_01")["histograms"]).values()
    assert old_time.sum() > 0 and old_time.values().tolist() == new_time.values().tolist()
    # Only the reducer that does not split needs its fields back from the workers.
    assert fields_read([ReducePyOldStyleTime(), ReducePyTOFPlot()]) == ["recon_events"]
    assert fields_read([ReducePyTOFPlot(), ReducePyHistogramTDCADCCounts()]) == []


def test_the_spill_side_leaves_kilobytes_of_partials_and_no_events():
    config = make_config()
    side = SpillSide(MapPyGroup(), [ReducePyTOFPlot(), ReducePyHistogramTDCADCCounts()],
                     fields=())
    side.birth(config)
    (spill,) = reconstructed_spills(1, particles=200)
    whole = len(orjson.dumps(spill))
    stored = side.process(spill)
    assert set(stored) == {"maus_event_type", "daq_event_type", "run_number", "spill_number",
                           "errors", PARTIALS}
    assert set(stored[PARTIALS]) == {"ReducePyTOFPlot", "ReducePyHistogramTDCADCCounts"}
    size = len(orjson.dumps(stored))
    assert size < 30_000 and size * 50 < whole, (size, whole)


def test_a_failed_fill_part_is_recorded_and_adds_nothing():
    config = make_config(histogram_drawing="inline")
    bad = {**skeleton(1, 1), "recon_events": [{"tof_event": 7}]}
    harness = ReducerHarness(ReducePyTOFPlot(), config)
    documents = harness.run([bad, *reconstructed_spills(2)])
    (message,) = bad["errors"]["ReducePyTOFPlot"]
    assert message.startswith("AttributeError") or message.startswith("TypeError")
    assert {d["image"]["spills_seen"] for d in documents} == {2}


def test_a_spill_without_its_partial_says_which_fill_part_did_not_run():
    config = make_config(histogram_drawing="inline")
    # Transformed elsewhere without this reducer's fill part: no partials at all.
    bare = reconstructed_spills(1)[0]
    harness = ReducerHarness(ReducePyTOFPlot(), config, fill=False)
    documents = harness.run([bare])
    assert bare["errors"]["ReducePyTOFPlot"] == [missing_partial("ReducePyTOFPlot")]
    assert "name ReducePyTOFPlot in the reducers of the input-transform" in missing_partial("X") \
        .replace("X", "ReducePyTOFPlot")
    assert {d["image"]["spills_seen"] for d in documents} == {0}
    # A spill that failed before the spill side (unreadable input) is no missing partial.
    unread = {**skeleton(1, 1), "errors": {"InputPyJSON": ["line 3: not valid JSON"]}}
    ReducerHarness(ReducePyTOFPlot(), config, fill=False).run([unread])
    assert list(unread["errors"]) == ["InputPyJSON"]


def histograms_of(cls, config):
    reducer = cls()
    reducer.birth_fill(config)
    return reducer.histograms()


def test_a_partial_of_another_binning_is_refused_and_adds_nothing():
    config = make_config()
    booked = histograms_of(ReducePyTOFPlot, config)
    digest = binning_digest(booked)
    other = {name: h.copy() for name, h in booked.items()}
    other["time_tof01"] = bh.Histogram(regular_axis(100, 20.0, 40.0, "t"),
                                       storage=bh.storage.Int64())
    assert binning_digest(other) != digest
    other["time_tof01"].fill([28.0])
    before = {name: h.copy() for name, h in booked.items()}
    with pytest.raises(PartialError, match="different configurations"):
        add_partial(flow_views(booked), encode_partial(flow_views(other), binning_digest(other)),
                    digest)
    assert booked == before


@pytest.mark.parametrize("broken, message", [
    (lambda p: p["histograms"].update(nowhere={"type": "int", "values": [1]}), "does not book"),
    (lambda p: p["histograms"]["time_tof01"].update(index=[[3, 999]]), "malformed"),
    (lambda p: p["histograms"]["time_tof01"].update(index=[[-1, 3]]), "malformed"),
    (lambda p: p["histograms"]["time_tof01"].update(values=[1, 2, 3]), "another length"),
    (lambda p: p.update(format_version=99), "format_version 99"),
    (lambda p: p.update(format="something else"), "not a partial"),
], ids=["unknown histogram", "bin out of range", "negative bin", "lengths differ", "version",
        "format"])
def test_a_malformed_partial_is_refused_before_anything_is_added(broken, message):
    booked = histograms_of(ReducePyTOFPlot, make_config())
    digest = binning_digest(booked)
    filled = {name: h.copy() for name, h in booked.items()}
    filled["time_tof01"].fill([25.5, 28.3])
    filled["pixels"].fill(0, 3, 4)
    partial = orjson.loads(orjson.dumps(encode_partial(flow_views(filled), digest)))
    broken(partial)
    before = {name: h.copy() for name, h in booked.items()}
    with pytest.raises(PartialError, match=message):
        add_partial(flow_views(booked), partial, digest)
    assert booked == before


def test_dense_and_sparse_partials_add_up_exactly():
    booked = {"dense": bh.Histogram(bh.axis.Integer(0, 3), storage=bh.storage.Int64()),
              "sparse": bh.Histogram(bh.axis.Regular(100, 0.0, 1.0), bh.axis.Integer(0, 4),
                                     storage=bh.storage.Int64())}
    digest = binning_digest(booked)
    run = {name: h.copy() for name, h in booked.items()}
    expected = {name: h.copy() for name, h in booked.items()}
    for n in range(5):
        for h in booked.values():
            h.reset()
        booked["dense"].fill([0, 1, 2, 2, -1, 7])
        booked["sparse"].fill([0.05 * n, 2.0], [n % 4, 1])
        partial = orjson.loads(orjson.dumps(encode_partial(flow_views(booked), digest)))
        assert ("index" in partial["histograms"]["sparse"]) and \
            ("index" not in partial["histograms"]["dense"])
        add_partial(flow_views(run), partial, digest)
        for name in expected:
            expected[name] += booked[name]
    assert run == expected


def test_per_bin_names_the_bin_width() -> None:
    time_axis = bh.axis.Regular(200, 20.0, 40.0)
    assert per_bin("Triggers", time_axis, "ns") == "Triggers / 0.1 ns"
    assert per_bin("Hits", bh.axis.Regular(200, 0.0, 4000.0), "counts") == "Hits / 20 counts"
    assert per_bin("Slab hits", bh.axis.Integer(0, 10)) == "Slab hits"


def test_empty_plots_say_why() -> None:
    histogram = bh.Histogram(bh.axis.Regular(10, 0.0, 1.0))
    plot = Plot("t", "T", "d", ("k",), {"h": histogram})
    assert empty_note(plot) == "No entries yet"
    histogram.fill([5.0])
    assert empty_note(plot) == "All entries outside the axis range"
    histogram.fill([0.5])
    assert empty_note(plot) == ""
