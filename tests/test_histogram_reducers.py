"""The reducer contract, which every registered reducer passes, and the histogram contract,
which every histogram reducer (ReducePyHistogram subclass) passes on top of it.

A reducer added through the ``maus_online.modules`` entry points is picked up here by itself.
"""
from __future__ import annotations

import base64
import copy
import importlib.util
import io
import xml.etree.ElementTree as ElementTree
from functools import lru_cache

import boost_histogram as bh
import jsonschema
import orjson
import pytest
import uhi.schema
from PIL import Image

from maus_online.errors import ConfigurationError
from maus_online.registry import build_default_registry
from reducers.histogram_base import Plot, ReducePyHistogram, empty_note, per_bin
from reducers.image_document import IMAGE_TYPES, histograms_from_json, image_schema
from reducers.root_histogram import ReducePyROOTHistogram
from tests.conftest import make_config, skeleton
from tests.tof_helpers import assert_plain_json, run_chain

HAS_ROOT = importlib.util.find_spec("ROOT") is not None
_REGISTRY = build_default_registry()
REDUCERS = [_REGISTRY.get(name) for name in _REGISTRY.names("reduce")]


def reducer_params(classes):
    return [pytest.param(cls, id=cls.__name__, marks=pytest.mark.skipif(
        issubclass(cls, ReducePyROOTHistogram) and not HAS_ROOT,
        reason="ROOT is not installed (pip install '.[root]'); CI installs it"))
        for cls in classes]


HISTOGRAM_REDUCERS = [cls for cls in REDUCERS if issubclass(cls, ReducePyHistogram)]
FAKE_PNG = b"\x89PNG\r\n\x1a\nfake"


@lru_cache(maxsize=None)
def _spills(count: int, particles: int) -> tuple:
    return tuple(run_chain(range(1, count + 1), particles_per_spill=particles))


def spills(count: int = 3, particles: int = 40, run: int = 1) -> list[dict]:
    """Simulated and reconstructed physics spills of ``run`` (fresh copies)."""
    result = copy.deepcopy(list(_spills(count, particles)))
    for spill in result:
        spill["run_number"] = run
    return result


def whole_run(reducer, physics: list[dict], run: int = 1) -> list[dict]:
    """Feed a run with its markers; return every document the reducer produced."""
    documents = reducer.process(skeleton(run, 0, "start_of_run"))
    for spill in physics:
        documents += reducer.process(spill)
    return documents + reducer.process(skeleton(run, len(physics) + 1, "end_of_run"))


def born(cls, *, draw: bool = True, **overrides):
    """A reducer of ``cls`` born with the defaults and ``overrides``. ``draw=False`` swaps a
    histogram reducer's drawing for a stub, for tests about what is counted, not drawn."""
    reducer = cls()
    reducer.birth(make_config(**overrides))
    if not draw and isinstance(reducer, ReducePyHistogram):
        reducer.render = lambda plot, label: FAKE_PNG
    return reducer


def comparable(documents: list[dict]) -> list[dict]:
    """Documents without what may differ between two identical runs (time, image bytes)."""
    result = []
    for document in documents:
        document = copy.deepcopy(document)
        if isinstance(document.get("image"), dict):
            document["image"].pop("time")
            document["image"].pop("data")
        result.append(document)
    return result


def only(spill: dict, fields) -> dict:
    """The spill as the multi-process dataflow returns it: envelope plus ``fields``."""
    envelope = ("maus_event_type", "daq_event_type", "run_number", "spill_number", "errors")
    return {key: value for key, value in spill.items() if key in envelope or key in fields}


@pytest.fixture(params=reducer_params(REDUCERS))
def reducer_class(request):
    return request.param


@pytest.fixture(params=reducer_params(HISTOGRAM_REDUCERS))
def histogram_class(request):
    return request.param


