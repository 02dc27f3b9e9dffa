"""The farm on the page and /metrics, through Django's test client and a real server: the
header's line and red banner, /farm, /api/farm, stale and hostile farm.json files, escaping,
the Prometheus text (parsed by prometheus_client's own parser) and who may read it.

farm.json is written here by hand in the format go.py writes (docs/webfrontend.md, "The
farm"), until go.py's writer and these tests meet in one tree.
"""
from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests import test_webfrontend as web
from tests.test_webfrontend import get_json, write_plot

django_ready, images, client = web.django_ready, web.images, web.client

#: A worker's rate after it joins: up from nothing, then steady (its sparkline's shape).
RAMP = (0.0, 0.2, 0.5, 0.7, 0.85, 0.95, 0.9, 1.0, 0.97, 0.88, 0.96, 1.0)
HOSTILE_NAME = 'celery@<script>alert("x")</script>&"><img src=x onerror=alert(1)>'


def farm_document(*, age: float = 0.5, lost: bool = False, stale_process: bool = False,
                  **fields) -> dict:
    """A farm of two workers with two sub-processes each, written ``age`` seconds ago."""
    moment = time.time() - age

    def worker(name, rate, state="online"):
        return {"name": name, "host": name.split("@")[1], "state": state,
                "last_heard": "2026-12-01T12:00:01.000Z", "last_heard_epoch": moment - 1,
                "joined": "2026-12-01T11:00:00.000Z",
                "processes": [{"pid": 4242, "configuration_id": "c1", "stale": False},
                              {"pid": 4243, "configuration_id": "c1", "stale": False}],
                "spills_done": 55, "spills_per_second": rate,
                "rate_history": [round(rate * share, 2) for share in RAMP], "failures": 0,
                "redeliveries": 1}

    workers = [worker("celery@node1", 5.7, "lost" if lost else "busy"),
               worker("celery@node2", 5.8)]
    if stale_process:
        workers[1]["processes"][1].update(stale=True, configuration_id="c0")
    return {"format_version": 1, "written": "2026-12-01T12:00:00.000Z", "written_epoch": moment,
            "dataflow": "multi_process", "farm": True,
            "go": {"configuration_id": "c1", "version": "0.1.0", "host": "control", "pid": 123},
            "run": {"run_number": 7, "spills_read": 120, "spills_in_flight": 8,
                    "spills_done": 110, "spills_failed": 2, "spills_per_second": 11.5,
                    "queue_depth": 3, "queue": "maus_online"},
            "servers": {"RabbitMQ": {"up": True, "since": None},
                        "Redis": {"up": False, "since": "2026-12-01T11:59:00.000Z"},
                        "document store": {"up": True, "since": None}},
            "workers": workers,
            "alarms": [{"id": "MAUS-146", "text": "worker celery@node1 lost"}] if lost else [],
            **fields}


def write_farm(directory: Path, document) -> Path:
    """Atomically, as go.py does: a reader never sees half a file."""
    path = directory / "farm.json"
    temporary = directory / ".farm.json.tmp"
    temporary.write_text(document if isinstance(document, str) else json.dumps(document))
    os.replace(temporary, path)
    return path


def quality_document() -> dict:
    return {"format_version": 1, "run_number": 7, "time": "2026-12-01T12:00:00.000Z",
            "level": "Bad", "counts": {"Good": 17, "Medium": 1, "Bad": 1, "Null": 1},
            "groups": [{"name": "TOF0", "level": "Good",
                        "counts": {"Good": 5, "Medium": 0, "Bad": 0, "Null": 0},
                        "plots": [{"tag": "tdcadc_occupancy_tof0", "level": "Good",
                                   "reason": "", "check": "CheckPyDeadChannels"}]},
                       {"name": "TOF1", "level": "Bad",
                        "counts": {"Good": 3, "Medium": 1, "Bad": 1, "Null": 0},
                        "plots": []}]}


def header(client, url: str = "/") -> str:
    page = client.get(url).content.decode()
    return page[page.index('<div id="farm-header"'):page.index("</header>")]


def farm_warnings(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.getMessage().startswith("MAUS-320")]


# --- the header, /farm, /api/farm -----------------------------------------------------------

