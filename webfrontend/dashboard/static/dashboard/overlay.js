/*
 * MausOverlay: another run's histograms of the same plot (?compare=N) and the sidecar's
 * reference run, drawn over what MausHistogram draws. Pure functions on data, like
 * histogram.js, so they run under node too (webfrontend/jstests/overlay.test.js).
 *
 *   const spec = MausOverlay.plotSpec(histograms,
 *       {log: false, compare: {run_number: 7, histograms: [...]}, reference: {...}});
 *
 * 1D: an overlaid histogram is scaled to the entries (flow bins included) of the histogram it
 * is drawn over, and drawn as a step line: the compared run dotted, the reference dashed. Below
 * the frame, a ratio panel: this run / the compared run (scaled), bin by bin, where the two
 * have the same bins. A bin the compared run left empty has no ratio (a gap, not a spike); a
 * bin only this run left empty is 0. Error bars: Poisson on both counts.
 * 2D: below each heatmap, a difference map, this run − the compared run (scaled): red where
 * this run has more, blue where it has fewer. (A side-by-side pair of heatmaps hides a
 * drift of a few per cent; the difference shows it.)
 */
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) {
    module.exports = factory(require("./histogram.js"));
  } else {
    root.MausOverlay = factory(root.MausHistogram);
  }
})(typeof self !== "undefined" ? self : this, function (H) {
  "use strict";

  const COMPARE = {dash: "dot", width: 2.5, colour: "#1d2630"};
  const REFERENCE = {dash: "dash", width: 2, colour: "#7f7f7f"};
  const DIFFERENCE = [[0, "#2166ac"], [0.5, "#f7f7f7"], [1, "#b2182b"]];

  /* Every bin of nested storage values summed; missing values count nothing. */
  function total(values) {
    return values.reduce((sum, v) => sum + (Array.isArray(v) ? total(v) : (H.number(v) ? v : 0)), 0);
  }

  /* The factor that gives `other` the entries of `histogram`; null when either is empty. */
  function scaleFactor(histogram, other) {
    const mine = total(histogram.storage.values);
    const theirs = total(other.storage.values);
    return mine > 0 && theirs > 0 ? mine / theirs : null;
  }

  /* mine / theirs bin by bin: null where theirs is empty or either value is missing. */
  function ratio(mine, theirs) {
    return mine.map((value, i) => {
      const other = theirs[i];
      return H.number(value) && H.number(other) && other !== 0 ? value / other : null;
    });
  }

  function ratioErrors(ratios, mine, theirsCounted) {
    return ratios.map((r, i) => (r === null || !(mine[i] > 0) || !(theirsCounted[i] > 0) ? null
      : r * Math.sqrt(1 / mine[i] + 1 / theirsCounted[i])));
  }

  function sameBins(a, b) {
    if (a.count !== b.count || a.categorical !== b.categorical) {
      return false;
    }
    const close = (x, y) => Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
    return a.categorical ? a.labels.every((label, i) => label === b.labels[i])
      : a.edges.every((edge, i) => close(edge, b.edges[i]));
  }

  function nameOf(histogram, index) {
    return (histogram.metadata && histogram.metadata.name) || `histogram ${index + 1}`;
  }

  /* The histogram of `others` drawn over `histogram`: the one of the same name, else the one
   * at the same place in the sidecar (`index`). */
  function partner(others, histogram, index) {
    const name = histogram.metadata && histogram.metadata.name;
    const named = name ? others.filter((o) => o && o.metadata && o.metadata.name === name) : [];
    const found = named.length === 1 ? named[0] : others[index];
    return found && Array.isArray(found.axes) && found.storage ? found : null;
  }

  function factorText(factor) {
    return String(Number(factor.toPrecision(3)));
  }

  /* One overlaid 1D histogram as a step line, scaled; throws when it cannot be drawn. */
  function scaledLine(histogram, other, label, style, colour) {
    const bins = H.axisBins(histogram.axes[0]);
    const otherBins = H.axisBins(other.axes[0]);
    const factor = scaleFactor(histogram, other);
    if (factor === null) {
      throw new Error("one of the two has no entries, so there is nothing to normalise");
    }
    const counted = H.inRange(other.storage.values, [otherBins]);
    const y = counted.map((v) => (v === null ? null : v * factor));
    const line = {color: colour || style.colour, width: style.width, dash: style.dash};
    const hovertemplate = `%{customdata}<br>entries ×${factorText(factor)}: %{y:.4g}` +
      "<extra>%{fullData.name}</extra>";
    const name = `${label} (×${factorText(factor)})`;
    const trace = otherBins.categorical
      ? {type: "scatter", mode: "lines+markers", name, x: otherBins.centers, y,
        customdata: otherBins.labels, line: Object.assign({shape: "hvh"}, line), hovertemplate}
      : {type: "scatter", mode: "lines", name, x: otherBins.edges, y: y.concat([y[y.length - 1]]),
        customdata: otherBins.labels.concat([otherBins.labels[otherBins.labels.length - 1]]),
        line: Object.assign({shape: "hv"}, line), hovertemplate};
    return {trace, bins, otherBins, y, counted};
  }

  function ratioTrace(histogram, drawn, label, colour) {
    const mine = H.inRange(histogram.storage.values, [drawn.bins]);
    const ratios = ratio(mine, drawn.y);
    return {
      type: "scatter", mode: "markers", xaxis: "x", yaxis: "y2", name: label, showlegend: false,
      x: drawn.bins.centers, y: ratios, customdata: drawn.bins.labels,
      marker: {color: colour, size: 5},
      error_y: {type: "data", visible: true, color: colour, thickness: 1, width: 0,
        array: ratioErrors(ratios, mine, drawn.counted)},
      hovertemplate: "%{customdata}<br>ratio: %{y:.3f}<extra>%{fullData.name}</extra>",
    };
  }

  function addRatioPanel(layout, runNumber) {
    layout.yaxis.domain = [0.32, 1];
    layout.yaxis2 = {domain: [0, 0.24], anchor: "x", title: {text: `this / run ${runNumber}`},
      rangemode: "tozero", zeroline: false, uirevision: "ratio"};
    layout.xaxis.anchor = "y2";
    layout.margin = Object.assign({}, layout.margin, {b: 50});
    layout.shapes = [{type: "line", xref: "paper", x0: 0, x1: 1, yref: "y2", y0: 1, y1: 1,
      line: {color: "#888", width: 1, dash: "dot"}}];
  }

  /* Overlays (and the ratio panel) on the 1D panel; messages say what could not be drawn. */
  function overlayOneDimensional(panel, all, extras, messages) {
    const several = panel.histograms.length > 1;
    const ratios = [];
    let overlaid = false;
    extras.forEach(({key, extra, style}) => {
      const label = key === "compare" ? `run ${extra.run_number}` : `reference run ${extra.run_number}`;
      const title = label.charAt(0).toUpperCase() + label.slice(1);
      panel.histograms.forEach((histogram, position) => {
        const index = all.indexOf(histogram);
        const name = nameOf(histogram, index);
        const other = partner(extra.histograms, histogram, index);
        if (!other || other.axes.length !== 1) {
          messages.push(`${title} has no 1D histogram ${name} to overlay.`);
          return;
        }
        const colour = several ? H.COLOURS[position % H.COLOURS.length] : null;
        let drawn;
        try {
          drawn = scaledLine(histogram, other, several ? `${name}, ${label}` : label, style, colour);
        } catch (error) {
          messages.push(`${title}'s ${name} cannot be overlaid: ${error.message}.`);
          return;
        }
        panel.data.push(drawn.trace);
        overlaid = true;
        if (key !== "compare") {
          return;
        }
        if (!sameBins(drawn.bins, drawn.otherBins)) {
          messages.push(`${title}'s ${name} has other bins: overlaid, but no ratio.`);
          return;
        }
        ratios.push(ratioTrace(histogram, drawn, `${several ? name + ": " : ""}this run / ${label}`,
          colour || COMPARE.colour));
      });
    });
    if (overlaid) {
      panel.data.forEach((trace, i) => {
        if (i < panel.histograms.length) {
          trace.name = `${trace.name}, this run`;
        }
      });
      panel.layout.showlegend = true;
    }
    if (ratios.length) {
      panel.data.push(...ratios);
      panel.ratio = true;
      addRatioPanel(panel.layout, extras.find((e) => e.key === "compare").extra.run_number);
    }
  }

  /* The difference map below a 2D panel, or null (with a message) when there is none. */
  function differencePanel(panel, all, compare, messages) {
    const histogram = panel.histograms[0];
    const index = all.indexOf(histogram);
    const name = nameOf(histogram, index);
    const label = `run ${compare.run_number}`;
    const other = partner(compare.histograms, histogram, index);
    if (!other || other.axes.length !== 2) {
      messages.push(`Run ${compare.run_number} has no 2D histogram ${name} to compare.`);
      return null;
    }
    try {
      const bins = histogram.axes.map(H.axisBins);
      const otherBins = other.axes.map(H.axisBins);
      if (!sameBins(bins[0], otherBins[0]) || !sameBins(bins[1], otherBins[1])) {
        messages.push(`Run ${compare.run_number}'s ${name} has other bins: no difference map.`);
        return null;
      }
      const factor = scaleFactor(histogram, other);
      if (factor === null) {
        throw new Error("one of the two has no entries, so there is nothing to normalise");
      }
      const mine = H.inRange(histogram.storage.values, bins);
      const theirs = H.inRange(other.storage.values, bins);
      // UHI nests x outside y; plotly's z is rows of y.
      const z = bins[1].centers.map((_, j) => bins[0].centers.map((__, i) =>
        (H.number(mine[i][j]) && H.number(theirs[i][j]) ? mine[i][j] - factor * theirs[i][j] : null)));
      const where = (b) => (b.categorical ? b.labels : b.edges);
      const [xTitle, yTitle] = bins.map((b) => b.title);
      return {
        kind: "2d-difference", histograms: [histogram, other],
        data: [{
          type: "heatmap", name: `${name}: this run − ${label}`, x: where(bins[0]), y: where(bins[1]),
          z, zmid: 0, colorscale: DIFFERENCE, colorbar: {title: {text: "difference"}},
          hovertemplate: `${xTitle || "x"}: %{x}<br>${yTitle || "y"}: %{y}<br>` +
            "difference: %{z:.4g}<extra>%{fullData.name}</extra>",
        }],
        layout: {
          font: H.FONT, margin: {l: 70, r: 20, t: 30, b: 60},
          title: {text: `${name}: this run − ${label} ×${factorText(factor)}`, font: {size: 14}},
          xaxis: {title: {text: xTitle}, uirevision: "keep"},
          yaxis: {title: {text: yTitle}, uirevision: "keep"},
        },
      };
    } catch (error) {
      messages.push(`Run ${compare.run_number}'s ${name} cannot be compared: ${error.message}.`);
      return null;
    }
  }

  function usable(extra) {
    return extra && Array.isArray(extra.histograms) && Number.isInteger(extra.run_number) ? extra : null;
  }

  /* MausHistogram.plotSpec's panels with the overlays of `options.compare` and
   * `options.reference` ({run_number, histograms}; either may be null). */
  function plotSpec(histograms, options) {
    options = options || {};
    const spec = H.plotSpec(histograms, options);
    const compare = usable(options.compare);
    const reference = usable(options.reference);
    if (!compare && !reference) {
      return spec;
    }
    const extras = [];
    if (compare) {
      extras.push({key: "compare", extra: compare, style: COMPARE});
    }
    if (reference) {
      extras.push({key: "reference", extra: reference, style: REFERENCE});
    }
    const panels = [];
    spec.panels.forEach((panel) => {
      panels.push(panel);
      if (panel.kind === "1d") {
        overlayOneDimensional(panel, histograms, extras, spec.messages);
      } else if (panel.kind === "2d" && compare) {
        const difference = differencePanel(panel, histograms, compare, spec.messages);
        if (difference) {
          panels.push(difference);
        }
      }
    });
    if (reference && spec.panels.some((panel) => panel.kind === "2d")) {
      spec.messages.push(`Reference run ${reference.run_number} is drawn on 1D histograms only.`);
    }
    return {panels, messages: spec.messages};
  }

  return {plotSpec, ratio, scaleFactor, total};
});