class TestReducerContract:
    """What the merge side relies on from any reducer."""

    def test_documents_are_plain_json_and_the_end_of_run_emits(self, reducer_class):
        reducer = born(reducer_class)
        outputs = [reducer.process(skeleton(1, 0, "start_of_run"))]
        outputs += [reducer.process(spill) for spill in spills()]
        outputs.append(reducer.process(skeleton(1, 4, "end_of_run")))
        reducer.death()
        assert all(isinstance(output, list) for output in outputs)
        assert outputs[-1], "the end_of_run spill must produce the run's final documents"
        for document in (d for output in outputs for d in output):
            assert isinstance(document.get("maus_event_type"), str)
            assert_plain_json(document, "document")
            assert orjson.loads(orjson.dumps(document)) == document

    def test_a_new_run_starts_from_scratch(self, reducer_class):
        reducer = born(reducer_class, draw=False)
        whole_run(reducer, spills(3), run=1)
        second = whole_run(reducer, spills(2, run=2), run=2)  # same instance, no new birth
        reducer.death()
        reducer.birth(make_config())  # born again, as MergeOutput does at each run
        third = whole_run(reducer, spills(2, run=2), run=2)
        fresh = whole_run(born(reducer_class, draw=False), spills(2, run=2), run=2)
        assert comparable(second) == comparable(fresh) == comparable(third)

    def test_markers_and_empty_spills_are_no_error(self, reducer_class):
        reducer = born(reducer_class, draw=False)
        start = {**skeleton(4, 0, "start_of_run"), "synthesized": True}
        empty = [skeleton(4, 1), {**skeleton(4, 2), "daq_data": {}, "recon_events": []}]
        end = {**skeleton(4, 3, "end_of_run"), "synthesized": True}
        documents = whole_run(reducer, [], run=4)
        for spill in (start, *empty, end):
            documents += reducer.process(spill)
        assert [s["errors"] for s in (start, *empty, end)] == [{}] * 4
        assert documents

    def test_raw_data_alone_is_no_error(self, reducer_class):
        raw = [only(spill, ("daq_data",)) for spill in spills(2)]
        reducer = born(reducer_class, draw=False)
        assert whole_run(reducer, raw)
        assert [spill["errors"] for spill in raw] == [{}, {}]

    def test_its_spill_fields_are_all_it_reads(self, reducer_class):
        fields = reducer_class.spill_fields
        if fields is None:
            pytest.skip(f"{reducer_class.__name__} reads every field (spill_fields = None)")
        full = whole_run(born(reducer_class, draw=False), spills(2))
        trimmed = whole_run(born(reducer_class, draw=False), [only(s, fields) for s in spills(2)])
        assert comparable(trimmed) == comparable(full)


