"""The physics the chain must get right, on 1200 simulated triggers at the default beam:
time-of-flight peaks, PID, space-point positions, efficiency, resolutions."""
from __future__ import annotations

import numpy as np
import pytest

from maus_online.tof import NAME_BY_PDG, SPECIES, expected_time_of_flight, load_geometry
from tests.tof_helpers import DETECTORS, make_config, run_chain, truth_slabs

N_SPILLS = 6   # x 200 particles


@pytest.fixture(scope="module")
def events():
    """(mc_event, recon_event) of every trigger of N_SPILLS spills."""
    spills = run_chain(range(1, N_SPILLS + 1))
    assert all(s["errors"] == {} for s in spills)
    pairs = [pair for s in spills for pair in zip(s["mc_events"], s["recon_events"])]
    assert len(pairs) >= 1000
    return pairs


def test_tof01_peaks_sit_at_the_expected_times(events):
    config = make_config()
    length = load_geometry("tof_geometry.json").distance(0, 1)
    by_species: dict[str, list[float]] = {name: [] for name in SPECIES}
    for mc, recon in events:
        tof01 = recon["tof_event"]["time_of_flight"].get("tof01")
        if tof01 is not None:
            by_species[NAME_BY_PDG[mc["primary"]["particle_id"]]].append(tof01)
    for name, times in by_species.items():
        assert len(times) > 100, name
        expected = expected_time_of_flight(length, config["beam_momentum"], SPECIES[name].mass)
        # The median is exact under the monotonic map p -> L/(beta c) of a symmetric spread.
        assert abs(np.median(times) - expected) < 0.15, (name, np.median(times), expected)
    # The electrons' spread is the timing resolution alone: 4 PMTs per station, 55 ps each.
    assert np.std(by_species["e+"]) < 0.08


def test_pid_agrees_with_the_truth(events):
    decided = [(mc["primary"]["particle_id"], recon["tof_pid"]["particle_id"])
               for mc, recon in events if "tof_pid" in recon]
    assert len(decided) >= 0.95 * len(events)
    assert np.mean([truth == pid for truth, pid in decided]) >= 0.90


def test_space_points_lie_on_the_truth_slabs(events):
    checked = 0
    for mc, recon in events:
        slabs = truth_slabs(mc)
        for s, det in enumerate(DETECTORS):
            for point in recon["tof_event"]["tof_space_points"][det]:
                assert abs(point["slabX"] - slabs[(s, 0)]) <= 1
                assert abs(point["slabY"] - slabs[(s, 1)]) <= 1
                checked += 1
    assert checked > 3 * 0.95 * len(events)


def test_single_particle_efficiency(events):
    for s, det in enumerate(DETECTORS):
        seen = [len(recon["tof_event"]["tof_space_points"][det]) == 1 for mc, recon in events
                if {(s, 0), (s, 1)} <= truth_slabs(mc).keys()]
        assert len(seen) > 0.9 * len(events)
        assert np.mean(seen) >= 0.95, det


def test_slab_hit_position_and_time_resolution(events):
    position, time = [], []
    for mc, recon in events:
        truth = {(h["channel_id"]["station_number"], h["channel_id"]["plane"]): h
                 for h in mc["tof_hits"]}
        t0 = recon["tof_event"]["tof_slab_hits"]["tof0"]
        for s, det in enumerate(DETECTORS):
            for hit in recon["tof_event"]["tof_slab_hits"][det]:
                true = truth[(s, hit["plane"])]
                along = true["position"]["y"] if hit["plane"] == 0 else true["position"]["x"]
                position.append(hit["position"] - along)
                if s == 1 and t0:   # time relative to TOF0's x plane: the trigger jitter cancels
                    time.append(hit["raw_time"] - t0[0]["raw_time"]
                                - (true["time"] - truth[(0, 0)]["time"]))
    # sigma_a = v/2 * sqrt(2) * 55 ps ~ 5.8 mm; sigma_t(slab) = 55 ps / sqrt(2) ~ 39 ps
    assert abs(np.mean(position)) < 1.0 and np.std(position) < 8.0
    assert abs(np.mean(time)) < 0.01 and np.std(time) < 0.07