def test_a_healthy_farm_in_the_header_on_farm_and_in_the_api(client, images):
    document = farm_document()
    write_farm(images, document)
    answer = get_json(client, "/api/farm")
    assert answer["farm"] == document  # the document, as go.py wrote it
    assert (answer["state"], answer["alarm"], answer["message"]) == ("ok", False, "")
    assert answer["summary"] == ("Farm: 2 workers · 4 sub-processes · 11.5 spills/s · "
                                 "queue 3")
    for url in ("/", "/farm", "/runs", "/trends"):  # every page's header
        line = header(client, url)
        assert answer["summary"] in line and "farm-alarm" not in line, url
    page = client.get("/farm").content.decode()
    rows = page[page.index('<tbody id="farm-workers">'):page.index("</tbody>")]
    assert rows.count('<tr class="worker worker-') == 2
    assert '<polyline data-spark="points" fill="none" points="0,' in page
    assert "down since 2026-12-01T11:59:00.000Z" in page  # Redis
    assert client.get("/farm")["Cache-Control"].startswith("max-age=0")
    assert '"live": true' in client.get("/").content.decode()


@pytest.mark.parametrize(("problem", "words"), [
    ({"lost": True}, "worker celery@node1 lost (not heard from since 2026-12-01T12:00:01"),
    ({"stale_process": True}, "worker celery@node2: sub-process 4243 runs a stale "
                              "configuration"),
], ids=["lost-worker", "stale-sub-process"])
def test_an_alarm_turns_the_header_into_a_red_banner(client, images, problem, words):
    write_farm(images, farm_document(**problem))
    answer = get_json(client, "/api/farm")
    assert answer["alarm"] and answer["message"].startswith("MAUS-323 Farm alarm: ")
    assert words in answer["message"]
    for url in ("/", "/farm"):
        line = header(client, url)
        assert 'class="farm-line farm-ok farm-alarm"' in line and words in line
    page = client.get("/farm").content.decode()
    if "lost" in problem:
        assert '<tr class="worker worker-lost" data-worker="celery@node1">' in page
        assert "MAUS-146 worker celery@node1 lost" in page  # go.py's own alarm, listed
    else:
        assert '<td data-field="stale_processes" class="worker-stale">4243</td>' in page


def test_the_header_of_a_past_runs_page_does_not_poll(images):
    from dashboard.farm_views import farm_header
    from django.test import RequestFactory
    from django.urls import resolve

    for url, live in (("/", True), ("/farm", True), ("/runs", True), ("/runs/7", False),
                      ("/runs/7/plots/tof_time_01", False)):
        request = RequestFactory().get(url)
        request.resolver_match = resolve(url)
        assert farm_header(request)["farm_client"]["live"] is live, url


def test_the_summary_of_a_single_process_run(client, images):
    write_farm(images, farm_document(dataflow="pipeline_single_thread", farm=False, workers=[],
                                     run={"run_number": 3, "spills_per_second": 1.04}))
    answer = get_json(client, "/api/farm")
    assert answer["summary"] == "Farm: none, one process (pipeline_single_thread) · 1.0 spills/s"
    assert not answer["alarm"]
    assert "No workers: go.py runs the transforms itself" in client.get("/farm").content.decode()


def test_a_stale_farm_json_is_no_status_never_a_healthy_farm(client, images):
    # 31 s old, and it says a worker is lost: neither a healthy farm nor a current alarm.
    write_farm(images, farm_document(age=31, lost=True))
    answer = get_json(client, "/api/farm")
    assert answer["state"] == "stale" and not answer["alarm"]
    assert "no status from go.py since" in answer["summary"]
    assert answer["message"].startswith("MAUS-321 Farm: no status from go.py since ")
    assert "workers" not in answer["summary"] and "spills/s" not in answer["summary"]
    line = header(client)
    assert "farm-stale" in line and "farm-alarm" not in line and "no status from go.py since" \
        in line
    page = client.get("/farm").content.decode()
    assert "Last status, not the farm now:" in page and 'class="farm-tables farm-old"' in page
    # Fresh again: the same file rewritten 1 s old is the farm now.
    write_farm(images, farm_document(age=1))
    assert get_json(client, "/api/farm")["state"] == "ok"


def test_no_farm_json_is_no_status_without_a_warning(client, images, caplog):
    with caplog.at_level(logging.WARNING, logger="dashboard"):
        answer = get_json(client, "/api/farm")
        assert client.get("/").status_code == 200
    assert answer["state"] == "none" and answer["farm"] is None
    assert answer["message"].startswith("MAUS-322 Farm: no status from go.py: there is no "
                                        "farm.json in the image directory")
    assert "Farm: no status from go.py" in header(client)
    assert caplog.records == []  # farm.json is not taken for a sidecar either (MAUS-304)


