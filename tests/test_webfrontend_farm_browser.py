"""The farm in a real browser (Playwright, Debian's chromium, Django's server): a lost worker
turns every page's header into a red banner, /farm shows the table with a sparkline per
worker, and both come back to a healthy line within a refresh once farm.json says so,
without the page being loaded again. The last test goes the whole way: two real workers,
go.py's own farm.json, one worker SIGKILLed; its /farm is the screenshot of docs/webfrontend.md
(docs/images/webfrontend_farm.png).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from tests.test_webfrontend_browser import (  # noqa: F401  (fixtures)
    SCREENSHOTS,
    image_directory,
    page,
    serving,
)
# A predicate is passed as a function, never as an expression: Playwright evaluates an
# expression with eval(), which the pages' Content-Security-Policy (no 'unsafe-eval') refuses.
from tests.test_webfrontend_farm import HOSTILE_NAME, RAMP, farm_document, write_farm

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Two refreshes of farm.js (2 s each) and a margin for a loaded machine.
REFRESH_MS = 15_000
RED = "rgb(198, 40, 40)"


def header_is(page, *, alarm: bool) -> None:
    page.wait_for_function(
        "(alarm) => document.getElementById('farm-header').classList.contains('farm-alarm')"
        " === alarm", arg=alarm, timeout=REFRESH_MS)


def test_a_lost_worker_is_a_red_banner_until_the_farm_is_healthy(page, tmp_path,
                                                                image_directory):
    write_farm(image_directory, farm_document(lost=True))
    with serving(tmp_path, image_directory) as url:
        # The dashboard: its header is the red banner, naming the worker.
        page.goto(url)
        banner = page.locator("#farm-header")
        assert banner.is_visible()
        assert banner.evaluate("(element) => getComputedStyle(element).backgroundColor") == RED
        assert "MAUS-323 Farm alarm: worker celery@node1 lost" in banner.inner_text()

        # /farm: the same banner, a row per worker, the lost one marked, a sparkline each.
        page.click("#farm-header a.farm-summary")
        page.wait_for_url("**/farm")
        assert page.locator("#farm-header.farm-alarm").is_visible()
        rows = page.locator("#farm-workers tr")
        assert rows.evaluate_all("(rows) => rows.map((row) => row.dataset.worker)") == [
            "celery@node1", "celery@node2"]
        assert page.locator('tr[data-worker="celery@node1"]').get_attribute("class") == \
            "worker worker-lost"
        sparklines = page.locator("#farm-workers svg.sparkline polyline")
        assert sparklines.count() == 2
        # A point per sample, drawn across the frame (rates from 0 to the maximum).
        drawn = sparklines.evaluate_all("(lines) => lines.map((line) => [line.points.length,"
                                        " Math.round(line.getBBox().width)])")
        assert drawn == [[len(RAMP), 120]] * 2
        page.screenshot(path=str(tmp_path / "farm.png"), full_page=True)
        SCREENSHOTS.mkdir(exist_ok=True)
        shutil.copyfile(tmp_path / "farm.png", SCREENSHOTS / "farm.png")

        # go.py says the farm is healthy again (a worker with a hostile name among them): the
        # banner goes within a refresh, the table follows, and the name stays text.
        page.evaluate("window.mausNoReload = 'still the same page'")
        healthy = farm_document()
        healthy["workers"][1]["name"] = HOSTILE_NAME
        write_farm(image_directory, healthy)
        header_is(page, alarm=False)
        assert page.locator("#farm-header [data-farm=banner]").is_hidden()
        assert page.locator("#farm-header").evaluate(
            "(element) => getComputedStyle(element).backgroundColor") != RED
        assert page.locator("#farm-header a.farm-summary").inner_text() == (
            "Farm: 2 workers · 4 sub-processes · 11.5 spills/s · queue 3")
        page.wait_for_function("() => document.querySelector('#farm-workers tr').className"
                               " === 'worker worker-busy'", timeout=REFRESH_MS)
        assert page.locator("#farm-workers tr .worker-name").all_inner_texts() == [
            "celery@node1", HOSTILE_NAME]
        assert page.locator("#farm-workers img, #farm-workers script").count() == 0
        assert page.locator("#farm-message").is_hidden()
        assert page.evaluate("window.mausNoReload") == "still the same page"

        # go.py stops writing: the status goes stale, and says so rather than stay healthy.
        write_farm(image_directory, farm_document(age=40))
        page.wait_for_function("() => document.getElementById('farm-header').classList"
                               ".contains('farm-stale')", timeout=REFRESH_MS)
        assert "no status from go.py since" in page.locator("#farm-header").inner_text()
        assert page.locator("#farm-message").inner_text().startswith("MAUS-321 ")
        assert "farm-old" in page.locator("#farm-tables").get_attribute("class")

        # Back on the dashboard, a new lost worker turns its header red without a reload.
        page.goto(url)
        page.evaluate("window.mausNoReload = 'the dashboard'")
        write_farm(image_directory, farm_document(lost=True))
        header_is(page, alarm=True)
        assert page.evaluate("window.mausNoReload") == "the dashboard"
        page.screenshot(path=str(SCREENSHOTS / "farm-dashboard.png"))
    assert page.errors == []


def test_a_real_worker_killed_is_a_red_banner_in_the_browser_and_lost_in_metrics(
        page, start_workers, queue, worker_env, tmp_path):
    """The whole way: two real workers and go.py's farm.json, one worker SIGKILLed, then the
    page and /metrics of the web server reading that image directory."""
    from prometheus_client.parser import text_string_to_metric_families

    from tests.processes import wait_until
    from tests.test_farm_status import farm_go, read_farm, worker_of

    doomed, survivor = start_workers(2, concurrency=1)
    images = tmp_path / "images"
    with farm_go(queue, worker_env, tmp_path, "--spill_interval", "0.25") as go:
        wait_until(lambda: all(worker_of(read_farm(images), worker.nodename) is not None
                               for worker in (doomed, survivor)),
                   "both workers in farm.json", 120, go)
        with serving(tmp_path, images) as url:
            page.goto(url)
            assert "farm-alarm" not in page.locator("#farm-header").get_attribute("class")
            doomed.kill()  # SIGKILL: no goodbye, only the silence of its heartbeats
            header_is(page, alarm=True)  # farm.json says lost, farm.js shows it: no reload
            banner = page.locator("#farm-header").inner_text()
            assert "MAUS-323" in banner and doomed.nodename in banner, banner
            assert survivor.nodename not in banner
            page.goto(url + "farm")
            assert page.locator(f'tr[data-worker="{doomed.nodename}"]').get_attribute(
                "class") == "worker worker-lost"
            page.wait_for_function("() => document.querySelectorAll("
                                   "'#farm-workers svg.sparkline polyline').length === 2",
                                   timeout=REFRESH_MS)
            page.screenshot(path=str(tmp_path / "farm.png"), full_page=True)
            SCREENSHOTS.mkdir(exist_ok=True)
            shutil.copyfile(tmp_path / "farm.png", SCREENSHOTS / "farm-real.png")
            shutil.copyfile(tmp_path / "farm.png", REPO_ROOT / "docs/images/webfrontend_farm.png")
            families = {family.name: family for family in text_string_to_metric_families(
                page.request.get(url + "metrics").text())}
            workers = {sample.labels["state"]: sample.value
                       for sample in families["maus_online_workers"].samples}
            assert workers.get("lost") == 1 and workers.get("online", 0) + workers.get(
                "busy", 0) == 1, workers
        assert page.errors == []
