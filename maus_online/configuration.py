"""Configuration: defaults from ``conf/defaults.toml`` < user file < command line, merged here.

This is the one place where configuration is read, typed and checked. The result is a plain,
JSON-serialisable ``dict`` (it travels to workers), passed to every module's ``birth``.

>>> config = load_configuration(["--spill_count", "20"])
>>> config["spill_count"], config["type_of_dataflow"]
(20, 'pipeline_single_thread')

Every key of the defaults table is a command-line option ``--key value``; the user file
(``--configuration_file``) is JSON, YAML or TOML, chosen by its suffix. An unknown key or a
value of the wrong type raises :class:`~maus_online.errors.ConfigurationError` naming the key
and where the value came from.

A module may declare keys of its own (:attr:`~maus_online.modules.ModuleBase.config_keys`, in
the form of the defaults table's entries): :func:`all_options` adds those of every registered
module, checked like go.py's own, so a plug-in never edits ``conf/defaults.toml``.
"""
from __future__ import annotations

import argparse
import dataclasses
import difflib
import hashlib
import json
import math
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import ConfigurationError
from .resources import conf_directory

if TYPE_CHECKING:
    from .registry import Registry

USER_FILE_OPTION = "configuration_file"
TYPES = ("str", "int", "float", "bool", "list[str]", "dict[str,float]")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


@dataclass(frozen=True)
class Option:
    """One configuration key: its type, default, meaning, and optional limits."""

    name: str
    type: str
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    #: Environment variable whose value, when set, replaces the default (for URLs and secrets).
    env: str | None = None
    #: The module that declared the key ("" for go.py's own, in conf/defaults.toml).
    owner: str = ""


def defaults_path() -> Path:
    return conf_directory() / "defaults.toml"


def load_options(path: Path | None = None) -> dict[str, Option]:
    """Read the table of options; a malformed table is a bug in conf/, reported as such."""
    path = path or defaults_path()
    with open(path, "rb") as stream:
        table = tomllib.load(stream)
    return {name: option_from_entry(name, entry, f"defaults file {path}")
            for name, entry in table.items()}


def option_from_entry(name: str, entry: Any, source: str, owner: str = "") -> Option:
    """The :class:`Option` of one entry of the defaults table's form, from ``source``."""
    unknown = set(entry) - {"type", "default", "help", "choices", "minimum", "env"} \
        if isinstance(entry, Mapping) else {"(not a table)"}
    if unknown or entry.get("type") not in TYPES or "default" not in entry:
        raise ConfigurationError(f"{source}: entry [{name}] needs type (one of {TYPES}), "
                                 f"default and help, and nothing else")
    choices = tuple(entry["choices"]) if "choices" in entry else None
    option = Option(name, entry["type"], None, entry.get("help", ""), choices,
                    entry.get("minimum"), entry.get("env"), owner)
    default = check_value(option, entry["default"], source)
    if option.env and os.environ.get(option.env):
        default = check_value(option, parse_text(option, os.environ[option.env]),
                              f"environment variable {option.env}")
    return dataclasses.replace(option, default=default)


def module_options(registry: Registry) -> dict[str, Option]:
    """The configuration keys the modules of ``registry`` declare; two modules may share a key
    only with the same declaration."""
    options: dict[str, Option] = {}
    for name in registry.names():
        for key, entry in registry.get(name).config_keys.items():
            option = option_from_entry(key, entry, f"module {name}", owner=name)
            known = options.get(key)
            if known is not None and dataclasses.replace(known, owner=name) != option:
                raise ConfigurationError(f"configuration key {key!r} is declared by modules "
                                         f"{known.owner} and {name}, differently")
            options.setdefault(key, option)
    return options


def all_options(registry: Registry | None = None) -> dict[str, Option]:
    """go.py's own keys and those declared by every module of ``registry`` (by default the
    registry of the built-ins and the entry points)."""
    if registry is None:
        from .registry import build_default_registry  # the registry imports the modules

        registry = build_default_registry()
    options = load_options()
    for key, option in module_options(registry).items():
        if key in options:
            raise ConfigurationError(f"module {option.owner} declares configuration key "
                                     f"{key!r}, which is go.py's own (conf/defaults.toml); "
                                     "give it a name of the module's own")
        options[key] = option
    return options


