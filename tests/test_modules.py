"""The module API: apply_map records errors, MapPyGroup chains and manages life cycles."""
from __future__ import annotations

import pytest

from maus_online.modules import MapBase, MapPyGroup, apply_map, record_error


class MapPyAdd(MapBase):
    def __init__(self, value: int = 1) -> None:
        self.value = value
        self.born = self.dead = 0

    def birth(self, config):
        self.born += 1

    def process(self, spill):
        spill["total"] = spill.get("total", 0) + self.value
        return spill

    def death(self):
        self.dead += 1


class MapPyExplode(MapBase):
    def process(self, spill):
        raise ValueError("slab 11 does not exist")


class MapPyBadBirth(MapBase):
    def birth(self, config):
        raise RuntimeError("no calibration")


def test_apply_map_records_the_exception_under_the_module_name():
    spill = {"run_number": 1}
    result = apply_map(MapPyExplode(), spill)
    assert result is spill
    (message,) = spill["errors"]["MapPyExplode"]
    headline, *traceback_lines = message.splitlines()
    assert headline == "ValueError: slab 11 does not exist"
    # The traceback names where it happened, for the expert reading the spill later.
    assert any("in process" in line for line in traceback_lines)


def test_apply_map_refuses_a_map_that_returns_something_else():
    class MapPyNone(MapBase):
        def process(self, spill):
            return None

    spill = apply_map(MapPyNone(), {})
    assert "returned NoneType" in spill["errors"]["MapPyNone"][0]


def test_group_chains_in_order_and_goes_on_after_an_error():
    group = MapPyGroup(MapPyAdd(1), MapPyExplode(), MapPyAdd(10))
    spill = group.process({})
    assert spill["total"] == 11
    assert list(spill["errors"]) == ["MapPyExplode"]


def test_group_birth_and_death_reach_every_member():
    first, second = MapPyAdd(), MapPyAdd()
    group = MapPyGroup(first, MapPyGroup(second))
    group.birth({})
    group.death()
    assert (first.born, first.dead, second.born, second.dead) == (1, 1, 1, 1)


def test_failed_birth_undoes_the_members_already_born():
    first = MapPyAdd()
    with pytest.raises(RuntimeError, match="no calibration"):
        MapPyGroup(first, MapPyBadBirth()).birth({})
    assert first.dead == 1


def test_record_error_repairs_a_missing_or_broken_errors_field():
    spill = {"errors": "garbage"}
    record_error(spill, "MapPyX", "first")
    record_error(spill, "MapPyX", "second")
    assert spill["errors"] == {"MapPyX": ["first", "second"]}


def test_record_error_keeps_a_non_list_entry_from_a_file():
    spill = {"errors": {"MapPyX": "written by an old writer"}}
    record_error(spill, "MapPyX", "new")
    assert spill["errors"] == {"MapPyX": ["'written by an old writer'", "new"]}
