"""The run archive (outputters/archive.py): each run's final plots and run.json, kept by the real
go.py in every dataflow, replaced whole, bounded, and kept when a run is cut short.
"""
from __future__ import annotations

import datetime
import doctest
import json
import os
import re
import signal
from pathlib import Path

import pytest

import maus_online.run_record
from maus_online import __version__
from maus_online.catalogue import CATALOGUE
from maus_online.errors import ConfigurationError
from maus_online.run_record import RunRecord
from maus_online.spill import skeleton
from outputters.archive import (STALE_SECONDS, ArchiveError, ArchivedPlot, RunArchive,
                                archive_directory, histogram_entries)
from tests.celery_workers import GO_TIMEOUT, go_in_background, run_go
from tests.conftest import REPO_ROOT, make_config
from tests.image_directory import sidecar_paths
from tests.processes import wait_until

#: Small spills, drawn in go.py itself: a run of a few spills takes seconds.
FAST = ["--particles_per_spill", "20", "--random_seed", "5", "--histogram_drawing", "inline"]
#: A saved run.json of format 1: what the front-end codes against. Fields may be added to
#: what go.py writes, never renamed or retyped.
EXAMPLE = json.loads((REPO_ROOT / "tests/data/archive/run_000007/run.json").read_text())


def go(queue, worker_env, cwd, *args):
    result = run_go(queue, worker_env, cwd, *FAST, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def run_json(archive: Path, run: int) -> dict:
    return json.loads((archive / f"run_{run:06d}" / "run.json").read_text())


def runs_in(archive: Path) -> list[str]:
    """What a reader of the archive sees, and nothing half-made left behind."""
    names = sorted(path.name for path in archive.iterdir())
    assert not [name for name in names if name.startswith(".")], names
    return names


def utc(text: str) -> datetime.datetime:
    when = datetime.datetime.fromisoformat(text)
    assert when.utcoffset() == datetime.timedelta(0), text
    return when


def assert_final_plots_kept(archive_run: Path, images: Path, document: dict) -> None:
    """The archive's files are byte for byte the final ones of the image directory."""
    sidecars = {json.loads(path.read_text())["image"]["tag"]: path
                for path in sidecar_paths(images)}
    assert set(document["plots"]) == set(sidecars)
    for tag, plot in document["plots"].items():
        assert plot["sidecar"] == sidecars[tag].name
        for name in (plot["sidecar"], plot["image_file"]):
            assert (archive_run / name).read_bytes() == (images / name).read_bytes(), name
    assert sorted(path.name for path in archive_run.iterdir()) == sorted(
        [*(p["sidecar"] for p in document["plots"].values()),
         *(p["image_file"] for p in document["plots"].values()), "run.json"])


# --- go.py, pipeline_single_thread ----------------------------------------------------------

def test_two_runs_give_two_directories_with_their_run_json(queue, worker_env, tmp_path):
    first = go(queue, worker_env, tmp_path, "--run_number", "7", "--spill_count", "4",
               "--image_directory", "seven")
    go(queue, worker_env, tmp_path, "--run_number", "8", "--spill_count", "3",
       "--image_directory", "eight")
    archive = tmp_path / "archive"  # beside both image directories: the default
    assert runs_in(archive) == ["run_000007", "run_000008"]
    document = run_json(archive, 7)
    # The example run was archived before quality checks; every run now has its quality.
    assert {key: type(value) for key, value in document.items()} == \
        {key: type(value) for key, value in {**EXAMPLE, "quality": {}}.items()}
    assert document["quality"]["run_number"] == 7 and document["quality"]["level"] in (
        "Good", "Null")  # a clean run of 4 spills: nothing is Medium or Bad
    assert set(document["spills"]) == set(EXAMPLE["spills"])
    assert all(set(plot) == set(EXAMPLE["plots"]["tdcadc_adc"])
               for plot in document["plots"].values())
    assert document["format"] == 1 and document["run_number"] == 7 and document["complete"]
    assert document["spills"] == {"physics": 4, "run_markers": 2, "with_errors": 0,
                                  "input_errors": 0}
    assert run_json(archive, 8)["spills"]["physics"] == 3
    transform = re.search(r"transform (.*)$", first.stdout.splitlines()[0]).group(1)
    assert document["transform"] == transform
    assert re.fullmatch(r"[0-9a-f]{12}", document["configuration_id"])
    assert document["version"] == __version__
    assert document["dataflow"] == "pipeline_single_thread"
    first_spill, last_spill = (utc(document[key]) for key in ("first_spill_time",
                                                              "last_spill_time"))
    assert first_spill <= last_spill <= utc(document["archived_at"]) + datetime.timedelta(
        seconds=1)
    assert all(isinstance(p["entries"], int) for p in document["plots"].values())
    assert_final_plots_kept(archive / "run_000007", tmp_path / "seven", document)


def test_rerunning_a_run_replaces_its_archive_whole(queue, worker_env, tmp_path):
    common = ["--run_number", "3", "--archive_directory", "kept"]
    go(queue, worker_env, tmp_path, *common, "--spill_count", "2")
    before = run_json(tmp_path / "kept", 3)
    assert any(tag.startswith("tof_") for tag in before["plots"])
    # Read again with one reducer only: the old run's TOF plots must not survive beside it.
    (tmp_path / "images").rename(tmp_path / "images_before")
    go(queue, worker_env, tmp_path, *common, "--spill_count", "5",
       "--reducers", "ReducePyHistogramTDCADCCounts")
    assert runs_in(tmp_path / "kept") == ["run_000003"]
    after = run_json(tmp_path / "kept", 3)
    assert after["spills"]["physics"] == 5
    assert after["plots"] and not any(tag.startswith("tof_") for tag in after["plots"])
    assert after["configuration_id"] != before["configuration_id"]
    assert_final_plots_kept(tmp_path / "kept" / "run_000003", tmp_path / "images", after)


def test_keep_runs_drops_the_lowest_run_numbers(queue, worker_env, tmp_path):
    keep = ["--archive_keep_runs", "2", "--spill_count", "1", "--reducers",
            "ReducePyHistogramTDCADCCounts"]
    for run in (4, 2, 6):
        go(queue, worker_env, tmp_path, *keep, "--run_number", str(run))
    assert runs_in(tmp_path / "archive") == ["run_000004", "run_000006"]
    # An old run read again is archived, and dropped at once: the log says so.
    late = go(queue, worker_env, tmp_path, *keep, "--run_number", "1")
    assert CATALOGUE["MAUS-119"].found_in(late.stderr), late.stderr
    assert runs_in(tmp_path / "archive") == ["run_000004", "run_000006"]


def test_a_run_interrupted_by_ctrl_c_is_archived_incomplete(queue, worker_env, tmp_path):
    args = [*FAST, "--run_number", "12", "--spill_count", "10000", "--spill_interval", "0.05",
            "--refresh_rate", "2", "--reducers", "ReducePyHistogramTDCADCCounts"]
    with go_in_background(queue, worker_env, tmp_path, *args) as process:
        wait_until(lambda: sidecar_paths(tmp_path / "images"), "the first plots",
                   process=process)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=GO_TIMEOUT)
    assert process.returncode == 130, stderr
    physics = int(re.search(r"spills done: +\d+ \((\d+) physics", stdout).group(1))
    document = run_json(tmp_path / "archive", 12)
    assert document["complete"] is False
    # The start_of_run was read; the end_of_run go.py made itself is not a spill of the run.
    assert document["spills"] == {"physics": physics, "run_markers": 1, "with_errors": 0,
                                  "input_errors": 0}
    assert_final_plots_kept(tmp_path / "archive" / "run_000012", tmp_path / "images", document)


