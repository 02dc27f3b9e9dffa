"""The run archive in the web front-end (issue 13, item 2): /runs, a past run's pages, their
JSON API, and what the archive may not do (name a path, list a broken run, answer 500).

Each test writes an archive in tmp_path in go.py's layout: ``run_NNNNNN/`` with the run's final
images and sidecars, as the live image directory holds them, and ``run.json``.
"""
from __future__ import annotations

import json
import logging
import os
import string
from pathlib import Path

import pytest

from tests import test_webfrontend as web
from tests.test_webfrontend import PNG, tags_on_page, write_plot
from tests.test_webfrontend_hostile import strict_json

django_ready, images, client = web.django_ready, web.images, web.client


@pytest.fixture
def archive(tmp_path, images):
    """An empty archive directory that the front-end reads (beside the image directory)."""
    from django.test import override_settings

    directory = tmp_path / "runs-archive"
    directory.mkdir()
    with override_settings(MAUS_ARCHIVE_DIRECTORY=str(directory)):
        yield directory


def write_run(archive: Path, number: int, *, tags=("tof_time_01", "tof_nsp"),
              complete: bool = True, physics: int = 60, **fields) -> Path:
    """A run directory as go.py archives it: plots, sidecars and run.json."""
    directory = archive / f"run_{number:06d}"
    directory.mkdir()
    for tag in tags:
        write_plot(directory, tag, run=number, spills_seen=physics,
                   keywords=("TOF", "time of flight") if "time" in tag else ("TOF",))
    document = {
        "format": 1, "run_number": number, "complete": complete,
        "archived_at": f"2026-12-01T10:{number % 60:02d}:00+00:00",
        "first_spill_time": "2026-12-01T09:00:00+00:00",
        "last_spill_time": "2026-12-01T09:59:00+00:00",
        "spills": {"physics": physics, "run_markers": 2, "with_errors": 1, "input_errors": 0},
        "transform": "MapPyGroup(MapPyBeamMaker, MapPyTOFDigitization)",
        "configuration_id": "c0ffee", "version": "1.2.3",
        "plots": {tag: {"image_file": f"{tag}.png", "sidecar": f"{tag}.json", "entries": 123}
                  for tag in tags},
        **fields}
    (directory / "run.json").write_text(json.dumps(document))
    return directory


def run_numbers(client) -> list[int]:
    return [run["run_number"] for run in strict_json(client.get("/api/runs").content)["runs"]]


# --- /runs and /api/runs --------------------------------------------------------------------

def test_runs_are_listed_newest_first_with_their_summary(client, archive):
    write_run(archive, 7)
    write_run(archive, 12, complete=False, physics=5)
    write_run(archive, 9)
    page = client.get("/runs")
    assert page.status_code == 200
    html = page.content.decode()
    rows = [html.index(f'data-run="{number}"') for number in (12, 9, 7)]
    assert rows == sorted(rows)
    assert '<a href="/runs/12">Run 12</a>' in html and "interrupted" in html
    assert "2026-12-01T10:07:00+00:00" in html and "complete" in html
    answer = strict_json(client.get("/api/runs").content)
    assert answer["count"] == 3 and answer["message"] == ""
    newest = answer["runs"][0]
    assert newest == {
        "run_number": 12, "complete": False, "state": "interrupted",
        "archived_at": "2026-12-01T10:12:00+00:00",
        "first_spill_time": "2026-12-01T09:00:00+00:00",
        "last_spill_time": "2026-12-01T09:59:00+00:00",
        "spills": {"physics": 5, "run_markers": 2, "with_errors": 1, "input_errors": 0},
        "transform": "MapPyGroup(MapPyBeamMaker, MapPyTOFDigitization)",
        "configuration_id": "c0ffee", "version": "1.2.3", "plot_count": 2,
        "url": "/runs/12", "images_url": "/api/runs/12/images",
        "quality": {"level": None, "word": "", "icon": ""}}  # a run.json without quality


def test_an_empty_or_missing_archive_says_so(client, archive):
    from django.test import override_settings

    for directory in (archive, archive / "not-yet"):
        with override_settings(MAUS_ARCHIVE_DIRECTORY=str(directory)):
            answer = strict_json(client.get("/api/runs").content)
            assert answer["count"] == 0 and answer["message"].startswith("MAUS-306 ")
            page = client.get("/runs")
            assert page.status_code == 200 and b"MAUS-306 No archived runs." in page.content


def test_the_archive_is_beside_the_image_directory_by_default(client, images):
    from django.test import override_settings

    (images.parent / "archive").mkdir()
    write_run(images.parent / "archive", 3)
    with override_settings(MAUS_ARCHIVE_DIRECTORY=None):
        assert run_numbers(client) == [3]


