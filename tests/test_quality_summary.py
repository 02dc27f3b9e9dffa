"""The run's quality summary (outputters/quality_summary.py) and how OutputPyImage writes it:
quality.json in image_directory and ``quality`` in the archive's run.json."""
from __future__ import annotations

import json
import os

import pytest

from maus_online.catalogue import CATALOGUE
from maus_online.run_record import RunRecord
from outputters.quality_summary import GROUPS, QualityError, QualitySummary, plot_quality, worst
from tests.test_output_image import born, document


def quality(level: str, groups=("TOF1",), checks=None) -> dict:
    if checks is None:
        checks = [] if level == "Null" else [
            {"check": "CheckPyDeadChannels", "level": level, "value": 1.0,
             "reason": f"{level.lower()} reason"}]
    return {"level": level, "groups": list(groups), "checks": checks}


def with_quality(tag: str, value: dict | object, run: int = 3) -> dict:
    return {"maus_event_type": "Image",
            "image": {"tag": tag, "run_number": run, "quality": value}}


def folded(*documents: dict) -> dict:
    summary = QualitySummary()
    for made in documents:
        summary.fold(made)
    return summary.document(now=1_796_126_400.0)


def group(summary: dict, name: str) -> dict:
    return next(entry for entry in summary["groups"] if entry["name"] == name)


# --- the summary ----------------------------------------------------------------------------

@pytest.mark.parametrize("levels, expected", [
    (["Good", "Medium", "Bad"], "Bad"), (["Good", "Medium"], "Medium"), (["Good"], "Good"),
    (["Null", "Good"], "Good"), (["Null", "Null"], "Null"), ([], "Null")],
    ids=["bad-wins", "medium-over-good", "good", "null-never-wins", "all-null", "none"])
def test_worst_of_the_levels_and_null_only_when_nothing_says_more(levels, expected):
    assert worst(levels) == expected


def test_each_group_is_the_worst_of_its_plots_and_the_run_the_worst_of_its_groups():
    summary = folded(with_quality("tdcadc_occupancy_tof0", quality("Good", ["TOF0"])),
                     with_quality("tdcadc_occupancy_tof1", quality("Bad", ["TOF1"])),
                     with_quality("tof_hits_1", quality("Medium", ["TOF1"])),
                     with_quality("tof_time_01", quality("Good", ["time of flight"])),
                     with_quality("spill_count", quality("Null", ["DAQ"])))
    assert summary["format_version"] == 1 and summary["run_number"] == 3
    assert summary["time"] == "2026-12-01T12:00:00.000Z"
    assert [entry["name"] for entry in summary["groups"]] == list(GROUPS)
    assert {entry["name"]: entry["level"] for entry in summary["groups"]} == {
        "TOF0": "Good", "TOF1": "Bad", "TOF2": "Null", "time of flight": "Good", "DAQ": "Null"}
    assert summary["level"] == "Bad"
    assert summary["counts"] == {"Good": 2, "Medium": 1, "Bad": 1, "Null": 1}
    tof1 = group(summary, "TOF1")
    assert tof1["counts"] == {"Good": 0, "Medium": 1, "Bad": 1, "Null": 0}
    assert tof1["plots"][0] == {"tag": "tdcadc_occupancy_tof1", "level": "Bad",
                                "reason": "bad reason", "check": "CheckPyDeadChannels"}
    assert group(summary, "TOF2") == {"name": "TOF2", "level": "Null", "plots": [],
                                      "counts": {"Good": 0, "Medium": 0, "Bad": 0, "Null": 0}}


def test_the_worst_check_gives_the_reason_and_a_plot_without_checks_is_null():
    checks = [{"check": "A", "level": "Good", "reason": "fine"},
              {"check": "B", "level": "Medium", "reason": "drifting"},
              {"check": "C", "level": "Null", "reason": "too few entries"}]
    plot = plot_quality("tof_time_01", quality("Medium", checks=checks))
    assert (plot.level, plot.check, plot.reason) == ("Medium", "B", "drifting")
    summary = folded(with_quality("tof_time_01", quality("Null", checks=[])))
    assert summary["level"] == "Null" and summary["counts"]["Null"] == 1
    assert group(summary, "TOF1")["plots"][0]["reason"] is None


