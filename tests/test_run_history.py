"""Run history end to end (issue 13): go.py archives real runs, with a reference run and the
plots' summaries, and the dashboard lists them, overlays one on another and draws their trend.

The web tests elsewhere build archives by hand, in the documented layout; this one holds the
two halves together on what go.py really writes.
"""
from __future__ import annotations

import json
import os

import pytest

from tests import test_webfrontend as web
from tests.celery_workers import run_go
from tests.test_webfrontend_hostile import strict_json

django_ready, client = web.django_ready, web.client

RUN = ["--particles_per_spill", "100", "--spill_count", "6", "--refresh_rate", "3"]


@pytest.fixture(scope="module")
def archived(tmp_path_factory):
    """Runs 5 and 6 archived by go.py, run 6 drawn with run 5 as its reference."""
    cwd = tmp_path_factory.mktemp("history")
    for number, extra in ((5, ()), (6, ("--reference_run", "5"))):
        result = run_go("unused", dict(os.environ), cwd, *RUN, "--run_number", str(number),
                        "--random_seed", str(number), "--image_directory", "images", *extra)
        assert result.returncode == 0, result.stdout + result.stderr
    return cwd


@pytest.fixture
def dashboard(archived, django_ready):
    from django.test import override_settings

    with override_settings(MAUS_IMAGE_DIRECTORY=str(archived / "images"),
                           MAUS_ARCHIVE_DIRECTORY=str(archived / "archive")):
        yield archived


def test_go_archives_each_run_with_its_summaries_and_its_reference(archived):
    for number in (5, 6):
        run = json.loads((archived / "archive" / f"run_{number:06d}" / "run.json").read_text())
        assert run["run_number"] == number and run["complete"] is True
        assert run["spills"]["physics"] == 6
        summary = run["plots"]["tof_time_01"]["summary"]
        assert summary["entries"] > 0 and set(summary["peaks"]) == {"e+", "mu+", "pi+"}
    live = json.loads((archived / "images" / "tof_time_01.json").read_text())["image"]
    assert live["run_number"] == 6 and live["reference"]["run_number"] == 5
    assert [entry["spills_seen"] for entry in live["summary_history"]] == [3, 6]


def test_the_dashboard_lists_overlays_and_trends_what_go_archived(dashboard, client):
    listing = strict_json(client.get("/api/runs").content)
    assert [run["run_number"] for run in listing["runs"]] == [6, 5]  # newest first
    assert client.get("/runs/5").status_code == 200
    compared = client.get("/plots/tof_time_01?compare=5")
    assert compared.status_code == 200
    page = compared.content.decode()
    assert "MAUS-31" not in page and "MAUS-30" not in page  # no note: run 5 has the plot
    trend = strict_json(client.get("/api/trends", {"tag": "tof_time_01",
                                                   "quantity": "entries"}).content)
    points = trend["archive"]["points"]
    assert [point["run_number"] for point in points] == [5, 6]
    assert all(point["value"] > 0 for point in points)
    assert [point["spills_seen"] for point in trend["live"]["points"]] == [3, 6]
