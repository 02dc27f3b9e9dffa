"""The web front-end's defences: files only by tag, never by path; data never becomes markup;
security headers; production settings from the environment."""
from __future__ import annotations

import json
import os
import re

import pytest

from tests import test_webfrontend as web
from tests.test_webfrontend import PNG, get_json, histogram_1d, run_settings, write_plot

# The fixtures of test_webfrontend.py (tests/conftest.py is the whole suite's).
django_ready, images, client = web.django_ready, web.images, web.client


@pytest.fixture
def outside(tmp_path):
    """A secret next to the image directory, which no URL may reach."""
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "secret.png").write_bytes(b"SECRET" + PNG)
    (directory / "secret.json").write_text(json.dumps({"image": {
        "format_version": 1, "tag": "secret", "image_type": "png",
        "image_file": "secret.png", "description": "SECRET"}}))
    return directory


TRAVERSALS = [
    "../outside/secret.png", "..%2foutside%2fsecret.png", "..%2Foutside%2Fsecret",
    "%2e%2e%2foutside%2fsecret", "%2e%2e/outside/secret", "..%5coutside%5csecret.png",
    "....//outside/secret", "%252e%252e%252foutside", "/etc/passwd", "%2Fetc%2Fpasswd",
    "..", "%2e%2e", ".", "secret", "secret.png", "good.png", "good.json", "good%00.png",
    "good/", "good%2f", "~root", "%7e",
]


@pytest.mark.parametrize("path", TRAVERSALS)
@pytest.mark.parametrize("prefix", ["/images/", "/plots/", "/api/images/"])
def test_no_url_reaches_a_file_by_its_path(client, images, outside, prefix, path):
    write_plot(images, "good")
    response = client.get(prefix + path)
    assert response.status_code == 404
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"SECRET" not in body and b"root:" not in body


def test_a_sidecar_naming_an_image_outside_is_refused(client, images, outside, caplog):
    for name, image_file in [("up", "../outside/secret.png"),
                             ("absolute", str(outside / "secret.png")),
                             ("backslash", "..\\outside\\secret.png"), ("dot", ".secret.png")]:
        write_plot(images, name)
        sidecar = images / f"{name}.json"
        document = json.loads(sidecar.read_text())
        document["image"]["image_file"] = image_file
        sidecar.write_text(json.dumps(document))
    assert get_json(client, "/api/images")["count"] == 0
    for name in ("up", "absolute", "backslash", "dot"):
        assert client.get(f"/images/{name}").status_code == 404
    assert "is not a plain file name" in caplog.text


def test_symlinks_out_of_the_directory_lead_nowhere(client, images, outside, caplog):
    # An image that is a symlink to a file outside ...
    write_plot(images, "linked_image")
    (images / "linked_image.png").unlink()
    (images / "linked_image.png").symlink_to(outside / "secret.png")
    # ... a sidecar that is a symlink to one outside ...
    (images / "secret.json").symlink_to(outside / "secret.json")
    (images / "secret.png").write_bytes(PNG)
    # ... and the image directory's own entries reached through a symlinked directory.
    (images / "sub").symlink_to(outside, target_is_directory=True)
    assert get_json(client, "/api/images")["count"] == 0
    for url in ("/images/linked_image", "/images/secret", "/plots/secret",
                "/api/images/secret", "/images/sub", "/images/sub%2fsecret.png"):
        response = client.get(url)
        assert response.status_code == 404, url
    assert "resolves to a file outside the image directory" in caplog.text


def test_a_symlink_inside_the_directory_is_served(client, images):
    """Links within the directory are harmless (an operator may keep 'latest' links)."""
    write_plot(images, "real")
    write_plot(images, "alias")
    (images / "alias.png").unlink()
    (images / "alias.png").symlink_to(images / "real.png")
    assert b"".join(client.get("/images/alias").streaming_content) == PNG


def test_the_image_directory_may_itself_be_a_symlink(client, tmp_path, django_ready):
    from django.test import override_settings

    real = tmp_path / "real-images"
    real.mkdir()
    write_plot(real, "tof_time_01")
    (tmp_path / "linked-images").symlink_to(real, target_is_directory=True)
    with override_settings(MAUS_IMAGE_DIRECTORY=str(tmp_path / "linked-images")):
        assert b"".join(client.get("/images/tof_time_01").streaming_content) == PNG


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_markup_in_keywords_and_descriptions_is_escaped(client, images):
    write_plot(images, "tof_time_01", description=f"desc {HOSTILE}",
               keywords=("TOF", f"kw {HOSTILE}"),
               histograms=[{**histogram_1d([0, 1, 0]), "metadata": {"name": f"h {HOSTILE}"}}])
    for url in ("/", "/?keyword=" + "kw%20%3Cscript%3E", "/plots/tof_time_01",
                "/?q=%3Cscript%3E", "/?keyword=%3Cscript%3E", "/nope%3Cscript%3E"):
        page = client.get(url).content.decode()
        assert "<script>alert" not in page, url
        assert "onerror=alert(1)>" not in page, url
        # The only scripts are this site's files and inert JSON data blocks.
        for tag in re.findall(r"<script[^>]*>", page):
            assert re.fullmatch(r'<script src="/static/dashboard/[a-z/.]+\.js" defer>|'
                                r'<script id="[a-z-]+" type="application/json">', tag), tag
    page = client.get("/").content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    # json_script escapes the markup characters inside the data blocks too.
    detail = client.get("/plots/tof_time_01").content.decode()
    assert "h \\u003Cscript\\u003Ealert" in detail
    assert "<td>h &lt;script&gt;alert" in detail


