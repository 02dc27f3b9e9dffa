"""Transform specifications: parse, print, reflect, rebuild through the registry only."""
from __future__ import annotations

import re

import pytest

from maus_online.errors import SpecificationError, UnknownModuleError
from maus_online.modules import MapPyGroup
from maus_online.specification import (build_transform, format_specification,
                                       parse_specification, reflect, resolve_import_paths)

CHAIN = "MapPyGroup(MapPyTOFDigits, MapPyGroup(MapPyTOFSlabHits, MapPyTOFSpacePoints))"


def test_parse_and_format_round_trip():
    spec = parse_specification(CHAIN)
    assert spec == {"MapPyGroup": ["MapPyTOFDigits",
                                   {"MapPyGroup": ["MapPyTOFSlabHits", "MapPyTOFSpacePoints"]}]}
    assert format_specification(spec) == CHAIN


def test_whitespace_and_a_single_name_are_accepted():
    assert parse_specification("  MapPyTOFDigits ") == "MapPyTOFDigits"
    assert parse_specification("MapPyGroup( MapPyTOFDigits ,MapPyTOFSlabHits )") == {
        "MapPyGroup": ["MapPyTOFDigits", "MapPyTOFSlabHits"]}


@pytest.mark.parametrize("text, where", [
    ("", "empty"),
    ("MapPyGroup(MapPyA", "missing ')'"),
    ("MapPyGroup(MapPyA) MapPyB", "after the end"),
    ("MapPyA(MapPyB)", "only MapPyGroup takes members"),
    ("MapPyGroup(MapPyA MapPyB)", "expected ',' or ')'"),
    ("MapPyGroup(__import__('os').system('id'))", "unexpected"),
], ids=["empty", "unclosed", "trailing", "args-on-map", "missing-comma", "code"])
def test_malformed_specifications_are_refused_with_a_reason(text, where):
    with pytest.raises(SpecificationError, match=re.escape(where)):
        parse_specification(text)


def test_build_and_reflect_through_the_registry(registry):
    transform = build_transform(parse_specification(CHAIN), registry)
    assert isinstance(transform, MapPyGroup)
    assert format_specification(reflect(transform)) == CHAIN


def test_unknown_name_lists_the_known_maps(registry):
    with pytest.raises(UnknownModuleError) as caught:
        build_transform("MapPyNoSuchThing", registry)
    message = str(caught.value)
    assert "'MapPyNoSuchThing'" in message and "MapPyTOFDigits" in message


def test_a_name_of_another_kind_is_not_a_map(registry):
    with pytest.raises(UnknownModuleError, match="unknown map module 'InputPyJSON'"):
        build_transform("InputPyJSON", registry)


def test_import_paths_are_loaded_locally_and_reflected_as_names(registry):
    spec = resolve_import_paths(
        parse_specification("MapPyGroup(tests.test_modules:MapPyAdd, MapPyTOFDigits)"), registry)
    assert spec == {"MapPyGroup": ["MapPyAdd", "MapPyTOFDigits"]}
    assert reflect(build_transform(spec, registry)) == spec
