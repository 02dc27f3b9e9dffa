"""The dashboard's JavaScript that can run without a browser: histogram.js (UHI -> plotly
traces) under node. The browser test of the pages themselves is a later step (issue 6)."""
from __future__ import annotations

import json
import shutil
import subprocess

import boost_histogram as bh
import pytest

from tests.test_webfrontend import WEBFRONTEND

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node (Node.js) is not installed")
HISTOGRAM_JS = WEBFRONTEND / "dashboard" / "static" / "dashboard" / "histogram.js"


def test_histogram_js_unit_tests():
    done = subprocess.run([NODE, "--test", str(WEBFRONTEND / "jstests")], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout


def plot_spec(histograms: list, log: bool = False) -> dict:
    """plotSpec of histogram.js, run by node on ``histograms``."""
    script = ("const H = require(process.argv[1]); let text = '';"
              "process.stdin.on('data', (d) => { text += d; });"
              "process.stdin.on('end', () => { const input = JSON.parse(text);"
              "  process.stdout.write(JSON.stringify(H.plotSpec(input.histograms, input))); });")
    done = subprocess.run([NODE, "-e", script, str(HISTOGRAM_JS)], capture_output=True,
                          text=True, timeout=60,
                          input=json.dumps({"histograms": histograms, "log": log}),
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_draws_the_numbers_boost_histogram_wrote():
    """The reducers' own serialisation, drawn: the bars are boost-histogram's values()."""
    from reducers.image_document import histogram_json

    tof = bh.Histogram(bh.axis.Regular(5, 20.0, 40.0), storage=bh.storage.Int64())
    tof.fill([10.0, 21.0, 27.0, 27.5, 39.0, 55.0])
    slabs = bh.Histogram(bh.axis.Integer(0, 4), storage=bh.storage.Int64())
    slabs.fill([0, 1, 1, 3, 7])
    profile = bh.Histogram(bh.axis.Regular(2, -1.0, 1.0), bh.axis.Regular(3, 0.0, 3.0),
                           storage=bh.storage.Int64())
    profile.fill([-0.5, 0.5, 0.5, 9.0], [0.5, 1.5, 2.5, 1.0])

    (bars,) = plot_spec([histogram_json("TOF0", tof)])["panels"][0]["data"]
    assert bars["y"] == tof.values().tolist()
    assert bars["x"] == pytest.approx(tof.axes[0].centers.tolist())
    (integer_bars,) = plot_spec([histogram_json("Slabs", slabs)])["panels"][0]["data"]
    assert integer_bars["x"] == [0, 1, 2, 3]
    assert integer_bars["y"] == slabs.values().tolist()
    (heatmap,) = plot_spec([histogram_json("TOF1", profile)])["panels"][0]["data"]
    assert heatmap["z"] == profile.values().T.tolist()
    assert heatmap["x"] == pytest.approx(profile.axes[0].edges.tolist())
