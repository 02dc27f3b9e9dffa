"""ReducePyTOFPlot and ReducePyHistogramTDCADCCounts: the plots, and the numbers behind them."""
from __future__ import annotations

import copy
from functools import lru_cache

import jsonschema
import numpy as np
import pytest

from reducers.harness import ReducerHarness
from reducers.image_document import histograms_from_json, image_schema
from reducers.tdc_adc_counts import ReducePyHistogramTDCADCCounts
from reducers.tof_plot import ReducePyTOFPlot
from tests.conftest import make_config, skeleton
from tests.tof_helpers import DETECTORS, SIMULATION, run_chain

TOF_TAGS = ["tof_hit_x", "tof_hit_y", "tof_pmt00", "tof_pmt01", "tof_pmt10", "tof_pmt11",
            "tof_nsp", "tof_sp_x", "tof_sp_y", "tof_xy_0", "tof_xy_1", "tof_xy_2",
            "tof_time_01", "tof_time_12", "tof_time_02"]
TDCADC_TAGS = ["tdcadc_tdc", "tdcadc_adc", "tdcadc_occupancy_tof0", "tdcadc_occupancy_tof1",
               "tdcadc_occupancy_tof2"]
#: TOF0 -> TOF1 (7.64 m) at 220 MeV/c: L / (beta c) of e+, mu+, pi+.
PEAKS = {"e+": 25.5, "mu+": 28.3, "pi+": 30.1}


@lru_cache(maxsize=None)
def _default_beam(count: int) -> tuple:
    return tuple(run_chain(range(1, count + 1)))


def default_beam(count: int = 5) -> list[dict]:
    """Spills of the default beam (200 triggers of e+, mu+, pi+ at 220 MeV/c), fresh copies."""
    return copy.deepcopy(list(_default_beam(count)))


def final_documents(cls, physics: list[dict], **overrides) -> dict[str, dict]:
    """The end-of-run image documents of a run (its only ones: fewer spills than the refresh
    rate), by tag; the reducer driven as a dataflow drives it."""
    documents = ReducerHarness(cls(), make_config(**overrides)).run(physics)
    assert {d["image"]["spill_number"] for d in documents} == {len(physics) + 1}
    return {d["image"]["tag"]: d for d in documents}


def histograms(document: dict) -> dict:
    return histograms_from_json(document["image"]["histograms"])


@pytest.fixture(scope="module")
def tof_documents() -> dict[str, dict]:
    return final_documents(ReducePyTOFPlot, default_beam())


def test_the_tof_plots_are_the_fifteen_experts_know(tof_documents):
    assert list(tof_documents) == TOF_TAGS
    assert all(d["image"]["image_type"] == "png" for d in tof_documents.values())


def test_tof_time_01_shows_the_e_mu_pi_peaks_in_the_right_bins(tof_documents):
    document = tof_documents["tof_time_01"]
    jsonschema.validate(document, image_schema())
    # Read from the JSON numbers, as a browser or a later analysis would.
    axis = document["image"]["histograms"][0]["axes"][0]
    assert (axis["type"], axis["lower"], axis["upper"], axis["bins"]) == ("regular", 20, 40, 200)
    assert axis["metadata"]["label"] == "t(TOF1) − t(TOF0) [ns]"
    values = np.asarray(document["image"]["histograms"][0]["storage"]["values"][1:-1])
    centres = 20.0 + 0.1 * (np.arange(200) + 0.5)
    total = values.sum()
    assert total > 900  # five spills of 200 triggers, nearly all with one point per station
    fractions = {}
    for name, expected in PEAKS.items():
        window = np.abs(centres - expected) < 0.75
        peak = centres[window][np.argmax(values[window])]
        assert abs(peak - expected) < 0.3, f"{name} peak at {peak:.2f} ns"
        fractions[name] = values[window].sum() / total
    # The beam's 20 % e+, 50 % mu+, 30 % pi+, and (nearly) nothing between the peaks.
    assert fractions == pytest.approx({"e+": 0.2, "mu+": 0.5, "pi+": 0.3}, abs=0.06)
    assert sum(fractions.values()) > 0.97
    assert _marks(ReducePyTOFPlot, "tof_time_01") == pytest.approx(list(PEAKS.values()), abs=0.1)


def _marks(cls, tag):
    reducer = cls()
    reducer.birth(make_config())
    (plot,) = [p for p in reducer.plots() if p.tag == tag]
    return [mark.position for mark in plot.marks]


