"""Bad input, handled (issue 12): each kind of bad input file and the catalogued message it
must produce, read by InputPyJSON directly and run through the real go.py.

The corpus is tests/data/bad_input/ (README.md there says what each file is); what is easier
to make than to keep (cut and corrupt gzips) is made here from its good run, ``run.json``:
a start of run, three physics spills of one trigger each, an end of run.
"""
from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Any

import pytest

from maus_online import codec
from maus_online.catalogue import CATALOGUE
from maus_online.dataflows import MergeOutput, RunStatistics, SpillSide, format_summary
from maus_online.inputs import InputPyJSON, input_failed
from maus_online.inputs.files import InputFileError
from maus_online.errors import SpillError
from maus_online.modules import MapBase, OutputBase, ReduceBase
from maus_online.spill import END_OF_RUN, START_OF_RUN, skeleton, spill_label
from reducers.tdc_adc_counts import ReducePyHistogramTDCADCCounts
from tests.celery_workers import run_go
from tests.conftest import REPO_ROOT, make_config
from tests.test_inputs import read  # InputPyJSON born on a file, all its spills

CORPUS = REPO_ROOT / "tests" / "data" / "bad_input"
RUN = CORPUS / "run.json"
RUN_LINES = RUN.read_bytes().splitlines(keepends=True)
#: go.py replaying a file: raw-data reconstruction, the spill counter and the raw-data plots.
REPLAY = ["--inputter", "InputPyJSON",
          "--transformer", "MapPyGroup(MapPyTOFDigits)", "--reducers",
          "ReducePyCountSpills,ReducePyHistogramTDCADCCounts", "--histogram_drawing", "inline",
          "--image_directory", "images", "--output_json_file_name", "out.jsonl"]


def found(code: str, text: str) -> None:
    assert CATALOGUE[code].found_in(text), f"{code} not in:\n{text}"


def input_messages(spill: dict) -> list[str]:
    return spill.get("errors", {}).get("InputPyJSON", [])


def labels(spills: list[dict]) -> list[str]:
    return [spill_label(spill) for spill in spills]


def replay(queue, worker_env, tmp_path: Path, path: Path, *args: str,
           dataflow: str = "pipeline_single_thread"):
    return run_go(queue, worker_env, tmp_path, "--type_of_dataflow", dataflow, *REPLAY,
                  "--input_json_file_name", str(path), *args)


def written(tmp_path: Path) -> list[dict]:
    return [codec.loads(line) for line in (tmp_path / "out.jsonl").read_bytes().splitlines()]


def spills_seen(tmp_path: Path, tag: str = "tdcadc_tdc") -> tuple[int, Any]:
    image = json.loads((tmp_path / "images" / f"{tag}.json").read_text())["image"]
    return image["spills_seen"], image["histograms"]