# --- Values -----------------------------------------------------------------------------

def check_value(option: Option, value: Any, source: str) -> Any:
    """Return ``value`` as the option's type, or raise naming the key and ``source``."""
    checked = _typed(option, value)
    if checked is _WRONG:
        raise ConfigurationError(f"configuration key {option.name!r} from {source} is "
                                 f"{value!r}, expected {_describe(option.type)}")
    if option.choices is not None and checked not in option.choices:
        raise ConfigurationError(f"configuration key {option.name!r} from {source} is "
                                 f"{checked!r}, expected one of: "
                                 f"{', '.join(map(str, option.choices))}")
    if option.minimum is not None and checked < option.minimum:
        raise ConfigurationError(f"configuration key {option.name!r} from {source} is "
                                 f"{checked!r}, expected at least {option.minimum}")
    return checked


_WRONG = object()


def _typed(option: Option, value: Any) -> Any:
    kind = option.type
    if kind == "str":
        return value if isinstance(value, str) else _WRONG
    if kind == "bool":
        return value if isinstance(value, bool) else _WRONG
    if isinstance(value, bool):  # bool is an int in Python, never a number here
        return _WRONG
    if kind == "int":
        return value if isinstance(value, int) else _WRONG
    if kind == "float":
        ok = isinstance(value, (int, float)) and math.isfinite(value)
        return float(value) if ok else _WRONG
    if kind == "list[str]":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return list(value) if ok else _WRONG
    if kind == "dict[str,float]":
        ok = isinstance(value, dict) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values())
        return {str(k): float(v) for k, v in value.items()} if ok else _WRONG
    return _WRONG


def parse_text(option: Option, text: str) -> Any:
    """Turn command-line text into a value of the option's type (checked afterwards)."""
    kind = option.type
    try:
        if kind == "str":
            return text
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            lowered = text.strip().lower()
            if lowered in _TRUE or lowered in _FALSE:
                return lowered in _TRUE
            return text
        if kind == "list[str]":
            if text.lstrip().startswith("["):
                return json.loads(text)
            return [item.strip() for item in _split_top_level(text) if item.strip()]
        return json.loads(text)
    except ValueError:
        return text  # left as text, so check_value names what was expected


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses: "MapPyGroup(A, B), C" is two items."""
    items, depth, current = [], 0, []
    for char in text:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return items


def _describe(kind: str) -> str:
    return {"str": "a string", "int": "an integer", "float": "a number",
            "bool": "true or false", "list[str]": "a list of names",
            "dict[str,float]": "an object of numbers"}[kind]


# --- Sources ----------------------------------------------------------------------------

def read_user_file(path: str | Path) -> dict[str, Any]:
    """Read a user configuration file: .json, .yaml/.yml or .toml."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read configuration file {path}: "
                                 f"{exc.strerror or exc}") from exc
    try:
        if suffix == ".json":
            data = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml  # a dependency only the YAML users exercise

            data = yaml.safe_load(text) or {}
        elif suffix == ".toml":
            data = tomllib.loads(text)
        else:
            raise ConfigurationError(f"configuration file {path}: unknown suffix "
                                     f"{suffix or '(none)'!r}; use .json, .yaml, .yml or .toml")
    except ConfigurationError:
        raise
    except Exception as exc:  # noqa: BLE001 - each parser has its own error class
        raise ConfigurationError(f"configuration file {path} cannot be parsed: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"configuration file {path} must hold a mapping of keys to "
                                 f"values, not {type(data).__name__}")
    return data


def merge(options: Mapping[str, Option], layers: Sequence[tuple[str, Mapping[str, Any]]]
          ) -> dict[str, Any]:
    """Defaults overlaid by each ``(source, values)`` layer in turn, every value checked."""
    config = {name: option.default for name, option in options.items()}
    for source, values in layers:
        for key, value in values.items():
            option = options.get(key)
            if option is None:
                raise ConfigurationError(_unknown_key_message(key, source, options))
            config[key] = check_value(option, value, source)
    return config