class TestHistogramReducerContract:
    """What every histogram reducer inherits from ReducePyHistogram and its back ends."""

    def test_image_documents_follow_the_schema(self, histogram_class):
        documents = whole_run(born(histogram_class), spills(2))
        validator = jsonschema.Draft7Validator(image_schema(),
                                               format_checker=jsonschema.FormatChecker())
        assert documents
        for document in documents:
            validator.validate(document)
            image = document["image"]
            assert (image["run_number"], image["spill_number"], image["spills_seen"]) == (1, 3, 2)
            assert image["keywords"] and image["description"]
            for histogram in image["histograms"]:
                uhi.schema.validate_histogram(histogram)

    def test_histograms_in_the_document_are_those_plotted(self, histogram_class):
        reducer = born(histogram_class)
        documents = whole_run(reducer, spills(2))
        plots = {plot.tag: plot for plot in reducer.plots()}
        assert sorted(d["image"]["tag"] for d in documents) == sorted(plots)
        for document in documents:
            read = histograms_from_json(document["image"]["histograms"])
            plotted = plots[document["image"]["tag"]].histograms
            assert list(read) == list(plotted)
            for name, histogram in plotted.items():
                assert read[name] == histogram, f"{document['image']['tag']}: {name}"

    @pytest.mark.parametrize("image_type", IMAGE_TYPES)
    def test_every_image_type_decodes_and_is_what_it_claims(self, histogram_class, image_type):
        reducer = born(histogram_class, histogram_image_type=image_type)
        everything = reducer.plots
        # One 1D and one 2D plot (where the reducer has one) show every drawing path.
        reducer.plots = lambda: ([p for p in everything() if not p.is_2d][:1]
                                 + [p for p in everything() if p.is_2d][:1])
        documents = whole_run(reducer, spills(2))
        assert documents
        for document in documents:
            assert document["image"]["image_type"] == image_type
            data = base64.b64decode(document["image"]["data"])
            check_image(image_type, data)

    def test_unsupported_image_type_is_refused_at_birth(self, histogram_class):
        config = make_config()
        config["histogram_image_type"] = "gif"  # as if the configuration check were bypassed
        with pytest.raises(ConfigurationError, match=r"'histogram_image_type' is 'gif'.*png"):
            histogram_class().birth(config)

    @pytest.mark.parametrize("auto_number", [False, True], ids=["fixed_tags", "auto_number"])
    def test_refresh_rate_and_auto_numbering(self, histogram_class, auto_number):
        # Only the counting is under test here; drawing is the other tests' business.
        reducer = born(histogram_class, draw=False, refresh_rate=2,
                       histogram_auto_number=auto_number)
        tags = [plot.tag for plot in reducer.plots()]
        outputs = [reducer.process(skeleton(1, 0, "start_of_run"))]
        outputs += [reducer.process(spill) for spill in spills(5)]
        outputs.append(reducer.process(skeleton(1, 6, "end_of_run")))
        counts = [len(output) for output in outputs]
        assert counts == [0, 0, len(tags), 0, len(tags), 0, len(tags)]
        emitted = [[d["image"] for d in output] for output in outputs if output]
        assert [[i["spills_seen"] for i in images][0] for images in emitted] == [2, 4, 5]
        assert [[i["spill_number"] for i in images][0] for images in emitted] == [2, 4, 6]
        for refresh, images in enumerate(emitted, start=1):
            expected = [f"{tag}_{refresh:06d}" for tag in tags] if auto_number else tags
            assert [image["tag"] for image in images] == expected

    def test_the_end_of_run_right_after_a_refresh_draws_nothing_new(self, histogram_class,
                                                                    monkeypatch):
        reducer = born(histogram_class, refresh_rate=2)
        drawn = []
        monkeypatch.setattr(reducer, "render",
                            lambda plot, label: drawn.append((plot.tag, label)) or FAKE_PNG)
        documents = whole_run(reducer, spills(2))
        n_plots = len(reducer.plots())
        assert len(documents) == 2 * n_plots
        assert len(drawn) == n_plots and {label for _, label in drawn} == {"Run 1, 2 spills"}

    def test_a_run_number_change_without_markers_resets(self, histogram_class):
        reducer = born(histogram_class, draw=False, refresh_rate=1)
        for spill in spills(2):
            reducer.process(spill)
        (first, *_) = reducer.process(spills(1, run=9)[0])
        assert (first["image"]["run_number"], first["image"]["spills_seen"]) == (9, 1)

    def test_bad_data_is_recorded_in_the_spill_and_the_run_goes_on(self, histogram_class):
        reducer = born(histogram_class)
        bad = {**skeleton(1, 1), "daq_data": {"tof0": 5, "tof1": 5, "tof2": 5},
               "recon_events": [{"tof_event": 7}]}
        good = spills(2)
        documents = whole_run(reducer, [bad, *good])
        assert len(bad["errors"][histogram_class.__name__]) == 1
        assert bad["errors"][histogram_class.__name__][0].startswith("TypeError: ")
        assert [spill["errors"] for spill in good] == [{}, {}]
        assert {d["image"]["spills_seen"] for d in documents} == {3}
        filled = [h.sum(flow=True) for d in documents
                  for h in histograms_from_json(d["image"]["histograms"]).values()]
        assert any(filled), "the good spills after the bad one are in the histograms"

    def test_a_plot_that_cannot_be_drawn_is_recorded_and_the_others_emitted(
            self, histogram_class, monkeypatch):
        reducer = born(histogram_class)
        draw = reducer.render
        broken = reducer.plots()[0].tag

        def render(plot, label):
            if plot.tag == broken:
                raise RuntimeError("no ink")
            return draw(plot, label)

        monkeypatch.setattr(reducer, "render", render)
        end = skeleton(1, 1, "end_of_run")
        documents = reducer.process(end)
        assert broken not in {d["image"]["tag"] for d in documents}
        assert len(documents) == len(reducer.plots()) - 1
        (message,) = end["errors"][histogram_class.__name__]
        assert message.startswith(f"cannot draw {broken}: RuntimeError: no ink\nTraceback")


def check_image(image_type: str, data: bytes) -> None:
    """``data`` decodes as ``image_type`` and has the house size where it has pixels."""
    if image_type in ("png", "jpg"):
        magic = b"\x89PNG\r\n\x1a\n" if image_type == "png" else b"\xff\xd8\xff"
        assert data.startswith(magic)
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            assert image.format == {"png": "PNG", "jpg": "JPEG"}[image_type]
            assert image.size == (640, 480)
    elif image_type == "pdf":
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    elif image_type == "eps":
        assert data.startswith(b"%!PS-Adobe-") and b"EPSF" in data.split(b"\n", 1)[0]
        assert b"%%BoundingBox:" in data
    else:
        root = ElementTree.fromstring(data)
        assert root.tag.endswith("svg")


def test_per_bin_names_the_bin_width() -> None:
    time_axis = bh.axis.Regular(200, 20.0, 40.0)
    assert per_bin("Triggers", time_axis, "ns") == "Triggers / 0.1 ns"
    assert per_bin("Hits", bh.axis.Regular(200, 0.0, 4000.0), "counts") == "Hits / 20 counts"
    assert per_bin("Slab hits", bh.axis.Integer(0, 10)) == "Slab hits"


def test_empty_plots_say_why() -> None:
    histogram = bh.Histogram(bh.axis.Regular(10, 0.0, 1.0))
    plot = Plot("t", "T", "d", ("k",), {"h": histogram})
    assert empty_note(plot) == "No entries yet"
    histogram.fill([5.0])
    assert empty_note(plot) == "All entries outside the axis range"
    histogram.fill([0.5])
    assert empty_note(plot) == ""
