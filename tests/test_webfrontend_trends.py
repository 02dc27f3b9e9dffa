"""Trends (issue 13, item 5, the web side): /trends and /api/trends draw one summary number of
one plot across the archived runs (run.json plots[tag].summary) and across the live run's
refreshes (the live sidecar's summary_history). Missing values are gaps (null), never zeros;
every parameter is checked, and the answer is always strict JSON.
"""
from __future__ import annotations

import pytest

from tests import test_webfrontend as web
from tests import test_webfrontend_runs as runs
from tests.test_webfrontend import write_plot
from tests.test_webfrontend_compare import PEAKS, summary_of, tof_histogram, write_tof_run
from tests.test_webfrontend_hostile import strict_json

django_ready, images, client, archive = web.django_ready, web.images, web.client, runs.archive


def trend(client, **params) -> dict:
    response = client.get("/api/trends", params)
    assert response.status_code == 200, response.content
    return strict_json(response.content)


def values(points: list[dict]) -> list:
    return [point["value"] for point in points]


def entries(total: int = 4000) -> int:
    """The entries of tof_time_01 as write_tof_run writes it (flow bins included)."""
    return sum(tof_histogram(entries=total)["storage"]["values"])


def write_live(images, history_peaks: list[float | None], *, run: int = 20) -> None:
    """The live tof_time_01 with one summary per refresh (every 10 spills)."""
    history = []
    for index, peak in enumerate(history_peaks):
        histograms = [tof_histogram(mu=peak or PEAKS["mu+"], entries=100 * (index + 1))]
        history.append({"spills_seen": 10 * (index + 1),
                        "time": f"2026-12-01T11:{index:02d}:00Z",
                        "summary": summary_of(histograms, {**PEAKS, "mu+": peak})})
    write_plot(images, "tof_time_01", run=run, histograms=[tof_histogram()],
               summary=history[-1]["summary"] if history else None, summary_history=history)


def test_the_default_trend_is_the_muon_peak_of_tof_time_01_over_the_last_50_runs(
        client, archive, images):
    for number in range(1, 61):
        write_tof_run(archive, number, mu=28.3 + (0.01 * (number - 40) if number > 40 else 0))
    write_live(images, [28.5, 28.6, 28.7])
    data = trend(client)
    assert (data["tag"], data["quantity"], data["runs"]) == ("tof_time_01", "peak:mu+", 50)
    assert data["label"] == "μ⁺ peak"
    points = data["archive"]["points"]
    assert [point["run_number"] for point in points] == list(range(11, 61))  # oldest first
    assert values(points)[:30] == [28.3] * 30 and values(points)[-1] == pytest.approx(28.5)
    assert data["archive"]["message"] == ""
    assert data["live"]["run_number"] == 20
    assert data["live"]["points"] == [
        {"spills_seen": 10, "time": "2026-12-01T11:00:00Z", "value": 28.5},
        {"spills_seen": 20, "time": "2026-12-01T11:01:00Z", "value": 28.6},
        {"spills_seen": 30, "time": "2026-12-01T11:02:00Z", "value": 28.7}]
    # The page draws the same data, with the trend's choices.
    page = client.get("/trends")
    assert page.status_code == 200
    assert page.context["trend_data"] == data
    html = page.content.decode()
    assert 'src="/static/dashboard/trends.js"' in html
    assert '<option value="peak:mu+" selected>μ⁺ peak</option>' in html
    assert '<option value="tof_time_01" selected>tof_time_01</option>' in html


def test_missing_values_are_gaps_not_zeros(client, archive, images):
    write_tof_run(archive, 1, mu=28.3)
    write_tof_run(archive, 2, mu=None)  # the plot is not in run 2
    directory = write_tof_run(archive, 3, mu=28.4)
    runs._edit(directory, plots={"tof_time_01": {"summary": {"entries": 5, "peaks": {
        "e+": None, "mu+": None, "pi+": None}}}})
    write_tof_run(archive, 4, mu=28.5)
    runs._edit(archive / "run_000004", plots={"tof_time_01": {"summary": "not an object"}})
    write_live(images, [28.5, None, 28.7])
    data = trend(client)
    assert values(data["archive"]["points"]) == [28.3, None, None, None]
    assert values(data["live"]["points"]) == [28.5, None, 28.7]
    assert values(trend(client, quantity="entries")["archive"]["points"]) == [
        entries(), None, 5, None]