def _deep(path):
    path.write_text("[" * 100_000 + "]" * 100_000)


def _fifo(path):
    os.mkfifo(path)


def _symlink(path):
    real = path.parent.parent / "real-farm.json"  # a good farm.json, outside the directory
    real.write_text(json.dumps(farm_document()))
    path.symlink_to(real)


HOSTILE = {
    "not-json": lambda path: path.write_text('{"format_version": 1, "farm": tr'),
    "not-an-object": lambda path: path.write_text("[1, 2, 3]"),
    "other-version": lambda path: path.write_text(json.dumps(farm_document(format_version=2))),
    "nan": lambda path: path.write_text(json.dumps(farm_document()).replace(
        '"spills_per_second": 11.5', '"spills_per_second": NaN')),
    "bad-worker-state": lambda path: path.write_text(json.dumps(farm_document()).replace(
        '"state": "busy"', '"state": "asleep"')),
    "epoch-a-string": lambda path: path.write_text(json.dumps(farm_document(
        written_epoch="yesterday"))),
    "huge": lambda path: path.write_text(json.dumps(farm_document(
        padding="x" * (3 * 1024 * 1024)))),
    "deep": _deep, "fifo": _fifo, "symlink": _symlink,
    "not-utf-8": lambda path: path.write_bytes(b'{"a": "\xff\xfe"}'),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_hostile_farm_json_is_no_status_and_one_warning(client, images, caplog, kind):
    HOSTILE[kind](images / "farm.json")
    with caplog.at_level(logging.WARNING, logger="dashboard"):
        started = time.monotonic()
        for _ in range(3):
            answer = get_json(client, "/api/farm")
            assert client.get("/farm").status_code == 200
            assert client.get("/metrics").status_code == 200
        assert time.monotonic() - started < 20  # a FIFO never blocks a request
    assert answer["state"] == "none" and answer["farm"] is None and not answer["alarm"]
    assert answer["message"].startswith("MAUS-322 Farm: no status from go.py: farm.json "
                                        "cannot be used (")
    assert "Farm: no status from go.py" in header(client)
    warnings = farm_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"MAUS-320 image directory {images}: ignored farm.json: ")
    assert not [record for record in caplog.records if "MAUS-304" in record.getMessage()]


def test_a_refused_farm_json_is_reported_again_once_it_changes(client, images, caplog):
    with caplog.at_level(logging.WARNING, logger="dashboard"):
        write_farm(images, "not json")
        get_json(client, "/api/farm")
        get_json(client, "/api/farm")
        write_farm(images, "still not json")
        get_json(client, "/api/farm")
        write_farm(images, farm_document())
        assert get_json(client, "/api/farm")["state"] == "ok"
    assert len(farm_warnings(caplog)) == 2


def test_hostile_names_are_text_on_every_page_and_in_the_metrics(client, images):
    document = farm_document(lost=True)
    document["workers"][0]["name"] = HOSTILE_NAME
    document["workers"][0]["host"] = "<b>host</b>"
    document["alarms"] = [{"id": "<i>", "text": "<script>alert(2)</script>"}]
    document["servers"] = {"<svg onload=alert(3)>": {"up": False, "since": "<u>now</u>"}}
    write_farm(images, document)
    for url in ("/", "/farm"):
        page = client.get(url).content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "<svg onload" not in page and "<b>host" not in page and "<u>now" not in page
        assert "celery@&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&quot;&gt;" \
               "&lt;img src=x onerror=alert(1)&gt;" in page
    assert get_json(client, "/api/farm")["farm"]["workers"][0]["name"] == HOSTILE_NAME
    families = scrape(client)
    assert {sample.labels["worker"] for sample in
            families["maus_online_worker_spills_per_second"].samples} == {HOSTILE_NAME,
                                                                          "celery@node2"}


# --- /metrics -------------------------------------------------------------------------------

def scrape(client, **request) -> dict:
    from prometheus_client.parser import text_string_to_metric_families

    response = client.get("/metrics", **request)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {family.name: family
            for family in text_string_to_metric_families(response.content.decode())}


def values(family) -> dict:
    return {tuple(sorted(sample.labels.items())) or sample.name: sample.value
            for sample in family.samples}


