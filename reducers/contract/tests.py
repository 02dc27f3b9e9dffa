"""The reducer contract's tests: one test per registered reducer (see the package docstring).

Every registered reducer must pass :class:`TestReducerContract`; every histogram reducer
(a :class:`~reducers.histogram_base.ReducePyHistogram`) also :class:`TestHistogramReducerContract`.
Each test drives the reducer through :class:`~reducers.harness.ReducerHarness`, as a dataflow
would.
"""
from __future__ import annotations

import base64
import importlib.util
import io
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence

import jsonschema
import orjson
import pytest
import uhi.schema
from PIL import Image

from maus_online.configuration import default_configuration
from maus_online.dataflows import SpillSide
from maus_online.errors import ConfigurationError
from maus_online.modules import MapPyGroup
from maus_online.registry import build_default_registry
from maus_online.spill import END_OF_RUN, START_OF_RUN

from ..harness import ReducerHarness, reconstructed_spills, skeleton
from ..histogram_base import ReducePyHistogram
from ..image_document import IMAGE_TYPES, histograms_from_json, image_schema
from ..root_histogram import ReducePyROOTHistogram
from . import PACKAGE_OPTION, TRANSFORMER_OPTION

HAS_ROOT = importlib.util.find_spec("ROOT") is not None


