/*
 * The trends page: draws, with plotly.js, the series the server put in the json_script block
 * "trend-data" (the same object /api/trends answers): one plot's summary number across the
 * archived runs (x = run number) and across the live run's refreshes (x = spills seen, or the
 * time of each refresh). A missing value is null, which plotly draws as a gap: a run without
 * the plot must not look like a run where the number fell to zero.
 */
(function () {
  "use strict";

  const data = JSON.parse(document.getElementById("trend-data").textContent);
  const message = document.getElementById("plot-message");
  const FONT = {family: "system-ui, sans-serif", size: 13};
  const CONFIG = {responsive: true, displaylogo: false, scrollZoom: false};

  function layout(xTitle, xType) {
    return {
      font: FONT, margin: {l: 70, r: 20, t: 10, b: 60}, hovermode: "closest", showlegend: false,
      xaxis: {title: {text: xTitle}, type: xType, tickformat: xType === "linear" ? "d" : undefined},
      yaxis: {title: {text: data.label}},
    };
  }

  function series(points, x, name, colour) {
    return {
      type: "scatter", mode: "lines+markers", name, connectgaps: false,
      x: points.map((point) => point[x]), y: points.map((point) => point.value),
      line: {color: colour, width: 2}, marker: {color: colour, size: 6},
      hovertemplate: `${x === "run_number" ? "run %{x}" : "%{x}"}<br>${data.label}: %{y:.5g}` +
        "<extra></extra>",
    };
  }

  function drawRuns() {
    Plotly.react("trend-runs-plot", [series(data.archive.points, "run_number", "runs", "#0072B2")],
      layout("run number", "linear"), CONFIG);
  }

  function drawLive() {
    const checked = document.querySelector("input[name=live-x]:checked");
    const x = checked ? checked.value : "spills_seen";
    const points = x === "time" ? data.live.points.filter((point) => point.time) : data.live.points;
    Plotly.react("trend-live-plot", [series(points, x, "live", "#D55E00")],
      layout(x === "time" ? "time of the refresh (UTC)" : "spills seen",
        x === "time" ? "date" : "linear"), CONFIG);
  }

  if (typeof Plotly === "undefined") {
    message.textContent = "The trends need plotly.min.js, which is missing from the static " +
      "files: run `make webassets` on the server.";
    message.hidden = false;
    return;
  }
  drawRuns();
  drawLive();
  document.querySelectorAll("input[name=live-x]").forEach((input) =>
    input.addEventListener("change", drawLive));
  // A new plot or quantity is a new address (the form's GET), so it can be shared.
  document.querySelectorAll("#trend-tag, #trend-quantity").forEach((select) =>
    select.addEventListener("change", () => select.form.submit()));
})();