def test_a_run_whose_input_ends_mid_run_is_archived_incomplete(queue, worker_env, tmp_path):
    tdc = ["--reducers", "ReducePyHistogramTDCADCCounts"]
    go(queue, worker_env, tmp_path, *tdc, "--run_number", "9", "--spill_count", "3",
       "--output_json_file_name", "recorded.jsonl", "--archive_directory", "first")
    recorded = (tmp_path / "recorded.jsonl").read_text().splitlines()
    assert json.loads(recorded[-1])["daq_event_type"] == "end_of_run"
    (tmp_path / "cut.jsonl").write_text("\n".join(recorded[:-2]) + "\n")  # no end, 2 physics
    go(queue, worker_env, tmp_path, *tdc, "--inputter", "InputPyJSON",
       "--input_json_file_name", "cut.jsonl")
    document = run_json(tmp_path / "archive", 9)
    assert document["complete"] is False
    assert document["spills"] == {"physics": 2, "run_markers": 1, "with_errors": 0,
                                  "input_errors": 0}
    # Replayed, the spills keep their recorded time stamps.
    stamps = [json.loads(line)["time_stamp"] for line in recorded[:-2]]
    assert utc(document["first_spill_time"]).timestamp() == pytest.approx(stamps[0], abs=1e-3)
    assert utc(document["last_spill_time"]).timestamp() == pytest.approx(stamps[-1], abs=1e-3)