def test_the_tof_numbers_are_those_of_the_spills(tof_documents):
    spills = default_beam()
    events = [e["tof_event"] for s in spills for e in s["recon_events"]]
    per_station = {tag: {name: h.sum() for name, h in histograms(tof_documents[tag]).items()}
                   for tag in TOF_TAGS}
    for n, detector in enumerate(DETECTORS):
        label = f"TOF{n}"
        points = sum(len(e["tof_space_points"][detector]) for e in events)
        assert per_station[f"tof_xy_{n}"] == {label: points}
        assert per_station["tof_sp_x"][label] == per_station["tof_sp_y"][label] == points
        assert per_station["tof_nsp"][label] == len(events)  # every trigger, 0 points or more
        hits = [h for e in events for h in e["tof_slab_hits"][detector]]
        assert per_station["tof_hit_x"][label] == sum(h["plane"] == 0 for h in hits)
        assert per_station["tof_hit_y"][label] == sum(h["plane"] == 1 for h in hits)
        digits = [d for e in events for d in e["tof_digits"][detector]]
        for plane in (0, 1):
            for pmt in (0, 1):
                assert per_station[f"tof_pmt{plane}{pmt}"][label] == sum(
                    d["plane"] == plane and d["pmt"] == pmt for d in digits)
    for key, tag in (("tof01", "tof_time_01"), ("tof12", "tof_time_12"), ("tof02", "tof_time_02")):
        measured = sum(key in e["time_of_flight"] for e in events)
        (histogram,) = histograms(tof_documents[tag]).values()
        assert histogram.sum(flow=True) == measured


def test_tof1_plots_have_its_seven_slabs(tof_documents):
    (xy,) = histograms(tof_documents["tof_xy_1"]).values()
    assert xy.axes.size == (7, 7)
    assert list(xy.axes[0].edges[[0, -1]]) == [-210.0, 210.0]  # 7 slabs of 60 mm
    assert xy.axes[0].label == "x [mm]" and xy.axes[1].label == "y [mm]"
    assert histograms(tof_documents["tof_hit_x"])["TOF1"].axes[0].size == 7


def test_raw_data_alone_gives_the_tdc_adc_plots_and_no_errors():
    spills = run_chain(range(1, 3), classes=SIMULATION, particles_per_spill=50)
    raw = [{k: v for k, v in s.items() if k != "mc_events"} for s in spills]
    assert all("recon_events" not in s for s in raw)
    tdcadc = final_documents(ReducePyHistogramTDCADCCounts, raw)
    tof = final_documents(ReducePyTOFPlot, raw)
    assert list(tdcadc) == TDCADC_TAGS
    assert all(sum(h.sum() for h in histograms(d).values()) > 0 for d in tdcadc.values())
    assert all(sum(h.sum() for h in histograms(d).values()) == 0 for d in tof.values())
    assert [s["errors"] for s in raw] == [{}, {}]


def test_the_tdc_adc_numbers_are_those_of_the_raw_data():
    spills = default_beam(2)
    documents = final_documents(ReducePyHistogramTDCADCCounts, spills)
    tdc, adc = histograms(documents["tdcadc_tdc"]), histograms(documents["tdcadc_adc"])
    for n, detector in enumerate(DETECTORS):
        label = f"TOF{n}"
        tdc_hits = [h for s in spills for t in s["daq_data"][detector] for h in t["V1290"]]
        adc_hits = [h for s in spills for t in s["daq_data"][detector] for h in t["V1724"]]
        assert tdc[label].sum(flow=True) == len(tdc_hits)
        assert adc[label].sum(flow=True) == len(adc_hits)
        mean = sum(h["leading_time"] for h in tdc_hits) / len(tdc_hits)
        centres = tdc[label].axes[0].centers
        assert abs((tdc[label].values() * centres).sum() / tdc[label].sum() - mean) < 25
        occupancy = histograms(documents[f"tdcadc_occupancy_{detector}"])
        assert occupancy["TDC hits"].sum() == len(tdc_hits)
        assert occupancy["ADC hits"].sum() == len(adc_hits)
    # Channel 0 of TOF0 is slab 0 of plane 0, PMT 0: through the cabling, TDC channel 0.
    key = "DAQChannelKey 0 1 0 102 tof0"
    count = sum(h["channel_key"] == key for s in spills for t in s["daq_data"]["tof0"]
                for h in t["V1290"])
    assert histograms(documents["tdcadc_occupancy_tof0"])["TDC hits"].values()[0] == count


