/*
 * The big-screen quality page (/quality) keeps itself up to date: every refresh_seconds it asks
 * /api/quality for the run's quality summary and, when it changed, redraws the overall tile and
 * one tile per detector group. Text from the server goes in through textContent only, and a
 * level becomes a class name only when it is one of the four levels.
 *
 * The server renders the first state (the page works without this script); the configuration
 * comes from the json_script block "quality-config". An archived run's page does not poll.
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("quality-config").textContent);
  const overall = document.getElementById("quality-overall");
  const tiles = document.getElementById("quality-tiles");
  const messageBanner = document.getElementById("quality-message");
  const connectionBanner = document.getElementById("connection");
  const period = Math.max(1, Number(config.refresh_seconds) || 5) * 1000;
  const LEVELS = ["Good", "Medium", "Bad", "Null"];
  let shown = null;
  let lostSince = null;

  function levelClass(level) {
    return `quality-${LEVELS.includes(level) ? level : "none"}`;
  }

  function element(name, className, text) {
    const node = document.createElement(name);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function levelLine(item, className) {
    const line = element("p", className);
    const icon = element("span", "quality-icon", item.icon);
    icon.setAttribute("aria-hidden", "true");
    line.append(icon, " ", element("span", "quality-word", item.word));
    return line;
  }

  function countsText(counts) {
    return `${counts.Good} Good · ${counts.Medium} Medium · ${counts.Bad} Bad · ${counts.Null} no check`;
  }

  /* One tile, the same markup as templates/dashboard/_quality_tile.html. */
  function tile(group) {
    const section = element("section", `quality-tile ${levelClass(group.level)}`);
    section.dataset.group = group.name;
    section.dataset.level = group.level;
    section.append(element("h2", "tile-name", group.name), levelLine(group, "tile-level"),
                   element("p", "tile-counts", countsText(group.counts)));
    const list = element("ul", "tile-plots");
    group.plots.filter((plot) => plot.level === "Bad" || plot.level === "Medium").forEach((plot) => {
      const item = element("li", levelClass(plot.level));
      item.dataset.tag = plot.tag;
      const icon = element("span", "quality-icon", plot.icon);
      icon.setAttribute("aria-hidden", "true");
      item.append(icon, " ", element("span", "quality-word", plot.word), " ");
      if (plot.detail_url) {
        const link = element("a", "", plot.tag);
        link.href = plot.detail_url;
        item.append(link);
      } else {
        item.append(plot.tag);
      }
      if (plot.reason) {
        item.append(": ", element("span", "tile-reason", plot.reason));
      }
      list.append(item);
    });
    section.append(list);
    return section;
  }

  function showBanner(banner, message) {
    if (banner.textContent !== message) {
      banner.textContent = message;
    }
    banner.hidden = !message;
  }

  function render(summary) {
    const wanted = JSON.stringify(summary);
    if (wanted === shown) {
      return;  // unchanged: the tiles stay as they are
    }
    shown = wanted;
    overall.className = `quality-tile quality-overall ${levelClass(summary.level)}`;
    overall.dataset.level = summary.level;
    overall.querySelector("[data-field=run_number]").textContent =
      summary.run_number === null ? "—" : String(summary.run_number);
    overall.querySelector("[data-field=icon]").textContent = summary.icon;
    overall.querySelector("[data-field=word]").textContent = summary.word;
    overall.querySelector("[data-field=time]").textContent = summary.time || "—";
    overall.querySelectorAll("[data-count]").forEach((node) => {
      node.textContent = String(summary.counts[node.dataset.count]);
    });
    overall.hidden = false;
    tiles.replaceChildren(...summary.groups.map(tile));
  }

  /* One look at /api/quality; a look still on its way when the next is due is not doubled. */
  let asking = false;
  async function refresh() {
    if (asking || document.hidden) {
      return;
    }
    asking = true;
    try {
      const response = await fetch(config.api_url, {headers: {Accept: "application/json"}, cache: "no-store"});
      const answer = await response.json();
      if (!response.ok && !(response.status === 404 && answer.error)) {
        throw new Error(`the server answered ${response.status}`);
      }
      showBanner(messageBanner, response.ok ? "" : answer.error);  // MAUS-317: no summary yet
      if (response.ok) {
        render(answer);
      }
      lostSince = null;
      showBanner(connectionBanner, "");
    } catch (error) {
      lostSince = lostSince || new Date();
      showBanner(connectionBanner, `MAUS-302 No update since ${lostSince.toLocaleTimeString()}: ` +
        `${error.message}. Retrying every ${period / 1000} s; the plots shown may be old. ` +
        "[docs/recovery.md#maus-302]");  // the catalogued text (maus_online/catalogue.py)
    } finally {
      asking = false;
    }
  }

  // An archived run's quality is final as served; a hidden tab does not ask, and coming back
  // shows the present at once.
  if (config.live !== false) {
    setInterval(refresh, period);
    document.addEventListener("visibilitychange", refresh);
  }
})();
