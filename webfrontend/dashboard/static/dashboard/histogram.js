/*
 * MausHistogram: the histograms of a sidecar (UHI serialisation, schema 1; docs/histograms.md)
 * turned into plotly.js traces and layouts. Pure functions on data, no DOM and no plotly, so
 * they run under node too (webfrontend/jstests/histogram.test.js).
 *
 *   const spec = MausHistogram.plotSpec(histograms, {log: false});
 *   spec.panels.forEach((panel, i) => Plotly.react(divs[i], panel.data, panel.layout));
 *
 * 1D histograms of one image share a frame (one alone as bars, several as steps, as the
 * reducers draw them); each 2D histogram gets its own heatmap. The flow bins are left out of
 * the drawing (the detail page's table counts them). Each panel also says its kind ("1d" or
 * "2d") and the histograms it draws, for the overlays of overlay.js.
 */
(function (root, factory) {
  "use strict";
  const api = factory();
  if (typeof module === "object" && module.exports) {
    module.exports = api;
  } else {
    root.MausHistogram = api;
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  // The reducers' colours (reducers/style.py, Okabe-Ito), so the browser's TOF0 is the PNG's.
  const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];
  const FILL = "rgba(0, 114, 178, 0.25)";
  const FONT = {family: "system-ui, sans-serif", size: 13};

  function number(value) {
    return typeof value === "number" && Number.isFinite(value);
  }

  function short(value) {
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  }

  /* The bins of one UHI axis: their positions, hover labels and how many flow bins the
   * storage holds before and after them. Throws on an axis it cannot read. */
  function axisBins(axis) {
    const title = (axis.metadata && axis.metadata.label) || "";
    const type = axis.type;
    if (type === "regular" || type === "variable") {
      let edges;
      if (type === "regular") {
        if (!number(axis.lower) || !number(axis.upper) || !Number.isInteger(axis.bins) || axis.bins < 1) {
          throw new Error("regular axis without lower, upper and bins");
        }
        edges = Array.from({length: axis.bins + 1},
          (_, i) => axis.lower + (axis.upper - axis.lower) * i / axis.bins);
      } else {
        if (!Array.isArray(axis.edges) || axis.edges.length < 2 || !axis.edges.every(number)) {
          throw new Error("variable axis without edges");
        }
        edges = axis.edges.slice();
      }
      const count = edges.length - 1;
      const writer = (axis.writer_info || {})["boost-histogram"] || {};
      const integer = writer.orig_type === "Integer";
      const lower = edges.slice(0, count);
      const upper = edges.slice(1);
      if (integer) {
        // Bin i holds the integer lower + i: draw it centred there, from -0.5 to +0.5.
        edges = edges.map((edge) => edge - 0.5);
      }
      return {
        title, count, categorical: false, integer, edges,
        centers: integer ? lower.slice() : lower.map((low, i) => (low + upper[i]) / 2),
        labels: integer ? lower.map(short) : lower.map((low, i) => `${short(low)} – ${short(upper[i])}`),
        before: axis.underflow ? 1 : 0,
        after: axis.overflow ? 1 : 0,
      };
    }
    let categories;
    if (type === "category_str" || type === "category_int") {
      if (!Array.isArray(axis.categories) || axis.categories.length < 1) {
        throw new Error(`${type} axis without categories`);
      }
      categories = axis.categories.map(String);
    } else if (type === "boolean") {
      categories = ["false", "true"];
    } else {
      throw new Error(`axis type ${JSON.stringify(type)} is not a UHI axis type`);
    }
    return {
      title, count: categories.length, categorical: true, integer: false, edges: null,
      centers: categories, labels: categories, before: 0, after: axis.flow ? 1 : 0,
    };
  }

  /* The storage's values without the flow bins, still nested one level per axis. */
  function inRange(values, bins) {
    const [axis, ...rest] = bins;
    if (!Array.isArray(values) || values.length !== axis.count + axis.before + axis.after) {
      throw new Error(`storage does not hold ${axis.count} bins + ${axis.before + axis.after} flow`);
    }
    const kept = values.slice(axis.before, axis.before + axis.count);
    return rest.length ? kept.map((row) => inRange(row, rest)) : kept.map((v) => (number(v) ? v : null));
  }

  function contents(histogram) {
    const storage = histogram.storage || {};
    if (!Array.isArray(storage.values)) {
      throw new Error("no storage values");
    }
    return storage;
  }

  function yTitle(storage) {
    return /mean/.test(storage.type || "") ? "Mean" : "Entries";
  }

  function oneDimensional(histograms, options) {
    const steps = histograms.length > 1;
    let first = null;
    const data = histograms.map((histogram, index) => {
      const bins = axisBins(histogram.axes[0]);
      first = first || bins;
      const storage = contents(histogram);
      const y = inRange(storage.values, [bins]);
      const name = (histogram.metadata && histogram.metadata.name) || `histogram ${index + 1}`;
      const colour = COLOURS[index % COLOURS.length];
      const hover = `%{customdata}<br>${yTitle(storage).toLowerCase()}: %{y}<extra>%{fullData.name}</extra>`;
      if (steps && !bins.categorical) {
        // A step line through the bin edges: the last value is repeated to close the last bin.
        return {
          type: "scatter", mode: "lines", name, x: bins.edges, y: y.concat([y[y.length - 1]]),
          customdata: bins.labels.concat([bins.labels[bins.labels.length - 1]]),
          line: {shape: "hv", color: colour, width: 2}, hovertemplate: hover,
        };
      }
      const trace = {
        type: "bar", name, x: bins.centers, y, customdata: bins.labels, hovertemplate: hover,
        marker: {color: steps ? colour : FILL, line: {color: colour, width: 1}},
      };
      if (!bins.categorical) {
        trace.width = bins.edges.slice(1).map((edge, i) => edge - bins.edges[i]);
      }
      if (Array.isArray(storage.variances) && storage.type === "weighted") {
        trace.error_y = {type: "data", visible: true, color: colour,
          array: inRange(storage.variances, [bins]).map((v) => (v === null ? null : Math.sqrt(v)))};
      }
      return trace;
    });
    return {
      kind: "1d", histograms, data,  // kind and histograms: for overlay.js, not for plotly
      layout: {
        font: FONT, margin: {l: 70, r: 20, t: 20, b: 60}, barmode: steps ? "group" : "overlay",
        bargap: 0, showlegend: histograms.length > 1, hovermode: "closest",
        legend: {orientation: "h", y: 1.02, yanchor: "bottom", x: 1, xanchor: "right"},
        xaxis: {title: {text: first.title}, type: first.categorical ? "category" : "linear",
          uirevision: "keep", dtick: first.integer && first.count <= 30 ? 1 : undefined},
        yaxis: {title: {text: yTitle(contents(histograms[0]))}, type: options.log ? "log" : "linear",
          uirevision: options.log ? "log" : "linear", rangemode: "tozero"},
      },
    };
  }

  function twoDimensional(histogram, options, index) {
    const bins = histogram.axes.map(axisBins);
    const [xBins, yBins] = bins;
    const values = inRange(contents(histogram).values, bins);
    // UHI nests x outside y; plotly's z is rows of y.
    const z = yBins.centers.map((_, j) => xBins.centers.map((__, i) => values[i][j]));
    const shown = options.log ? z.map((row) => row.map((v) => (v > 0 ? Math.log10(v) : null))) : z;
    const name = (histogram.metadata && histogram.metadata.name) || `histogram ${index + 1}`;
    const where = (b) => (b.categorical ? b.labels : b.edges);
    return {
      kind: "2d", histograms: [histogram],
      data: [{
        type: "heatmap", name, x: where(xBins), y: where(yBins), z: shown, text: z,
        colorscale: "Viridis", zmin: options.log ? undefined : 0,
        colorbar: {title: {text: options.log ? "log10(entries)" : "entries"}},
        hovertemplate: `${xBins.title || "x"}: %{x}<br>${yBins.title || "y"}: %{y}<br>entries: %{text}<extra>${name}</extra>`,
      }],
      layout: {
        font: FONT, margin: {l: 70, r: 20, t: 30, b: 60}, title: {text: name, font: {size: 14}},
        xaxis: {title: {text: xBins.title}, uirevision: "keep"},
        yaxis: {title: {text: yBins.title}, uirevision: "keep"},
      },
    };
  }

  /* Panels to draw for an image's histograms, and messages about those that cannot be. */
  function plotSpec(histograms, options) {
    options = options || {};
    const panels = [];
    const messages = [];
    if (!Array.isArray(histograms) || histograms.length === 0) {
      return {panels, messages: ["This plot carries no histogram data."]};
    }
    const ones = [];
    histograms.forEach((histogram, index) => {
      const dimensions = histogram && Array.isArray(histogram.axes) ? histogram.axes.length : 0;
      try {
        if (dimensions === 1) {
          axisBins(histogram.axes[0]);
          ones.push(histogram);
        } else if (dimensions === 2) {
          panels.push(twoDimensional(histogram, options, index));
        } else {
          messages.push(`Histogram ${index + 1} has ${dimensions} axes; only 1D and 2D are drawn.`);
        }
      } catch (error) {
        messages.push(`Histogram ${index + 1} cannot be drawn: ${error.message}.`);
      }
    });
    if (ones.length) {
      try {
        panels.unshift(oneDimensional(ones, options));
      } catch (error) {
        messages.push(`The 1D histograms cannot be drawn: ${error.message}.`);
      }
    }
    return {panels, messages};
  }

  return {axisBins, inRange, plotSpec, number, COLOURS, FONT};
});
