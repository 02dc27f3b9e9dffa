"""The dashboard in a real browser while go.py writes plots: headless Debian Chromium driven
by Playwright, against Django's server and a live go.py (a simulated beam), all real.

Chromium is Debian's (/usr/bin/chromium, installed by .ci/install-test-deps): `playwright
install` cannot download its own build here. The tests save screenshots in their tmp_path and
in test-output/ (git ignores it): dashboard.png, runs.png (the archive's list of runs),
run.png (a past run), compare.png (a detail page's overlay and ratio panel) and trends.png;
docs/images/webfrontend_compare.png and webfrontend_trends.png are copies of the last two.
"""
from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
WEBFRONTEND = REPO_ROOT / "webfrontend"
if str(WEBFRONTEND) not in sys.path:
    sys.path.insert(0, str(WEBFRONTEND))

import servers  # noqa: E402  (webfrontend/servers.py)
from tests.image_directory import sidecar_paths

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
SCREENSHOTS = REPO_ROOT / "test-output"
SCREENSHOT = SCREENSHOTS / "dashboard.png"
WAIT_MS = 90_000  # go.py's start, its first spills and drawing 20 plots, on a busy CI machine


@pytest.fixture
def image_directory(tmp_path) -> Path:
    directory = tmp_path / "images"
    directory.mkdir()
    return directory


@contextlib.contextmanager
def serving(tmp_path, image_directory, **settings):
    """Django's server on a free port of 127.0.0.1, DEBUG off, polling every second; yields
    its URL."""
    port = servers.free_port()
    env = servers.web_environment(image_directory, MAUS_REFRESH_SECONDS="1", MAUS_WEB_DEBUG="0",
                                  **settings)
    with open(tmp_path / "web.log", "wb") as log:
        server = servers.start(servers.runserver_command(port), env=env, output=log)
        try:
            url = f"http://127.0.0.1:{port}/"
            servers.wait_for_url(url + "api/dashboard", timeout=60, process=server)
            yield url
        finally:
            servers.stop(server)


@pytest.fixture
def dashboard_url(tmp_path, image_directory):
    with serving(tmp_path, image_directory) as url:
        yield url


@pytest.fixture
def archive(tmp_path, image_directory):
    """An archive of three runs in go.py's layout, their plots drawn by go.py itself: run 8
    (20 spills), run 7 (10 spills) and run 6, a copy of run 7 marked interrupted."""
    archive = tmp_path / "archive"
    for number, spills in ((7, 10), (8, 20)):
        plots = archive / f"run_{number:06d}"
        subprocess.run([sys.executable, str(REPO_ROOT / "go.py"), "--spill_count", str(spills),
                        "--run_number", str(number), "--progress", "false",
                        "--image_directory", str(plots)],
                       cwd=tmp_path, check=True, capture_output=True, timeout=300)
        write_run_json(plots, number, spills)
    shutil.copytree(archive / "run_000007", archive / "run_000006")
    write_run_json(archive / "run_000006", 6, 10, complete=False)
    return archive


def write_run_json(directory: Path, number: int, spills: int, *, complete: bool = True):
    sidecars = sidecar_paths(directory)
    document = {
        "format": 1, "run_number": number, "complete": complete,
        "archived_at": f"2026-12-01T1{number - 6}:00:00+00:00",
        "first_spill_time": None, "last_spill_time": None,
        "spills": {"physics": spills, "run_markers": 2, "with_errors": 0, "input_errors": 0},
        "transform": "MapPyGroup(MapPyBeamMaker, MapPySimulation, MapPyTOFDigitization)",
        "configuration_id": "browser-test", "version": "test",
        "plots": {path.stem: {"image_file": f"{path.stem}.png", "sidecar": path.name}
                  for path in sidecars}}
    (directory / "run.json").write_text(json.dumps(document))


@pytest.fixture
def archive_url(tmp_path, image_directory, archive):
    with serving(tmp_path, image_directory, MAUS_ARCHIVE_DIRECTORY=str(archive)) as url:
        yield url


@pytest.fixture
def start_go(tmp_path, image_directory):
    """Starts go.py on a simulated live beam (4 spills a second, plots redrawn every 4
    spills) writing into the dashboard's directory; stopped at the end of the test."""
    processes = []

    def start():
        command = [sys.executable, str(REPO_ROOT / "go.py"), "--spill_count", "2000",
                   "--spill_interval", "0.25", "--refresh_rate", "4", "--progress", "false",
                   "--image_directory", str(image_directory)]
        log = open(tmp_path / "go.log", "wb")
        processes.append((servers.start(command, output=log, cwd=REPO_ROOT), log))

    yield start
    for process, log in processes:
        servers.stop(process)
        log.close()


