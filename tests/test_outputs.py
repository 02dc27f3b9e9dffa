"""OutputPyJSON: spills as JSON lines, one file over several runs, read back by InputPyJSON."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from maus_online.codec import loads
from maus_online.errors import ConfigurationError, ModuleLifecycleError
from maus_online.inputs import InputPyJSON, InputPySpillGenerator
from outputters import MODULES, OutputPyJSON
from tests.conftest import make_config, skeleton


def write_run(output: OutputPyJSON, path: Path, documents: list[dict]) -> None:
    output.birth({"output_json_file_name": str(path)})
    for document in documents:
        output.save(document)
    output.death()


def read_back(path: Path) -> list[dict]:
    module = InputPyJSON()
    module.birth(make_config(input_json_file_name=str(path), spill_validation="full"))
    try:
        return list(module.emitter())
    finally:
        module.death()


def test_exports() -> None:
    assert MODULES == (OutputPyJSON,)


def test_round_trip_with_input_json(tmp_path: Path) -> None:
    generator = InputPySpillGenerator()
    generator.birth(make_config(run_number=3, spill_count=4, spill_interval=0.0))
    spills = list(generator.emitter())
    hit = {"channel_key": "DAQChannelKey 0 1 2 102 tof1", "leading_time": 51234,
           "trailing_time": 52000}
    spills[2]["daq_data"] = {"tof1": [{"V1290": [hit]}]}
    spills[3]["errors"] = {"MapPyTOFDigits": ["no calibration for channel 7"]}
    path = tmp_path / "deep" / "dir" / "out.json"  # parents are created
    write_run(OutputPyJSON(), path, spills)
    assert path.read_bytes().count(b"\n") == len(spills)
    assert read_back(path) == spills


def test_only_spills_are_written(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    write_run(OutputPyJSON(), path, [
        skeleton(1, 1),
        {"maus_event_type": "SpillCount", "run_number": 1, "spills": 1},
        {"maus_event_type": "Image", "image_type": "png"},
        {"no_type": True},
        skeleton(1, 2)])
    assert [loads(line) for line in path.read_bytes().splitlines()] == [skeleton(1, 1),
                                                                       skeleton(1, 2)]


def test_first_birth_truncates_later_births_append(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_bytes(b'{"stale": "from an earlier job"}\n')
    output = OutputPyJSON()
    write_run(output, path, [skeleton(1, 1), skeleton(1, 2)])
    write_run(output, path, [skeleton(2, 1)])
    assert read_back(path) == [skeleton(1, 1), skeleton(1, 2), skeleton(2, 1)]
    # A new instance (a new job) starts the file afresh.
    write_run(OutputPyJSON(), path, [skeleton(9, 1)])
    assert read_back(path) == [skeleton(9, 1)]


def test_gzip_when_the_name_says_so(tmp_path: Path) -> None:
    path = tmp_path / "out.json.gz"
    output = OutputPyJSON()
    write_run(output, path, [skeleton(1, 1)])
    write_run(output, path, [skeleton(2, 1)])  # a second gzip member, read as one stream
    assert gzip.decompress(path.read_bytes()).count(b"\n") == 2
    assert read_back(path) == [skeleton(1, 1), skeleton(2, 1)]


def test_end_of_run_is_flushed_before_death(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    output = OutputPyJSON()
    output.birth({"output_json_file_name": str(path)})
    output.save(skeleton(1, 0, "start_of_run"))
    output.save(skeleton(1, 1, "end_of_run"))
    assert path.read_bytes().count(b"\n") == 2
    output.death()


def test_missing_key_and_unwritable_path(tmp_path: Path) -> None:
    for config in ({}, {"output_json_file_name": ""}):
        with pytest.raises(ConfigurationError, match="output_json_file_name"):
            OutputPyJSON().birth(config)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigurationError, match="output_json_file_name"):
        OutputPyJSON().birth({"output_json_file_name": str(blocker / "out.json")})


def test_save_outside_the_life_cycle(tmp_path: Path) -> None:
    output = OutputPyJSON()
    output.save({"maus_event_type": "SpillCount"})  # ignored documents need no file
    with pytest.raises(ModuleLifecycleError):
        output.save(skeleton())
    output.death()  # harmless without a birth