BROKEN = {
    "truncated": lambda run: (run / "run.json").write_text('{"format": 1, "run_num'),
    "empty": lambda run: (run / "run.json").write_bytes(b""),
    "not-an-object": lambda run: (run / "run.json").write_text("[1, 2]"),
    "missing": lambda run: (run / "run.json").unlink(),
    "future-format": lambda run: _edit(run, format=2),
    "other-run-number": lambda run: _edit(run, run_number=9),
    "complete-as-text": lambda run: _edit(run, complete="yes"),
    "spills-negative": lambda run: _edit(run, spills={"physics": -1}),
    "nan": lambda run: (run / "run.json").write_text(
        (run / "run.json").read_text().replace('"physics": 60', '"physics": NaN')),
    "too-deep": lambda run: (run / "run.json").write_bytes(b"[" * 100_000 + b"]" * 100_000),
    "oversized": lambda run: os.truncate(run / "run.json", 60 * 1024 * 1024),
    "fifo": lambda run: ((run / "run.json").unlink(), os.mkfifo(run / "run.json")),
    "symlink": lambda run: ((run / "run.json").rename(run / "elsewhere.json"),
                            (run / "run.json").symlink_to(run / "elsewhere.json")),
}


def _edit(run: Path, **fields) -> None:
    document = json.loads((run / "run.json").read_text())
    document.update(fields)
    (run / "run.json").write_text(json.dumps(document))


