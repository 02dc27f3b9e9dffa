"""Overlays on a detail page (issue 13, item 3): ``?compare=N`` draws run N's plot of the same
tag over the shown one, and a sidecar's ``reference`` is drawn too; nothing is written, and no
value of ``compare`` and no file of the archive makes the page answer 500.

The archives are written in tmp_path in go.py's layout (docs/histograms.md, "The run archive"),
with time-of-flight histograms in UHI form whose muon peak moves from run to run. The builders
here (``tof_histogram``, ``summary_of``, ``write_tof_run``) serve the trends' tests and the
browser test too.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests import test_webfrontend as web
from tests import test_webfrontend_runs as runs
from tests.test_webfrontend import histogram_1d, write_plot
from tests.test_webfrontend_hostile import strict_json

django_ready, images, client, archive = web.django_ready, web.images, web.client, runs.archive

#: The three peaks of tof_time_01 at 220 MeV/c (docs/histograms.md), ns.
PEAKS = {"e+": 25.5, "mu+": 28.3, "pi+": 30.1}


def tof_histogram(*, mu: float = PEAKS["mu+"], entries: int = 4000,
                  name: str = "Triggers") -> dict[str, Any]:
    """tof_time_01 as a reducer serialises it: 200 bins of 0.1 ns from 20 to 40 ns, flow bins
    included, with e+, mu+ (at ``mu``) and pi+ peaks of 20 %, 60 % and 20 % of ``entries``."""
    centres = [20.05 + 0.1 * i for i in range(200)]
    shares = ((PEAKS["e+"], 0.2), (mu, 0.6), (PEAKS["pi+"], 0.2))
    counts = [round(sum(entries * share * 0.1 / (0.35 * math.sqrt(2 * math.pi))
                        * math.exp(-0.5 * ((x - peak) / 0.35) ** 2) for peak, share in shares))
              for x in centres]
    return histogram_1d([0, *counts, 3], name=name, label="t(TOF1) − t(TOF0) [ns]")


def histogram_2d(values: list[list[int]], name: str = "TOF1") -> dict[str, Any]:
    """A UHI 2D histogram, 2 x 3 bins, no flow bins."""
    axis = {"type": "regular", "underflow": False, "overflow": False, "circular": False}
    return {"uhi_schema": 1, "metadata": {"name": name},
            "axes": [{**axis, "lower": 0.0, "upper": 2.0, "bins": 2, "metadata": {"label": "x"}},
                     {**axis, "lower": 0.0, "upper": 3.0, "bins": 3, "metadata": {"label": "y"}}],
            "storage": {"type": "int", "values": values}}


def summary_of(histograms: list[dict[str, Any]], peaks: dict[str, float | None] | None = None
               ) -> dict[str, Any]:
    """The summary go.py writes for a plot (image.summary, run.json plots[tag].summary)."""
    described = {}
    for histogram in histograms:
        axis, values = histogram["axes"][0], histogram["storage"]["values"]
        width = (axis["upper"] - axis["lower"]) / axis["bins"]
        inside = values[1:-1]
        centres = [axis["lower"] + width * (i + 0.5) for i in range(len(inside))]
        count = sum(inside)
        mean = sum(c * v for c, v in zip(centres, inside)) / count if count else None
        std = (math.sqrt(sum(v * (c - mean) ** 2 for c, v in zip(centres, inside)) / count)
               if count else None)
        described[histogram["metadata"]["name"]] = {"entries": sum(values), "mean": mean,
                                                    "std": std}
    summary = {"entries": sum(sum(h["storage"]["values"]) for h in histograms[:1]),
               "histograms": described}
    if peaks is not None:
        summary["peaks"] = peaks
    return summary


def write_tof_run(archive: Path, number: int, *, mu: float | None = PEAKS["mu+"],
                  entries: int = 4000, extra_tags: tuple[str, ...] = ("tof_nsp",),
                  **image_fields) -> Path:
    """Run ``number`` archived with tof_time_01 (its muon peak at ``mu``; None: the plot is not
    in the run) and ``extra_tags``, each with its summary in its sidecar and in run.json."""
    plots: dict[str, tuple[list, dict]] = {}
    if mu is not None:
        histograms = [tof_histogram(mu=mu, entries=entries)]
        plots["tof_time_01"] = (histograms, summary_of(histograms, {**PEAKS, "mu+": mu}))
    for tag in extra_tags:
        histograms = [histogram_1d([0, 5, 9, 4, 1], name="Triggers", lower=0, upper=3)]
        plots[tag] = (histograms, summary_of(histograms))
    directory = runs.write_run(archive, number, tags=(), plots={
        tag: {"image_file": f"{tag}.png", "sidecar": f"{tag}.json", "entries": summary["entries"],
              "summary": summary} for tag, (_, summary) in plots.items()})
    for tag, (histograms, summary) in plots.items():
        write_plot(directory, tag, run=number, spills_seen=60, histograms=histograms,
                   summary=summary, **image_fields)
    return directory


def plot_data(response) -> dict[str, Any]:
    """The page's plot-data block, as detail.js reads it."""
    assert response.status_code == 200
    return response.context["plot_data"]


