"""The registry: built-ins, entry points, import paths; duplicates refused."""
from __future__ import annotations

import sys
import textwrap

import pytest

from maus_online.errors import RegistryError, UnknownModuleError
from maus_online.modules import MapBase
from maus_online.registry import build_default_registry


def test_built_ins_and_our_own_entry_points_are_known(registry):
    assert "InputPySpillGenerator" in registry.names("input")
    assert "MapPyTOFSpacePoints" in registry.names("map")
    assert "ReducePyCountSpills" in registry.names("reduce")
    assert "OutputPyJSON" in registry.names("output")


def test_a_different_class_under_a_taken_name_is_refused(registry):
    class MapPyTOFDigits(MapBase):  # noqa: N801 - deliberately the name of a built-in
        pass

    with pytest.raises(RegistryError, match="already registered"):
        registry.register(MapPyTOFDigits)


def test_registering_the_same_class_twice_is_harmless(registry):
    cls = registry.get("MapPyTOFDigits")
    assert registry.register(cls) is cls


def test_only_module_classes_can_be_registered(registry):
    with pytest.raises(RegistryError, match="not a MAUS module class"):
        registry.register(dict)  # type: ignore[arg-type]


def test_unknown_import_path_is_a_clear_error(registry):
    with pytest.raises(UnknownModuleError, match="cannot load module 'nowhere.at_all:MapPyX'"):
        registry.load_import_path("nowhere.at_all:MapPyX")
    with pytest.raises(UnknownModuleError, match="package.module:Class"):
        registry.load_import_path("no_colon:")


@pytest.fixture
def plugin_distribution(tmp_path, monkeypatch):
    """A third-party distribution on sys.path, declaring modules in the entry-point group."""
    (tmp_path / "maus_plugin_example.py").write_text(textwrap.dedent("""
        from maus_online.modules import MapBase

        class MapPyPluginExample(MapBase):
            def process(self, spill):
                spill["plugin"] = True
                return spill

        class MapPyMisnamed(MapBase):
            pass
    """))
    info = tmp_path / "maus_plugin_example-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: maus-plugin-example\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[maus_online.modules]\n"
        "MapPyPluginExample = maus_plugin_example:MapPyPluginExample\n"
        "SomethingElse = maus_plugin_example:MapPyMisnamed\n"
        "MapPyBroken = maus_plugin_missing:MapPyBroken\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("maus_plugin_example", None)


def test_third_party_modules_arrive_through_the_entry_point_group(plugin_distribution, caplog):
    registry = build_default_registry()
    assert registry.create("MapPyPluginExample", "map").process({}) == {"plugin": True}
    # A broken or misnamed plug-in is reported and skipped; the rest still load.
    assert "MapPyMisnamed" not in registry and "MapPyBroken" not in registry
    assert "MapPyBroken" in caplog.text and "must be the class name" in caplog.text
