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
from tests.test_webfrontend import get_json

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


#: farm.json files as go.py's writer (maus_online/farm_status.py) made them: kept, so that the
#: documents go.py really writes keep loading (a lost worker and a stale sub-process in one).
SAVED = Path(__file__).resolve().parent / "data" / "farm"


@pytest.mark.parametrize(("name", "summary", "alarm"), [
    ("multi_process", "Farm: 2 workers (1 lost) · 3 sub-processes (1 stale) · 0.0 spills/s · "
                      "queue —", True),
    ("pipeline_single_thread", "Farm: none, one process (pipeline_single_thread) · 0.0 "
                               "spills/s", False),
])
def test_the_documents_go_py_writes(client, images, name, summary, alarm):
    document = json.loads((SAVED / f"{name}.json").read_text())
    document["written_epoch"] = time.time()  # as if just written
    write_farm(images, document)
    answer = get_json(client, "/api/farm")
    assert (answer["state"], answer["summary"], answer["alarm"]) == ("ok", summary, alarm)
    assert client.get("/farm").status_code == 200
    assert client.get("/metrics").status_code == 200


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
    "infinite": lambda path: path.write_text(json.dumps(farm_document()).replace(
        '"spills_per_second": 11.5', '"spills_per_second": 1e999')),
    "epoch-beyond-any-date": lambda path: path.write_text(json.dumps(farm_document(
        written_epoch=1e300))),
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
