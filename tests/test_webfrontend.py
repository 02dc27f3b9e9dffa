"""The web front-end through Django's test client: dashboard, detail page, search, JSON API,
stale banner, layout setting, bad sidecars. Security has its own module
(test_webfrontend_security.py); the plain modules are tested in test_webfrontend_store.py.

The front-end reads only files, so each test writes its own image directory in tmp_path.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

WEBFRONTEND = Path(__file__).resolve().parent.parent / "webfrontend"

#: A real 1 x 1 PNG, so browsers and image tools accept the files the tests write.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAC"
                       "hwGA60e6kgAAAABJRU5ErkJggg==")


@pytest.fixture(scope="module")
def django_ready():
    """Django set up with the project's settings (DEBUG off, as in production), whatever
    MAUS_* variables the shell running the tests may hold."""
    if str(WEBFRONTEND) not in sys.path:
        sys.path.insert(0, str(WEBFRONTEND))
    saved = {name: value for name, value in os.environ.items()
             if name.startswith("MAUS_") or name == "DJANGO_SETTINGS_MODULE"}
    for name in saved:
        del os.environ[name]
    os.environ["DJANGO_SETTINGS_MODULE"] = "maus_web.settings"
    os.environ["MAUS_WEB_SECRET_KEY"] = "tests-only-" + "k" * 40
    try:
        import django
        from django.test.utils import setup_test_environment, teardown_test_environment

        django.setup()
        setup_test_environment()  # lets the test client's host "testserver" in
    finally:
        # Django read them at setup; left set, they would leak into the subprocesses of
        # later tests (a Celery worker sets Django up when DJANGO_SETTINGS_MODULE is set).
        for name in [name for name in os.environ
                     if name.startswith("MAUS_") or name == "DJANGO_SETTINGS_MODULE"]:
            del os.environ[name]
        os.environ.update(saved)
    yield
    teardown_test_environment()


@pytest.fixture
def images(tmp_path, django_ready):
    """An empty image directory that the front-end reads."""
    from django.test import override_settings

    directory = tmp_path / "images"
    directory.mkdir()
    with override_settings(MAUS_IMAGE_DIRECTORY=str(directory)):
        yield directory


@pytest.fixture
def client(django_ready):
    from django.test import Client

    return Client()


def histogram_1d(values: list[int], *, name: str = "Triggers", lower: float = 20.0,
                 upper: float = 40.0, label: str = "t [ns]") -> dict[str, Any]:
    """A UHI regular-axis histogram; ``values`` include the under- and overflow bins."""
    return {"uhi_schema": 1, "metadata": {"name": name},
            "axes": [{"type": "regular", "lower": lower, "upper": upper,
                      "bins": len(values) - 2, "underflow": True, "overflow": True,
                      "circular": False, "metadata": {"label": label}}],
            "storage": {"type": "int", "values": values}}


def write_plot(directory: Path, tag: str, *, keywords=("TOF", "time of flight"),
               description: str = "Time of flight", run: int | None = 1, spill: int = 21,
               spills_seen: int = 20, age: float | None = None, prefix: str = "",
               histograms: list | None = None, image: bytes = PNG, **fields) -> Path:
    """Write an image and its sidecar as OutputPyImage does; ``age`` backdates both files."""
    image_file = f"{prefix}{tag}.png"
    sidecar = {"maus_event_type": "Image", "image": {
        "format_version": 1, "tag": tag, "image_type": "png", "description": description,
        "keywords": list(keywords), "run_number": run, "spill_number": spill,
        "spills_seen": spills_seen, "time": "2026-11-26T17:00:00.000000Z",
        "histograms": [histogram_1d([0, 1, 5, 2, 0])] if histograms is None else histograms,
        "image_file": image_file, **fields}}
    (directory / image_file).write_bytes(image)
    path = directory / f"{prefix}{tag}.json"
    path.write_text(json.dumps(sidecar))
    if age is not None:
        moment = time.time() - age
        os.utime(directory / image_file, (moment, moment))
        os.utime(path, (moment, moment))
    return path


def tags_on_page(response) -> list[str]:
    return [image["tag"] for group in response.context["dashboard"]["groups"]
            for image in group["images"]]


def get_json(client, url: str, status: int = 200) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


# --- dashboard ------------------------------------------------------------------------------

def test_dashboard_shows_each_plot_with_its_metadata_in_the_layout_groups(client, images):
    write_plot(images, "tof_time_01", description="TOF0 to TOF1", run=7, spill=120,
               spills_seen=100)
    write_plot(images, "tof_xy_0", keywords=("TOF", "beam profile"), description="Profile")
    response = client.get("/")
    assert response.status_code == 200
    groups = response.context["dashboard"]["groups"]
    assert [group["title"] for group in groups] == ["Time of flight", "Beam profile"]
    page = response.content.decode()
    for text in ("tof_time_01", "TOF0 to TOF1", ">7<", ">120<", ">100<", "Beam profile"):
        assert text in page
    card = groups[0]["images"][0]
    assert card["image_url"].startswith("/images/tof_time_01?v=")
    assert card["detail_url"] == "/plots/tof_time_01"
    assert f'src="{card["image_url"]}"' in page


def test_dashboard_hands_its_configuration_to_the_script_as_data(client, images):
    from django.test import override_settings

    with override_settings(MAUS_REFRESH_SECONDS=2.5):
        response = client.get("/?keyword=TOF")
    config = json.loads(response.content.decode().split(
        '<script id="dashboard-config" type="application/json">')[1].split("</script>")[0])
    assert config == {"api_url": "/api/dashboard?keyword=TOF", "dashboard_url": "/",
                      "refresh_seconds": 2.5, "live": True}
    script = '<script src="/static/dashboard/dashboard.js" defer></script>'
    assert script in response.content.decode()


def test_dashboard_shows_the_latest_refresh_of_an_auto_numbered_plot(client, images):
    write_plot(images, "tof_time_01_000001", age=20)
    write_plot(images, "tof_time_01_000002", age=10)
    write_plot(images, "tof_time_01_000003", age=30)  # a previous run's third refresh
    response = client.get("/")
    assert tags_on_page(response) == ["tof_time_01_000002"]
    assert response.context["dashboard"]["groups"][0]["images"][0]["detail_url"] == \
        "/plots/tof_time_01"


def test_empty_or_missing_directory_says_so_plainly(client, images, tmp_path):
    from django.test import override_settings

    page = client.get("/").content.decode()
    assert "No plots yet" in page
    with override_settings(MAUS_IMAGE_DIRECTORY=str(tmp_path / "not-yet")):
        response = client.get("/")
        assert response.status_code == 200
        assert "No plots yet" in response.content.decode()
        assert get_json(client, "/api/images")["count"] == 0


# --- stale banner ---------------------------------------------------------------------------

def test_fresh_plots_show_no_banner(client, images):
    write_plot(images, "tof_time_01", age=5)
    response = client.get("/")
    assert response.context["dashboard"]["freshness"]["stale"] is False
    assert '<p id="freshness" class="banner banner-stale" role="status" hidden></p>' in \
        response.content.decode()


def test_stale_banner_when_no_plot_is_newer_than_the_stale_time(client, images):
    from django.test import override_settings

    write_plot(images, "tof_time_01", age=125)
    write_plot(images, "tof_xy_0", age=300)
    response = client.get("/")
    freshness = response.context["dashboard"]["freshness"]
    assert freshness["stale"] is True
    assert "no new plot for 2 min 5 s" in freshness["message"]
    assert "Stale data: no new plot for 2 min" in response.content.decode()
    with override_settings(MAUS_STALE_SECONDS=600):
        assert get_json(client, "/api/dashboard")["freshness"]["stale"] is False
    assert get_json(client, "/api/images")["freshness"]["stale"] is True


# --- detail page ----------------------------------------------------------------------------

def test_detail_page_has_image_metadata_and_histogram_data(client, images):
    histograms = [histogram_1d([3, 1, 5, 2, 4], name="TOF0"),
                  histogram_1d([0, 2, 2, 2, 0], name="TOF1")]
    write_plot(images, "tof_hit_x", description="Slab hits", keywords=("TOF", "slab hits"),
               histograms=histograms, run=4, extra_field="kept")
    response = client.get("/plots/tof_hit_x")
    assert response.status_code == 200
    page = response.content.decode()
    metadata = dict(response.context["metadata"])
    assert metadata["run_number"] == "4"
    assert metadata["keywords"] == "TOF, slab hits"
    assert metadata["extra_field"] == "kept"  # every field of the sidecar, known or not
    assert "histograms" not in metadata
    summaries = [item["summary"] for item in response.context["summaries"]]
    assert [(s.name, s.in_range, s.underflow, s.overflow) for s in summaries] == [
        ("TOF0", 8.0, 3.0, 4.0), ("TOF1", 6.0, 0.0, 0.0)]
    plot_data = json.loads(page.split('<script id="plot-data" type="application/json">')[1]
                           .split("</script>")[0])
    assert plot_data["histograms"] == histograms
    for script in ("vendor/plotly.min.js", "histogram.js", "detail.js"):
        assert f'<script src="/static/dashboard/{script}" defer></script>' in page
    assert '<img id="detail-image"' in page


def test_detail_page_of_a_series_follows_its_latest_refresh(client, images):
    write_plot(images, "tof_xy_1_000001", age=50)
    write_plot(images, "tof_xy_1_000002", age=5)
    response = client.get("/plots/tof_xy_1")
    assert response.context["image"]["tag"] == "tof_xy_1_000002"
    assert "Follows the latest refresh of tof_xy_1" in response.content.decode()
    config = response.context["client_config"]
    assert config["latest_url"] == "/api/images?tag=tof_xy_1&latest=1"
    assert get_json(client, config["latest_url"])["images"][0]["tag"] == "tof_xy_1_000002"
    assert client.get("/plots/tof_xy_1_000001").context["image"]["tag"] == "tof_xy_1_000001"


def test_detail_page_survives_a_malformed_histogram(client, images):
    write_plot(images, "odd", histograms=[{"axes": [{"type": "regular", "lower": "a"}],
                                           "storage": {"values": [1]}}, "not a histogram"])
    response = client.get("/plots/odd")
    assert response.status_code == 200
    errors = [item["error"] for item in response.context["summaries"]]
    assert len(errors) == 2 and all(errors)


def test_plotly_is_served_from_this_site(client, django_ready):
    """`make webassets` (run by `make test` and `make run`) copies plotly.min.js from npm."""
    from django.contrib.staticfiles import finders

    path = finders.find("dashboard/vendor/plotly.min.js")
    assert path, "plotly.min.js missing from the static files: run `make webassets`"
    response = client.get("/static/dashboard/vendor/plotly.min.js")
    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]
    body = b"".join(response.streaming_content)
    assert len(body) > 1_000_000 and b"plotly" in body[:2000].lower()


# --- search ---------------------------------------------------------------------------------

@pytest.fixture
def three_plots(images):
    write_plot(images, "tof_time_01", keywords=("TOF", "TOF0", "TOF1", "time of flight"),
               description="Time of flight from TOF0 to TOF1", run=1)
    write_plot(images, "tof_xy_1", keywords=("TOF", "TOF1", "beam profile"),
               description="Beam profile at TOF1", run=2)
    write_plot(images, "tdcadc_adc", keywords=("ADC", "raw data"),
               description="Charges of the fADC hits", run=2)
    return images


@pytest.mark.parametrize(("query", "tags"), [
    ("keyword=TOF1", ["tof_time_01", "tof_xy_1"]),
    ("keyword=tof1", ["tof_time_01", "tof_xy_1"]),               # case does not matter
    ("keyword=TOF1&keyword=beam+profile", ["tof_xy_1"]),          # keywords combine with AND
    ("keyword=TOF", ["tof_time_01", "tof_xy_1"]),                 # whole keywords, not parts
    ("q=profile", ["tof_xy_1"]),                                  # text in the description
    ("q=ADC", ["tdcadc_adc"]),                                    # ... and in the tag
    ("q=tof1+flight", ["tof_time_01"]),                           # every word must appear
    ("q=nothing-like-this", []),
    ("keyword=TOF1&q=beam", ["tof_xy_1"]),
    ("run=2", ["tdcadc_adc", "tof_xy_1"]),
    ("tag=tof_xy_1", ["tof_xy_1"]),
], ids=lambda value: value if isinstance(value, str) else None)
def test_search(client, three_plots, query, tags):
    assert sorted(tags_on_page(client.get(f"/?{query}"))) == sorted(tags)
    api = get_json(client, f"/api/images?{query}")
    assert [image["tag"] for image in api["images"]] == sorted(tags)
    assert api["count"] == len(tags)
    dashboard = get_json(client, f"/api/dashboard?{query}")
    assert sorted(image["tag"] for group in dashboard["groups"]
                  for image in group["images"]) == sorted(tags)


def test_search_url_is_shareable_and_the_form_shows_it(client, three_plots):
    response = client.get("/?keyword=TOF1&q=beam")
    page = response.content.decode()
    assert '<option value="TOF1" selected>TOF1 (2)</option>' in page
    assert 'name="q" value="beam"' in page
    assert '<span data-field="plot_count">1</span> plot(s) matching' in page
    assert response.context["client_config"]["api_url"] == "/api/dashboard?keyword=TOF1&q=beam"
    assert 'href="/?keyword=beam%20profile"' in page  # keyword links search


def test_bad_search_is_refused_with_a_message(client, three_plots):
    response = client.get("/?run=seven")
    assert response.status_code == 400
    assert "run &#x27;seven&#x27; is not a run number" in response.content.decode()
    assert "not a run number" in get_json(client, "/api/images?run=seven", 400)["error"]
    assert "latest" in get_json(client, "/api/images?latest=yes", 400)["error"]
    assert "not a run number" in get_json(client, "/api/dashboard?run=x", 400)["error"]


# --- JSON API -------------------------------------------------------------------------------

def test_api_lists_every_refresh_or_only_the_latest(client, images):
    write_plot(images, "tof_nsp_000001", age=20, keywords=("TOF", "space points"))
    write_plot(images, "tof_nsp_000002", age=10, keywords=("TOF", "space points"))
    write_plot(images, "tof_sp_x", keywords=("TOF", "space points"), run=3)
    everything = get_json(client, "/api/images")
    assert [image["tag"] for image in everything["images"]] == [
        "tof_nsp_000001", "tof_nsp_000002", "tof_sp_x"]
    latest = get_json(client, "/api/images?latest=1")
    assert [image["tag"] for image in latest["images"]] == ["tof_nsp_000002", "tof_sp_x"]
    series = get_json(client, "/api/images?tag=tof_nsp")
    assert [image["series"] for image in series["images"]] == ["tof_nsp", "tof_nsp"]
    image = get_json(client, "/api/images?run=3")["images"][0]
    assert set(image) >= {"tag", "series", "description", "keywords", "run_number",
                          "spill_number", "spills_seen", "time", "image_type", "image_url",
                          "detail_url", "version", "modified", "age_seconds", "age"}
    assert image["run_number"] == 3 and image["keywords"] == ["TOF", "space points"]


def test_api_detail_has_metadata_and_histograms(client, images):
    histograms = [histogram_1d([0, 4, 4, 4, 0], name="TOF2")]
    write_plot(images, "tof_pmt00", histograms=histograms, run=9)
    detail = get_json(client, "/api/images/tof_pmt00")
    assert detail["histograms"] == histograms
    assert detail["metadata"]["run_number"] == 9
    assert detail["metadata"]["image_file"] == "tof_pmt00.png"
    assert detail["image_url"] == f"/images/tof_pmt00?v={detail['version']}"
    assert get_json(client, "/api/images/tof_pmt99", 404) == {
        "error": "no plot with tag 'tof_pmt99'"}


def test_api_and_pages_are_never_cached_but_versioned_images_are(client, images):
    write_plot(images, "tof_time_01")
    for url in ("/", "/plots/tof_time_01", "/api/images", "/api/dashboard",
                "/api/images/tof_time_01"):
        assert "no-cache" in client.get(url)["Cache-Control"], url
    url = get_json(client, "/api/images")["images"][0]["image_url"]
    response = client.get(url)
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert "immutable" in response["Cache-Control"]
    unversioned = client.get("/images/tof_time_01")
    assert b"".join(unversioned.streaming_content) == PNG
    assert unversioned["Cache-Control"] == "no-cache"
    revalidated = client.get("/images/tof_time_01", headers={"if-none-match": response["ETag"]})
    assert revalidated.status_code == 304


def test_a_rewritten_image_gets_a_new_url(client, images):
    write_plot(images, "tof_time_01", age=30)
    before = get_json(client, "/api/images")["images"][0]
    write_plot(images, "tof_time_01", spills_seen=40, image=PNG + b"\0")
    after = get_json(client, "/api/images")["images"][0]
    assert after["image_url"] != before["image_url"]
    assert after["spills_seen"] == 40


def test_only_get_and_head_are_answered(client, images):
    write_plot(images, "tof_time_01")
    assert client.post("/").status_code == 405
    assert client.post("/api/images").status_code == 405
    assert client.delete("/images/tof_time_01").status_code == 405
    assert client.head("/api/images").status_code == 200


# --- layout setting -------------------------------------------------------------------------

def test_layout_chooses_tags_order_and_groups(client, three_plots):
    from django.test import override_settings

    layout = {"title": "Shift 3", "hide": ["tdcadc_adc"],
              "groups": [{"title": "Profiles first", "tags": ["tof_xy_1"]},
                         {"title": "Timing", "keywords": ["time of flight"]}],
              "others": {"show": False}}
    with override_settings(MAUS_DASHBOARD_LAYOUT=layout):
        response = client.get("/")
    groups = response.context["dashboard"]["groups"]
    assert [(g["title"], [i["tag"] for i in g["images"]]) for g in groups] == [
        ("Profiles first", ["tof_xy_1"]), ("Timing", ["tof_time_01"])]
    page = response.content.decode()
    assert "<title>Shift 3</title>" in page and "tdcadc_adc" not in page


def test_plots_no_group_claims_go_to_others(client, images):
    write_plot(images, "new_plot", keywords=("something new",))
    groups = get_json(client, "/api/dashboard")["groups"]
    assert [(g["title"], [i["tag"] for i in g["images"]]) for g in groups] == [
        ("Other plots", ["new_plot"])]


def test_layout_file_from_the_environment(tmp_path):
    """MAUS_DASHBOARD_LAYOUT names a TOML or JSON file; a bad one stops the start-up with a
    message naming the variable and the problem."""
    good = tmp_path / "layout.json"
    good.write_text(json.dumps({"title": "From JSON",
                                "groups": [{"title": "All TOF", "keywords": ["TOF"]}]}))
    bad = tmp_path / "bad.toml"
    bad.write_text('[[groups]]\ntitle = "No plots chosen"\n')
    script = ("from django.conf import settings; "
              "print(settings.MAUS_DASHBOARD_LAYOUT['title'])")
    assert run_settings(script, MAUS_DASHBOARD_LAYOUT=str(good)).stdout.strip() == "From JSON"
    failed = run_settings(script, MAUS_DASHBOARD_LAYOUT=str(bad))
    assert failed.returncode != 0
    assert "MAUS_DASHBOARD_LAYOUT: groups[0] ('No plots chosen') chooses no plot" in failed.stderr
    missing = run_settings(script, MAUS_DASHBOARD_LAYOUT=str(tmp_path / "nope.toml"))
    assert "cannot read layout file" in missing.stderr


def run_settings(script: str, **environment: str):
    """Run ``script`` in a fresh interpreter with the project's settings and ``environment``."""
    import subprocess

    env = {name: value for name, value in os.environ.items() if not name.startswith("MAUS_")}
    env.update(DJANGO_SETTINGS_MODULE="maus_web.settings", PYTHONPATH=str(WEBFRONTEND),
               MAUS_WEB_SECRET_KEY="tests-only-" + "k" * 40)
    env.update(environment)
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=60, cwd=WEBFRONTEND, check=False)


