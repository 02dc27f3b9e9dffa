"""End to end: go.py as a subprocess, as the shifter runs it."""
from __future__ import annotations

import signal
import subprocess

import pytest

from maus_online import codec
from tests.processes import Background, wait_until

TIMEOUT = 120


def run_go(go_command, *args, cwd):
    return subprocess.run([*go_command, "--progress", "false", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=TIMEOUT)


def read_lines(path):
    return [codec.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def space_points(spill):
    return [[point for station in ("tof0", "tof1", "tof2")
             for point in event["tof_event"]["tof_space_points"].get(station, [])]
            for event in spill.get("recon_events", [])]


def test_a_simulated_run_is_recorded_and_replays_to_the_same_space_points(go_command,
                                                                         tmp_path):
    recorded = run_go(go_command, "--spill_count", "20", "--particles_per_spill", "50",
                      "--output_json_file_name", "run.jsonl", cwd=tmp_path)
    assert recorded.returncode == 0, recorded.stderr
    assert "spills done:      22 (20 physics, 2 run markers)" in recorded.stdout
    spills = read_lines(tmp_path / "run.jsonl")
    assert len(spills) == 22
    assert [s["daq_event_type"] for s in (spills[0], spills[-1])] == ["start_of_run",
                                                                      "end_of_run"]
    physics = spills[1:-1]
    assert all(s["errors"] == {} for s in physics)
    assert all(any(space_points(s)) for s in physics)

    replayed = run_go(
        go_command, "--inputter", "InputPyJSON", "--input_json_file_name", "run.jsonl",
        "--transformer", "MapPyGroup(MapPyTOFDigits, MapPyTOFSlabHits, MapPyTOFSpacePoints)",
        "--output_json_file_name", "replay.jsonl", cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stderr
    again = read_lines(tmp_path / "replay.jsonl")
    assert [space_points(s) for s in again] == [space_points(s) for s in spills]


def test_bad_input_is_reported_per_spill_and_the_run_goes_on(go_command, tmp_path):
    good = {"maus_event_type": "Spill", "daq_event_type": "physics_event", "run_number": 3,
            "spill_number": 1, "errors": {}}
    lines = [codec.dumps(good), b'{"maus_event_type": "Spill", "daq_ev',
             codec.dumps({**good, "spill_number": 2, "daq_event_type": "coffee_break"}),
             codec.dumps({k: v for k, v in good.items() if k != "run_number"}),
             codec.dumps({**good, "spill_number": 4})]
    (tmp_path / "bad.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    result = run_go(go_command, "--inputter", "InputPyJSON", "--input_json_file_name",
                    "bad.jsonl", "--output_json_file_name", "out.jsonl", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "spills failed:    3" in result.stdout
    assert "errors by module: InputPyJSON 3" in result.stdout
    assert "line 2" in result.stdout and "daq_event_type" in result.stdout
    written = read_lines(tmp_path / "out.jsonl")
    assert [s.get("spill_number") for s in written if not s.get("errors")] == [0, 1, 4, 5]


@pytest.mark.parametrize("args, message", [
    (["--spill_cont", "3"], "'spill_cont' from the command line is unknown"),
    (["--spill_count", "lots"], "'spill_count' from the command line is 'lots'"),
    (["--transformer", "MapPyGroup(MapPyNope)"], "unknown map module 'MapPyNope'; known: "),
    (["--inputter", "InputPyJSON"], "input_json_file_name"),
], ids=["unknown-key", "wrong-type", "unknown-map", "missing-input-file"])
def test_configuration_errors_end_go_with_one_clear_line(go_command, tmp_path, args, message):
    result = run_go(go_command, *args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("MAUS-120 go.py: configuration error: ")
    assert lines[0].endswith("[docs/recovery.md#maus-120]")
    assert message in lines[0]


def test_help_lists_the_keys(go_command, tmp_path):
    result = subprocess.run([*go_command, "--help"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=TIMEOUT)
    assert result.returncode == 0
    for key in ("--type_of_dataflow", "--spill_count", "--particles_per_spill",
                "--random_seed", "--image_directory", "--configuration_file"):
        assert key in result.stdout


def test_ctrl_c_ends_the_run_cleanly(go_command, tmp_path):
    process = Background(
        [*go_command, "--spill_count", "1000", "--spill_interval", "0.05",
         "--particles_per_spill", "20", "--output_json_file_name", "live.jsonl"],
        cwd=tmp_path, name="go")
    output = tmp_path / "live.jsonl"
    try:
        # Wait until the run is under way: the first physics spill is on disk.
        wait_until(lambda: output.exists() and output.read_bytes().count(b"\n") >= 3,
                   "go.py writing its first spills", 60, process=process)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        process.stop()
    assert process.returncode == 130, stderr
    assert "interrupted by Ctrl-C" in stdout
    spills = read_lines(output)
    assert spills[-1]["daq_event_type"] == "end_of_run" and spills[-1]["synthesized"]
    assert "Traceback" not in stderr