def test_a_plot_in_two_groups_counts_in_both_and_once_overall():
    summary = folded(with_quality("tof_xy", quality("Medium", ["TOF1", "TOF2"])))
    assert group(summary, "TOF1")["level"] == group(summary, "TOF2")["level"] == "Medium"
    assert summary["counts"] == {"Good": 0, "Medium": 1, "Bad": 0, "Null": 0}


def test_a_refresh_replaces_the_plot_and_auto_numbered_refreshes_are_one_plot():
    summary = QualitySummary()
    assert summary.fold(with_quality("tof_xy_0_000001", quality("Good")))
    assert not summary.fold(with_quality("tof_xy_0_000001", quality("Good")))  # unchanged
    assert summary.fold(with_quality("tof_xy_0_000002", quality("Bad")))
    result = summary.document()
    assert result["counts"]["Bad"] == 1 and sum(result["counts"].values()) == 1
    assert group(result, "TOF1")["plots"][0]["tag"] == "tof_xy_0_000002"


def test_documents_without_quality_count_nowhere():
    summary = QualitySummary()
    assert not summary.fold({"image": {"tag": "tof_time_01", "run_number": 3}})
    assert not summary.fold({"maus_event_type": "Spill"})
    result = summary.document()
    assert result["level"] == "Null" and sum(result["counts"].values()) == 0


def test_a_group_of_another_name_follows_the_detector_groups():
    summary = folded(with_quality("ckov", quality("Bad", ["Cherenkov"])))
    assert [entry["name"] for entry in summary["groups"]] == [*GROUPS, "Cherenkov"]
    assert summary["level"] == "Bad"


@pytest.mark.parametrize("value, field", [
    ("Bad", "image.quality is str"),
    ({"level": "Terrible", "groups": []}, "image.quality.level is 'Terrible'"),
    ({"level": "Bad", "groups": "TOF1"}, "image.quality.groups"),
    ({"level": "Bad", "groups": [3]}, "image.quality.groups"),
    ({"level": "Bad", "checks": {"check": "A"}}, "image.quality.checks is dict"),
    ({"level": "Bad", "checks": [{"check": "A", "level": None}]},
     "image.quality.checks[0].level is None"),
    ({"level": "Bad", "checks": [{"check": ["A"], "level": "Bad"}]},
     "image.quality.checks[0].check is list"),
], ids=["not-object", "level", "groups-str", "group-number", "checks-dict", "check-level",
        "check-name"])
def test_malformed_quality_is_refused_naming_the_tag_and_the_field(value, field):
    summary = QualitySummary()
    summary.fold(with_quality("tdcadc_occupancy_tof1", quality("Bad")))
    with pytest.raises(QualityError) as raised:
        summary.fold(with_quality("tdcadc_occupancy_tof1", value))
    message = str(raised.value)
    assert CATALOGUE["MAUS-180"].found_in(message)
    assert "plot tdcadc_occupancy_tof1:" in message and field in message
    # What the plot said before is forgotten: it counts nowhere now.
    assert sum(summary.document()["counts"].values()) == 0


# --- OutputPyImage writes it ----------------------------------------------------------------

def read_quality(directory) -> dict:
    return json.loads((directory / "quality.json").read_text())


