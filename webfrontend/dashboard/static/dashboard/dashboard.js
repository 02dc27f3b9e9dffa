/*
 * The dashboard keeps itself up to date: every refresh_seconds it asks /api/dashboard (with the
 * page's search) for the plots and brings the page in line with the answer, touching only what
 * changed. A changed image is loaded and decoded off-screen first and then put in place of the
 * old one, so the shifter never sees an empty frame. Text from the server goes in through
 * textContent only: a keyword or description can never become markup.
 *
 * The server renders the first state (the page works without this script); this script reads
 * its configuration from the json_script block "dashboard-config", and clones the <template>s
 * "group-template" and "card-template" for groups and plots that appear later.
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("dashboard-config").textContent);
  const groupsBox = document.getElementById("groups");
  const freshnessBanner = document.getElementById("freshness");
  const connectionBanner = document.getElementById("connection");
  const groupTemplate = document.getElementById("group-template");
  const cardTemplate = document.getElementById("card-template");
  const period = Math.max(1, Number(config.refresh_seconds) || 5) * 1000;
  let timer = null;
  let lostSince = null;

  function children(parent) {
    return Array.from(parent.children);
  }

  /* Put node right after previous (first when previous is null), moving it only if needed:
   * a node already in place is not touched, so its image is not disturbed. */
  function place(parent, node, previous) {
    const expected = previous ? previous.nextElementSibling : parent.firstElementChild;
    if (expected !== node) {
      parent.insertBefore(node, expected);
    }
  }

  function text(value) {
    return value === null || value === undefined ? "—" : String(value);
  }

  function keywordLink(keyword) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = `${config.dashboard_url}?${new URLSearchParams({keyword})}`;
    link.textContent = keyword;
    item.appendChild(link);
    return item;
  }

  function swapImage(card, image) {
    const current = card.querySelector(".plot-image, .no-preview");
    if (!image.browser_displayable) {
      const note = document.createElement("span");
      note.className = "no-preview";
      note.textContent = `${image.image_type.toUpperCase()} image: open the plot to download it`;
      current.replaceWith(note);
      card.dataset.version = image.version;
      return;
    }
    if (card.dataset.loading === image.version) {
      return;  // already on its way
    }
    card.dataset.loading = image.version;
    const next = new Image(640, 480);
    next.className = "plot-image";
    next.alt = image.tag;
    next.src = image.image_url;
    next.decode().then(() => {
      // A newer version may have started loading meanwhile; only the newest goes in.
      if (card.dataset.loading === image.version) {
        card.querySelector(".plot-image, .no-preview").replaceWith(next);
        card.dataset.version = image.version;
        delete card.dataset.loading;
      }
    }).catch(() => {
      // Keep the old image; the next poll tries again.
      delete card.dataset.loading;
    });
  }

  const QUALITY_CLASSES = ["quality-Good", "quality-Medium", "quality-Bad", "quality-Null", "quality-none"];

  function setClassLevel(element, level) {
    const wanted = `quality-${level || "none"}`;
    if (!element.classList.contains(wanted)) {
      element.classList.remove(...QUALITY_CLASSES);
      element.classList.add(wanted);
    }
  }

  function setText(element, value) {
    if (element && element.textContent !== value) {
      element.textContent = value;
    }
  }

  /* The card's quality frame (a class: the server checked the level is one of four), its
   * badge (icon and word) and the reason, shown on hover as the card's title. */
  function updateQuality(card, quality) {
    const level = (quality && quality.level) || "";
    setClassLevel(card, level);
    card.dataset.quality = level;
    const reason = (quality && quality.reason) || "";
    if (card.title !== reason) {
      card.title = reason;
    }
    const badge = card.querySelector("[data-quality-badge]");
    if (badge) {
      badge.hidden = !level;
      setText(badge.querySelector(".quality-icon"), (quality && quality.icon) || "");
      setText(badge.querySelector(".quality-word"), (quality && quality.word) || "");
      setText(badge.querySelector(".quality-reason"), reason);
    }
  }

  function updateQualityBar(summary) {
    const bar = document.getElementById("quality-bar");
    if (!bar || !summary) {
      return;
    }
    setClassLevel(bar, summary.level);
    bar.querySelectorAll("[data-count]").forEach((element) => {
      setText(element, String(summary.counts[element.dataset.count] || 0));
    });
  }

  function updateCard(card, image) {
    card.dataset.series = image.series;
    updateQuality(card, image.quality);
    card.querySelectorAll("[data-field]").forEach((element) => {
      const field = element.dataset.field;
      if (field === "keywords") {
        const wanted = JSON.stringify(image.keywords);
        if (element.dataset.keywords !== wanted) {
          element.replaceChildren(...image.keywords.map(keywordLink));
          element.dataset.keywords = wanted;
        }
      } else if (field in image) {
        const value = text(image[field]);
        if (element.textContent !== value) {
          element.textContent = value;
        }
      }
    });
    card.querySelectorAll("a[data-link=detail]").forEach((link) => {
      link.href = image.detail_url;
    });
    if (card.dataset.version !== image.version) {
      swapImage(card, image);
    }
  }

  function newFromTemplate(template) {
    return template.content.firstElementChild.cloneNode(true);
  }

  function updateCards(grid, images) {
    const existing = new Map(children(grid).map((card) => [card.dataset.series, card]));
    let previous = null;
    images.forEach((image) => {
      let card = existing.get(image.series);
      existing.delete(image.series);
      if (!card) {
        card = newFromTemplate(cardTemplate);
        card.dataset.version = "";
      }
      place(grid, card, previous);
      updateCard(card, image);
      previous = card;
    });
    existing.forEach((card) => card.remove());
  }

  function updateGroups(groups) {
    const existing = new Map(children(groupsBox).map((section) => [section.dataset.group, section]));
    let previous = null;
    groups.forEach((group) => {
      let section = existing.get(group.title);
      existing.delete(group.title);
      if (!section) {
        section = newFromTemplate(groupTemplate);
        section.dataset.group = group.title;
        section.querySelector(".group-title").textContent = group.title;
      }
      place(groupsBox, section, previous);
      updateCards(section.querySelector(".grid"), group.images);
      previous = section;
    });
    existing.forEach((section) => section.remove());
  }

  function showBanner(banner, message) {
    if (banner.textContent !== message) {
      banner.textContent = message;
    }
    banner.hidden = !message;
  }

  function render(data) {
    showBanner(freshnessBanner, data.freshness.message);
    const run = document.getElementById("run-number");
    if (run) {
      run.textContent = text(data.run_number);
    }
    updateGroups(data.groups);
    updateQualityBar(data.quality);
    const count = document.querySelector("#search-summary [data-field=plot_count]");
    if (count) {
      count.textContent = String(data.groups.reduce((sum, group) => sum + group.images.length, 0));
    }
  }

  async function poll() {
    timer = null;
    try {
      const response = await fetch(config.api_url, {headers: {Accept: "application/json"}, cache: "no-store"});
      if (!response.ok) {
        throw new Error(`the server answered ${response.status}`);
      }
      render(await response.json());
      lostSince = null;
      showBanner(connectionBanner, "");
    } catch (error) {
      lostSince = lostSince || new Date();
      showBanner(connectionBanner, `MAUS-302 No update since ${lostSince.toLocaleTimeString()}: ` +
        `${error.message}. Retrying every ${period / 1000} s; the plots shown may be old. ` +
        "[docs/recovery.md#maus-302]");  // the catalogued text (maus_online/catalogue.py)
    } finally {
      schedule();
    }
  }

  function schedule() {
    if (timer === null && !document.hidden) {
      timer = setTimeout(poll, period);
    }
  }

  // The quality filter hides the Good and unchecked cards in place (CSS), so it holds across
  // refreshes and works on a past run's page too; without this script it stays hidden.
  const qualityFilter = document.getElementById("quality-filter");
  if (qualityFilter) {
    const applyFilter = () => groupsBox.classList.toggle("only-problems", qualityFilter.checked);
    qualityFilter.closest("label").hidden = false;
    qualityFilter.addEventListener("change", applyFilter);
    applyFilter();
  }

  // An archived run's page is final as served: nothing to poll.
  if (config.live === false) {
    return;
  }

  // A hidden tab does not poll; coming back shows the present at once.
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) {
      if (timer !== null) {
        clearTimeout(timer);
      }
      poll();
    }
  });

  schedule();
})();