def test_an_archive_directory_that_is_a_file_is_a_configuration_error(
        queue, worker_env, tmp_path):
    (tmp_path / "taken").write_text("not a directory")
    result = run_go(queue, worker_env, tmp_path, *FAST, "--spill_count", "1",
                    "--archive_directory", "taken")
    assert result.returncode == 2
    assert CATALOGUE["MAUS-116"].found_in(result.stderr), result.stderr


def test_a_run_that_cannot_be_archived_is_reported_and_its_images_stay(
        queue, worker_env, tmp_path):
    (tmp_path / "archive").mkdir()
    (tmp_path / "archive" / "run_000005").write_text("a file where the run would go")
    result = go(queue, worker_env, tmp_path, "--run_number", "5", "--spill_count", "2",
                "--reducers", "ReducePyHistogramTDCADCCounts")
    assert CATALOGUE["MAUS-117"].found_in(result.stdout), result.stdout
    assert "errors by module: OutputPyImage 1" in result.stdout
    assert "spills done:      4 (2 physics, 2 run markers)" in result.stdout
    assert list((tmp_path / "images").glob("*.png"))
    assert runs_in(tmp_path / "archive") == ["run_000005"]
    assert (tmp_path / "archive" / "run_000005").read_text() == "a file where the run would go"


# --- go.py, the dataflows with workers and a document store ---------------------------------

def sqlite_store(tmp_path):
    return ["--doc_store_class", "sqlite", "--doc_store_url", f"sqlite:///{tmp_path}/store.db"]


def test_multi_process_archives_its_runs(start_workers, queue, worker_env, tmp_path):
    start_workers(1, concurrency=2)
    go(queue, worker_env, tmp_path, *sqlite_store(tmp_path), "--type_of_dataflow",
       "multi_process", "--run_number", "21", "--spill_count", "6")
    document = run_json(tmp_path / "archive", 21)
    assert document["complete"] and document["dataflow"] == "multi_process"
    assert document["spills"]["physics"] == 6 and document["spills"]["run_markers"] == 2
    assert_final_plots_kept(tmp_path / "archive" / "run_000021", tmp_path / "images", document)


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["killed", "ctrl-c"])
def test_merge_output_restarted_mid_run_archives_the_whole_run(
        stop, start_workers, queue, worker_env, tmp_path):
    start_workers(1, concurrency=2)
    store = sqlite_store(tmp_path)
    produced = go(queue, worker_env, tmp_path, *store, "--run_number", "30", "--spill_count",
                  "30", "--type_of_dataflow", "multi_process_input_transform",
                  "--reducers", "ReducePyCountSpills,ReducePyHistogramTDCADCCounts")
    assert "spills stored:    32 in the document store" in produced.stdout
    stored_by = datetime.datetime.now(datetime.timezone.utc)
    # Drawn inline at every spill, merge-output takes seconds: long enough to be killed.
    merge_output = [*store, "--type_of_dataflow", "multi_process_merge_output",
                    "--refresh_rate", "1",
                    "--reducers", "ReducePyCountSpills,ReducePyHistogramTDCADCCounts"]
    from maus_online.doc_store import open_doc_store

    with open_doc_store({"doc_store_class": "sqlite",
                         "doc_store_url": f"sqlite:///{tmp_path}/store.db"}) as opened, \
            go_in_background(queue, worker_env, tmp_path, *FAST, *merge_output) as doomed:
        wait_until(lambda: (state := opened.consumers().get("default")) is not None
                   and state.cursor >= 10, "10 spills reduced", process=doomed)
        doomed.send_signal(stop)
        doomed.wait(timeout=GO_TIMEOUT)
        assert opened.consumers()["default"].cursor < 32  # stopped inside the run
    if stop == signal.SIGINT:  # the run so far, kept as incomplete until the restart ends it
        cut = run_json(tmp_path / "archive", 30)
        # At least 10 store documents were reduced: the start_of_run and 9 physics spills.
        assert cut["complete"] is False and 9 <= cut["spills"]["physics"] < 30
    resumed = go(queue, worker_env, tmp_path, *merge_output)
    assert "rebuilt the open run from" in resumed.stdout
    document = run_json(tmp_path / "archive", 30)
    assert document["complete"] and document["dataflow"] == "multi_process_merge_output"
    assert document["spills"] == {"physics": 30, "run_markers": 2, "with_errors": 0,
                                  "input_errors": 0}
    # The spills' own time stamps, not the times merge-output reduced them.
    assert utc(document["first_spill_time"]) <= utc(document["last_spill_time"]) <= stored_by
    counts = json.loads((tmp_path / "images" / "tdcadc_adc.json").read_text())
    assert counts["image"]["spills_seen"] == 30
    assert_final_plots_kept(tmp_path / "archive" / "run_000030", tmp_path / "images", document)