def test_output_writes_quality_json_when_the_summary_changes_and_keeps_it_in_run_json(
        tmp_path):
    images = tmp_path / "images"
    output = born(images, archive_directory=str(tmp_path / "archive"))
    output.save(document("tdcadc_occupancy_tof0", quality=quality("Good", ["TOF0"])))
    assert read_quality(images)["level"] == "Good"
    first = (images / "quality.json").stat().st_ino
    output.save(document("tdcadc_occupancy_tof0", quality=quality("Good", ["TOF0"])))
    assert (images / "quality.json").stat().st_ino == first  # unchanged: not rewritten
    output.save(document("tdcadc_occupancy_tof1", quality=quality("Bad", ["TOF1"])))
    written = read_quality(images)
    assert written["level"] == "Bad" and written["run_number"] == 3
    assert group(written, "TOF1")["plots"][0]["tag"] == "tdcadc_occupancy_tof1"
    output.save(document("tof_time_01"))  # no quality: counts nowhere
    assert sum(read_quality(images)["counts"].values()) == 2
    assert not [path for path in os.listdir(images) if path.endswith(".tmp")]

    record = RunRecord(3)
    output.run_ended(record)
    run_json = json.loads((tmp_path / "archive" / "run_000003" / "run.json").read_text())
    assert run_json["quality"]["level"] == "Bad"
    assert run_json["quality"]["counts"] == {"Good": 1, "Medium": 0, "Bad": 1, "Null": 0}
    assert run_json["quality"]["groups"] == read_quality(images)["groups"]
    assert "quality.json" not in os.listdir(tmp_path / "archive" / "run_000003")
    output.death()


def test_the_summary_is_reset_at_each_runs_birth(tmp_path):
    images = tmp_path / "images"
    output = born(images)
    output.save(document("tdcadc_occupancy_tof1", quality=quality("Bad", ["TOF1"])))
    output.death()
    output = born(images)
    output.save(document("tdcadc_occupancy_tof0", quality=quality("Good", ["TOF0"])))
    written = read_quality(images)
    assert written["level"] == "Good" and written["counts"]["Bad"] == 0
    output.death()


def test_malformed_quality_is_an_error_naming_the_tag_and_the_plot_is_still_written(tmp_path):
    images = tmp_path / "images"
    output = born(images)
    output.save(document("tdcadc_occupancy_tof1", quality=quality("Bad", ["TOF1"])))
    with pytest.raises(QualityError, match="plot tdcadc_occupancy_tof1: its quality is ignored"):
        output.save(document("tdcadc_occupancy_tof1", quality={"level": 3}))
    assert (images / "tdcadc_occupancy_tof1.png").exists()
    assert sum(read_quality(images)["counts"].values()) == 0  # rewritten without the plot
    output.death()


def test_quality_json_that_cannot_be_written_is_a_catalogued_error_and_the_plot_stays(
        tmp_path):
    images = tmp_path / "images"
    output = born(images, archive_directory=str(tmp_path / "archive"))
    (images / "quality.json").mkdir()  # in the way: the rename over it fails
    with pytest.raises(QualityError) as raised:
        output.save(document("tdcadc_occupancy_tof1", quality=quality("Bad", ["TOF1"])))
    assert CATALOGUE["MAUS-181"].found_in(str(raised.value))
    assert (images / "tdcadc_occupancy_tof1.png").exists()
    assert not [path for path in os.listdir(images) if path.endswith(".tmp")]
    # At the run's end the archive keeps the run and its quality all the same.
    with pytest.raises(QualityError):
        output.run_ended(RunRecord(3))
    run_json = json.loads((tmp_path / "archive" / "run_000003" / "run.json").read_text())
    assert run_json["quality"]["level"] == "Bad"
    output.death()


def test_a_run_whose_plots_carry_no_quality_writes_no_summary(tmp_path):
    images = tmp_path / "images"
    output = born(images, archive_directory=str(tmp_path / "archive"))
    output.save(document("tof_time_01"))
    output.run_ended(RunRecord(3))
    assert not (images / "quality.json").exists()
    run_json = json.loads((tmp_path / "archive" / "run_000003" / "run.json").read_text())
    assert "quality" not in run_json  # run.json as before quality existed
    output.death()