def notes(response) -> list[str]:
    return response.context["compare"]["notes"]


@pytest.fixture
def live_tof(images):
    """The live tof_time_01 of run 20, its muon peak drifted to 28.9 ns."""
    histograms = [tof_histogram(mu=28.9, entries=2000)]
    write_plot(images, "tof_time_01", run=20, histograms=histograms,
               summary=summary_of(histograms, {**PEAKS, "mu+": 28.9}))
    return images


# --- The overlay ----------------------------------------------------------------------------

def test_compare_overlays_the_archived_runs_plot_of_the_same_tag(client, archive, live_tof):
    write_tof_run(archive, 7, mu=28.3)
    write_tof_run(archive, 9, mu=28.4)
    before = sorted(path.stat().st_mtime_ns for path in archive.rglob("*"))
    response = client.get("/plots/tof_time_01?compare=7")
    data = plot_data(response)
    assert data["compare"]["run_number"] == 7
    assert data["compare"]["histograms"] == [tof_histogram(mu=28.3)]
    assert notes(response) == []
    # The select offers every archived run, newest first, with the compared one chosen.
    html = response.content.decode()
    assert response.context["compare"]["runs"] == [9, 7]
    assert '<option value="7" selected>run 7</option>' in html
    assert 'src="/static/dashboard/overlay.js"' in html
    # A view choice only: nothing in the archive changed.
    assert sorted(path.stat().st_mtime_ns for path in archive.rglob("*")) == before


def test_a_past_runs_detail_page_compares_with_another_run(client, archive, images):
    write_tof_run(archive, 7, mu=28.3)
    write_tof_run(archive, 8, mu=28.6)
    response = client.get("/runs/8/plots/tof_time_01?compare=7")
    assert plot_data(response)["compare"]["histograms"] == [tof_histogram(mu=28.3)]
    assert response.context["compare"]["runs"] == [7]  # not the run shown
    assert response.context["compare"]["action"] == "/runs/8/plots/tof_time_01"


def test_without_compare_there_is_no_overlay(client, archive, live_tof):
    write_tof_run(archive, 7)
    for address in ("/plots/tof_time_01", "/plots/tof_time_01?compare="):
        response = client.get(address)
        assert plot_data(response)["compare"] is None and notes(response) == []


def test_an_auto_numbered_refresh_is_compared_with_the_runs_plot_of_its_series(
        client, archive, images):
    write_plot(images, "tof_time_01_000004", run=20, histograms=[tof_histogram(mu=29.0)])
    write_tof_run(archive, 7, mu=28.3)
    data = plot_data(client.get("/plots/tof_time_01_000004?compare=7"))
    assert data["compare"]["histograms"] == [tof_histogram(mu=28.3)]


HOSTILE = ["seven", "-1", "1e3", "1234567", "7/../../etc", "%00", "7 ", "<script>", "٣",
           "9" * 5000, "0x10", "+7"]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_a_compare_that_is_no_run_number_is_a_note(client, archive, live_tof, value):
    write_tof_run(archive, 7)
    response = client.get("/plots/tof_time_01", {"compare": value})
    assert plot_data(response)["compare"] is None
    (note,) = notes(response)
    assert note.startswith("MAUS-308 compare=") and len(note) < 400
    assert b"<script>" not in response.content.split(b"<main>")[1].split(b'id="plot-data"')[0]


def test_a_run_not_in_the_archive_or_unreadable_is_a_note(client, archive, live_tof):
    write_tof_run(archive, 7)
    broken = write_tof_run(archive, 8)
    (broken / "run.json").write_text('{"format": 1, "run_num')
    for number in (5, 8, 999999, 0):
        response = client.get(f"/plots/tof_time_01?compare={number}")
        assert plot_data(response)["compare"] is None
        assert notes(response) == [f"MAUS-309 Run {number} is not in the archive, or its "
                                   "run.json cannot be read: nothing to compare with. The plot "
                                   "is shown alone. [docs/recovery.md#maus-309]"]
    assert 8 not in client.get("/plots/tof_time_01").context["compare"]["runs"]


def test_a_run_without_the_tag_is_a_note(client, archive, live_tof):
    write_tof_run(archive, 7, mu=None)
    response = client.get("/plots/tof_time_01?compare=7")
    assert plot_data(response)["compare"] is None
    assert notes(response)[0].startswith("MAUS-310 Run 7 has no plot tof_time_01: ")


