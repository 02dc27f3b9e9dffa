"""The simulated detector broken on purpose, and go.py's quality checks catching it.

Each fault (a dead PMT, a station's cable delay, a beam of another momentum) runs go.py for 30
spills of 200 triggers; the matching group goes Bad by then, and no other group is ever Medium
or Bad. A clean run of 300 spills, over several seeds, raises no Medium or Bad anywhere. The
levels are read from the sidecars' ``image.quality`` (``histogram_auto_number`` keeps every
refresh's sidecar, so every refresh is judged, not only the last). The same on
``multi_process``, with a real Celery worker.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from maus_online.checks import BAD, GOOD, MEDIUM
from tests.celery_workers import run_go

GROUPS = ("TOF0", "TOF1", "TOF2", "time of flight", "DAQ")
#: (fault id, go.py options, the group that must go Bad)
FAULTS = [
    ("dead_pmt", ["--simulation_dead_pmts", "TOFChannelKey 1 0 3 0 tof1"], "TOF1"),
    ("station_delay", ["--simulation_station_time_offsets", '{"tof1": 0.8}'], "time of flight"),
    ("beam_momentum", ["--beam_momentum", "200"], "time of flight"),
]


def refreshes(directory: Path) -> dict[int, dict[str, dict]]:
    """{refresh number: {tag: image.quality}} of every auto-numbered sidecar in ``directory``."""
    found: dict[int, dict[str, dict]] = {}
    for path in directory.glob("*_[0-9][0-9][0-9][0-9][0-9][0-9].json"):
        image = json.loads(path.read_text())["image"]
        tag, _, number = image["tag"].rpartition("_")
        found.setdefault(int(number), {})[tag] = image["quality"]
    return found


def group_levels(qualities: dict[str, dict]) -> dict[str, list[tuple[str, str]]]:
    """Each group's (plot, level) pairs of one refresh."""
    groups: dict[str, list[tuple[str, str]]] = {name: [] for name in GROUPS}
    for tag, quality in qualities.items():
        for group in quality["groups"]:
            groups[group].append((tag, quality["level"]))
    return groups


def alarms(found: dict[int, dict[str, dict]], groups=GROUPS) -> list[str]:
    """Every Medium or Bad verdict of a plot of ``groups``, at any refresh, with its reason."""
    return [f"refresh {n} {tag} ({', '.join(q['groups'])}): {c['check']} {c['level']}: "
            f"{c['reason']}"
            for n, qualities in sorted(found.items()) for tag, q in qualities.items()
            if set(q["groups"]) & set(groups)
            for c in q["checks"] if c["level"] in (MEDIUM, BAD)]


def go(queue, worker_env, directory: Path, spills: int, refresh: int, *options) -> dict:
    directory.mkdir()
    result = run_go(queue, worker_env, directory, "--spill_count", str(spills),
                    "--refresh_rate", str(refresh), "--histogram_auto_number", "true",
                    "--histogram_drawing", "inline", "--image_directory", str(directory),
                    *options)
    assert result.returncode == 0, result.stderr
    found = refreshes(directory)
    # One sidecar per refresh and plot, and the end of the run's (the same state again).
    assert len(found) == spills // refresh + 1 and all(
        len(plots) == 20 for plots in found.values()), sorted(found)
    return found


def assert_caught(found: dict, group: str) -> None:
    last = group_levels(found[max(found)])
    assert BAD in {level for _, level in last[group]}, last[group]
    others = [name for name in GROUPS if name != group]
    assert alarms(found, others) == []
    # The other groups end Good: judged, not merely Null.
    for name in others:
        assert {level for _, level in last[name]} == {GOOD}, (name, last[name])


@pytest.mark.parametrize("options, group", [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_each_fault_goes_bad_in_its_group_within_30_spills(queue, worker_env, tmp_path,
                                                           options, group):
    assert_caught(go(queue, worker_env, tmp_path / "images", 30, 10, *options), group)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_clean_run_of_300_spills_raises_nothing(queue, worker_env, tmp_path, seed):
    found = go(queue, worker_env, tmp_path / "images", 300, 30, "--random_seed", str(seed))
    assert alarms(found) == []
    last = group_levels(found[max(found)])
    assert all({level for _, level in last[name]} == {GOOD} for name in GROUPS), last


def test_multi_process_catches_each_fault_and_stays_clean_without_one(
        start_workers, queue, worker_env, tmp_path):
    (worker,) = start_workers(1, concurrency=2)
    multi = ("--type_of_dataflow", "multi_process")
    for name, options, group in FAULTS:
        found = go(queue, worker_env, tmp_path / name, 30, 10, *multi, *options)
        assert_caught(found, group)
    found = go(queue, worker_env, tmp_path / "clean", 60, 20, *multi, "--random_seed", "4")
    assert alarms(found) == [], worker.log()


def test_against_a_reference_run_a_clean_run_stays_clean_and_a_slower_beam_does_not(
        queue, worker_env, tmp_path):
    archive = tmp_path / "archive"
    reference = ("--archive_directory", str(archive))
    # The good run archived with plain tags (auto-numbered ones would match no plot).
    result = run_go(queue, worker_env, tmp_path, "--spill_count", "60", "--run_number", "1",
                    "--image_directory", str(tmp_path / "good"), *reference)
    assert result.returncode == 0, result.stderr
    compared = ("--reference_run", "1", "--random_seed", "2", *reference)
    found = go(queue, worker_env, tmp_path / "clean", 60, 20, "--run_number", "2", *compared)
    assert alarms(found) == []
    judged = {c["check"] for q in found[max(found)].values() for c in q["checks"]
              if c["level"] == GOOD}
    assert {"CheckPyReferenceChi2", "CheckPyReferenceKS"} <= judged  # judged, not Null
    slower = go(queue, worker_env, tmp_path / "slower", 60, 20, "--run_number", "3",
                "--beam_momentum", "200", *compared)
    time_01 = {c["check"]: c["level"] for c in slower[max(slower)]["tof_time_01"]["checks"]}
    assert time_01["CheckPyReferenceKS"] == time_01["CheckPyReferenceChi2"] == BAD
