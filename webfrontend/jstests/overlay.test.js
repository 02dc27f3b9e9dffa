// Unit tests of static/dashboard/overlay.js under node's own test runner:
//   node --test webfrontend/jstests/
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const O = require(path.join(__dirname, "..", "dashboard", "static", "dashboard", "overlay.js"));

function regular(values, name, extra) {
  return {
    uhi_schema: 1, metadata: {name: name || "Triggers"},
    axes: [Object.assign({type: "regular", lower: 20, upper: 40, bins: values.length - 2,
      underflow: true, overflow: true, metadata: {label: "t [ns]"}}, extra || {})],
    storage: {type: "int", values},
  };
}

function grid(values, name) {
  const axis = {type: "regular", underflow: false, overflow: false};
  return {metadata: {name: name || "TOF1"},
    axes: [Object.assign({lower: 0, upper: 2, bins: 2}, axis), Object.assign({lower: 0, upper: 2, bins: 2}, axis)],
    storage: {type: "int", values}};
}

test("the compared run is scaled to this run's entries, flow bins included", () => {
  const mine = regular([0, 4, 8, 4, 0]);
  const theirs = regular([1, 1, 2, 4, 0]);  // 8 entries against 16: ×2
  const {panels, messages} = O.plotSpec([mine], {compare: {run_number: 7, histograms: [theirs]}});
  assert.deepEqual(messages, []);
  const overlay = panels[0].data.find((trace) => trace.name.startsWith("run 7"));
  assert.equal(overlay.name, "run 7 (×2)");
  assert.deepEqual(overlay.y, [2, 4, 8, 8]);  // the last value closes the last step
  assert.equal(overlay.line.dash, "dot");
  assert.equal(panels[0].data[0].name, "Triggers, this run");
});

test("the ratio panel divides bin by bin; a bin the compared run left empty is a gap", () => {
  const mine = regular([0, 4, 0, 3, 0]);
  const theirs = regular([0, 2, 3, 0, 2]);   // 7 entries each: ×1
  const {panels} = O.plotSpec([mine], {compare: {run_number: 7, histograms: [theirs]}});
  const panel = panels[0];
  assert.equal(panel.ratio, true);
  const ratio = panel.data.find((trace) => trace.yaxis === "y2");
  assert.deepEqual(ratio.y, [2, 0, null]);
  assert.equal(ratio.error_y.array[0], 2 * Math.sqrt(1 / 4 + 1 / 2));
  assert.deepEqual(ratio.error_y.array.slice(1), [null, null]);
  assert.deepEqual(panel.layout.yaxis2.domain, [0, 0.24]);
  assert.equal(panel.layout.xaxis.anchor, "y2");
  assert.equal(panel.layout.shapes[0].y0, 1);
});

test("other bins are overlaid without a ratio, and say so", () => {
  const {panels, messages} = O.plotSpec([regular([0, 1, 2, 0])],
    {compare: {run_number: 7, histograms: [regular([0, 1, 2, 3, 0])]}});
  assert.equal(panels[0].ratio, undefined);
  assert.equal(panels[0].data.length, 2);
  assert.deepEqual(messages, ["Run 7's Triggers has other bins: overlaid, but no ratio."]);
});

test("an empty compared histogram cannot be normalised: a message, no overlay", () => {
  const {panels, messages} = O.plotSpec([regular([0, 1, 2, 0])],
    {compare: {run_number: 7, histograms: [regular([0, 0, 0, 0])]}});
  assert.equal(panels[0].data.length, 1);
  assert.match(messages[0], /^Run 7's Triggers cannot be overlaid: one of the two has no entries/);
});

test("the reference is dashed and labelled, and never divided", () => {
  const {panels} = O.plotSpec([regular([0, 1, 2, 0])],
    {reference: {run_number: 3, histograms: [regular([0, 2, 4, 0])]}});
  const [, reference] = panels[0].data;
  assert.equal(reference.name, "reference run 3 (×0.5)");
  assert.equal(reference.line.dash, "dash");
  assert.equal(panels[0].ratio, undefined);
});

test("several histograms are matched by name, in their own colours", () => {
  const a = regular([0, 1, 1, 0], "TOF0");
  const b = regular([0, 2, 2, 0], "TOF1");
  const {panels} = O.plotSpec([a, b], {compare: {run_number: 7, histograms: [
    regular([0, 4, 4, 0], "TOF1"), regular([0, 1, 1, 0], "TOF0")]}});
  const names = panels[0].data.map((trace) => trace.name);
  assert.deepEqual(names.slice(0, 4), ["TOF0, this run", "TOF1, this run", "TOF0, run 7 (×1)",
    "TOF1, run 7 (×0.5)"]);
  assert.equal(panels[0].data.filter((trace) => trace.yaxis === "y2").length, 2);
});

test("a 2D histogram gets a difference map below it", () => {
  const mine = grid([[4, 0], [2, 2]]);
  const theirs = grid([[1, 1], [1, 1]]);   // 8 against 4: ×2
  const {panels, messages} = O.plotSpec([mine], {compare: {run_number: 7, histograms: [theirs]},
    reference: {run_number: 3, histograms: [theirs]}});
  assert.equal(panels.length, 2);
  assert.equal(panels[1].kind, "2d-difference");
  assert.deepEqual(panels[1].data[0].z, [[2, 0], [-2, 0]]);  // rows of y
  assert.equal(panels[1].data[0].zmid, 0);
  assert.deepEqual(messages, ["Reference run 3 is drawn on 1D histograms only."]);
});

test("without overlays the spec is histogram.js's own", () => {
  const spec = O.plotSpec([regular([0, 1, 0])], {compare: null, reference: {run_number: 3}});
  assert.equal(spec.panels[0].data.length, 1);
  assert.deepEqual(O.ratio([1, 2, null], [0, 4, 1]), [null, 0.5, null]);
});