CORRUPT = {
    "truncated": lambda path: path.write_text('{"maus_event_type": "Image", "ima'),
    "nan": lambda path: path.write_text(path.read_text().replace('"values": [0,',
                                                                 '"values": [NaN,')),
    "too-deep": lambda path: path.write_bytes(b"[" * 100_000 + b"]" * 100_000),
    "fifo": lambda path: (path.unlink(), __import__("os").mkfifo(path)),
}


@pytest.mark.parametrize("damage", CORRUPT.values(), ids=CORRUPT.keys())
def test_a_corrupt_sidecar_in_the_compared_run_is_a_note(client, archive, live_tof, damage):
    damage(write_tof_run(archive, 7) / "tof_time_01.json")
    response = client.get("/plots/tof_time_01?compare=7")
    assert plot_data(response)["compare"] is None
    assert notes(response)[0].startswith("MAUS-310 Run 7 has no plot tof_time_01")


SHAPES = {
    "not-a-list": ({"a": 1}, "its histograms are not a list of UHI histograms"),
    "fewer": ([], "it holds 0 histogram(s) where this plot has 1"),
    "2d-for-1d": ([histogram_2d([[1, 2, 3], [4, 5, 6]])],
                  "its histogram 1 has 2 axes where this plot's has 1"),
}


@pytest.mark.parametrize(("histograms", "reason"), SHAPES.values(), ids=SHAPES.keys())
def test_a_compared_plot_of_another_shape_is_a_note(client, archive, live_tof, histograms,
                                                    reason):
    directory = write_tof_run(archive, 7)
    sidecar = json.loads((directory / "tof_time_01.json").read_text())
    sidecar["image"]["histograms"] = histograms
    (directory / "tof_time_01.json").write_text(json.dumps(sidecar))
    response = client.get("/plots/tof_time_01?compare=7")
    assert plot_data(response)["compare"] is None
    assert notes(response) == [f"MAUS-311 Run 7's plot cannot be overlaid on tof_time_01: "
                               f"{reason}. The plot is shown without it. "
                               "[docs/recovery.md#maus-311]"]


def test_the_compare_list_is_empty_without_an_archive(client, live_tof, tmp_path):
    from django.test import override_settings

    with override_settings(MAUS_ARCHIVE_DIRECTORY=str(tmp_path / "none")):
        response = client.get("/plots/tof_time_01?compare=3")
        assert response.context["compare"]["runs"] == []
        assert notes(response)[0].startswith("MAUS-309 Run 3 ")


# --- The reference ---------------------------------------------------------------------------

def test_a_sidecars_reference_is_handed_to_the_plot(client, archive, images):
    reference = {"run_number": 3, "histograms": [tof_histogram(mu=28.2)]}
    write_plot(images, "tof_time_01", run=20, histograms=[tof_histogram()], reference=reference)
    response = client.get("/plots/tof_time_01")
    assert plot_data(response)["reference"] == reference
    # The metadata table names the reference and does not print its histograms.
    assert dict(response.context["metadata"])["reference"] == "run 3 (drawn dashed on the plot)"


BAD_REFERENCES = {
    "not-an-object": ([1, 2], "The reference", "its run_number is not a run number"),
    "run-as-text": ({"run_number": "3", "histograms": []}, "The reference",
                    "its run_number is not a run number"),
    "no-histograms": ({"run_number": 3}, "Reference run 3",
                      "its histograms are not a list of UHI histograms"),
    "two-for-one": ({"run_number": 3, "histograms": [tof_histogram(), tof_histogram()]},
                    "Reference run 3", "it holds 2 histogram(s) where this plot has 1"),
}


@pytest.mark.parametrize(("reference", "what", "reason"), BAD_REFERENCES.values(),
                         ids=BAD_REFERENCES.keys())
def test_a_reference_of_another_shape_is_a_note(client, archive, images, reference, what,
                                                reason):
    write_plot(images, "tof_time_01", histograms=[tof_histogram()], reference=reference)
    response = client.get("/plots/tof_time_01")
    assert plot_data(response)["reference"] is None
    assert notes(response) == [f"MAUS-311 {what} cannot be overlaid on tof_time_01: {reason}. "
                               "The plot is shown without it. [docs/recovery.md#maus-311]"]


# --- The plain module ------------------------------------------------------------------------

def test_parse_compare(django_ready):
    from dashboard.compare import CompareError, parse_compare

    assert [parse_compare(value) for value in ("0", "7", "000007", "999999")] == [0, 7, 7, 999999]
    for value in HOSTILE:
        with pytest.raises(CompareError, match="MAUS-308"):
            parse_compare(value)
