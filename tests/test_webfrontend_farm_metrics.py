"""/metrics through Django's test client: the Prometheus text, parsed by prometheus_client's
own parser, with the values of farm.json, quality.json and the image directory; what a stale
or absent farm.json leaves out; and who may read it (MAUS_WEB_METRICS_ALLOWED)."""
from __future__ import annotations

import json
import logging

import pytest

from tests import test_webfrontend as web
from tests.test_webfrontend import write_plot
from tests.test_webfrontend_farm import (
    HOSTILE_NAME,
    farm_document,
    farm_warnings,
    quality_document,
    write_farm,
)

django_ready, images, client = web.django_ready, web.images, web.client


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
        for counts in ('{"Bad": -1}', '{"Bad": 1' + '0' * 400 + '}'):
            (images / "quality.json").write_text(f'{{"format_version": 1, "counts": {counts}}}')
            for _ in range(2):
                assert "maus_online_quality_plots" not in scrape(client)
    # The quality page's reader, whose warning /metrics shares: one per version of the file.
    assert [record.getMessage().split(": ")[1] for record in caplog.records
            if record.getMessage().startswith("MAUS-316")] == [
        "skipped the quality summary quality.json"] * 2


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


def test_hostile_worker_names_are_label_values_escaped(client, images):
    document = farm_document()
    document["workers"][0]["name"] = HOSTILE_NAME + '\n" 1\nmaus_online_fake 7'
    write_farm(images, document)
    families = scrape(client)
    assert "maus_online_fake" not in families
    assert {sample.labels["worker"] for sample in
            families["maus_online_worker_spills_per_second"].samples} == {
        HOSTILE_NAME + '\n" 1\nmaus_online_fake 7', "celery@node2"}
