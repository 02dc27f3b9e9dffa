"""InputPySpillGenerator (markers, numbering, pacing) and InputPyJSON (formats, bad input)."""
from __future__ import annotations

import gzip
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest

import maus_online
from maus_online.codec import dumps_line
from maus_online.errors import ConfigurationError
from maus_online.inputs import (
    MODULES,
    InputPyJSON,
    InputPySpillGenerator,
    input_failed,
    spill_generator,
)
from maus_online.inputs.json_file import Item, JSONStreamReader
from maus_online.spill import validate_spill
from tests.conftest import make_config, skeleton


def generate(**config: Any) -> list[dict]:
    module = InputPySpillGenerator()
    module.birth(make_config(**{"run_number": 4, "spill_count": 3, **config}))
    try:
        return list(module.emitter())
    finally:
        module.death()


def read(path: Path, **config: Any) -> list[dict]:
    module = InputPyJSON()
    module.birth(make_config(input_json_file_name=str(path), **config))
    try:
        return list(module.emitter())
    finally:
        module.death()


def spills(count: int, run: int = 1) -> list[dict]:
    return [skeleton(run, number) for number in range(1, count + 1)]


def input_errors(spill: dict) -> list[str]:
    """The input's error texts, each checked to be catalogued MAUS-133 and then unwrapped."""
    messages = spill.get("errors", {}).get("InputPyJSON", [])
    head, tail = "MAUS-133 ", " [docs/recovery.md#maus-133]"
    assert all(m.startswith(head) and m.endswith(tail) for m in messages), messages
    return [m[len(head):-len(tail)] for m in messages]


def test_modules_tuple() -> None:
    assert MODULES == (InputPySpillGenerator, InputPyJSON)


# --- InputPySpillGenerator ------------------------------------------------------------------

def test_generator_frames_the_physics_spills_with_markers() -> None:
    before = time.time()
    out = generate(run_number=4, spill_count=3)
    assert [(s["daq_event_type"], s["spill_number"]) for s in out] == [
        ("start_of_run", 0), ("physics_event", 1), ("physics_event", 2),
        ("physics_event", 3), ("end_of_run", 4)]
    for spill in out:
        validate_spill(spill)
        assert spill["run_number"] == 4 and spill["maus_event_type"] == "Spill"
        assert spill["errors"] == {} and spill["maus_online_version"] == maus_online.__version__
        assert before <= spill["time_stamp"] <= time.time()
        assert "mc_events" not in spill and "daq_data" not in spill


def test_generator_with_no_physics_spills() -> None:
    out = generate(spill_count=0)
    assert [(s["daq_event_type"], s["spill_number"]) for s in out] == [
        ("start_of_run", 0), ("end_of_run", 1)]


@pytest.mark.parametrize(("key", "value"), [
    ("spill_count", -1), ("run_number", "1"), ("spill_interval", -0.5), ("spill_count", True)])
def test_generator_rejects_bad_settings(key: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=key):
        InputPySpillGenerator().birth(make_config(**{key: value}))


def test_generator_paces_spills_on_the_monotonic_clock() -> None:
    interval = 0.05
    module = InputPySpillGenerator()
    module.birth(make_config(run_number=1, spill_count=4, spill_interval=interval))
    before = time.monotonic()
    arrivals = [time.monotonic() - before for _ in module.emitter()]
    # Physics spill k never comes before its slot k intervals after the start (sleep never
    # returns early on the monotonic clock); a loaded machine may only make it later.
    for number, arrival in enumerate(arrivals[1:-1], 1):
        assert arrival >= number * interval - 1e-6, arrivals
    assert arrivals[-1] < 4 * interval + 2.0, arrivals  # tolerant upper bound