def flushed_gzip(lines: list[bytes]) -> tuple[bytes, list[int]]:
    """``lines`` gzipped with a full flush after each, and where each line's data ends: a cut
    there leaves exactly the lines before it readable."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    data, ends = b"", []
    for line in lines:
        data += deflate.compress(line) + deflate.flush(zlib.Z_FULL_FLUSH)
        ends.append(len(data))
    return data + deflate.flush(), ends


# --- Empty and unreadable files: the run stops at birth, exit status 1 -----------------------

EMPTY = {"empty": (CORPUS / "empty.json", "0 bytes"),
         "blank": (CORPUS / "blank.json", "6 bytes of white space only"),
         "gzip-of-nothing": (None, "a gzip of nothing")}


def empty_file(name: str, tmp_path: Path) -> Path:
    path, _ = EMPTY[name]
    if path is None:
        path = tmp_path / "nothing.json.gz"
        path.write_bytes(gzip.compress(b"  \n"))
    return path


@pytest.mark.parametrize("name", EMPTY)
def test_an_empty_file_is_refused_at_birth(name, tmp_path):
    path = empty_file(name, tmp_path)
    with pytest.raises(InputFileError) as info:
        InputPyJSON().birth(make_config(input_json_file_name=str(path)))
    found("MAUS-135", str(info.value))
    assert f"{path} is empty ({EMPTY[name][1]})" in str(info.value)


@pytest.mark.parametrize("name", EMPTY)
def test_go_stops_on_an_empty_file(name, queue, worker_env, tmp_path):
    result = replay(queue, worker_env, tmp_path, empty_file(name, tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    found("MAUS-135", result.stderr)
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.jsonl").exists() or not written(tmp_path)


def corrupt_header(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.json.gz"
    whole = gzip.compress(RUN.read_bytes())
    path.write_bytes(whole[:10] + b"\xff" * 64 + whole[74:])  # magic kept, deflate broken
    return path


def test_a_gzip_that_is_corrupt_from_the_start_is_unreadable(queue, worker_env, tmp_path):
    path = corrupt_header(tmp_path)
    with pytest.raises(InputFileError) as info:
        InputPyJSON().birth(make_config(input_json_file_name=str(path)))
    found("MAUS-136", str(info.value))
    assert "corrupt gzip data" in str(info.value)
    result = replay(queue, worker_env, tmp_path, path)
    assert result.returncode == 1, result.stdout + result.stderr
    found("MAUS-136", result.stderr)


# --- A gzip cut short: every complete spill before the cut, then one message ----------------

def cut_gzip(tmp_path: Path, where: str) -> Path:
    data, ends = flushed_gzip(RUN_LINES)
    if where == "inside spill 3":  # half of the fourth line's data is there
        data = data[:(ends[2] + ends[3]) // 2]
    elif where == "after spill 2":  # exactly after the third line
        data = data[:ends[2]]
    elif where == "corrupt in spill 3":
        middle = (ends[2] + ends[3]) // 2
        data = data[:middle] + bytes(b ^ 0x5A for b in data[middle:middle + 40]) + \
            data[middle + 40:]
    path = tmp_path / "cut.json.gz"
    path.write_bytes(data)
    return path


CUTS = {"inside spill 3": "the file ends before its gzip stream does",
        "after spill 2": "the file ends before its gzip stream does",
        "corrupt in spill 3": "corrupt gzip data: "}


@pytest.mark.parametrize("where", CUTS)
def test_a_cut_gzip_delivers_every_complete_spill_then_names_line_and_last_spill(
        where, tmp_path):
    path = cut_gzip(tmp_path, where)
    out = read(path)
    assert out[:3] == [codec.loads(line) for line in RUN_LINES[:3]]  # start, spills 1 and 2
    # Corrupt data may inflate to garbage before zlib notices: that is reported as such.
    assert all(input_messages(s)[0].startswith("MAUS-133 ") for s in out[3:-1])
    (message,) = input_messages(out[-1])
    found("MAUS-137", message)
    line = 4 + len(out[3:-1]) if where != "corrupt in spill 3" else ""
    assert f"{path} line {line}" in message
    assert f": the file is cut short ({CUTS[where]}" in message
    assert message.split("[docs")[0].endswith("the last one run 1 spill 2 ")
    assert input_failed(out[-1])


def test_the_gzip_module_would_have_lost_a_complete_spill(tmp_path):
    # Why GzipStream exists: gzip.open drops what it decompressed in the read that failed.
    path = cut_gzip(tmp_path, "inside spill 3")
    kept = b""
    with gzip.open(path, "rb") as stream, pytest.raises(EOFError):
        while chunk := stream.read(1 << 20):
            kept += chunk
    assert kept.count(b"\n") < 3


def test_a_whole_multi_member_gzip_reads_whole(tmp_path):
    path = tmp_path / "two.json.gz"
    path.write_bytes(gzip.compress(b"".join(RUN_LINES[:2])) +
                     gzip.compress(b"".join(RUN_LINES[2:])) + b"\0" * 16)
    assert read(path) == [codec.loads(line) for line in RUN_LINES]


def test_go_reconstructs_the_spills_before_a_cut(queue, worker_env, tmp_path):
    result = replay(queue, worker_env, tmp_path, cut_gzip(tmp_path, "inside spill 3"))
    assert result.returncode == 0, result.stderr
    found("MAUS-137", result.stdout)
    assert "spills done:      5 (2 physics, 2 run markers, 1 input error)" in result.stdout
    out = written(tmp_path)
    assert [s.get("spill_number") for s in out if not s["errors"]] == [0, 1, 2, 3]
    assert sum(map(input_failed, out)) == 1
    assert spills_seen(tmp_path)[0] == 2


# --- NaN and Infinity: refused, naming spill and field ---------------------------------------

def test_nan_and_infinity_in_the_corpus_are_refused_naming_spill_and_field():
    out = read(CORPUS / "nan_and_infinity.json")
    assert labels(out) == [f"run 1 spill {n}" for n in range(5)]
    assert [input_failed(s) for s in out] == [False, False, True, True, False]
    (nan,) = [m for m in input_messages(out[2]) if m.startswith("MAUS-138")]
    assert ("line 3: run 1 spill 2: daq_data.tof1[0].V1724[0].charge_mm is NaN, which JSON "
            "does not allow") in nan
    infinity = [m for m in input_messages(out[3]) if m.startswith("MAUS-138")]
    assert len(infinity) == 1 and "run 1 spill 3: time_stamp is -Infinity" in infinity[0]


@pytest.mark.parametrize("text, field", [
    ('{"spill_number": 1, "run_number": 2, "x": [1, Infinity]}', "x[1] is Infinity"),
    ('{"spill_number": 1, "run_number": 2, "x": {"y": 1e999}}', "x.y is Infinity"),
    ('{"spill_number": 1, "run_number": 2,\n  "x": -Infinity}', "x is -Infinity"),
    ('{"spill_number": 1, "run_number": 2, "a": NaN, "b": NaN, "c": NaN, "d": NaN}',
     "a is NaN, b is NaN, c is NaN (and 1 more)"),
], ids=["infinity-in-a-list", "overflow", "pretty-printed", "many"])
def test_every_non_finite_spelling_is_refused(text, field, tmp_path):
    path = tmp_path / "numbers.json"
    path.write_text(f"{text}\n{text}\n")
    first, second = read(path, spill_validation="off")
    for line, spill in ((1, first), (1 + text.count("\n") + 1, second)):
        (message,) = input_messages(spill)
        found("MAUS-138", message)
        assert f"line {line}: run 2 spill 1: {field}, which" in message


def test_orjson_itself_refuses_what_json_does_not_allow():
    for text in (b"NaN", b"Infinity", b"-Infinity", b"1e999"):
        with pytest.raises(codec.JSONDecodeError):
            codec.loads(text)


def test_go_reports_nan_and_keeps_it_out_of_the_plots(queue, worker_env, tmp_path):
    result = replay(queue, worker_env, tmp_path, CORPUS / "nan_and_infinity.json")
    assert result.returncode == 0, result.stderr
    found("MAUS-138", result.stdout)
    assert "spills done:      5 (1 physics, 2 run markers, 2 input errors)" in result.stdout
    assert [s["spill_number"] for s in written(tmp_path) if input_failed(s)] == [2, 3]
    assert spills_seen(tmp_path)[0] == 1


# --- A spill that fails validation reaches no reducer ----------------------------------------

class ReducePyJournal(ReduceBase):
    """Notes every spill it is given: what reached the reducers."""

    def __init__(self, journal: list) -> None:
        self.journal = journal

    def process(self, spill):
        self.journal.append((spill.get("daq_event_type"), spill.get("spill_number")))
        return []


def invalid(number: int, kind: str = "physics_event") -> dict:
    return {**skeleton(1, number, kind), "recon_events": [{"stale": True}],
            "errors": {"InputPyJSON": ["MAUS-133 line 3: must be integer"]}}


def test_an_input_error_is_neither_transformed_nor_filled_nor_reduced_but_output():
    journal, saved = [], []

    class MapPyMark(MapBase):
        def process(self, spill):
            spill["transformed"] = True
            return spill

    class OutputPyList(OutputBase):
        def save(self, document):
            saved.append(document)

    side = SpillSide(MapPyMark(), [ReducePyHistogramTDCADCCounts()])
    side.birth(make_config())
    stats = RunStatistics()
    merge = MergeOutput([ReducePyJournal(journal)], [OutputPyList()], make_config(), stats)
    # An input error typed as a run marker neither opens nor closes a run.
    for spill in (skeleton(1, 0, START_OF_RUN), invalid(1), skeleton(1, 2),
                  invalid(3, END_OF_RUN), invalid(4, START_OF_RUN), skeleton(1, 5)):
        merge.process(side.process(spill))
    merge.finish()
    side.death()
    assert journal == [(START_OF_RUN, 0), ("physics_event", 2), ("physics_event", 5),
                       (END_OF_RUN, 6)]
    failed = [s for s in saved if input_failed(s)]
    assert [s["spill_number"] for s in failed] == [1, 3, 4]
    assert not any("transformed" in s or "partials" in s for s in failed)
    assert all(s["recon_events"] == [{"stale": True}] for s in failed)  # output, as read
    assert (stats.physics_done, stats.markers_done, stats.input_failed) == (2, 2, 3)
    assert "spills done:      7 (2 physics, 2 run markers, 3 input errors)" in \
        format_summary(stats)


def test_go_keeps_a_spill_that_failed_validation_out_of_the_plots(queue, worker_env, tmp_path):
    result = replay(queue, worker_env, tmp_path, CORPUS / "string_in_tdc.json")
    assert result.returncode == 0, result.stderr
    found("MAUS-133", result.stdout)
    assert "daq_data.tof1[0].V1290[1].leading_time must be integer (got 'abc')" in result.stdout
    assert "ValueError" not in result.stdout + result.stderr
    assert "spills done:      5 (2 physics, 2 run markers, 1 input error)" in result.stdout
    (bad,) = [s for s in written(tmp_path) if input_failed(s)]
    assert bad["spill_number"] == 2 and list(bad["errors"]) == ["InputPyJSON"]
    assert spills_seen(tmp_path)[0] == 2


def test_unvalidated_the_tdc_reducer_names_the_spill_and_field(queue, worker_env, tmp_path):
    result = replay(queue, worker_env, tmp_path, CORPUS / "string_in_tdc.json",
                    "--spill_validation", "off")
    assert result.returncode == 0, result.stderr
    found("MAUS-139", result.stdout)
    assert ("run 1 spill 2: daq_data.tof1[0].V1290[1].leading_time is 'abc', not a number; "
            "ReducePyHistogramTDCADCCounts leaves the spill out") in result.stdout
    assert "ValueError" not in result.stdout + result.stderr
    assert spills_seen(tmp_path)[0] == 2


@pytest.mark.parametrize("change, field, value", [
    (lambda hit: hit.update(leading_time=None), "V1290[1].leading_time", "None"),
    (lambda hit: hit.pop("leading_time"), "V1290[1].leading_time", "missing"),
    (lambda hit: hit.update(channel_key=["x"]), "V1290[1].channel_key", "['x']"),
], ids=["null", "missing", "unhashable-key"])
def test_the_tdc_reducer_never_raises_a_raw_error(change, field, value):
    spill = codec.loads(RUN_LINES[2])
    change(spill["daq_data"]["tof1"][0]["V1290"][1])
    reducer = ReducePyHistogramTDCADCCounts()
    reducer.birth_fill(make_config())
    with pytest.raises(SpillError) as info:
        reducer.fill_partial(spill)
    found("MAUS-139", str(info.value))
    assert f"run 1 spill 2: daq_data.tof1[0].{field} is {value}, not" in str(info.value)


def test_multi_process_a_spill_that_failed_validation_reaches_no_reducer(
        start_workers, queue, worker_env, tmp_path):
    (worker,) = start_workers(1, concurrency=1)
    good = tmp_path / "good.json"
    good.write_bytes(b"".join(line for n, line in enumerate(RUN_LINES) if n != 2))
    single = tmp_path / "single"
    single.mkdir()
    expected = replay(queue, worker_env, single, good)
    assert expected.returncode == 0, expected.stderr
    result = replay(queue, worker_env, tmp_path, CORPUS / "string_in_tdc.json",
                    dataflow="multi_process")
    assert result.returncode == 0, result.stderr + worker.log()
    found("MAUS-133", result.stdout)
    assert "spills done:      5 (2 physics, 2 run markers, 1 input error)" in result.stdout
    assert "ValueError" not in result.stdout + worker.log()
    # The plots hold exactly what they hold without the spill: it reached no reducer.
    for tag in ("tdcadc_tdc", "tdcadc_adc", "tdcadc_occupancy_tof1"):
        assert spills_seen(tmp_path, tag) == spills_seen(single, tag)
    (bad,) = [s for s in written(tmp_path) if input_failed(s)]
    assert bad["spill_number"] == 2 and list(bad["errors"]) == ["InputPyJSON"]
