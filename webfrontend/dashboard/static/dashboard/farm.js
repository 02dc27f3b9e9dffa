/*
 * The farm on every page: every refresh_seconds (2 s) this asks /api/farm and brings the
 * header's line in line with the answer -- the summary, and the red banner when a worker is
 * lost or a sub-process runs a stale configuration. On /farm it also redraws the tables and
 * each worker's spills/s sparkline (an inline SVG polyline).
 *
 * The server does all the formatting (farm.py's farm_view): the page and the answer carry the
 * same display strings, so this script only places them, and through textContent and
 * attributes only: a worker's name can never become markup. Configuration comes from the
 * json_script block "farm-config"; the page works, unrefreshed, without this script.
 */
(function () {
  "use strict";

  const configElement = document.getElementById("farm-config");
  const header = document.getElementById("farm-header");
  if (!configElement || !header) {
    return;
  }
  const config = JSON.parse(configElement.textContent);
  if (!config.live) {
    return;  // a past run's page polls nothing; its header is the farm as it was served
  }
  const period = Math.max(1, Number(config.refresh_seconds) || 2) * 1000;
  const summary = header.querySelector("[data-farm=summary]");
  const banner = header.querySelector("[data-farm=banner]");
  const workerTemplate = document.getElementById("farm-worker-template");
  let timer = null;

  function setText(element, value) {
    const text = value === null || value === undefined ? "" : String(value);
    if (element && element.textContent !== text) {
      element.textContent = text;
    }
  }

  function show(element, visible) {
    if (element) {
      element.hidden = !visible;
    }
  }

  function updateHeader(farm) {
    header.className = `farm-line farm-${farm.state}${farm.alarm ? " farm-alarm" : ""}`;
    setText(summary, farm.summary);
    setText(banner, farm.alarm ? farm.message : "");
    show(banner, farm.alarm);
  }

  function cell(tag, value) {
    const element = document.createElement(tag);
    element.textContent = value;
    return element;
  }

  /* Rows of two cells, [label, value], as the Run and go.py tables show them. */
  function pairRows(body, pairs, rowClass) {
    if (!body) {
      return;
    }
    body.replaceChildren(...pairs.map((pair) => {
      const row = document.createElement("tr");
      row.append(cell("th", pair[0]), cell("td", pair[1]));
      if (rowClass) {
        row.className = rowClass(pair);
      }
      return row;
    }));
  }

  function workerRow(worker) {
    const row = workerTemplate.content.firstElementChild.cloneNode(true);
    row.className = `worker worker-${worker.state}`;
    row.dataset.worker = worker.name;
    row.querySelectorAll("[data-field]").forEach((element) => {
      setText(element, worker[element.dataset.field]);
    });
    row.querySelector("[data-spark=points]").setAttribute("points", worker.sparkline);
    return row;
  }

  function updateTables(farm) {
    const tables = document.getElementById("farm-tables");
    if (!tables) {
      return;  // not /farm: the header only
    }
    const message = document.getElementById("farm-message");
    setText(message, farm.message);
    show(message, Boolean(farm.message));
    message.className = `banner ${farm.alarm ? "banner-error" : "banner-stale"}`;
    show(document.getElementById("farm-written"), farm.written !== null);
    setText(document.getElementById("farm-freshness"),
            farm.state === "ok" ? "Status" : "Last status, not the farm now:");
    document.querySelectorAll("#farm-written [data-farm]").forEach((element) => {
      setText(element, farm[element.dataset.farm]);
    });
    show(tables, farm.farm !== null);
    tables.classList.toggle("farm-old", farm.state !== "ok");
    document.getElementById("farm-workers").replaceChildren(...farm.workers.map(workerRow));
    show(document.getElementById("farm-no-workers"), farm.workers.length === 0);
    pairRows(document.getElementById("farm-run"), farm.run);
    pairRows(document.getElementById("farm-go"), farm.go);
    pairRows(document.getElementById("farm-servers"),
             farm.servers.map((server) => [server.name, server.text, server.up]),
             (pair) => (pair[2] ? "server-up" : "server-down"));
    document.getElementById("farm-alarms").replaceChildren(
      ...farm.alarms.map((alarm) => cell("li", alarm)));
    show(document.getElementById("farm-no-alarms"), farm.alarms.length === 0);
  }

  function poll() {
    timer = null;
    fetch(config.api_url, {headers: {Accept: "application/json"}, cache: "no-store"})
      .then((response) => {
        if (!response.ok) {
          throw new Error(`HTTP ${response.status}`);
        }
        return response.json();
      })
      .then((farm) => {
        updateHeader(farm);
        updateTables(farm);
      })
      .catch(() => {
        // The dashboard's own banner (MAUS-302) says when the server cannot be reached; the
        // farm line keeps what it showed and the next poll tries again.
      })
      .finally(schedule);
  }

  function schedule() {
    if (timer === null && !document.hidden) {
      timer = window.setTimeout(poll, period);
    }
  }

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && timer === null) {
      poll();
    }
  });
  schedule();
}());
