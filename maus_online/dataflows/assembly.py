"""Turning the configuration into live modules, every name looked up in the registry."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..modules import InputBase, MapBase, OutputBase, ReduceBase
from ..registry import Registry
from ..specification import (Specification, build_transform, parse_specification,
                             resolve_import_paths)

#: Setting ``output_json_file_name`` adds this output (the record-and-replay promise).
JSON_OUTPUT = "OutputPyJSON"


@dataclass
class Stages:
    """The modules of one dataflow, not yet born."""

    inputter: InputBase
    transformer: MapBase
    reducers: list[ReduceBase]
    outputters: list[OutputBase]
    specification: Specification


def output_names(config: Mapping[str, Any]) -> list[str]:
    """The configured outputs, plus OutputPyJSON when an output file name is set."""
    names = list(config["outputters"])
    if config["output_json_file_name"] and JSON_OUTPUT not in names:
        names.append(JSON_OUTPUT)
    return names


def transform_specification(config: Mapping[str, Any], registry: Registry) -> Specification:
    """The configured ``transformer`` parsed, with import paths loaded into ``registry``."""
    return resolve_import_paths(parse_specification(config["transformer"]), registry)


def assemble(config: Mapping[str, Any], registry: Registry) -> Stages:
    """Instantiate the input, the transform chain, the reducers and the outputs of ``config``."""
    specification = transform_specification(config, registry)

    def create(name: str, kind: str) -> Any:
        return registry.create(registry.resolve(name, kind), kind)

    return Stages(
        inputter=create(config["inputter"], "input"),
        transformer=build_transform(specification, registry),
        reducers=[create(name, "reduce") for name in config["reducers"]],
        outputters=[create(name, "output") for name in output_names(config)],
        specification=specification,
    )