# --- The parts, in this process ---------------------------------------------------------------

def test_the_run_record_counts_as_the_summary_does_and_skips_what_the_merge_made():
    record = RunRecord(4)
    record.observe(skeleton(4, 0, "start_of_run"), clock=lambda: 100.0)
    record.observe({**skeleton(4, 1), "time_stamp": 50.0,
                    "errors": {"InputPyJSON": ["line 2: not valid JSON"]}})
    record.observe({**skeleton(4, 2), "errors": {"MapPyTOFDigits": ["no cabling"]}},
                   clock=lambda: 200.0)
    record.observe({**skeleton(4, 3, "end_of_run"), "synthesized": True},
                   clock=lambda: 300.0)
    # The unreadable spill is an input error, not physics (as go.py's summary counts it).
    assert record.spill_counts() == {"physics": 1, "run_markers": 1, "with_errors": 2,
                                     "input_errors": 1}
    assert (record.first_spill_time, record.last_spill_time) == (100.0, 200.0)
    assert record.complete is False
    assert doctest.testmod(maus_online.run_record).failed == 0


def test_the_default_archive_is_beside_the_image_directory_and_a_value_wins(tmp_path):
    images = tmp_path / "web" / "images"
    assert archive_directory(make_config(image_directory=str(images))) == \
        tmp_path / "web" / "archive"
    assert archive_directory(make_config(image_directory=str(images),
                                         archive_directory=str(tmp_path / "old"))) == \
        tmp_path / "old"


def test_an_archive_that_cannot_be_created_is_a_configuration_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigurationError, match="MAUS-116 .*cannot create it"):
        RunArchive.from_config(make_config(archive_directory=str(tmp_path / "file" / "sub")))


def test_a_missing_image_file_fails_the_archive_and_leaves_nothing_half_made(tmp_path):
    archive = RunArchive(tmp_path / "archive")
    archive.directory.mkdir()
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.json").write_text("{}")
    record = RunRecord(9)
    with pytest.raises(ArchiveError, match="MAUS-117 run 9 .*No such file.*a.png"):
        archive.keep(record, {"a": ArchivedPlot("a.png", "a.json")}, tmp_path / "images")
    assert list(archive.directory.iterdir()) == []
    with pytest.raises(ArchiveError, match="MAUS-117 run None .*not a whole number"):
        archive.keep(RunRecord(None), {}, tmp_path / "images")


def test_what_a_killed_go_py_left_half_made_is_swept_once_it_is_stale(tmp_path):
    archive = RunArchive(tmp_path / "archive")
    archive.directory.mkdir()
    stale, fresh = (archive.directory / f".run_000003.{token}.new"
                    for token in ("0badc0de", "0123abcd"))
    for directory in (stale, fresh):
        directory.mkdir()
        (directory / "run.json").write_text("{")
    os.utime(stale, (0, 1000.0))
    os.utime(fresh, (0, 5000.0))
    archive.keep(RunRecord(4), {}, tmp_path, now=1000.0 + STALE_SECONDS + 1)
    assert sorted(p.name for p in archive.directory.iterdir()) == [fresh.name, "run_000004"]


@pytest.mark.parametrize(("storage", "entries"), [
    ({"type": "int", "values": [1, 2, 3]}, 6),
    ({"type": "int", "values": [[0, 1], [2, 3]]}, 6),
    ({"type": "mean", "counts": [4, 1], "values": [0.5, 0.2]}, 5),
    ({"type": "int"}, None),
], ids=["1d", "2d", "mean", "no-values"])
def test_entries_are_the_first_histograms_counts(storage, entries):
    second = {"storage": {"type": "int", "values": [100]}}
    assert histogram_entries({"image": {"histograms": [{"storage": storage}, second]}}) == \
        entries
    assert histogram_entries({"image": {"histograms": []}}) is None
