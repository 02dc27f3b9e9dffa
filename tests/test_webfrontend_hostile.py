"""No file in the image directory can take the web page down (issue 12, item 4).

A corpus of hostile sidecars, each put beside a good plot: the dashboard, the API and the good
plot's detail page still answer 200 with the good plot, the hostile file costs exactly one
warning (MAUS-304) however often the page is polled, and every JSON answer is strict JSON
(parsed here with NaN and Infinity refused). Before: a deep sidecar made every page answer 500,
a FIFO hung every request, NaN made the API emit invalid JSON, a 60 MB sidecar made a 60 MB
page.
"""
from __future__ import annotations

import json
import logging
import os
import threading

import pytest

from tests import test_webfrontend as web
from tests.test_webfrontend import PNG, tags_on_page, write_plot

django_ready, images, client = web.django_ready, web.images, web.client

#: Longest a request may take; a FIFO opened for reading would block it for ever.
ANSWER_SECONDS = 10


def strict_json(body: bytes):
    """``body`` parsed as JSON as a browser's JSON.parse would: NaN and Infinity refused."""
    def refuse(name):
        raise AssertionError(f"{name} in a JSON answer")
    return json.loads(body, parse_constant=refuse)


def answered(function, *args, **kwargs):
    """``function(*args)`` run in a thread; fails (instead of hanging the suite) if it does
    not return within ANSWER_SECONDS."""
    result = {}

    def run():
        try:
            result["value"] = function(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 -- re-raised in the test's thread
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(ANSWER_SECONDS)
    assert not thread.is_alive(), f"no answer within {ANSWER_SECONDS} s: {args}"
    if "error" in result:
        raise result["error"]
    return result["value"]


def sidecar(directory, tag: str, **fields) -> dict:
    """A sidecar in the right layout, its image written: only what is added can be to blame."""
    (directory / f"{tag}.png").write_bytes(PNG)
    return {"maus_event_type": "Image", "image": {
        "format_version": 1, "tag": tag, "image_type": "png", "image_file": f"{tag}.png",
        "description": "hostile", "keywords": ["TOF"], "run_number": 1, **fields}}


def _deep_array(directory, name):
    (directory / name).write_bytes(b"[" * 100_000 + b"]" * 100_000)


def _deep_inside(directory, name):
    # A sidecar whose layout is right but whose histograms hold a 100,000-level list.
    text = json.dumps(sidecar(directory, "deep")).replace('"hostile"',
                                                          "[" * 100_000 + "]" * 100_000)
    (directory / name).write_text(text)


def _deep_objects(directory, name):
    (directory / name).write_text('{"a":' * 50_000 + "1" + "}" * 50_000)


def _just_too_deep(directory, name):
    # Deeper than MAUS_SIDECAR_MAX_DEPTH (32) but shallow enough for Python's parser: it would
    # parse, and then blow up whatever walks it (a template, the JSON encoder).
    document = sidecar(directory, "nested")
    document["image"]["extra"] = json.loads("[" * 40 + "]" * 40)
    (directory / name).write_text(json.dumps(document))


def _fifo(directory, name):
    os.mkfifo(directory / name)


def _directory(directory, name):
    (directory / name).mkdir()


def _device(directory, name):
    (directory / name).symlink_to("/dev/zero")


def _constant(value):
    def write(directory, name):
        text = json.dumps(sidecar(directory, "constant", spills_seen=3))
        text = text.replace('"spills_seen": 3', '"spills_seen": 3, "histograms": [{"uhi_schema":'
                            f' 1, "storage": {{"type": "double", "values": [1, {value}]}}}}]')
        (directory / name).write_text(text)
    return write


def _huge(directory, name):
    # 60 MB on disk (sparse: no test writes 60 MB), refused by its size before any read.
    with open(directory / name, "wb") as stream:
        stream.write(json.dumps(sidecar(directory, "huge")).encode())
        stream.truncate(60 * 1024 * 1024)


def _line_break_in_name(directory, name):
    (directory / name).write_text("{not json")


HOSTILE = {
    "deep-array": ("deep.json", _deep_array),
    "deep-in-a-good-layout": ("deep_sidecar.json", _deep_inside),
    "deep-objects": ("objects.json", _deep_objects),
    "just-too-deep": ("nested.json", _just_too_deep),
    "fifo": ("x.json", _fifo),
    "directory": ("folder.json", _directory),
    "device": ("zero.json", _device),
    "nan": ("nan.json", _constant("NaN")),
    "infinity": ("inf.json", _constant("Infinity")),
    "minus-infinity": ("minf.json", _constant("-Infinity")),
    "60-MB": ("huge.json", _huge),
    "line-break-in-name": ("bad\nname.json", _line_break_in_name),
}


@pytest.mark.parametrize("name, make", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_sidecar_costs_one_warning_and_nothing_else(client, images, caplog, name,
                                                              make):
    write_plot(images, "good")
    make(images, name)
    with caplog.at_level(logging.WARNING, logger="dashboard"):
        for _ in range(2):  # polled again: not logged again
            page = answered(client.get, "/")
            assert page.status_code == 200 and tags_on_page(page) == ["good"]
            for url in ("/api/images", "/api/images?latest=1", "/api/dashboard",
                        "/api/images/good"):
                response = answered(client.get, url)
                assert response.status_code == 200, url
                strict_json(response.content)
            listed = strict_json(answered(client.get, "/api/images").content)["images"]
            assert [image["tag"] for image in listed] == ["good"]
            assert answered(client.get, "/plots/good").status_code == 200
    warnings = [record.getMessage() for record in caplog.records
                if record.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    (warning,) = warnings
    assert warning.startswith("MAUS-304 ") and "skipped sidecar" in warning
    assert "\n" not in warning  # even the file name with a line break stays on one line


@pytest.mark.parametrize("tag", ["deep", "constant", "nested", "huge"])
def test_the_hostile_plot_itself_is_absent_not_an_error(client, images, tag):
    make = {"deep": _deep_inside, "constant": _constant("NaN"), "nested": _just_too_deep,
            "huge": _huge}[tag]
    make(images, f"{tag}.json")
    for url in (f"/plots/{tag}", f"/images/{tag}"):
        assert client.get(url).status_code == 404
    response = client.get(f"/api/images/{tag}")
    assert response.status_code == 404
    strict_json(response.content)


def test_the_limits_are_settings(client, images, caplog):
    from django.test import override_settings

    write_plot(images, "small")
    write_plot(images, "large", description="x" * 5000)
    # A plot's sidecar nests 7 levels (document > image > histograms > histogram > axes >
    # axis > metadata); this one 11 (document > image > extra > 9 lists).
    write_plot(images, "nested", extra=json.loads("[" * 9 + "]" * 9))
    with override_settings(MAUS_SIDECAR_MAX_BYTES=4096, MAUS_SIDECAR_MAX_DEPTH=9), \
            caplog.at_level(logging.WARNING, logger="dashboard"):
        assert tags_on_page(client.get("/")) == ["small"]
    assert "larger than 4096 (MAUS_SIDECAR_MAX_BYTES)" in caplog.text
    assert "nested deeper than 9 levels (MAUS_SIDECAR_MAX_DEPTH)" in caplog.text
    assert tags_on_page(client.get("/")) == ["large", "nested", "small"]  # the defaults


@pytest.mark.parametrize("name, value", [
    ("MAUS_SIDECAR_MAX_BYTES", 0), ("MAUS_SIDECAR_MAX_BYTES", "big"),
    ("MAUS_SIDECAR_MAX_DEPTH", 0), ("MAUS_SIDECAR_MAX_DEPTH", 10_000),
    ("MAUS_SIDECAR_MAX_DEPTH", True)])
def test_a_wrong_limit_is_reported_by_name(django_ready, name, value):
    from dashboard.conf import dashboard_settings
    from django.test import override_settings

    with override_settings(**{name: value}), pytest.raises(ValueError, match=name):
        dashboard_settings()


def test_a_refused_host_is_one_line_not_a_traceback(client, images, caplog):
    with caplog.at_level(logging.INFO):
        response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    records = [record for record in caplog.records if record.name.startswith("django")]
    assert len(records) == 1, [record.getMessage() for record in records]
    (record,) = records
    assert record.exc_info is None and record.levelno == logging.WARNING
    assert record.getMessage() == (
        "MAUS-307 refused a request for the host 'evil.example': it is not in "
        "MAUS_WEB_ALLOWED_HOSTS (/) [docs/recovery.md#maus-307]")
    assert "Traceback" not in caplog.text


# --- The reader on its own (dashboard/json_files.py) ---------------------------------------

def test_the_reader_refuses_a_fifo_swapped_in_after_the_check(django_ready, tmp_path,
                                                             monkeypatch):
    """The race: the status said "regular file", a FIFO is there by the time it is opened.
    O_NONBLOCK makes the open return at once, and the status of what was opened refuses it."""
    from dashboard import json_files

    regular = tmp_path / "regular.json"
    regular.write_text("{}")
    os.mkfifo(tmp_path / "x.json")
    real_stat = os.stat
    monkeypatch.setattr(json_files.os, "stat", lambda path, **kw: real_stat(regular, **kw))
    with pytest.raises(json_files.JsonFileError, match="not a regular file"):
        answered(json_files.read_json_file, tmp_path / "x.json", json_files.JsonLimits())


@pytest.mark.parametrize("data, limit, deep", [
    (b"[]", 1, False), (b"[[]]", 1, True), (b"[[]]", 2, False), (b'{"a": {"b": [1]}}', 3, False),
    (b'{"a": {"b": [1]}}', 2, True), (b'["[[[[[[", "]]]]\\"[[["]', 1, False),
    (b"[" * 100_000 + b"]" * 100_000, 32, True), (b"[1, 2}", 1, False), (b"", 1, False),
    (b"[[][][[]]]", 3, False), (b"[[][][[]]]", 2, True)])
def test_nesting_is_measured_without_recursion(django_ready, data, limit, deep):
    from dashboard.json_files import nesting_exceeds

    assert nesting_exceeds(data, limit) is deep


def test_an_image_swapped_for_a_fifo_is_not_opened(django_ready, tmp_path):
    """The image was a regular file when listed; a FIFO took its place before it was served.
    The open must neither block nor serve it."""
    from dashboard.image_store import ImageStore

    write_plot(tmp_path, "swapped")
    store = ImageStore(tmp_path)
    (record,) = store.records()
    (tmp_path / "swapped.png").unlink()
    os.mkfifo(tmp_path / "swapped.png")
    assert answered(store.open_image, record) is None