def test_markup_in_a_tag_never_reaches_a_page(client, images, caplog):
    """Tags are plain file names; a sidecar with markup in its tag is refused outright."""
    write_plot(images, "good")
    path = write_plot(images, "evil")
    document = json.loads(path.read_text())
    document["image"]["tag"] = HOSTILE
    path.write_text(json.dumps(document))
    page = client.get("/").content.decode()
    assert "alert(" not in page
    assert [i["tag"] for i in get_json(client, "/api/images")["images"]] == ["good"]
    assert "is not a plain file name" in caplog.text


def test_group_titles_from_the_layout_are_escaped(client, images):
    from django.test import override_settings

    write_plot(images, "tof_time_01")
    layout = {"title": f"T {HOSTILE}",
              "groups": [{"title": f"G {HOSTILE}", "tags": ["tof_time_01"]}]}
    with override_settings(MAUS_DASHBOARD_LAYOUT=layout):
        page = client.get("/").content.decode()
    assert "<script>alert" not in page
    assert "G &lt;script&gt;" in page


def test_scripts_put_data_into_the_page_as_text_only():
    """dashboard.js and detail.js build the page with textContent, never innerHTML."""
    from tests.test_webfrontend import WEBFRONTEND

    static = WEBFRONTEND / "dashboard" / "static" / "dashboard"
    for script in ("dashboard.js", "detail.js", "histogram.js"):
        source = (static / script).read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, (script, sink)


def test_security_headers(client, images):
    write_plot(images, "tof_time_01")
    for url in ("/", "/plots/tof_time_01", "/api/images", "/images/tof_time_01", "/nope"):
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
        assert response["X-Content-Type-Options"] == "nosniff", url
        assert response["X-Frame-Options"] == "DENY", url
        assert response["Referrer-Policy"] == "same-origin", url
        policy = dict(part.strip().partition(" ")[::2]
                      for part in response["Content-Security-Policy"].split(";"))
        assert "'unsafe-inline'" not in policy.get("script-src", "") and \
            "'unsafe-eval'" not in policy.get("script-src", ""), url
        if url != "/images/tof_time_01":
            assert policy["script-src"] == "'self'", url
            assert policy["frame-ancestors"] == "'none'", url
    image_policy = client.get("/images/tof_time_01")
    b"".join(image_policy.streaming_content)
    assert "sandbox" in image_policy["Content-Security-Policy"]
    assert "default-src 'none'" in image_policy["Content-Security-Policy"]


def test_unknown_hosts_are_refused(client, images):
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400


# --- production settings --------------------------------------------------------------------

SHOW = ("from django.conf import settings; import json; print(json.dumps("
        "[settings.DEBUG, settings.ALLOWED_HOSTS, len(settings.SECRET_KEY), "
        "settings.MAUS_REFRESH_SECONDS, settings.MAUS_STALE_SECONDS, "
        "settings.MAUS_IMAGE_DIRECTORY]))")


def test_production_settings_come_from_the_environment():
    shown = run_settings(SHOW, MAUS_WEB_SECRET_KEY="s" * 50,
                         MAUS_WEB_ALLOWED_HOSTS="maus.example.org, 127.0.0.1",
                         MAUS_REFRESH_SECONDS="2", MAUS_STALE_SECONDS="30",
                         MAUS_IMAGE_DIRECTORY="/data/images")
    assert json.loads(shown.stdout) == [False, ["maus.example.org", "127.0.0.1"], 50, 2.0,
                                        30.0, "/data/images"]
    defaults = run_settings(SHOW)
    assert json.loads(defaults.stdout) == [False, ["127.0.0.1", "localhost"], 51, 5.0, 60.0,
                                           "images"]


def test_debug_off_without_a_secret_key_is_a_clear_error():
    failed = run_settings(SHOW, MAUS_WEB_SECRET_KEY="")
    assert failed.returncode != 0
    assert "ImproperlyConfigured: MAUS_WEB_SECRET_KEY is not set" in failed.stderr
    debug = run_settings(SHOW, MAUS_WEB_SECRET_KEY="", MAUS_WEB_DEBUG="1")
    assert json.loads(debug.stdout)[:3] == [True, ["127.0.0.1", "localhost"], 50]


@pytest.mark.parametrize(("name", "value"), [
    ("MAUS_WEB_DEBUG", "yes"), ("MAUS_REFRESH_SECONDS", "0"), ("MAUS_STALE_SECONDS", "soon"),
])
def test_a_bad_variable_is_named(name, value):
    failed = run_settings(SHOW, **{name: value})
    assert failed.returncode != 0
    assert f"ImproperlyConfigured: {name}={value!r}" in failed.stderr


def test_no_database_and_no_session_or_auth_apps(django_ready):
    from django.conf import settings

    assert settings.DATABASES == {} or set(settings.DATABASES) == {"default"} and \
        settings.DATABASES["default"]["ENGINE"] == "django.db.backends.dummy"
    assert settings.INSTALLED_APPS == ["django.contrib.staticfiles", "dashboard"]


def test_webfrontend_never_imports_the_reconstruction():
    """DESIGN.md §8: the web reads files only, never maus_online's internals."""
    from tests.test_webfrontend import WEBFRONTEND

    for path in WEBFRONTEND.rglob("*.py"):
        source = path.read_text()
        for package in ("maus_online", "reducers", "outputters", "workers"):
            imports = re.search(rf"^\s*(from|import)\s+{package}\b", source, re.MULTILINE)
            assert not imports, (path, package)
    assert os.path.exists(WEBFRONTEND / "manage.py")
