"""The web front-end's plain modules, without Django: the image store, search, layout,
histogram summaries and payloads. One test writes through the real OutputPyImage, so the
front-end and the writer cannot drift apart on the sidecar layout."""
from __future__ import annotations

import json
import sys

import boost_histogram as bh
import pytest

from tests.test_webfrontend import PNG, WEBFRONTEND, histogram_1d, write_plot

if str(WEBFRONTEND) not in sys.path:
    sys.path.insert(0, str(WEBFRONTEND))

from dashboard import image_store
from dashboard.histograms import HistogramError, summarise
from dashboard.image_store import ImageStore, latest_per_series, series_of
from dashboard.layout import DEFAULT_LAYOUT_FILE, Layout, LayoutError, read_layout_file
from dashboard.payloads import format_age, freshness
from dashboard.search import Query, QueryError, keyword_counts

# --- the store ------------------------------------------------------------------------------

def test_reads_what_output_py_image_writes(tmp_path):
    from outputters.image import OutputPyImage
    from reducers.image_document import image_document
    from tests.conftest import make_config

    time_of_flight = bh.Histogram(bh.axis.Regular(4, 20.0, 40.0, metadata=None),
                                  storage=bh.storage.Int64())
    time_of_flight.axes[0].label = "t [ns]"
    time_of_flight.fill([10.0, 25.0, 26.0, 33.0, 45.0, 46.0])
    slabs = bh.Histogram(bh.axis.Integer(0, 10), storage=bh.storage.Int64())
    slabs.fill([3, 3, 4, 12])
    widths = bh.Histogram(bh.axis.Variable([0.0, 1.0, 3.0, 7.0]), storage=bh.storage.Weight())
    widths.fill([0.5, 2.0, 2.5], weight=[1.0, 2.0, 0.5])
    profile = bh.Histogram(bh.axis.Regular(2, -1.0, 1.0), bh.axis.Regular(3, 0.0, 3.0))
    profile.fill([-0.5, 0.5, 0.5, 5.0], [0.5, 1.5, 2.5, 1.0])
    output = OutputPyImage()
    output.birth(make_config(image_directory=str(tmp_path), image_file_prefix="run7_"))
    output.save(image_document(
        tag="tof_time_01", image_type="png", data=PNG, description="TOF0 to TOF1",
        keywords=["TOF", "PID"], run_number=7, spill_number=9, spills_seen=8,
        histograms={"Triggers": time_of_flight, "Slabs": slabs, "Widths": widths,
                    "Profile": profile}))
    output.death()

    store = ImageStore(tmp_path)
    (record,) = store.records()
    assert (record.tag, record.image_file, record.run_number, record.keywords) == (
        "tof_time_01", "run7_tof_time_01.png", 7, ("TOF", "PID"))
    stream, _ = store.open_image(record)
    with stream:
        assert stream.read() == PNG
    summaries = {s.name: s for s in map(summarise, store.document(record)["histograms"])}
    assert (summaries["Triggers"].underflow, summaries["Triggers"].in_range,
            summaries["Triggers"].overflow) == (1.0, 3.0, 2.0)
    assert summaries["Triggers"].axes[0].label == "t [ns]"
    assert summaries["Slabs"].axes[0].kind == "integer"
    assert (summaries["Slabs"].in_range, summaries["Slabs"].overflow) == (3.0, 1.0)
    assert summaries["Widths"].in_range == pytest.approx(3.5)
    assert (summaries["Profile"].in_range, summaries["Profile"].total) == (3.0, 4.0)
    assert summaries["Profile"].underflow is None  # 2D: only the total outside is shown


def test_sidecars_are_parsed_once_per_version(tmp_path, monkeypatch):
    loads = []
    real = image_store.read_json_file
    monkeypatch.setattr(image_store, "read_json_file",
                        lambda path, limits: loads.append(path) or real(path, limits))
    write_plot(tmp_path, "a")
    write_plot(tmp_path, "b")
    store = ImageStore(tmp_path)
    for _ in range(3):
        assert [record.tag for record in store.records()] == ["a", "b"]
    assert len(loads) == 2
    write_plot(tmp_path, "a", spills_seen=99)  # a rewrite (new inode, size or time)
    assert [record.spills_seen for record in store.records()] == [99, 20]
    assert len(loads) == 3
    (tmp_path / "b.json").unlink()
    assert [record.tag for record in store.records()] == ["a"]