class FakeClock:
    """A monotonic clock that only moves when the consumer "works" or the generator sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_generator_counts_processing_time_towards_the_interval(monkeypatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(spill_generator.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(spill_generator.time, "sleep", clock.sleep)
    module = InputPySpillGenerator()
    module.birth(make_config(run_number=1, spill_count=4, spill_interval=2.0))
    emitted = []
    for spill in module.emitter():
        emitted.append((spill["spill_number"], clock.now))
        # The consumer spends 0.25 s on the start_of_run, 0.5 s on spill 1 and 3 s (longer than
        # the interval) on spill 2.
        clock.now += {0: 0.25, 1: 0.5, 2: 3.0}.get(spill["spill_number"], 0.0)
    assert emitted == [(0, 100.0), (1, 102.0), (2, 104.0), (3, 107.0), (4, 108.0), (5, 108.0)]
    # Each wait is what is left of the interval; spill 3 was overdue and came at once, then
    # spill 4 is back on the schedule.
    assert clock.sleeps == pytest.approx([1.75, 1.5, 1.0])


# --- InputPyJSON ---------------------------------------------------------------------------

def test_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_bytes(b"".join(dumps_line(s) for s in spills(3)) + b"\n  \n")
    out = read(path)
    assert out == spills(3)


def test_pretty_printed_concatenated_documents(tmp_path: Path) -> None:
    documents = spills(4)
    documents[1]["note"] = "braces } and { and \"quotes\" in a string"
    text = (json.dumps(documents[0], indent=2) + "\n" + json.dumps(documents[1], indent=4)
            + json.dumps(documents[2], indent=0) + "\n\n" + json.dumps(documents[3]) + "\n")
    path = tmp_path / "pretty.json"
    path.write_text(text)
    assert read(path) == documents


def test_gzip_detected_by_magic_bytes_not_suffix(tmp_path: Path) -> None:
    path = tmp_path / "spills.json"  # no .gz suffix on purpose
    with gzip.open(path, "wb") as stream:
        for spill in spills(5):
            stream.write(dumps_line(spill))
    assert read(path) == spills(5)


def test_truncated_gzip_reports_and_ends(tmp_path: Path) -> None:
    whole = gzip.compress(b"".join(dumps_line(s) for s in spills(200)))
    path = tmp_path / "cut.json.gz"
    path.write_bytes(whole[: len(whole) // 2])
    out = read(path)
    (message,) = out[-1]["errors"]["InputPyJSON"]
    assert message.startswith("MAUS-137 ") and "the file is cut short" in message
    assert all(not input_errors(spill) for spill in out[:-1])


def test_malformed_line_in_the_middle(tmp_path: Path) -> None:
    good = spills(4)
    lines = [dumps_line(s) for s in good]
    lines.insert(2, b'{"maus_event_type": "Spill", "run_number": 1,, "spill_number": 9}\n')
    path = tmp_path / "bad.json"
    path.write_bytes(b"".join(lines))
    out = read(path)
    assert len(out) == 5
    assert out[:2] == good[:2] and out[3:] == good[2:]
    assert input_errors(out[2]) == [
        f"{path} line 3: not valid JSON: Expecting property name enclosed in double quotes "
        "at line 3 column 46"]
    assert set(out[2]) == {"maus_event_type", "errors"}
    assert input_failed(out[2]) and not input_failed(out[3])


def test_truncated_lines_and_documents_lose_nothing_else(tmp_path: Path) -> None:
    good = spills(3)
    pretty_cut = json.dumps(good[0], indent=2)[:40] + "\n"
    text = (dumps_line(good[0]).decode() + '{"maus_event_type": "Spill", "run_numb\n'
            + dumps_line(good[1]).decode() + pretty_cut + dumps_line(good[2]).decode()
            + "this is not JSON\n" + '{"maus_event_type": \n')
    path = tmp_path / "cut.json"
    path.write_text(text)
    out = read(path)
    assert [s for s in out if not input_errors(s)] == good
    errors = [input_errors(s)[0] for s in out if input_errors(s)]
    assert errors == [
        f"{path} line 2: not valid JSON: the document ends before line 3, where another begins",
        f"{path} line 4: not valid JSON: the document ends before line 7, where another begins",
        f"{path} line 8: not valid JSON: Expecting value at line 8 column 1",
        f"{path} line 9: not valid JSON: the file ends inside the document"]


def test_document_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1, 2]\n" + dumps_line(skeleton()).decode() + "null\n")
    out = read(path)
    assert input_errors(out[0]) == [f"{path} line 1: a JSON array, not a spill object"]
    assert out[1] == skeleton()
    assert input_errors(out[2]) == [f"{path} line 3: a JSON null, not a spill object"]


def test_spill_without_run_number_is_passed_on_with_the_error(tmp_path: Path) -> None:
    spill = skeleton(1, 7)
    del spill["run_number"]
    path = tmp_path / "no_run.json"
    path.write_bytes(dumps_line(skeleton(1, 6)) + dumps_line(spill))
    out = read(path)
    assert out[1]["spill_number"] == 7
    assert input_errors(out[1]) == [f"{path} line 2: run ? spill 7: run_number is missing"]
    assert input_failed(out[1]) and not input_failed(out[0])


def test_unknown_daq_event_type_is_named(tmp_path: Path) -> None:
    path = tmp_path / "kind.json"
    path.write_bytes(dumps_line({**skeleton(2, 3), "daq_event_type": "calibration_event",
                                 "errors": {"Earlier": ["kept"]}}))
    (spill,) = read(path)
    (message,) = input_errors(spill)
    assert message.startswith(f"{path} line 1: run 2 spill 3: daq_event_type must be one of")
    assert "'calibration_event'" in message
    assert spill["errors"]["Earlier"] == ["kept"]


def test_validation_can_be_switched_off(tmp_path: Path) -> None:
    path = tmp_path / "loose.json"
    path.write_bytes(dumps_line({"anything": 1}))
    assert read(path, spill_validation="off") == [{"anything": 1}]
    assert input_errors(read(path)[0])


def test_quicker_validation_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_bytes(dumps_line({**skeleton(), "recon_events": [{"part_event_number": "x"}]}))
    assert not input_errors(read(path, spill_validation="daq")[0])
    assert input_errors(read(path, spill_validation="full")[0])
    with pytest.raises(ConfigurationError, match="spill_validation"):
        read(path, spill_validation="fast")


def test_missing_file_is_a_configuration_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    with pytest.raises(ConfigurationError, match="input_json_file_name") as info:
        InputPyJSON().birth(make_config(input_json_file_name=str(missing)))
    assert str(missing) in str(info.value)
    with pytest.raises(ConfigurationError, match="input_json_file_name.*not set"):
        InputPyJSON().birth(make_config(input_json_file_name=""))
    with pytest.raises(ConfigurationError, match="not a file"):
        InputPyJSON().birth(make_config(input_json_file_name=str(tmp_path)))


def test_death_closes_an_abandoned_emitter(tmp_path: Path) -> None:
    path = tmp_path / "many.json"
    path.write_bytes(b"".join(dumps_line(s) for s in spills(10)))
    module = InputPyJSON()
    module.birth(make_config(input_json_file_name=str(path)))
    emitter = module.emitter()
    assert next(emitter)["spill_number"] == 1
    module.death()  # with warnings as errors, a leaked file would fail the test run
    assert list(emitter) == []


def test_input_failed_only_for_input_errors() -> None:
    assert not input_failed(skeleton())
    assert not input_failed({**skeleton(), "errors": {"InputPyJSON": []}})
    assert not input_failed({**skeleton(), "errors": {"MapPyX": ["bad"]}})
    assert input_failed({**skeleton(), "errors": {"InputPyDAQ": ["bad"]}})
    assert not input_failed({**skeleton(), "errors": "garbage"})


# --- The document splitter, across block boundaries ------------------------------------------

def split(data: bytes, chunk_size: int = 1 << 20) -> list[Item]:
    return list(JSONStreamReader(chunk_size).items(io.BytesIO(data)))


MIXED = (
    '\ufeff{"a": 1}\r\n'                                    # BOM, CRLF
    '{"b": "caf\u00e9 \u2014 }{ ]["}{"c": [1, {"d": "\\\\"}]}\n'  # non-ASCII, two on a line
    '{\n  "e": [\n    {"f": "\\"{"},\n    2\n  ]\n}\n'          # pretty, escaped quote
    '{"g": "\u00e9\u00e9", "h": tru}\n'                       # malformed after non-ASCII
    '{\n"i": [\n{\n"j": 1\n},\n{\n"k": 2\n}\n]\n}\n'        # indent=0: "{" in column 0
    '{"l": \n'                                              # cut after ":", then a JSON line
    '{"m": 3}\n'
    '{"n": 4}\n'
    '{"o": "\u00e9"\n'                                       # cut short at the end of the file
).encode()


def test_splitter_handles_every_layout_and_error() -> None:
    assert split(MIXED) == [
        Item(1, {"a": 1}),
        Item(2, {"b": "caf\u00e9 \u2014 }{ ]["}), Item(2, {"c": [1, {"d": "\\"}]}),
        Item(3, {"e": [{"f": '"{'}, 2]}),
        Item(9, error="Expecting value at line 9 column 18"),  # columns count characters
        Item(10, {"i": [{"j": 1}, {"k": 2}]}),
        Item(20, error="the document ends before line 22, where another begins"),
        Item(21, {"m": 3}),
        Item(22, {"n": 4}),
        Item(23, error="the file ends inside the document"),
    ]


@pytest.mark.parametrize("chunk_size", [1, 2, 7, 64, 1000])
def test_splitter_gives_the_same_at_any_block_size(chunk_size: int) -> None:
    assert split(MIXED, chunk_size) == split(MIXED)


@pytest.mark.parametrize("chunk_size", [1, 1 << 20])
def test_splitter_reports_bad_utf8_and_goes_on(chunk_size: int) -> None:
    data = (b'{"a": "\xff\xfe"}\n{"b": 1}{"c": [\n"\xc3"]}{"d": 2}\n'
            b'{"e": 3}  \xff \n{"f": 4}\n')
    assert split(data, chunk_size) == [
        Item(1, error="not valid UTF-8 (invalid start byte) at line 1"),
        Item(2, {"b": 1}),
        Item(2, error="not valid UTF-8 (invalid continuation byte) at line 3"),
        Item(4, {"e": 3}),
        Item(4, error="not valid UTF-8 (invalid start byte) at line 4"),
        Item(5, {"f": 4})]


def test_splitter_column_after_a_document_ending_mid_line() -> None:
    assert split(b'{"a": 1} {"b": ,}\n{"c": 2}\n') == [
        Item(1, {"a": 1}), Item(1, error="Expecting value at line 1 column 16"), Item(2, {"c": 2})]


def test_splitter_survives_absurd_nesting() -> None:
    items = split(b"[" * 100_000 + b"\n" + b'{"a": 1}\n')
    assert items == [Item(1, error="the document is nested too deeply"), Item(2, {"a": 1})]