@pytest.fixture
def page(tmp_path):
    """A page of a fresh headless Chromium (its own user-data directory), which records the
    page's errors: a script error or a blocked resource (Content-Security-Policy) fails."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run .ci/install-test-deps (`make test` does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})
        try:
            page = context.new_page()
            page.errors = []
            page.on("pageerror", lambda error: page.errors.append(f"script error: {error}"))
            page.on("console", lambda message: message.type == "error"
                    and page.errors.append(f"console: {message.text}"))
            page.on("response", lambda response: response.status >= 400
                    and page.errors.append(f"{response.status}: {response.url}"))
            yield page
        finally:
            context.close()


def card(series: str) -> str:
    return f'article.card[data-series="{series}"]'


def test_dashboard_follows_a_live_run_then_search_and_detail(
        page, dashboard_url, start_go, image_directory, tmp_path):
    # The run has not started: the page is served empty.
    page.goto(dashboard_url)
    assert page.locator("article.card").count() == 0
    page.evaluate("window.mausNoReload = 'still the same page'")

    start_go()
    # A new plot appears, its image decoded, without the page being loaded again.
    page.wait_for_function(
        """(selector) => { const image = document.querySelector(selector + " img.plot-image");
                           return image && image.complete && image.naturalWidth > 0; }""",
        arg=card("tof_time_01"), timeout=WAIT_MS)
    tof = page.locator(card("tof_time_01"))
    first_spills = int(tof.locator("[data-field=spills_seen]").inner_text())
    first_source = tof.locator("img.plot-image").get_attribute("src")
    # ... and is redrawn: more spills, a new image version, still the same page.
    page.wait_for_function(
        """([selector, spills]) => {
               const card = document.querySelector(selector);
               return Number(card.querySelector("[data-field=spills_seen]").textContent) > spills
                   && !card.dataset.loading; }""",
        arg=[card("tof_time_01"), first_spills], timeout=WAIT_MS)
    assert tof.locator("img.plot-image").get_attribute("src") != first_source
    assert page.evaluate("window.mausNoReload") == "still the same page"

    # Every plot of the run is on the page (the layout hides none), grouped.
    page.wait_for_function("document.querySelectorAll('article.card img.plot-image').length"
                           " >= 20 && [...document.querySelectorAll('img.plot-image')]"
                           ".every((image) => image.complete && image.naturalWidth > 0)",
                           timeout=WAIT_MS)
    assert page.locator("section.group h2").first.inner_text() == "Time of flight"
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(tmp_path / "dashboard.png", SCREENSHOT)

    # Search by keyword, with the form as a shifter would use it.
    page.reload()
    page.select_option("select[name=keyword]", "TOF1")
    page.click("form.search button[type=submit]")
    page.wait_for_url("**/?keyword=TOF1*")
    expected = sorted(sidecar.stem for sidecar in sidecar_paths(image_directory)
                      if "TOF1" in json.loads(sidecar.read_text())["image"]["keywords"])
    shown = sorted(page.locator("article.card").evaluate_all(
        "(cards) => cards.map((card) => card.dataset.series)"))
    assert shown == expected and len(shown) == 4
    assert page.locator("#search-summary").inner_text().startswith("4 plot(s) matching")

    # A detail page: the histogram drawn interactively by plotly.js.
    page.click(f'{card("tof_time_01")} h3 a')
    page.wait_for_url("**/plots/tof_time_01")
    page.wait_for_selector("#histogram-plot .main-svg", timeout=WAIT_MS)
    assert page.locator("#histogram-plot .main-svg .trace").count() >= 1
    assert page.locator("#histogram-plot .xtitle").first.text_content()  # an axis title
    assert page.errors == []


def test_past_runs_and_a_past_run(page, archive_url, tmp_path):
    # The navigation leads from the live page to the list of past runs, newest first.
    page.goto(archive_url)
    page.click("nav.site-nav >> text=Past runs")
    page.wait_for_url("**/runs")
    assert page.locator("table.runs tbody tr").evaluate_all(
        "(rows) => rows.map((row) => row.dataset.run)") == ["8", "7", "6"]
    assert page.locator('tr[data-run="6"] .run-state').inner_text() == "interrupted"
    save_screenshot(page, tmp_path, "runs.png")

    # A past run: the live page's grid, its plots, and no polling (the run is final).
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.click('a[href="/runs/8"]')
    page.wait_for_url("**/runs/8")
    page.wait_for_function("document.querySelectorAll('article.card img.plot-image').length"
                           " >= 20 && [...document.querySelectorAll('img.plot-image')]"
                           ".every((image) => image.complete && image.naturalWidth > 0)",
                           timeout=WAIT_MS)
    assert page.locator("h1.run-title").inner_text().startswith("Run 8")
    assert page.locator("section.group h2").first.inner_text() == "Time of flight"
    save_screenshot(page, tmp_path, "run.png")
    page.wait_for_timeout(2500)  # more than two refresh periods of a live page
    assert not [url for url in requests if "/api/" in url]

    # The search and a detail page stay within the run.
    page.select_option("select[name=keyword]", "TOF1")
    page.click("form.search button[type=submit]")
    page.wait_for_url("**/runs/8?keyword=TOF1*")
    assert page.locator("article.card").count() == 4
    page.click(f'{card("tof_time_01")} h3 a')
    page.wait_for_url("**/runs/8/plots/tof_time_01")
    page.wait_for_selector("#histogram-plot .main-svg", timeout=WAIT_MS)
    assert page.locator("nav.breadcrumb").inner_text().startswith("Past runs › Run 8")
    assert page.errors == []


def save_screenshot(page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / name), full_page=True)
    SCREENSHOTS.mkdir(exist_ok=True)
    shutil.copyfile(tmp_path / name, SCREENSHOTS / name)


@pytest.fixture
def drifting_url(tmp_path, image_directory):
    """An archive of runs 1 to 12 whose muon peak (tof_time_01) drifts from run 9 on, run 5
    without the plot, and a live run 13 whose sidecar carries its summary history and a
    reference (run 3); served."""
    from tests.test_webfrontend import write_plot
    from tests.test_webfrontend_compare import PEAKS, summary_of, tof_histogram, write_tof_run

    archive = tmp_path / "archive"
    archive.mkdir()
    for number in range(1, 13):
        write_tof_run(archive, number, mu=None if number == 5 else
                      28.3 + max(0, number - 8) * 0.08)
    history = []
    for index in range(12):
        peak = 28.62 + 0.01 * index
        summary = summary_of([tof_histogram(mu=peak)], {**PEAKS, "mu+": peak})
        history.append({"spills_seen": 10 * (index + 1), "time": f"2026-12-01T11:{index:02d}:00Z",
                        "summary": summary})
    histograms = [tof_histogram(mu=28.75, entries=3000)]
    write_plot(image_directory, "tof_time_01", run=13, spills_seen=120, histograms=histograms,
               summary=history[-1]["summary"], summary_history=history,
               reference={"run_number": 3, "histograms": [tof_histogram(mu=28.3)]})
    with serving(tmp_path, image_directory, MAUS_ARCHIVE_DIRECTORY=str(archive)) as url:
        yield url


def test_compare_overlay_and_trends(page, drifting_url, tmp_path):
    # The detail page: choosing a run in "Compare with" loads ?compare=N.
    page.goto(drifting_url + "plots/tof_time_01")
    page.wait_for_selector("#histogram-plot .main-svg", timeout=WAIT_MS)
    assert page.locator("#compare-run option").evaluate_all(
        "(options) => options.map((option) => option.value)")[:3] == ["", "12", "11"]
    page.select_option("#compare-run", "12")
    page.wait_for_url("**/plots/tof_time_01?compare=12")
    page.wait_for_selector("#histogram-plot .main-svg .subplot.xy2", timeout=WAIT_MS)
    traces = page.evaluate("""() => document.querySelector("#histogram-plot .plot-panel").data
                                    .map((trace) => [trace.name, trace.yaxis || "y"])""")
    names = [name for name, _ in traces]
    assert names[0] == "Triggers, this run"
    assert any(name.startswith("run 12 (×") for name in names)
    assert any(name.startswith("reference run 3 (×") for name in names)
    assert [axis for _, axis in traces].count("y2") == 1  # the ratio panel
    assert page.locator("#histogram-plot .main-svg .subplot.xy2 .trace").count() >= 1
    assert page.locator(".compare-note").count() == 0
    save_element_screenshot(page, "section.interactive", tmp_path, "compare.png")

    # The trends: the navigation leads there; the default is tof_time_01's muon peak.
    page.click("nav.site-nav >> text=Trends")
    page.wait_for_url("**/trends")
    page.wait_for_selector("#trend-runs-plot .main-svg .trace", timeout=WAIT_MS)
    page.wait_for_selector("#trend-live-plot .main-svg .trace", timeout=WAIT_MS)
    runs = page.evaluate("""() => { const trace = document.getElementById("trend-runs-plot")
                                                         .data[0];
                                    return [trace.x, trace.y]; }""")
    assert runs[0] == list(range(1, 13))
    assert runs[1][4] is None and runs[1][0] == pytest.approx(28.3, abs=0.05)  # run 5: a gap
    assert runs[1][11] > runs[1][7] + 0.2
    live = page.evaluate("document.getElementById('trend-live-plot').data[0].x")
    assert live == [10 * (index + 1) for index in range(12)]
    page.check("input[name=live-x][value=time]")
    page.wait_for_function("document.getElementById('trend-live-plot').data[0].x[0]"
                           " === '2026-12-01T11:00:00Z'", timeout=WAIT_MS)
    save_screenshot(page, tmp_path, "trends.png")
    assert page.errors == []


def save_element_screenshot(page, selector: str, tmp_path: Path, name: str) -> None:
    page.locator(selector).screenshot(path=str(tmp_path / name))
    SCREENSHOTS.mkdir(exist_ok=True)
    shutil.copyfile(tmp_path / name, SCREENSHOTS / name)
