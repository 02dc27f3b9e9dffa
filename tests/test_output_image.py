"""OutputPyImage: image files and JSON sidecars, written atomically; go.py's default plots."""
from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import boost_histogram as bh
import jsonschema
import pytest

from maus_online.errors import ConfigurationError, ModuleLifecycleError
from outputters.image import ImageDocumentError, OutputPyImage
from reducers.image_document import image_document, image_schema
from tests.conftest import make_config, skeleton
from tests.image_directory import plot_file_names

PNG = b"\x89PNG\r\n\x1a\n" + b"pixels" * 10


def document(tag: str = "tof_time_01", data: bytes = PNG, **fields) -> dict:
    histogram = bh.Histogram(bh.axis.Regular(4, 20.0, 40.0))
    histogram.fill([25.5, 28.2, 28.3])
    made = image_document(tag=tag, image_type="png", data=data, description="TOF0 to TOF1",
                          keywords=["TOF", "PID"], run_number=3, spill_number=9,
                          spills_seen=8, histograms={"Triggers": histogram})
    made["image"].update(fields)
    return made


def born(directory: Path, **overrides) -> OutputPyImage:
    output = OutputPyImage()
    output.birth(make_config(image_directory=str(directory), **overrides))
    return output


def sidecar_validator() -> jsonschema.Draft7Validator:
    schema = image_schema()
    return jsonschema.Draft7Validator({"definitions": schema["definitions"],
                                       "$ref": "#/definitions/sidecar"})


def test_an_image_document_becomes_an_image_and_a_sidecar(tmp_path):
    output = born(tmp_path / "plots", image_file_prefix="run3_")
    original = document()
    output.save(original)
    output.death()
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "run3_tof_time_01.json", "run3_tof_time_01.png"]
    assert (tmp_path / "plots" / "run3_tof_time_01.png").read_bytes() == PNG
    sidecar = json.loads((tmp_path / "plots" / "run3_tof_time_01.json").read_text())
    sidecar_validator().validate(sidecar)
    expected = {k: v for k, v in original["image"].items() if k != "data"}
    assert sidecar == {"maus_event_type": "Image",
                       "image": {**expected, "image_file": "run3_tof_time_01.png"}}
    assert sidecar["image"]["keywords"] == ["TOF", "PID"]
    assert "data" not in sidecar["image"]


def test_documents_without_an_image_are_ignored(tmp_path):
    output = born(tmp_path)
    for ignored in (skeleton(), {"maus_event_type": "SpillCount", "spills": 3}, {}):
        output.save(ignored)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("missing", [("tag",), ("image_type",), ("data",), ("tag", "data")],
                         ids=lambda m: "+".join(m))
def test_an_image_without_tag_type_or_data_is_refused_by_name(tmp_path, missing):
    output = born(tmp_path)
    bad = document()
    for key in missing:
        del bad["image"][key]
    with pytest.raises(ImageDocumentError, match=f"refused: no {', '.join(missing)}$"):
        output.save(bad)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("tag", ["../escape", "a/b", ".hidden", "x" * 201, "tab\there"])
def test_a_tag_that_is_not_a_plain_file_name_is_refused(tmp_path, tag):
    output = born(tmp_path / "images")
    with pytest.raises(ImageDocumentError, match="not a plain file name"):
        output.save(document(tag=tag))
    assert list(tmp_path.rglob("*.*")) == []


def test_data_that_is_not_base64_is_refused(tmp_path):
    output = born(tmp_path)
    bad = document()
    bad["image"]["data"] = "not base64!"
    with pytest.raises(ImageDocumentError, match="tof_time_01 refused: data is not base64"):
        output.save(bad)


def test_the_directory_is_made_but_a_file_in_its_place_is_an_error(tmp_path):
    born(tmp_path / "a" / "b" / "images")
    assert (tmp_path / "a" / "b" / "images").is_dir()
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(ConfigurationError, match="'image_directory' is .*taken.*which is a file"):
        born(tmp_path / "taken")


def test_save_outside_birth_and_death_is_a_lifecycle_error(tmp_path):
    output = born(tmp_path)
    output.death()
    with pytest.raises(ModuleLifecycleError):
        output.save(document())


def test_files_are_replaced_through_a_temporary_file_in_the_same_directory(tmp_path,
                                                                          monkeypatch):
    output = born(tmp_path)
    output.save(document(data=b"old image"))
    replaced = []
    real_replace = os.replace

    def replace(source, target):
        # At the moment of the rename the new file is complete and the old one untouched.
        source, target = Path(source), Path(target)
        replaced.append((source.parent, source.name, target.name))
        if target.suffix == ".png":
            assert (target.read_bytes(), source.read_bytes()) == (b"old image", b"new image")
        else:
            assert json.loads(source.read_bytes())["image"]["image_file"] == target.stem + ".png"
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    output.save(document(data=b"new image"))
    assert [(parent, target) for parent, _, target in replaced] == [
        (tmp_path, "tof_time_01.png"), (tmp_path, "tof_time_01.json")]
    assert all(name.startswith(".") and name.endswith(".tmp") for _, name, _ in replaced)
    assert (tmp_path / "tof_time_01.png").read_bytes() == b"new image"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tof_time_01.json", "tof_time_01.png"]


def test_a_failed_write_leaves_the_old_files_and_no_temporary_file(tmp_path, monkeypatch):
    output = born(tmp_path)
    output.save(document(data=b"old image"))

    def fail(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="No space left"):
        output.save(document(data=b"new image"))
    assert (tmp_path / "tof_time_01.png").read_bytes() == b"old image"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tof_time_01.json", "tof_time_01.png"]


def test_files_are_readable_by_the_web_server(tmp_path):
    old = os.umask(0o022)
    try:
        born(tmp_path).save(document())
    finally:
        os.umask(old)
    for path in tmp_path.iterdir():
        assert path.stat().st_mode & 0o777 == 0o644, path.name


def test_go_writes_the_default_plots_and_their_sidecars(go_command, tmp_path):
    result = subprocess.run([*go_command, "--progress", "false", "--spill_count", "3",
                             "--particles_per_spill", "40"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    images = tmp_path / "images"
    tags = [
        "tdcadc_adc", "tdcadc_occupancy_tof0", "tdcadc_occupancy_tof1", "tdcadc_occupancy_tof2",
        "tdcadc_tdc", "tof_hit_x", "tof_hit_y", "tof_nsp", "tof_pmt00", "tof_pmt01",
        "tof_pmt10", "tof_pmt11", "tof_sp_x", "tof_sp_y", "tof_time_01", "tof_time_02",
        "tof_time_12", "tof_xy_0", "tof_xy_1", "tof_xy_2"]
    assert plot_file_names(images) == sorted(
        f"{tag}.{suffix}" for tag in tags for suffix in ("json", "png"))
    validator = sidecar_validator()
    for tag in tags:
        sidecar = json.loads((images / f"{tag}.json").read_text())
        validator.validate(sidecar)
        assert (sidecar["image"]["run_number"], sidecar["image"]["spills_seen"]) == (1, 3)
        assert (images / f"{tag}.png").read_bytes().startswith(base64.b64decode("iVBORw0KGgo="))