def test_channels_the_cabling_does_not_know_are_reported_and_timed():
    spill = {**skeleton(1, 1), "daq_data": {"tof0": [None, {"V1290": [
        {"channel_key": "DAQChannelKey 9 9 9 102 tof0", "leading_time": 24000}]}]}}
    documents = final_documents(ReducePyHistogramTDCADCCounts, [spill])
    (message,) = spill["errors"]["ReducePyHistogramTDCADCCounts"]
    assert "1 DAQ channel keys not in the cabling map" in message
    assert "DAQChannelKey 9 9 9 102 tof0" in message
    assert histograms(documents["tdcadc_tdc"])["TOF0"].sum() == 1
    assert histograms(documents["tdcadc_occupancy_tof0"])["TDC hits"].sum(flow=True) == 0


def test_a_partial_reconstruction_fills_what_is_there():
    # Digits and slab hits but no space points yet (a transform without the last maps).
    spill = default_beam(1)[0]
    for event in spill["recon_events"]:
        event["tof_event"].pop("tof_space_points")
        event["tof_event"].pop("time_of_flight")
    documents = final_documents(ReducePyTOFPlot, [spill])
    assert spill["errors"] == {}
    assert histograms(documents["tof_pmt00"])["TOF0"].sum() > 0
    assert histograms(documents["tof_xy_0"])["TOF0"].sum() == 0


def _keep_only(spill: dict, stage: str | None, absent_as_null: bool) -> dict:
    """The spill as an earlier stage of MAUS's chain writes it: only ``stage`` of each
    tof_event (None: no tof_event at all), the other sections absent or ``null``."""
    stages = ("tof_digits", "tof_slab_hits", "tof_space_points", "time_of_flight")
    for event in spill["recon_events"]:
        if stage is None:
            if absent_as_null:
                event["tof_event"] = None
            else:
                del event["tof_event"]
            continue
        for other in stages:
            if other != stage:
                if absent_as_null:
                    event["tof_event"][other] = None
                else:
                    event["tof_event"].pop(other)
        if absent_as_null:  # MAUS writes null for a station without hits
            event["tof_event"][stage]["tof2"] = None
    return spill


@pytest.mark.parametrize("absent_as_null", [False, True], ids=["absent", "null"])
@pytest.mark.parametrize("stage, filled", [
    ("tof_digits", "tof_pmt00"), ("tof_slab_hits", "tof_hit_x"),
    ("tof_space_points", "tof_xy_0"), ("time_of_flight", "tof_time_01"), (None, None)])
def test_recon_events_of_one_stage_fill_what_is_there(stage, filled, absent_as_null):
    spill = _keep_only(default_beam(1)[0], stage, absent_as_null)
    documents = final_documents(ReducePyTOFPlot, [spill])
    assert spill["errors"] == {}
    filled_tags = {tag for tag, document in documents.items()
                   if any(h.sum(flow=True) for h in histograms(document).values())}
    # tof_nsp counts triggers with space points, so it fills with the space points (TOF2's
    # list is null in the "null" case, so only TOF0 and TOF1 are sure to be there).
    expected = {"tof_space_points": {"tof_xy_0", "tof_xy_1", "tof_sp_x", "tof_sp_y",
                                     "tof_nsp"}}.get(stage, {filled} - {None})
    assert expected <= filled_tags
    others = {"tof_digits": "tof_hit_x", "tof_slab_hits": "tof_pmt00",
              "tof_space_points": "tof_time_01", "time_of_flight": "tof_xy_0"}
    assert others.get(stage) not in filled_tags
    if stage is None:
        assert filled_tags == set()


#: An image document as this version writes it, kept so that old files keep loading.
SAVED_V1 = {
    "maus_event_type": "Image",
    "image": {
        "format_version": 1, "tag": "tof_time_01", "image_type": "png",
        "data": "iVBORw0KGgo=", "description": "Time of flight from TOF0 to TOF1.",
        "keywords": ["TOF", "time of flight"], "run_number": 7, "spill_number": 3,
        "spills_seen": 2, "time": "2026-11-26T17:00:00.000000Z",
        "histograms": [{
            "uhi_schema": 1, "writer_info": {"boost-histogram": {"version": "1.8.1"}},
            "axes": [{"type": "regular", "lower": 20.0, "upper": 40.0, "bins": 4,
                      "underflow": True, "overflow": True, "circular": False,
                      "metadata": {"label": "t(TOF1) − t(TOF0) [ns]"}}],
            "storage": {"type": "int", "values": [0, 0, 3, 5, 0, 1]},
            "metadata": {"name": "Triggers"}}],
    },
}


def test_a_saved_version_1_document_still_loads():
    jsonschema.Draft7Validator(image_schema()).validate(SAVED_V1)
    (histogram,) = histograms(SAVED_V1).values()
    assert histogram.name == "Triggers"
    assert histogram.axes[0].label == "t(TOF1) − t(TOF0) [ns]"
    assert histogram.values().tolist() == [0, 3, 5, 0]
    assert histogram.sum(flow=True) == 9
