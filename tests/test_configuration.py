"""Configuration: defaults < user file < command line, typed and checked in one place."""
from __future__ import annotations

import json

import orjson
import pytest

from maus_online.configuration import (build_argument_parser, load_configuration,
                                       load_options)
from maus_online.errors import ConfigurationError

FIXED_KEYS = ["type_of_dataflow", "inputter", "transformer", "reducers", "outputters",
              "spill_count", "particles_per_spill", "random_seed", "input_json_file_name",
              "output_json_file_name", "image_directory"]


def test_the_fixed_key_names_exist_with_help():
    options = load_options()
    for key in FIXED_KEYS:
        assert key in options and options[key].help


def test_defaults_are_a_json_serialisable_dict():
    config = load_configuration([])
    assert json.loads(orjson.dumps(config)) == config
    assert config["type_of_dataflow"] == "pipeline_single_thread"
    assert config["particles_per_spill"] == 200


@pytest.mark.parametrize("suffix, text", [
    (".json", '{"spill_count": 7, "reducers": ["ReducePyCountSpills"], "beam_momentum": 200}'),
    (".yaml", "spill_count: 7\nreducers: [ReducePyCountSpills]\nbeam_momentum: 200\n"),
    (".toml", 'spill_count = 7\nreducers = ["ReducePyCountSpills"]\nbeam_momentum = 200\n'),
], ids=["json", "yaml", "toml"])
def test_user_file_overrides_defaults_and_command_line_overrides_both(tmp_path, suffix, text):
    path = tmp_path / f"user{suffix}"
    path.write_text(text)
    config = load_configuration(["--configuration_file", str(path), "--spill_count", "9"])
    assert config["spill_count"] == 9
    assert config["beam_momentum"] == 200.0 and isinstance(config["beam_momentum"], float)
    assert config["reducers"] == ["ReducePyCountSpills"]


def test_command_line_types(tmp_path):
    config = load_configuration([
        "--progress", "false", "--outputters", "OutputPyJSON, OutputPyOther",
        "--beam_fractions", '{"mu+": 1}', "--spill_interval", "0.5",
        "--transformer", "MapPyGroup(MapPyTOFDigits, MapPyTOFSlabHits)"])
    assert config["progress"] is False
    assert config["outputters"] == ["OutputPyJSON", "OutputPyOther"]
    assert config["beam_fractions"] == {"mu+": 1.0}
    assert config["spill_interval"] == 0.5
    assert config["transformer"] == "MapPyGroup(MapPyTOFDigits, MapPyTOFSlabHits)"


def test_unknown_key_on_the_command_line_is_named_with_a_suggestion():
    with pytest.raises(ConfigurationError,
                       match="'spill_cont' from the command line is unknown; did you mean "
                             "'spill_count'"):
        load_configuration(["--spill_cont", "3"])


def test_unknown_key_in_the_user_file_names_the_file(tmp_path):
    path = tmp_path / "user.json"
    path.write_text('{"particles": 3}')
    with pytest.raises(ConfigurationError, match=f"'particles' from configuration file {path}"):
        load_configuration(["--configuration_file", str(path)])


@pytest.mark.parametrize("value, expected", [
    ('"ten"', "expected an integer"),
    ("true", "expected an integer"),
    ("2.5", "expected an integer"),
    ("-1", "expected at least 0"),
], ids=["string", "bool", "float", "negative"])
def test_wrong_type_in_the_user_file_is_refused(tmp_path, value, expected):
    path = tmp_path / "user.json"
    path.write_text(f'{{"spill_count": {value}}}')
    with pytest.raises(ConfigurationError,
                       match=f"'spill_count' from configuration file {path} is .*{expected}"):
        load_configuration(["--configuration_file", str(path)])


def test_wrong_type_on_the_command_line_is_refused():
    with pytest.raises(ConfigurationError, match="'random_seed' from the command line is 'x'"):
        load_configuration(["--random_seed", "x"])
    with pytest.raises(ConfigurationError, match="expected one of: pipeline_single_thread"):
        load_configuration(["--type_of_dataflow", "carrier_pigeon"])


@pytest.mark.parametrize("name, text, expected", [
    ("user.json", "{not json", "cannot be parsed"),
    ("user.json", "[1, 2]", "must hold a mapping"),
    ("user.ini", "a=1", "unknown suffix '.ini'"),
    ("missing.json", None, "cannot read configuration file"),
], ids=["bad-json", "not-a-mapping", "bad-suffix", "missing"])
def test_unreadable_user_files_are_refused(tmp_path, name, text, expected):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigurationError, match=expected):
        load_configuration(["--configuration_file", str(path)])


def test_help_lists_every_key_with_its_default():
    options = load_options()
    text = build_argument_parser(options).format_help()
    for option in options.values():
        assert f"--{option.name}" in text
    assert "(default: pipeline_single_thread)" in " ".join(text.split())  # however it wraps
    assert "--configuration_file" in text


# --- Keys a module declares (ModuleBase.config_keys) ---------------------------------------

def _registry_with(*classes):
    from maus_online.registry import Registry

    registry = Registry()
    for cls in classes:
        registry.register(cls)
    return registry


def _map(name, keys):
    from maus_online.modules import MapBase

    return type(name, (MapBase,), {"config_keys": keys})


def test_a_module_declares_its_own_keys_and_they_are_checked_like_go_pys():
    from maus_online.configuration import all_options

    keys = {"beta_bins": {"type": "int", "default": 150, "minimum": 1, "help": "Bins."}}
    options = all_options(_registry_with(_map("MapPyBeta", keys)))
    assert options["beta_bins"].default == 150 and options["beta_bins"].owner == "MapPyBeta"
    config = load_configuration(["--beta_bins", "75"], options)
    assert config["beta_bins"] == 75 and config["spill_count"] == 100
    with pytest.raises(ConfigurationError, match=r"'beta_bins' from the command line is 0, "
                                                 r"expected at least 1"):
        load_configuration(["--beta_bins", "0"], options)
    assert "declared by module MapPyBeta" in build_argument_parser(options).format_help()


@pytest.mark.parametrize("keys, message", [
    ({"spill_count": {"type": "int", "default": 1, "help": "mine"}},
     "module MapPyBeta declares configuration key 'spill_count', which is go.py's own"),
    ({"beta_bins": {"type": "integer", "default": 1, "help": "x"}},
     r"module MapPyBeta: entry \[beta_bins\] needs type"),
    ({"beta_bins": {"type": "int", "default": "many", "help": "x"}},
     "'beta_bins' from module MapPyBeta is 'many', expected an integer"),
], ids=["taken", "bad type name", "bad default"])
def test_a_bad_module_key_is_a_clear_configuration_error(keys, message):
    from maus_online.configuration import all_options

    with pytest.raises(ConfigurationError, match=message):
        all_options(_registry_with(_map("MapPyBeta", keys)))


def test_two_modules_may_share_a_key_only_declared_alike():
    from maus_online.configuration import all_options

    same = {"beta_bins": {"type": "int", "default": 150, "help": "Bins."}}
    assert "beta_bins" in all_options(_registry_with(_map("MapPyA", same), _map("MapPyB", same)))
    other = {"beta_bins": {"type": "int", "default": 99, "help": "Bins."}}
    with pytest.raises(ConfigurationError, match="declared by modules MapPyA and MapPyB"):
        all_options(_registry_with(_map("MapPyA", same), _map("MapPyB", other)))