def _unknown_key_message(key: str, source: str, options: Mapping[str, Option]) -> str:
    close = difflib.get_close_matches(key, list(options), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "; go.py --help lists every key"
    return f"configuration key {key!r} from {source} is unknown{hint}"


# --- Command line -----------------------------------------------------------------------

class _ArgumentParser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting: one clear line at the edge."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigurationError(f"command line: {message}")


def build_argument_parser(options: Mapping[str, Option], prog: str = "go.py"
                          ) -> argparse.ArgumentParser:
    """The parser behind ``go.py --help``: every key, with its meaning and default."""
    parser = _ArgumentParser(
        prog=prog, allow_abbrev=False, argument_default=argparse.SUPPRESS,
        description="MAUS Online: run the online reconstruction of a beamline.",
        epilog=(f"Configuration: defaults from {defaults_path()}, overridden by "
                f"--{USER_FILE_OPTION} (JSON, YAML or TOML), overridden by --key value. "
                "Lists are comma-separated; objects are JSON. docs/configuration.md "
                "explains each key.\n\nWhen something goes wrong: every error message "
                "carries an identifier (MAUS-1xx); docs/recovery.md explains each one by "
                "symptom (no workers answered, RabbitMQ or the document store unreachable, "
                "version mismatch, transform failed on every spill, plots stopped updating)."),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"MAUS Online {__version__}")
    parser.add_argument(f"--{USER_FILE_OPTION}", metavar="FILE",
                        help="user configuration file (.json, .yaml, .yml or .toml)")
    for option in options.values():
        from_env = f"; environment variable {option.env} overrides it" if option.env else ""
        if option.owner:
            from_env += f"; declared by module {option.owner}"
        # A bool given alone (--follow) means true; --follow false still works.
        flag = {"nargs": "?", "const": "true"} if option.type == "bool" else {}
        parser.add_argument(f"--{option.name}", metavar=option.type.upper().replace(",", "_"),
                            help=f"{option.help} (default: {_show(option.default)}{from_env})",
                            **flag)
    return parser


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if value == "" or " " in value else value
    return json.dumps(value)


def default_configuration(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The defaults (modules' keys included) with ``overrides`` checked and applied: how tests
    and tools born modules.

    >>> default_configuration({"spill_count": 3})["spill_count"]
    3
    """
    return merge(all_options(), [("the caller's overrides", overrides or {})])


def configuration_id(config: Mapping[str, Any]) -> str:
    """A short digest that names ``config``: the same settings give the same ID, whichever
    dataflow or machine runs them (the run archive keeps it with each run).

    >>> configuration_id({"spill_count": 3}) == configuration_id({"spill_count": 3})
    True
    """
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def load_configuration(argv: Sequence[str] = (), options: Mapping[str, Option] | None = None
                       ) -> dict[str, Any]:
    """Parse ``argv`` and return the merged, checked configuration (``options``: by default
    :func:`all_options`)."""
    options = options or all_options()
    namespace, extras = build_argument_parser(options).parse_known_args(list(argv))
    if extras:
        key = next((e for e in extras if e.startswith("--")), extras[0])
        if key.startswith("--"):
            raise ConfigurationError(_unknown_key_message(key[2:].split("=")[0],
                                                          "the command line", options))
        raise ConfigurationError(f"command line: unexpected argument {key!r}; "
                                 "settings are given as --key value")
    namespace = vars(namespace)
    layers: list[tuple[str, Mapping[str, Any]]] = []
    user_file = namespace.pop(USER_FILE_OPTION, None)
    if user_file:
        layers.append((f"configuration file {user_file}", read_user_file(user_file)))
    command_line = {key: parse_text(options[key], text) for key, text in namespace.items()}
    layers.append(("the command line", command_line))
    return merge(options, layers)