def test_newest_file_wins_when_two_sidecars_claim_one_tag(tmp_path):
    write_plot(tmp_path, "tof_nsp", prefix="old_", age=100, run=1)
    write_plot(tmp_path, "tof_nsp", prefix="new_", age=1, run=2)
    (record,) = ImageStore(tmp_path).records()
    assert (record.run_number, record.image_file) == (2, "new_tof_nsp.png")


def test_get_looks_up_tags_and_series_and_refuses_paths(tmp_path):
    write_plot(tmp_path, "tof_xy_0_000001", age=9)
    write_plot(tmp_path, "tof_xy_0_000002", age=1)
    store = ImageStore(tmp_path)
    assert store.get("tof_xy_0_000001").tag == "tof_xy_0_000001"
    assert store.get("tof_xy_0").tag == "tof_xy_0_000002"
    for bad in ("../tof_xy_0_000001", "/etc/passwd", "", ".", "tof_xy_0_000001.json"):
        assert store.get(bad) is None


def test_series_and_latest_per_series(tmp_path):
    assert series_of("tof_time_01_000123") == "tof_time_01"
    assert series_of("tof_time_01") == "tof_time_01"
    assert series_of("tof_pmt00") == "tof_pmt00"
    write_plot(tmp_path, "x_000001", age=5)
    write_plot(tmp_path, "x_000002", age=50)
    write_plot(tmp_path, "y", age=50)
    assert [r.tag for r in latest_per_series(ImageStore(tmp_path).records())] == [
        "x_000001", "y"]


# --- search ---------------------------------------------------------------------------------

def test_query_parsing():
    assert Query.from_params({}) == Query()
    assert not Query().active
    query = Query.from_params({"keyword": ["TOF", " "], "q": [" beam  profile "],
                               "tag": ["tof_xy_0"], "run": ["7"]})
    assert query == Query(keywords=("TOF",), text="beam  profile", tag="tof_xy_0", run=7)
    assert query.params() == [("keyword", "TOF"), ("q", "beam  profile"),
                              ("tag", "tof_xy_0"), ("run", "7")]
    for bad in ({"run": ["x"]}, {"run": ["1", "2"]}, {"keyword": ["k"] * 21},
                {"q": [" ".join(["w"] * 21)]}):
        with pytest.raises(QueryError):
            Query.from_params(bad)


def test_keyword_counts_fold_case(tmp_path):
    write_plot(tmp_path, "a", keywords=("TOF", "PID"))
    write_plot(tmp_path, "b", keywords=("tof", "beam"))
    assert keyword_counts(ImageStore(tmp_path).records()) == [
        ("beam", 1), ("PID", 1), ("TOF", 2)]


# --- layout ---------------------------------------------------------------------------------

def test_the_default_layout_places_every_default_plot(tmp_path):
    tags = ["tdcadc_adc", "tdcadc_occupancy_tof0", "tdcadc_occupancy_tof1",
            "tdcadc_occupancy_tof2", "tdcadc_tdc", "tof_hit_x", "tof_hit_y", "tof_nsp",
            "tof_pmt00", "tof_pmt01", "tof_pmt10", "tof_pmt11", "tof_sp_x", "tof_sp_y",
            "tof_time_01", "tof_time_02", "tof_time_12", "tof_xy_0", "tof_xy_1", "tof_xy_2"]
    for tag in tags:
        write_plot(tmp_path, tag, keywords=("TOF",))
    layout = Layout.from_mapping(read_layout_file(DEFAULT_LAYOUT_FILE))
    groups = layout.arrange(ImageStore(tmp_path).records())
    assert "Other plots" not in [group.title for group in groups]
    assert sorted(record.tag for group in groups for record in group.records) == tags
    assert [r.tag for r in groups[0].records] == ["tof_time_01", "tof_time_12", "tof_time_02"]


def test_arrange_takes_listed_tags_first_then_keywords_and_hides(tmp_path):
    write_plot(tmp_path, "b", keywords=("k",))
    write_plot(tmp_path, "a", keywords=("K",))
    write_plot(tmp_path, "c_000003", keywords=("other",))
    write_plot(tmp_path, "d", keywords=("k",))
    layout = Layout.from_mapping({"hide": ["d"], "groups": [
        {"title": "one", "tags": ["c", "b"], "keywords": ["k"]},
        {"title": "two", "keywords": ["k"]}]})
    groups = layout.arrange(ImageStore(tmp_path).records())
    assert [(g.title, [r.tag for r in g.records]) for g in groups] == [
        ("one", ["c_000003", "b", "a"])]