def test_other_quantities_and_the_number_of_runs(client, archive, images):
    for number in (5, 6, 7):
        write_tof_run(archive, number, entries=1000 * number)
    data = trend(client, quantity="mean:Triggers", runs="2")
    assert [point["run_number"] for point in data["archive"]["points"]] == [6, 7]
    assert values(data["archive"]["points"])[0] == pytest.approx(28.0, abs=0.5)
    assert data["label"] == "mean of Triggers"
    assert values(trend(client, quantity="std:Triggers")["archive"]["points"])[0] > 1
    assert values(trend(client, quantity="entries:Triggers")["archive"]["points"]) == [
        entries(1000 * number) for number in (5, 6, 7)]
    nsp = trend(client, tag="tof_nsp", quantity="entries")
    assert values(nsp["archive"]["points"]) == [19, 19, 19]
    page = client.get("/trends", {"tag": "tof_nsp", "quantity": "entries"})
    offered = [quantity for quantity, _ in page.context["quantities"]]
    assert offered == ["entries", "mean:Triggers", "std:Triggers", "entries:Triggers"]
    assert page.context["tags"] == ["tof_nsp", "tof_time_01"]


def test_no_runs_and_no_live_plot_say_so(client, archive, images):
    data = trend(client)
    assert data["archive"] == {"points": [], "message": (
        "MAUS-313 No archived run among the last 50 has μ⁺ peak of tof_time_01: the plot is "
        "absent from them, or they were archived by a go.py that wrote no summaries. "
        "[docs/recovery.md#maus-313]")}
    assert data["live"] == {"run_number": None, "points": [], "message": (
        "MAUS-314 The live plot tof_time_01 carries no summary history: it is not in the image "
        "directory, or a go.py that writes no summaries drew it. [docs/recovery.md#maus-314]")}
    page = client.get("/trends")
    assert page.status_code == 200 and b"MAUS-313 " in page.content and b"MAUS-314 " in page.content


BAD = [("tag", "../etc/passwd"), ("tag", "<script>alert(1)</script>"), ("tag", "x" * 5000),
       ("quantity", "peak:kaon"), ("quantity", "median:Triggers"), ("quantity", "mean:"),
       ("quantity", "mean:" + "x" * 200), ("quantity", "mean:a\nb"), ("runs", "0"),
       ("runs", "1001"), ("runs", "-5"), ("runs", "fifty"), ("runs", "٣"), ("runs", "9" * 400)]


@pytest.mark.parametrize(("parameter", "value"), BAD, ids=[f"{p}-{i}" for i, (p, _) in
                                                            enumerate(BAD)])
def test_a_parameter_that_cannot_be_used_is_refused_with_the_reason(
        client, archive, images, parameter, value):
    response = client.get("/api/trends", {parameter: value})
    assert response.status_code == 400
    error = strict_json(response.content)["error"]
    assert error.startswith(f"MAUS-312 trends: {parameter}=") and len(error) < 400
    page = client.get("/trends", {parameter: value})
    assert page.status_code == 400 and b"MAUS-312 trends: " in page.content
    assert b"<script>alert" not in page.content


def test_a_parameter_given_twice_is_refused(client, archive, images):
    response = client.get("/api/trends?tag=tof_time_01&tag=tof_nsp")
    assert response.status_code == 400
    assert "give it once" in strict_json(response.content)["error"]


def test_hostile_summaries_in_the_files_are_gaps(client, archive, images):
    directory = write_tof_run(archive, 1)
    runs._edit(directory, plots={"tof_time_01": {"summary": {
        "entries": True, "peaks": {"mu+": "28.3"}, "histograms": {"Triggers": [1]}}}})
    write_plot(images, "tof_time_01", histograms=[tof_histogram()], summary_history=[
        {"spills_seen": "10", "summary": {}}, "junk", {"spills_seen": 20, "time": 5,
                                                         "summary": {"peaks": {"mu+": 1e308}}}])
    data = trend(client)
    assert values(data["archive"]["points"]) == [None]
    assert data["live"]["points"] == [{"spills_seen": 20, "time": None, "value": 1e308}]
    assert values(trend(client, quantity="entries")["archive"]["points"]) == [None]
    assert client.get("/trends").status_code == 200


def test_the_nav_leads_to_the_trends(client, images):
    assert b'<a href="/trends">Trends</a>' in client.get("/").content


def test_the_archive_is_read_once(client, archive, images, monkeypatch):
    """1,000 run.json files stay cheap: the archive reader's cache serves the trends too."""
    from dashboard import archive as archive_module

    for number in range(1, 6):
        write_tof_run(archive, number)
    trend(client)
    reads = []
    original = archive_module.read_json_file
    monkeypatch.setattr(archive_module, "read_json_file",
                        lambda *args: reads.append(args) or original(*args))
    trend(client)
    client.get("/trends")
    assert reads == []
