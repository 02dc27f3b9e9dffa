// Unit tests of static/dashboard/histogram.js under node's own test runner:
//   node --test webfrontend/jstests/
// (tests/test_webfrontend_js.py runs them with the Python suite.)
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const H = require(path.join(__dirname, "..", "dashboard", "static", "dashboard", "histogram.js"));

function regular(values, extra) {
  return {
    uhi_schema: 1, metadata: {name: "Triggers"},
    axes: [Object.assign({type: "regular", lower: 20, upper: 40, bins: values.length - 2,
      underflow: true, overflow: true, metadata: {label: "t [ns]"}}, extra || {})],
    storage: {type: "int", values},
  };
}

test("a regular axis gives edges, centres and range labels, without the flow bins", () => {
  const bins = H.axisBins(regular([9, 1, 2, 3, 4, 9]).axes[0]);
  assert.deepEqual(bins.edges, [20, 25, 30, 35, 40]);
  assert.deepEqual(bins.centers, [22.5, 27.5, 32.5, 37.5]);
  assert.deepEqual(bins.labels, ["20 – 25", "25 – 30", "30 – 35", "35 – 40"]);
  assert.equal(bins.title, "t [ns]");
  assert.deepEqual([bins.before, bins.after], [1, 1]);
});

test("an integer axis (slabs) puts its bars on the integers", () => {
  const axis = {type: "regular", lower: 0, upper: 3, bins: 3, underflow: true, overflow: true,
    writer_info: {"boost-histogram": {orig_type: "Integer"}}};
  const bins = H.axisBins(axis);
  assert.deepEqual(bins.centers, [0, 1, 2]);
  assert.deepEqual(bins.labels, ["0", "1", "2"]);
  assert.deepEqual(bins.edges, [-0.5, 0.5, 1.5, 2.5]);
});

test("variable, category and boolean axes", () => {
  assert.deepEqual(H.axisBins({type: "variable", edges: [0, 1, 3]}).centers, [0.5, 2]);
  const categories = H.axisBins({type: "category_str", categories: ["a", "b"], flow: true});
  assert.deepEqual([categories.labels, categories.categorical, categories.after], [["a", "b"], true, 1]);
  assert.deepEqual(H.axisBins({type: "boolean"}).labels, ["false", "true"]);
  assert.throws(() => H.axisBins({type: "weird"}), /not a UHI axis type/);
  assert.throws(() => H.axisBins({type: "regular", lower: "0", upper: 1, bins: 1}), /regular axis/);
});

test("one 1D histogram is drawn as bars with bin ranges on hover", () => {
  const spec = H.plotSpec([regular([9, 1, 2, 3, 4, 9])]);
  assert.equal(spec.panels.length, 1);
  const [trace] = spec.panels[0].data;
  assert.equal(trace.type, "bar");
  assert.deepEqual(trace.y, [1, 2, 3, 4]);
  assert.deepEqual(trace.width, [5, 5, 5, 5]);
  assert.match(trace.hovertemplate, /%\{customdata\}/);
  assert.equal(spec.panels[0].layout.yaxis.type, "linear");
  assert.equal(H.plotSpec([regular([0, 1, 0])], {log: true}).panels[0].layout.yaxis.type, "log");
});

test("several 1D histograms share a frame as step lines in the reducers' colours", () => {
  const a = regular([0, 1, 2, 0]);
  const b = regular([0, 3, 4, 0]);
  b.metadata.name = "TOF1";
  const {panels} = H.plotSpec([a, b]);
  assert.equal(panels.length, 1);
  const [first, second] = panels[0].data;
  assert.equal(first.line.shape, "hv");
  assert.deepEqual(first.x, [20, 30, 40]);
  assert.deepEqual(second.y, [3, 4, 4]);
  assert.equal(second.name, "TOF1");
  assert.deepEqual([first.line.color, second.line.color], H.COLOURS.slice(0, 2));
  assert.equal(panels[0].layout.showlegend, true);
});

test("a 2D histogram becomes a heatmap with y as rows; log scale uses log10", () => {
  const histogram = {
    uhi_schema: 1, metadata: {name: "TOF0"},
    axes: [
      {type: "regular", lower: 0, upper: 2, bins: 2, underflow: true, overflow: true, metadata: {label: "x [mm]"}},
      {type: "regular", lower: 0, upper: 3, bins: 3, underflow: false, overflow: false, metadata: {label: "y [mm]"}},
    ],
    // x outside (with its flow bins), y inside.
    storage: {type: "int", values: [[7, 7, 7], [1, 10, 100], [0, 2, 0], [7, 7, 7]]},
  };
  const [trace] = H.plotSpec([histogram]).panels[0].data;
  assert.equal(trace.type, "heatmap");
  assert.deepEqual(trace.z, [[1, 0], [10, 2], [100, 0]]);
  assert.deepEqual(trace.x, [0, 1, 2]);
  const [logged] = H.plotSpec([histogram], {log: true}).panels[0].data;
  assert.deepEqual(logged.z, [[0, null], [1, Math.log10(2)], [2, null]]);
  assert.deepEqual(logged.text, trace.z);  // hover shows the real contents
});

test("weighted storage gets error bars from the variances", () => {
  const histogram = regular([0, 4, 9, 0]);
  histogram.storage = {type: "weighted", values: [0, 4, 9, 0], variances: [0, 4, 9, 0]};
  const [trace] = H.plotSpec([histogram]).panels[0].data;
  assert.deepEqual(trace.error_y.array, [2, 3]);
});

test("what cannot be drawn is said, and the rest is drawn", () => {
  const threeD = {axes: [{type: "boolean"}, {type: "boolean"}, {type: "boolean"}], storage: {values: []}};
  const broken = regular([1, 2]);  // holds fewer values than its bins need
  const spec = H.plotSpec([threeD, regular([0, 5, 0])]);
  assert.equal(spec.panels.length, 1);
  assert.match(spec.messages[0], /3 axes/);
  assert.match(H.plotSpec([broken]).messages[0], /cannot be drawn/);
  assert.deepEqual(H.plotSpec([]).messages, ["This plot carries no histogram data."]);
  assert.deepEqual(H.plotSpec(undefined).panels, []);
});
