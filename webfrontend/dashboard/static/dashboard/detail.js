/*
 * The detail page: draws the plot's histograms with plotly.js (zoom by dragging, bin values on
 * hover, a log-scale switch) from the sidecar's numbers, with the overlays of overlay.js (a
 * compared run, ?compare=N, and the sidecar's reference run), and follows new refreshes.
 * Every refresh_seconds it asks the small listing /api/images?tag=...&latest=1 whether the
 * image changed; only then does it fetch the full document and redraw, keeping the zoom.
 *
 * Configuration and the first data come from the json_script blocks "detail-config" and
 * "plot-data". plotly.min.js is served from this site's static files (make webassets), never
 * from a CDN.
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("detail-config").textContent);
  let plot = JSON.parse(document.getElementById("plot-data").textContent);
  const panelsBox = document.getElementById("histogram-plot");
  const message = document.getElementById("plot-message");
  const logScale = document.getElementById("log-scale");
  const resetZoom = document.getElementById("reset-zoom");
  const connectionBanner = document.getElementById("connection");
  const period = Math.max(1, Number(config.refresh_seconds) || 5) * 1000;
  let lostSince = null;

  function say(text) {
    message.textContent = text;
    message.hidden = !text;
  }

  function draw() {
    if (typeof Plotly === "undefined") {
      say("The interactive plot needs plotly.min.js, which is missing from the static files: " +
        "run `make webassets` on the server.");
      return;
    }
    // The overlays (another run, the reference) are the page's choice and the sidecar's.
    const spec = MausOverlay.plotSpec(plot.histograms,
      {log: logScale.checked, compare: plot.compare, reference: plot.reference});
    while (panelsBox.children.length > spec.panels.length) {
      Plotly.purge(panelsBox.lastElementChild);
      panelsBox.lastElementChild.remove();
    }
    spec.panels.forEach((panel, index) => {
      let box = panelsBox.children[index];
      if (!box) {
        box = document.createElement("div");
        box.className = "plot-panel";
        panelsBox.appendChild(box);
      }
      box.classList.toggle("with-ratio", Boolean(panel.ratio));
      Plotly.react(box, panel.data, panel.layout,
        {responsive: true, displaylogo: false, scrollZoom: false});
    });
    say(spec.messages.join(" "));
  }

  function text(value) {
    if (value === null || value === undefined) {
      return "—";
    }
    return Array.isArray(value) ? value.map(text).join(", ") : String(value);
  }

  function swapImage(url) {
    const current = document.getElementById("detail-image");
    if (!current) {
      return;
    }
    const next = new Image(640, 480);
    next.id = current.id;
    next.className = current.className;
    next.alt = current.alt;
    next.src = url;
    next.decode().then(() => current.replaceWith(next)).catch(() => {});
  }

  function update(detail) {
    // The compared run is archived, so it stays; the reference comes with each refresh.
    const reference = detail.metadata && detail.metadata.reference;
    plot = {tag: detail.tag, version: detail.version, histograms: detail.histograms,
      compare: plot.compare, reference: reference && typeof reference === "object" ? reference : null};
    swapImage(detail.image_url);
    document.getElementById("image-link").href = detail.image_url;
    document.querySelectorAll("[data-field]").forEach((element) => {
      const field = element.dataset.field;
      if (field in detail && field !== "keywords") {
        element.textContent = text(detail[field]);
      }
    });
    document.querySelectorAll("[data-meta]").forEach((element) => {
      if (element.dataset.meta in detail.metadata) {
        element.textContent = text(detail.metadata[element.dataset.meta]);
      }
    });
    draw();
  }

  async function fetchJson(url) {
    const response = await fetch(url, {headers: {Accept: "application/json"}, cache: "no-store"});
    if (!response.ok) {
      throw new Error(`the server answered ${response.status}`);
    }
    return response.json();
  }

  async function poll() {
    try {
      const listing = await fetchJson(config.latest_url);
      const current = listing.images[0];
      if (current && current.version !== plot.version) {
        update(await fetchJson(config.detail_api_url));
      } else if (current) {
        document.querySelectorAll("[data-field=age]").forEach((element) => {
          element.textContent = current.age;
        });
      }
      lostSince = null;
      connectionBanner.hidden = true;
    } catch (error) {
      lostSince = lostSince || new Date();
      connectionBanner.textContent = `MAUS-302 No update since ${lostSince.toLocaleTimeString()}: ` +
        `${error.message}. Retrying every ${period / 1000} s; the plots shown may be old. ` +
        "[docs/recovery.md#maus-302]";  // the catalogued text (maus_online/catalogue.py)
      connectionBanner.hidden = false;
    } finally {
      setTimeout(poll, period);
    }
  }

  logScale.addEventListener("change", draw);
  // Choosing a run loads ?compare=N (the form works without script too, with its button).
  const compareRun = document.getElementById("compare-run");
  if (compareRun) {
    compareRun.addEventListener("change", () => compareRun.form.submit());
  }
  resetZoom.addEventListener("click", () => {
    if (typeof Plotly !== "undefined") {
      Array.from(panelsBox.children).forEach((box) =>
        Plotly.relayout(box, {"xaxis.autorange": true, "yaxis.autorange": true}));
    }
  });

  draw();
  if (config.live !== false) {  // an archived run's plot does not change: no polling
    setTimeout(poll, period);
  }
})();