def test_system_checks_pass_with_the_default_settings(django_ready, images):
    from django.core.management import call_command

    call_command("check", fail_level="WARNING")


# --- bad sidecars ---------------------------------------------------------------------------

@pytest.mark.parametrize("content", [
    b"{not json", b"", b"\xff\xfe", b"[1, 2]", b'{"image": 3}',
    b'{"image": {"format_version": 2, "tag": "x", "image_type": "png", "image_file": "x.png"}}',
    b'{"image": {"format_version": 1, "tag": "x", "image_type": "gif", "image_file": "x.gif"}}',
    (b'{"image": {"format_version": 1, "tag": "x", "image_type": "png", "image_file": "x.png",'
     b' "keywords": "TOF"}}'),
    (b'{"image": {"format_version": 1, "tag": "x", "image_type": "png", "image_file": "x.png",'
     b' "run_number": "one"}}'),
], ids=["truncated", "empty", "not-utf8", "a-list", "image-not-object", "future-version",
        "unknown-type", "keywords-string", "run-string"])
def test_a_bad_sidecar_is_skipped_with_a_log_line(client, images, caplog, content):
    write_plot(images, "good")
    (images / "x.png").write_bytes(PNG)
    (images / "bad.json").write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="dashboard"):
        response = client.get("/")
        assert response.status_code == 200
        assert tags_on_page(response) == ["good"]
        assert [i["tag"] for i in get_json(client, "/api/images")["images"]] == ["good"]
        client.get("/api/images")  # polled again: not logged again
    skipped = [record.getMessage() for record in caplog.records if "bad.json" in
               record.getMessage()]
    assert len(skipped) == 1 and "skipped sidecar bad.json" in skipped[0]


def test_a_sidecar_whose_image_is_missing_is_skipped(client, images, caplog):
    write_plot(images, "lonely")
    (images / "lonely.png").unlink()
    with caplog.at_level(logging.WARNING, logger="dashboard"):
        assert get_json(client, "/api/images")["count"] == 0
        assert client.get("/plots/lonely").status_code == 404
        assert client.get("/images/lonely").status_code == 404
    assert "its image lonely.png is missing" in caplog.text


def test_temporary_files_of_a_write_in_progress_are_ignored(client, images, caplog):
    write_plot(images, "tof_time_01")
    (images / ".tof_time_01.json.1a2b3c4d.tmp").write_text('{"image": ')
    (images / ".hidden.json").write_text('{"image": ')
    with caplog.at_level(logging.WARNING, logger="dashboard"):
        assert get_json(client, "/api/images")["count"] == 1
    assert caplog.records == []


def test_prefixed_files_are_found_by_the_tag_inside(client, images):
    write_plot(images, "tof_time_01", prefix="run7_")
    image = get_json(client, "/api/images")["images"][0]
    assert (image["tag"], image["image_file"]) == ("tof_time_01", "run7_tof_time_01.png")
    assert b"".join(client.get(image["image_url"]).streaming_content) == PNG