@pytest.mark.parametrize(("layout", "message"), [
    ([], "expected a table"),
    ({"colour": "red"}, "unknown layout key(s) colour"),
    ({"groups": {"title": "x"}}, "'groups' must be a list"),
    ({"groups": [{"tags": ["a"]}]}, "groups[0] needs a 'title'"),
    ({"groups": [{"title": "x"}]}, "chooses no plot"),
    ({"groups": [{"title": "x", "tags": "a"}]}, "groups[0].tags must be a list of strings"),
    ({"groups": [{"title": "x", "tag": ["a"]}]}, "unknown key(s) tag"),
    ({"groups": [{"title": "x", "tags": ["a"]}, {"title": "x", "tags": ["b"]}]}, "used twice"),
    ({"others": {"show": "yes"}}, "others.show is 'yes'"),
    ({"hide": "a"}, "hide must be a list of strings"),
    ({"title": 3}, "title is 3"),
], ids=lambda value: None)
def test_bad_layouts_are_refused_with_the_key_named(layout, message):
    with pytest.raises(LayoutError) as refused:
        Layout.from_mapping(layout)
    assert message in str(refused.value)


def test_layout_files_toml_and_json(tmp_path):
    (tmp_path / "l.toml").write_text('[[groups]]\ntitle = "T"\ntags = ["a"]\n')
    (tmp_path / "l.json").write_text(json.dumps({"groups": [{"title": "J", "tags": ["a"]}]}))
    (tmp_path / "broken.json").write_text("{")
    assert read_layout_file(tmp_path / "l.toml")["groups"][0]["title"] == "T"
    assert read_layout_file(tmp_path / "l.json")["groups"][0]["title"] == "J"
    with pytest.raises(LayoutError, match="is not valid JSON"):
        read_layout_file(tmp_path / "broken.json")


# --- histograms and payloads ----------------------------------------------------------------

def test_summaries_of_category_and_boolean_axes():
    categories = {"uhi_schema": 1, "metadata": {"name": "c"},
                  "axes": [{"type": "category_str", "categories": ["a", "b"], "flow": True}],
                  "storage": {"type": "double", "values": [1.5, 2.0, 4.0]}}
    summary = summarise(categories)
    assert (summary.in_range, summary.overflow, summary.axes[0].extent) == (
        3.5, 4.0, "2 categories")
    flags = {"axes": [{"type": "boolean"}], "storage": {"type": "int", "values": [3, 4]}}
    assert summarise(flags).total == 7.0


@pytest.mark.parametrize("histogram", [
    None, {}, {"axes": []}, {"axes": [{"type": "regular", "bins": 2}]},
    {"axes": [{"type": "weird"}], "storage": {"values": [1]}},
    {"axes": [{"type": "regular", "bins": 2, "lower": 0, "upper": 1}],
     "storage": {"values": [1, 2, 3]}},
    {"axes": [{"type": "regular", "bins": 1, "lower": 0, "upper": 1}],
     "storage": {"values": ["x"]}},
    {"axes": [{"type": "regular", "bins": 1, "lower": "0", "upper": 1}],
     "storage": {"values": [1]}},
], ids=lambda value: None)
def test_malformed_histograms_raise_histogram_error(histogram):
    with pytest.raises(HistogramError):
        summarise(histogram)


def test_a_nan_written_as_null_counts_as_nothing():
    assert summarise(histogram_1d([0, None, 2, 0])).in_range == 2.0


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 s"), (4.9, "4 s"), (59, "59 s"), (60, "1 min 0 s"), (125, "2 min 5 s"),
    (3600 * 2 + 600, "2 h 10 min"), (86400 * 3 + 3600 * 4, "3 d 4 h"), (-5, "0 s"),
])
def test_format_age(seconds, text):
    assert format_age(seconds) == text


def test_freshness(tmp_path):
    state = freshness([], now=1000.0, stale_seconds=60)
    assert state.stale and state.message.startswith("MAUS-303 No plots yet")
    write_plot(tmp_path, "a", age=0)
    record = ImageStore(tmp_path).records()[0]
    fresh = freshness([record], now=record.modified + 59, stale_seconds=60)
    assert not fresh.stale and fresh.message == ""
    stale = freshness([record], now=record.modified + 61, stale_seconds=60)
    assert stale.stale and "no new plot for 1 min 1 s" in stale.message