def test_metrics_from_farm_json_quality_json_and_the_image_directory(client, images):
    write_farm(images, farm_document(lost=True, stale_process=True))
    (images / "quality.json").write_text(json.dumps(quality_document()))
    write_plot(images, "tof_time_01", age=100)
    write_plot(images, "tof_time_12", age=400)
    families = scrape(client)
    single = {name: family.samples[0].value for name, family in families.items()
              if len(family.samples) == 1 and not family.samples[0].labels}
    assert single["maus_online_spills_read"] == 120
    assert families["maus_online_spills_read"].type == "counter"
    assert families["maus_online_spills_read"].samples[0].name == "maus_online_spills_read_total"
    assert single["maus_online_spills_done"] == 110 and single["maus_online_spills_failed"] == 2
    assert single["maus_online_spills_per_second"] == 11.5
    assert single["maus_online_spills_in_flight"] == 8
    assert single["maus_online_run_number"] == 7
    assert single["maus_online_farm_status_fresh"] == 1
    assert 0 <= single["maus_online_farm_status_age_seconds"] < 10
    assert 99 <= single["maus_online_newest_plot_age_seconds"] < 110
    assert values(families["maus_online_queue_depth"]) == {(("queue", "maus_online"),): 3}
    assert values(families["maus_online_workers"]) == {
        (("state", "online"),): 1, (("state", "busy"),): 0, (("state", "lost"),): 1}
    assert values(families["maus_online_sub_processes"]) == {
        (("configuration", "current"),): 3, (("configuration", "stale"),): 1}
    assert values(families["maus_online_server_up"])[(("server", "Redis"),)] == 0
    assert families["maus_online_worker_spills_done"].type == "counter"
    assert values(families["maus_online_quality_plots"]) == {
        (("level", "Good"),): 17, (("level", "Medium"),): 1, (("level", "Bad"),): 1,
        (("level", "Null"),): 1}
    assert values(families["maus_online_quality_group_plots"])[
        (("group", "TOF1"), ("level", "Bad"))] == 1


def test_metrics_of_a_stale_or_absent_farm_json_hold_no_farm_figures(client, images, caplog):
    families = scrape(client)
    assert set(families) == {"maus_online_farm_status_fresh"}  # no plots, no farm, no quality
    assert families["maus_online_farm_status_fresh"].samples[0].value == 0
    write_farm(images, farm_document(age=45))
    families = scrape(client)
    assert families["maus_online_farm_status_fresh"].samples[0].value == 0
    assert families["maus_online_farm_status_age_seconds"].samples[0].value >= 45
    assert "maus_online_workers" not in families and "maus_online_spills_done" not in families
    with caplog.at_level(logging.WARNING, logger="dashboard"):
        (images / "quality.json").write_text('{"format_version": 1, "counts": {"Bad": -1}}')
        for _ in range(2):
            assert "maus_online_quality_plots" not in scrape(client)
    assert [warning.split(": ")[1] for warning in farm_warnings(caplog)] == [
        "ignored quality.json"]


def test_metrics_only_for_the_allowed_addresses(client, images, caplog):
    from django.test import override_settings

    write_farm(images, farm_document())
    assert scrape(client)  # the test client's REMOTE_ADDR is 127.0.0.1
    assert scrape(client, REMOTE_ADDR="::1")
    assert scrape(client, REMOTE_ADDR="::ffff:127.0.0.1")
    with caplog.at_level(logging.WARNING, logger="dashboard"):
        for _ in range(2):
            refused = client.get("/metrics", REMOTE_ADDR="10.1.0.9",
                                 HTTP_X_FORWARDED_FOR="127.0.0.1", HTTP_X_REAL_IP="127.0.0.1")
            assert refused.status_code == 403
            assert b"maus_online" not in refused.content.replace(b"refused /metrics", b"")
            assert refused.content.startswith(b"MAUS-324 refused /metrics to 10.1.0.9: it is "
                                              b"not in MAUS_WEB_METRICS_ALLOWED (127.0.0.1,::1)")
        assert client.get("/metrics", REMOTE_ADDR="").status_code == 403
    assert [record.getMessage().split(": ")[0] for record in caplog.records
            if record.name == "dashboard.metrics"] == [
        "MAUS-324 refused /metrics to 10.1.0.9", "MAUS-324 refused /metrics to (no address)"]
    with override_settings(MAUS_WEB_METRICS_ALLOWED=["127.0.0.1", "10.1.0.0/24"]):
        assert scrape(client, REMOTE_ADDR="10.1.0.9")
        assert client.get("/metrics", REMOTE_ADDR="10.1.1.9").status_code == 403
    assert client.post("/metrics").status_code == 405