def registered_reducers(package: str | None = None) -> list[type]:
    """The registered reducer classes, those of ``package`` only when it is given."""
    registry = build_default_registry()
    classes = [registry.get(name) for name in registry.names("reduce")]
    if package:
        classes = [c for c in classes if c.__module__.split(".")[0] == package]
    return classes


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``reducer_class``, ``split_class`` and ``histogram_class``: one test per registered
    reducer, per reducer that splits its work, per histogram reducer."""
    package = metafunc.config.getoption(PACKAGE_OPTION, default=None)
    for name, wanted in (("reducer_class", lambda c: True), ("split_class", _splits),
                         ("histogram_class", lambda c: issubclass(c, ReducePyHistogram))):
        if name in metafunc.fixturenames:
            classes = [c for c in registered_reducers(package) if wanted(c)]
            metafunc.parametrize(name, [pytest.param(c, id=c.__name__, marks=pytest.mark.skipif(
                issubclass(c, ReducePyROOTHistogram) and not HAS_ROOT,
                reason="ROOT is not installed (pip install '.[root]'); CI installs it"))
                for c in classes])


@pytest.fixture
def spills(request: pytest.FixtureRequest):
    """``spills(count, run=1)``: reconstructed physics spills, made by the default chain or by
    the one given with ``--maus-transformer`` (a plug-in reducer's data needs its own map)."""
    transformer = request.config.getoption(TRANSFORMER_OPTION, default=None)

    def make(count: int = 3, run: int = 1, particles: int = 40) -> list[dict]:
        return reconstructed_spills(count, particles, run, transformer=transformer)

    return make


def _splits(cls: type) -> bool:
    return cls.splits()


def born(cls: type, **overrides: object) -> ReducerHarness:
    """A harness of a new ``cls`` with the default configuration and ``overrides``."""
    return ReducerHarness(cls(), default_configuration(overrides))


def comparable(documents: list[dict]) -> list[dict]:
    """Documents without what may differ between two identical runs (times, image bytes)."""
    result = []
    for document in orjson.loads(orjson.dumps(documents)):
        if isinstance(document.get("image"), dict):
            document["image"].pop("time")
            document["image"].pop("data")
            for entry in document["image"].get("summary_history", ()):
                entry.pop("time")
        result.append(document)
    return result


def only(spill: dict, fields: Sequence[str]) -> dict:
    """The spill cut to the envelope and ``fields``, as the workers send it back."""
    envelope = ("maus_event_type", "daq_event_type", "run_number", "spill_number", "errors")
    return {key: value for key, value in spill.items() if key in envelope or key in fields}


def plain_json(value: object) -> bool:
    """Whether ``value`` is made of dict/list/str/int/float/bool/None only (no numpy)."""
    if type(value) is dict:
        return all(type(k) is str and plain_json(v) for k, v in value.items())
    if type(value) is list:
        return all(map(plain_json, value))
    return type(value) in (str, int, float, bool, type(None))


class TestReducerContract:
    """What the merge side relies on from any reducer."""

    def test_documents_are_plain_json_and_the_end_of_run_emits(self, spills, reducer_class):
        harness = born(reducer_class)
        documents = harness.feed(skeleton(1, 0, START_OF_RUN))
        for spill in spills(3):
            documents += harness.feed(spill)
        end = harness.feed(skeleton(1, 4, END_OF_RUN))
        harness.close()
        assert end, "the end_of_run spill must produce the run's final documents"
        for document in documents + end:
            assert isinstance(document.get("maus_event_type"), str)
            assert plain_json(document), f"{document.get('maus_event_type')} is not plain JSON"

    def test_a_new_run_starts_from_scratch(self, spills, reducer_class):
        harness = born(reducer_class, histogram_drawing="inline")
        harness.run(spills(3), run=1)
        second = harness.run(spills(2, run=2), run=2)
        fresh = born(reducer_class, histogram_drawing="inline").run(
            spills(2, run=2), run=2)
        assert comparable(second) == comparable(fresh)

    def test_markers_and_empty_spills_are_no_error(self, reducer_class):
        harness = born(reducer_class, histogram_drawing="inline")
        start = {**skeleton(4, 0, START_OF_RUN), "synthesized": True}
        empty = [skeleton(4, 1), {**skeleton(4, 2), "daq_data": {}, "recon_events": []}]
        end = {**skeleton(4, 3, END_OF_RUN), "synthesized": True}
        documents = [d for spill in (start, *empty, end) for d in harness.feed(spill)]
        assert [s["errors"] for s in (start, *empty, end)] == [{}] * 4
        assert documents

    def test_raw_data_alone_is_no_error(self, spills, reducer_class):
        raw = [only(spill, ("daq_data",)) for spill in spills(2)]
        assert born(reducer_class, histogram_drawing="inline").run(raw)
        assert [spill["errors"] for spill in raw] == [{}, {}]

    def test_its_spill_fields_are_all_it_reads(self, spills, reducer_class):
        fields = reducer_class.spill_fields
        if fields is None:
            pytest.skip(f"{reducer_class.__name__} reads every field (spill_fields = None)")
        full = born(reducer_class, histogram_drawing="inline").run(spills(2))
        trimmed = born(reducer_class, histogram_drawing="inline").run(
            [only(s, fields) for s in spills(2)])
        assert comparable(trimmed) == comparable(full)

    def test_a_split_reducer_gives_the_same_documents_from_partials_that_crossed_the_wire(
            self, spills, split_class):
        reducer_class = split_class
        config = default_configuration({"histogram_drawing": "inline"})
        direct = ReducerHarness(reducer_class(), config).run(spills(3))
        # The spill side elsewhere (a worker): its spills reach the merge side as JSON.
        worker = SpillSide(MapPyGroup(), [reducer_class()])
        worker.birth(config)
        wired = [orjson.loads(orjson.dumps(worker.process(s))) for s in spills(3)]
        merge_only = ReducerHarness(reducer_class(), config, fill=False).run(wired)
        assert comparable(merge_only) == comparable(direct)


class TestHistogramReducerContract:
    """What every histogram reducer inherits from ReducePyHistogram and its back ends."""

    def test_image_documents_follow_the_schema(self, spills, histogram_class):
        documents = born(histogram_class).run(spills(2))
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

    def test_histograms_in_the_document_are_those_plotted(self, spills, histogram_class):
        harness = born(histogram_class)
        documents = harness.run(spills(2))
        plots = {plot.tag: plot for plot in harness.reducer.plots()}
        assert sorted(d["image"]["tag"] for d in documents) == sorted(plots)
        for document in documents:
            read = histograms_from_json(document["image"]["histograms"])
            plotted = plots[document["image"]["tag"]].histograms
            assert list(read) == list(plotted)
            for name, histogram in plotted.items():
                assert read[name] == histogram, f"{document['image']['tag']}: {name}"

    @pytest.mark.parametrize("image_type", IMAGE_TYPES)
    def test_every_image_type_decodes_and_is_what_it_claims(self, spills, histogram_class,
                                                              image_type):
        harness = born(histogram_class, histogram_image_type=image_type)
        everything = harness.reducer.plots
        # One 1D and one 2D plot (where the reducer has one) show every drawing path.
        harness.reducer.plots = lambda: ([p for p in everything() if not p.is_2d][:1]
                                         + [p for p in everything() if p.is_2d][:1])
        documents = harness.run(spills(2))
        assert documents
        for document in documents:
            assert document["image"]["image_type"] == image_type
            check_image(image_type, base64.b64decode(document["image"]["data"]))

    def test_unsupported_image_type_is_refused_at_birth(self, histogram_class):
        config = default_configuration()
        config["histogram_image_type"] = "gif"  # as if the configuration check were bypassed
        with pytest.raises(ConfigurationError, match=r"'histogram_image_type' is 'gif'.*png"):
            histogram_class().birth(config)

    @pytest.mark.parametrize("drawing", ["inline", "process"])
    @pytest.mark.parametrize("auto_number", [False, True], ids=["fixed_tags", "auto_number"])
    def test_refresh_rate_and_auto_numbering(self, spills, histogram_class, auto_number,
                                              drawing):
        harness = born(histogram_class, refresh_rate=2, histogram_auto_number=auto_number,
                       histogram_drawing=drawing)
        outputs = [harness.feed(skeleton(1, 0, START_OF_RUN))]  # the run's birth
        tags = [plot.tag for plot in harness.reducer.plots()]
        outputs += [harness.feed(spill) for spill in spills(5)]
        outputs.append(harness.feed(skeleton(1, 6, END_OF_RUN)))
        assert [len(output) for output in outputs] == [0, 0, len(tags), 0, len(tags), 0,
                                                        len(tags)]
        emitted = [[d["image"] for d in output] for output in outputs if output]
        assert [[i["spills_seen"] for i in images][0] for images in emitted] == [2, 4, 5]
        assert [[i["spill_number"] for i in images][0] for images in emitted] == [2, 4, 6]
        for refresh, images in enumerate(emitted, start=1):
            expected = [f"{tag}_{refresh:06d}" for tag in tags] if auto_number else tags
            assert [image["tag"] for image in images] == expected

    def test_the_end_of_run_right_after_a_refresh_draws_nothing_new(
            self, spills, histogram_class, monkeypatch):
        harness = born(histogram_class, refresh_rate=2, histogram_drawing="inline")
        drawn = []
        draw = harness.reducer.render
        monkeypatch.setattr(harness.reducer, "render",
                            lambda plot, label: drawn.append((plot.tag, label)) or draw(plot,
                                                                                         label))
        documents = harness.run(spills(2))
        n_plots = len(harness.reducer.plots())
        assert len(documents) == 2 * n_plots
        assert len(drawn) == n_plots and {label for _, label in drawn} == {"Run 1, 2 spills"}

    def test_a_run_number_change_without_markers_starts_a_new_run(self, spills,
                                                                  histogram_class):
        harness = born(histogram_class, refresh_rate=1)
        for spill in spills(2):
            harness.feed(spill)
        documents = harness.feed(spills(1, run=9)[0])
        # Run 1 is closed (its final images) and run 9 begins from nothing.
        seen = [(d["image"]["run_number"], d["image"]["spills_seen"]) for d in documents]
        half = len(seen) // 2
        assert half and seen == [(1, 2)] * half + [(9, 1)] * half

    def test_bad_data_is_recorded_in_the_spill_and_the_run_goes_on(self, spills,
                                                                   histogram_class):
        # A number where each field the reducer reads holds events or hits.
        read = histogram_class.spill_fields or ("daq_data", "recon_events")
        bad = {**skeleton(1, 1), **{field: 5 for field in read}}
        good = spills(2)
        documents = born(histogram_class).run([bad, *good])
        name = histogram_class.__name__
        (message,) = bad["errors"][name]
        assert re.match(r"\w+(Error|Exception): ", message), message
        assert [spill["errors"] for spill in good] == [{}, {}]
        # The bad spill added nothing, so it is not one of the spills seen.
        assert {d["image"]["spills_seen"] for d in documents} == {2}
        filled = [h.sum(flow=True) for d in documents
                  for h in histograms_from_json(d["image"]["histograms"]).values()]
        assert any(filled), "the good spills after the bad one are in the histograms"

    @pytest.mark.parametrize("drawing", ["inline", "process"])
    def test_a_plot_that_cannot_be_drawn_is_reported_and_the_others_emitted(
            self, histogram_class, drawing):
        harness = born(histogram_class, histogram_drawing=drawing)
        harness.feed(skeleton(1, 0, START_OF_RUN))  # the run's birth
        everything = harness.reducer.plots
        broken = everything()[0].tag

        def plots():  # a plot no back end can draw: nothing to draw
            found = everything()
            found[0].histograms = {}
            return found

        harness.reducer.plots = plots
        end = skeleton(1, 1, END_OF_RUN)
        documents = harness.feed(end)
        assert broken not in {d["image"]["tag"] for d in documents}
        assert len(documents) == len(everything()) - 1
        name = histogram_class.__name__
        if drawing == "inline":  # drawn while the spill was there: its errors say so
            (message,) = end["errors"][name]
        else:  # drawn later, elsewhere: counted in the run's summary
            ((module, count),) = harness.stats.errors_by_module.items()
            assert (module, count) == (name, 1)
            (message,) = harness.stats.quoted_errors
        assert f"cannot draw {broken}: " in message


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
        assert ElementTree.fromstring(data).tag.endswith("svg")