@pytest.mark.parametrize("spoil", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_run_is_skipped_with_one_warning(client, archive, caplog, spoil):
    from tests.test_webfrontend_hostile import answered

    write_run(archive, 6)
    spoil(write_run(archive, 7))
    write_run(archive, 8)
    with caplog.at_level(logging.WARNING, logger="dashboard"):
        for _ in range(2):  # listed again: not logged again
            assert answered(run_numbers, client) == [8, 6]
            assert answered(client.get, "/runs").status_code == 200
            assert answered(client.get, "/runs/7").status_code == 404
            assert answered(client.get, "/runs/8").status_code == 200
    warnings = [record.getMessage() for record in caplog.records
                if record.name.startswith("dashboard")]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("MAUS-305 run archive ") and "run_000007" in warnings[0]


def test_names_that_are_no_run_are_ignored(client, archive, caplog):
    write_run(archive, 5)
    (archive / ".run_000006.tmp").mkdir()  # an archive being written
    (archive / ".run_000006.tmp" / "run.json").write_text("{")
    for name in ("run_6", "run_0000007", "Run_000008", "notes.txt", "run_000009.old"):
        (archive / name).mkdir()
    with caplog.at_level(logging.WARNING, logger="dashboard"):
        assert run_numbers(client) == [5]
    assert caplog.records == []


def test_run_json_is_parsed_once_per_version(client, archive, monkeypatch):
    from dashboard import archive as archive_module

    loads = []
    real = archive_module.read_json_file
    monkeypatch.setattr(archive_module, "read_json_file",
                        lambda path, limits: loads.append(path) or real(path, limits))
    for number in range(1, 21):
        write_run(archive, number, tags=())
    for _ in range(3):
        assert run_numbers(client) == list(range(20, 0, -1))
    assert len(loads) == 20
    _edit(archive / "run_000004", complete=False)
    assert strict_json(client.get("/api/runs").content)["runs"][16]["state"] == "interrupted"
    assert len(loads) == 21


# --- A past run's pages ---------------------------------------------------------------------

def test_a_past_run_is_shown_with_the_live_grid_and_search(client, archive, images):
    write_plot(images, "tof_time_01", run=99)  # the live directory: another run
    write_run(archive, 7)
    page = client.get("/runs/7")
    assert page.status_code == 200
    assert tags_on_page(page) == ["tof_time_01", "tof_nsp"]  # the layout's groups
    html = page.content.decode()
    assert "Run 7" in html and "60 physics spills" in html and "complete" in html
    assert 'href="/runs/7/plots/tof_time_01"' in html
    assert 'src="/runs/7/images/tof_time_01?v=' in html
    assert 'action="/runs/7"' in html  # the search stays in the run
    config = json.loads(html.split('<script id="dashboard-config" type="application/json">')[1]
                        .split("</script>")[0])
    assert config["live"] is False and config["dashboard_url"] == "/runs/7"
    assert "MAUS-301" not in html and "MAUS-303" not in html  # a past run is never "stale"
    searched = client.get("/runs/7?keyword=time+of+flight")
    assert tags_on_page(searched) == ["tof_time_01"]
    assert 'href="/runs/7?keyword=TOF"' in searched.content.decode()


def test_a_past_runs_detail_page_image_and_api(client, archive):
    write_run(archive, 7)
    detail = client.get("/runs/7/plots/tof_time_01")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert '<a href="/runs">Past runs</a> › <a href="/runs/7">Run 7</a>' in html
    assert 'href="/api/runs/7/images/tof_time_01"' in html
    config = json.loads(html.split('<script id="detail-config" type="application/json">')[1]
                        .split("</script>")[0])
    assert config["live"] is False
    assert config["detail_api_url"] == "/api/runs/7/images/tof_time_01"
    listing = strict_json(client.get("/api/runs/7/images").content)
    assert listing["count"] == 2 and listing["freshness"]["stale"] is False
    (image,) = [image for image in listing["images"] if image["tag"] == "tof_time_01"]
    assert image["detail_url"] == "/runs/7/plots/tof_time_01" and image["run_number"] == 7
    assert b"".join(client.get(image["image_url"]).streaming_content) == PNG
    one = strict_json(client.get("/api/runs/7/images/tof_time_01").content)
    assert one["histograms"] and one["metadata"]["run_number"] == 7
    assert strict_json(client.get("/api/runs/7/images?keyword=nothing").content)["count"] == 0


def test_the_live_page_says_which_run_it_shows(client, archive, images):
    write_plot(images, "tof_time_01", run=41, age=100)
    write_plot(images, "tof_nsp", run=42)
    page = client.get("/")
    assert 'Live · run <span id="run-number">42</span>' in page.content.decode()
    assert strict_json(client.get("/api/dashboard").content)["run_number"] == 42
    assert b'<a href="/runs">Past runs</a>' in page.content  # the navigation


@pytest.mark.parametrize("url", [
    "/runs/8", "/runs/8/plots/tof_time_01", "/runs/8/images/tof_time_01",
    "/runs/1234567", "/runs/-7", "/runs/7.0", "/runs/seven", "/runs/%37%2f",
    "/runs/7/plots/nothing", "/runs/7/images/nothing", "/runs/7/"])
def test_what_is_not_archived_is_a_404_page(client, archive, url):
    write_run(archive, 7)
    response = client.get(url)
    assert response.status_code == 404
    if not response.streaming:
        assert b"Not found" in response.content


@pytest.mark.parametrize("url", ["/api/runs/8/images", "/api/runs/8/images/tof_time_01",
                                 "/api/runs/7/images/nothing"])
def test_the_api_answers_404_in_json(client, archive, url):
    write_run(archive, 7)
    response = client.get(url)
    assert response.status_code == 404 and "error" in strict_json(response.content)


@pytest.mark.parametrize("path", [
    "../images/secret", "..%2fimages%2fsecret", "%2e%2e%2f%2e%2e%2fimages", "..",
    "run.json", "../run_000007/run.json", "secret", "%2Fetc%2Fpasswd", "..%5csecret"])
@pytest.mark.parametrize("prefix", ["/runs/7/images/", "/runs/7/plots/",
                                    "/api/runs/7/images/"])
def test_no_url_leaves_the_run(client, archive, images, prefix, path):
    write_plot(images, "secret", description="SECRET")
    write_run(archive, 7)
    response = client.get(prefix + path)
    assert response.status_code == 404
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"SECRET" not in body and b'"format"' not in body


def test_symlinks_out_of_the_archive_lead_nowhere(client, archive, images, tmp_path, caplog):
    outside = tmp_path / "outside"
    outside.mkdir()
    write_run(outside, 3)
    (archive / "run_000003").symlink_to(outside / "run_000003", target_is_directory=True)
    run = write_run(archive, 7)
    write_plot(images, "secret", description="SECRET")
    (run / "tof_nsp.png").unlink()
    (run / "tof_nsp.png").symlink_to(images / "secret.png")  # an image leading out of the run
    (run / "secret.json").symlink_to(images / "secret.json")  # a sidecar leading out
    with caplog.at_level(logging.WARNING, logger="dashboard"):
        assert run_numbers(client) == [7]
        for url in ("/runs/3", "/api/runs/3/images", "/runs/7/images/tof_nsp",
                    "/runs/7/plots/secret", "/runs/7/images/secret"):
            assert client.get(url).status_code == 404, url
        assert tags_on_page(client.get("/runs/7")) == ["tof_time_01"]
    assert "run_000003: it is a symlink" in caplog.text
    assert "resolves to a file outside the image directory" in caplog.text


def test_a_hostile_sidecar_in_a_run_costs_one_warning(client, archive, caplog):
    run = write_run(archive, 7)
    os.mkfifo(run / "fifo.json")
    (run / "deep.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    with caplog.at_level(logging.WARNING, logger="dashboard"):
        for _ in range(2):
            assert client.get("/runs/7").status_code == 200
            strict_json(client.get("/api/runs/7/images").content)
    assert sorted(record.getMessage().split(": ")[1] for record in caplog.records) == [
        "skipped sidecar deep.json", "skipped sidecar fifo.json"]


def test_the_web_messages_are_the_catalogues(django_ready):
    from dashboard.messages import TEXTS, say
    from maus_online.catalogue import CATALOGUE

    for code, text in TEXTS.items():
        assert CATALOGUE[code].text == text and CATALOGUE[code].source == "web"
        fields = {name: "x" for _, name, _, _ in string.Formatter().parse(text) if name}
        assert say(code, **fields) == CATALOGUE[code].format(**fields)
    assert {code for code, message in CATALOGUE.items()
            if message.source == "web" and code >= "MAUS-304"} == set(TEXTS)