def test_metrics_without_prometheus_client_say_what_to_install(client, images, monkeypatch):
    # The served environment may lack the package (conf/apache/requirements.txt): the pages
    # work, and /metrics says why it cannot answer. MISSING is what the failed import left.
    from dashboard import metrics

    monkeypatch.setattr(metrics, "MISSING", "No module named 'prometheus_client'")
    response = client.get("/metrics")
    assert response.status_code == 503
    assert response.content.decode().startswith(
        "MAUS-325 /metrics is unavailable: No module named 'prometheus_client'. Install "
        "prometheus-client in the front-end's environment.")
    assert client.get("/").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.0.9").status_code == 403  # refused first


def test_the_metrics_addresses_setting():
    from tests.test_webfrontend import run_settings

    show = ("from django.conf import settings; import json; "
            "print(json.dumps(settings.MAUS_WEB_METRICS_ALLOWED))")
    assert json.loads(run_settings(show).stdout) == ["127.0.0.1", "::1"]
    shown = run_settings(show, MAUS_WEB_METRICS_ALLOWED=" 127.0.0.1, 10.1.0.0/24 ,2001:db8::/32")
    assert json.loads(shown.stdout) == ["127.0.0.1", "10.1.0.0/24", "2001:db8::/32"]
    failed = run_settings(show, MAUS_WEB_METRICS_ALLOWED="127.0.0.1,prometheus.example")
    assert failed.returncode != 0
    assert ("ImproperlyConfigured: MAUS_WEB_METRICS_ALLOWED='127.0.0.1,prometheus.example': "
            "'prometheus.example' is not an IP address or network") in failed.stderr


def test_addresses(django_ready):
    from dashboard.addresses import is_allowed, parse_networks

    allowed = parse_networks("127.0.0.1, ::1, 10.1.0.0/24")
    assert [is_allowed(address, allowed) for address in (
        "127.0.0.1", "::1", "10.1.0.255", "::ffff:10.1.0.7", "10.1.1.0", "127.0.0.2", "",
        None, "localhost", "2001:db8::1", "127.0.0.1, 10.9.9.9")] == [
        True, True, True, True, False, False, False, False, False, False, False]
    with pytest.raises(ValueError, match="'10.1.0.0/33' is not an IP address or network"):
        parse_networks(["10.1.0.0/33"])


# --- a real server --------------------------------------------------------------------------

def test_a_real_server_serves_the_farm_and_the_metrics(tmp_path):
    from tests.test_webfrontend_browser import serving

    directory = tmp_path / "images"
    directory.mkdir()
    write_farm(directory, farm_document(lost=True))
    with serving(tmp_path, directory) as url:
        with urllib.request.urlopen(url + "api/farm", timeout=30) as response:
            answer = json.load(response)
        assert answer["alarm"] and answer["farm"]["workers"][0]["state"] == "lost"
        with urllib.request.urlopen(url + "metrics", timeout=30) as response:
            text = response.read().decode()
        assert 'maus_online_workers{state="lost"} 1.0' in text
        with urllib.request.urlopen(url + "farm", timeout=30) as response:
            assert "MAUS-323 Farm alarm: worker celery@node1 lost" in response.read().decode()
    with serving(tmp_path, directory, MAUS_WEB_METRICS_ALLOWED="10.1.0.9") as url:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "metrics", timeout=30)
        assert refused.value.code == 403
        refused.value.close()


def test_the_documented_farm_json_is_read_and_the_fixture_keeps_to_it(django_ready):
    """docs/webfrontend.md's example passes the checks, and this module's fixture has the
    same keys at every level, so the tests exercise the format go.py writes."""
    from dashboard.farm import check_farm

    text = (Path(__file__).resolve().parent.parent / "docs" / "webfrontend.md").read_text()
    start = text.index("```json\n", text.index("## The farm")) + len("```json\n")
    example = check_farm(json.loads(text[start:text.index("\n```", start)]))

    def keys(value):
        if isinstance(value, dict):
            return {key: keys(item) for key, item in value.items()}
        if isinstance(value, list) and value:
            return [keys(value[0])]
        return None

    ours = keys(farm_document(lost=True))
    assert ours == keys(example)
