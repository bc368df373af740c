// Beam search, in the browser: every node of one search arrives once as `data`
// (nmt_core/views/beam_data.py). The step slider, node selection, folding, pruned branches on/off,
// words/pieces, zoom and pan, the beam-at-step table and the node's details all redraw here.
//
// Legibility: only the branches that matter are drawn. A branch is "live" when it leads to a
// finished hypothesis or to the beam after the last step, to the beam at the chosen step, or to
// the selected node. Everything else under a drawn node folds into one "+k" marker (k nodes) until
// it is clicked open. The layout is the tidy one (leaves in order, parents centred), one label row
// per leaf and one label width per step column, so at the default zoom (1:1) no two labels overlap.
// User text reaches the page only through textContent / SVG text nodes, never innerHTML.

import { componentData, el, EOS, MARK, pieceLabel, setUrlParams } from "./shared.js";

const SVG = "http://www.w3.org/2000/svg";
const [PARENT, STEP, TOKEN, LOGPROB, SCORE, NORM, STATUS, RANK] = [0, 1, 2, 3, 4, 5, 6, 7];
const SCALE = 1000; // scores and attention weights arrive as integers in thousandths
const START = 0, KEPT = 1, PRUNED = 2, FINISHED = 3;
const COLORS = { 0: "#444444", 1: "#1f77b4", 2: "#b0b0b0", 3: "#2ca02c", best: "#d62728", path: "#ff7f0e" };
const memory = new Map();
// Label widths by font, measured on one canvas for the page's life: creating a 2D context costs milliseconds
// and a new search redraws mostly the same pieces (a generic family: no web font arrives later to change them).
const measurers = new Map(); // font size -> {context, widths: Map label -> px}
function measurer(font) {
  let m = measurers.get(font);
  if (!m) {
    const context = document.createElement("canvas").getContext("2d");
    context.font = `${font}px sans-serif`;
    m = { context, widths: new Map() };
    measurers.set(font, m);
  }
  return m;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  return node;
}

// The nodes arrive as columns (nmt_core/views/beam_data.py says how); each becomes one array
// [parent, step, token, logprob, score, normalised, status, rank], read by the code below. A node's step is its
// depth; a pruned node's normalised score is its score over the length penalty of that depth, as the search
// computed it. Unpacked once per message (keyed by its parsed column, not by the trace's id, which names the
// tokens and settings but not the model).
let unpacked = { from: null, nodes: null };
export function unpack(data) {
  if (unpacked.from === data.parent) return unpacked.nodes;
  const n = data.status.length;
  const parent = data.parent.map((delta, i) => i - delta);
  const step = new Int32Array(n).fill(-1);
  const depth = (i) => {
    const chain = [];
    while (step[i] < 0 && parent[i] >= 0) { chain.push(i); i = parent[i]; }
    if (step[i] < 0) step[i] = 0;
    for (let k = chain.length - 1; k >= 0; k--) step[chain[k]] = step[parent[chain[k]]] + 1;
  };
  const ranks = new Map(data.ranked.map((i, r) => [i, r + 1]));
  const nodes = new Array(n);
  // Scores in thousandths: sent as they are, or as score_delta (parents come first: their score is known).
  const milli = data.score || new Float64Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    depth(i);
    const status = data.status.charCodeAt(i) - 48;
    if (!data.score) {
      milli[i] = (parent[i] >= 0 && parent[i] < i ? milli[parent[i]] : 0) + data.logprob[i]
        + data.score_delta.charCodeAt(i) - 49;
    }
    const score = milli[i] / SCALE;
    let norm;
    if (data.norm_all) norm = data.norm_all[i] / SCALE;
    else if (status !== PRUNED) norm = data.norm[k++] / SCALE;
    else norm = score / Math.pow((5 + step[i]) / 6, data.alpha);
    nodes[i] = [parent[i], step[i], data.token[i], data.logprob[i] / SCALE, score, norm, status, ranks.get(i) || 0];
  }
  unpacked = { from: data.parent, nodes };
  return nodes;
}

export default function (component) {
  const { parentElement, key } = component;
  const data = componentData(component.data);
  if (!data || typeof data.status !== "string" || !Array.isArray(data.parent)) return undefined;
  const nodes = unpack(data);
  const N = nodes.length;
  const idOf = (i) => (data.ids ? data.ids[i] : i);
  const id = key || "beam";
  const remembered = memory.get(id);
  const same = remembered && remembered.trace === data.id && remembered.serverStep === data.step
    && remembered.serverNode === data.node;
  let step = same ? remembered.step : data.step || data.last_step;
  let selected = same ? remembered.selected : data.node;
  if (!(selected >= 0 && selected < N)) selected = data.best;
  let pieces = remembered ? remembered.pieces : false;
  let showPruned = remembered ? remembered.showPruned : true;
  let opened = same ? remembered.opened : new Set();
  let zoom = same ? remembered.zoom : 1;
  let pan = same ? remembered.pan : { x: 0, y: 0 };
  const big = !!data.classroom;
  const font = data.font_size || 13;

  // --- the tree's structure, once ---
  const children = Array.from({ length: N }, () => []);
  nodes.forEach((n, i) => { if (n[PARENT] >= 0) children[n[PARENT]].push(i); });
  children.forEach((kids) => kids.sort((a, b) => nodes[b][SCORE] - nodes[a][SCORE] || a - b));
  // Node counts under each node, children before parents: the nodes bucketed by depth (one pass, not a sort).
  const subtree = new Int32Array(N).fill(1);
  const atDepth = [];
  nodes.forEach((n, i) => (atDepth[n[STEP]] || (atDepth[n[STEP]] = [])).push(i));
  for (let s = atDepth.length - 1; s >= 0; s--) {
    for (const i of atDepth[s] || []) if (nodes[i][PARENT] >= 0) subtree[nodes[i][PARENT]] += subtree[i];
  }
  const lastBeam = data.beams.length ? data.beams[data.beams.length - 1] : [];
  const finalLive = new Uint8Array(N);
  const markUp = (arr, i) => { while (i >= 0 && !arr[i]) { arr[i] = 1; i = nodes[i][PARENT]; } };
  nodes.forEach((n, i) => { if (n[STATUS] === FINISHED) markUp(finalLive, i); });
  lastBeam.forEach((i) => markUp(finalLive, i));
  const root = nodes.findIndex((n) => n[PARENT] < 0);

  const label = (i) => {
    const n = nodes[i];
    if (n[STATUS] === START) return "start";
    if (n[STATUS] === FINISHED) return (n[RANK] ? `#${n[RANK]} ` : "") + n[NORM].toFixed(2);
    return pieceLabel(data.tokens[n[TOKEN]], pieces);
  };
  const pathTo = (i) => { const p = []; while (i >= 0) { p.push(i); i = nodes[i][PARENT]; } return p.reverse(); };
  const hypothesis = (i) => pathTo(i).slice(1).map((j) => data.tokens[nodes[j][TOKEN]]).filter((t) => t !== EOS)
    .join("").split(MARK).join(" ").trim();
  const beamAt = (s) => data.beams[s - data.first_step] || [];

  // --- DOM ---
  const rootEl = el("div", "ae-beam" + (big ? " ae-big" : ""));
  rootEl.style.setProperty("--ae-font", `${font}px`);
  const controls = el("div", "ae-controls");
  const back = el("button", "ae-button", "◀");
  back.dataset.ae = "back";
  back.title = "One step back";
  const slider = el("input", "ae-slider");
  Object.assign(slider, { type: "range", min: String(data.first_step), max: String(data.last_step), step: "1" });
  slider.dataset.ae = "step";
  slider.setAttribute("aria-label", "Step");
  const forward = el("button", "ae-button", "▶");
  forward.dataset.ae = "next";
  forward.title = "One step on";
  const stepLabel = el("span", "ae-label");
  const prunedBox = el("input");
  prunedBox.type = "checkbox";
  prunedBox.dataset.ae = "pruned";
  const prunedToggle = el("label", "ae-toggle");
  prunedToggle.append(prunedBox, document.createTextNode(" Pruned branches"));
  prunedToggle.title = "Continuations the search scored and dropped (folded into +k until clicked)";
  const piecesBox = el("input");
  piecesBox.type = "checkbox";
  piecesBox.dataset.ae = "pieces";
  const piecesToggle = el("label", "ae-toggle");
  piecesToggle.append(piecesBox, document.createTextNode(" Pieces"));
  const zoomIn = el("button", "ae-button ae-small", "+");
  const zoomOut = el("button", "ae-button ae-small", "−");
  const zoomReset = el("button", "ae-button ae-small", "1:1");
  zoomIn.title = "Zoom in (or scroll over the tree)";
  zoomOut.title = "Zoom out";
  zoomReset.title = "Back to the default view";
  controls.append(back, slider, forward, stepLabel, prunedToggle, piecesToggle, zoomOut, zoomIn, zoomReset);

  const viewport = el("div", "ae-viewport");
  viewport.style.height = `${data.height || 520}px`;
  const canvas = svg("svg", { class: "ae-tree" });
  const layer = svg("g");
  canvas.append(layer);
  viewport.append(canvas);
  const legend = el("div", "ae-caption",
    "Blue: kept in the beam · grey: pruned · green diamonds: finished, with their normalised score " +
    "(red: the translation, #rank: the n-best list) · orange: the selected node's path · +k: k nodes " +
    "folded (click to open). Click a node to select it; drag to pan, scroll to zoom.");

  const lower = el("div", "ae-lower");
  const tableBox = el("div", "ae-col");
  const tableTitle = el("h3", "ae-h3");
  const tableNote = el("div", "ae-caption", data.ranking || "");
  const table = el("table", "ae-table");
  table.dataset.ae = "beam-table";
  // The table scrolls inside a box as tall as its longest step (rows counted up front): a step rewrites
  // the rows inside it without laying out the page around it (contain: strict in beam.css).
  const tableWrap = el("div", "ae-table-wrap");
  tableWrap.append(table);
  // (finished nodes per step counted once, then summed as the steps go: one pass over the nodes, not one a step)
  const finishedAt = new Map();
  nodes.forEach((n) => { if (n[STATUS] === FINISHED) finishedAt.set(n[STEP], (finishedAt.get(n[STEP]) || 0) + 1); });
  let mostRows = 0;
  let finishedBy = 0;
  for (const [s, k] of finishedAt) if (s < data.first_step) finishedBy += k;
  for (let s = data.first_step; s <= data.last_step; s++) {
    finishedBy += finishedAt.get(s) || 0;
    mostRows = Math.max(mostRows, beamAt(s).length + finishedBy);
  }
  tableWrap.style.height = `${(mostRows + 1) * 1.75 + 0.6}em`;
  tableBox.append(tableTitle, tableNote, tableWrap);
  const nodeBox = el("div", "ae-col");
  nodeBox.dataset.ae = "node";
  lower.append(tableBox, nodeBox);
  rootEl.append(controls, viewport);
  if (!big) rootEl.append(legend);
  rootEl.append(lower);

  // --- drawing ---
  let selectedY = 0;
  const { context: measure, widths: widthsSeen } = measurer(font); // label -> px, kept across searches
  function textWidth(text) {
    let w = widthsSeen.get(text);
    if (w === undefined) {
      w = measure.measureText(text).width;
      widthsSeen.set(text, w);
    }
    return w;
  }

  function visibleTree() {
    // Which nodes are drawn, and the "+k" markers (one per drawn node whose other children fold).
    const keep = finalLive.slice();
    beamAt(step).forEach((i) => markUp(keep, i));
    markUp(keep, selected);
    const shown = [];
    const kids = new Map();
    const markers = [];
    const stack = [root];
    while (stack.length) {
      const i = stack.pop();
      shown.push(i);
      const list = [];
      let folded = 0;
      for (const c of children[i]) {
        const pruned = nodes[c][STATUS] === PRUNED;
        if (keep[c] || (opened.has(i) && (showPruned || !pruned))) list.push(c);
        else if (showPruned || !pruned) folded += pruned ? 1 : subtree[c];
      }
      if (folded) {
        const m = { parent: i, count: folded, step: nodes[i][STEP] + 1 };
        markers.push(m);
        list.push(m);
      }
      kids.set(i, list);
      for (let k = list.length - 1; k >= 0; k--) if (typeof list[k] === "number") stack.push(list[k]);
    }
    return { shown, kids, markers };
  }

  // The SVG is built once and then updated: a node keeps its <g> (label, shape, tooltip) from draw to
  // draw and only moves (one transform) or restyles when its place or state changes; nodes leaving
  // the view are detached and kept for later. A step therefore touches a few dozen elements, not the
  // whole tree (click to paint, issue 13).
  const band = svg("rect", { x: 0, y: 0, width: 0, height: 0, fill: "rgba(255, 200, 0, 0.18)" });
  const axis = svg("g", { class: "ae-axis" });
  const axisText = [];
  for (let s = 0; s <= data.last_step; s++) {
    const t = svg("text", { x: 0, y: 12, "font-size": Math.round(font * 0.8) });
    t.textContent = s === 0 ? "start" : String(s);
    axis.append(t);
    axisText.push(t);
  }
  const prunedEdges = svg("path", { stroke: "#dddddd", "stroke-width": 1, fill: "none" });
  const liveEdges = svg("path", { stroke: "#8aa9c8", "stroke-width": 1.5, fill: "none" });
  const pathLine = svg("path", { stroke: COLORS.path, "stroke-width": 4, fill: "none", "stroke-linejoin": "round" });
  const group = svg("g", { class: "ae-nodes" });
  layer.append(band, axis, prunedEdges, liveEdges, pathLine, group);
  const nodeEls = new Map(); // node index -> {g, shape, text, at, look, label}
  const markerEls = new Map(); // parent index -> {g, text, at, count}
  const setAttr = (node, name, value) => {
    const v = String(value);
    if (node.getAttribute(name) !== v) node.setAttribute(name, v);
  };

  // A node's and a marker's elements are cloned from one template per kind (a new search creates a few
  // hundred): the same elements and attributes, in the same order, as building each one, at a fraction of
  // the calls. Clicks reach them through one listener on their group (below).
  const templates = new Map(); // status or "marker" -> <g> to clone
  function template(kind) {
    let g = templates.get(kind);
    if (g) return g;
    if (kind === "marker") {
      g = svg("g", { class: "ae-marker", "data-parent": "" });
      g.append(svg("title"), svg("circle", { cx: -4, cy: 0, r: 3, fill: "none", stroke: "#999" }),
        svg("text", { x: 2, y: font * 0.35, "font-size": font, fill: "#777", class: "ae-tlabel" }));
    } else {
      const r = kind === PRUNED ? 3 : kind === FINISHED ? 6 : 5;
      const shape = kind === FINISHED
        ? svg("path", { d: `M0,${-r - 1}L${r + 1},0L0,${r + 1}L${-r - 1},0Z` })
        : svg("circle", { cx: 0, cy: 0, r });
      shape.setAttribute("fill", COLORS[kind]);
      g = svg("g", { class: "ae-node", "data-node": "" });
      g.append(svg("title"), shape, svg("text", { x: r + 3, y: font * 0.35, "font-size": font,
        fill: kind === PRUNED ? "#888" : "#1a1a1a", class: "ae-tlabel" }));
    }
    templates.set(kind, g);
    return g;
  }
  const clicked = new WeakMap(); // a node's or marker's <g> -> what a click on it does

  function nodeEl(i) {
    let item = nodeEls.get(i);
    if (item) return item;
    const n = nodes[i];
    const g = template(n[STATUS]).cloneNode(true);
    const [title, shape, text] = g.childNodes;
    g.setAttribute("data-node", String(idOf(i)));
    if (n[RANK] === 1) shape.setAttribute("fill", COLORS.best);
    title.textContent = `${data.tokens[n[TOKEN]]} · step ${n[STEP]} · log-prob ${n[LOGPROB].toFixed(3)} · score ` +
      `${n[SCORE].toFixed(3)} · normalised ${n[NORM].toFixed(3)} · node ${idOf(i)}`;
    clicked.set(g, () => select(i));
    item = { g, shape, text, at: "", look: "", label: null };
    nodeEls.set(i, item);
    return item;
  }

  function markerEl(parent) {
    let item = markerEls.get(parent);
    if (item) return item;
    const g = template("marker").cloneNode(true);
    const [title, , text] = g.childNodes;
    g.setAttribute("data-parent", String(idOf(parent)));
    clicked.set(g, () => {
      opened.add(parent);
      draw();
    });
    item = { g, title, text, at: "", count: null };
    markerEls.set(parent, item);
    return item;
  }
  group.addEventListener("click", (event) => {
    const g = event.target.closest && event.target.closest(".ae-node, .ae-marker");
    const action = g && clicked.get(g);
    if (!action) return;
    event.stopPropagation();
    action();
  });

  let drawnStep = null;
  let drawnSelected = null;
  let drawnPieces = null;
  function draw(growOnly = false) {
    const { kids, shown, markers } = visibleTree();
    // Tidy layout: leaves one row apart in depth-first order, parents centred over their children.
    const row = Math.round(font * 1.55);
    const y = new Map();
    let cursor = 0;
    const walk = [[root, false]];
    while (walk.length) {
      const [item, done] = walk.pop();
      const list = typeof item === "number" ? kids.get(item) || [] : [];
      if (!list.length) {
        y.set(item, cursor * row + row / 2);
        cursor += 1;
      } else if (done) {
        y.set(item, (y.get(list[0]) + y.get(list[list.length - 1])) / 2);
      } else {
        walk.push([item, true]);
        for (let k = list.length - 1; k >= 0; k--) walk.push([list[k], false]);
      }
    }
    // One column per step, as wide as its widest label: labels cannot reach the next column.
    const widths = new Map();
    shown.forEach((i) => {
      const s = nodes[i][STEP];
      widths.set(s, Math.max(widths.get(s) || 0, textWidth(label(i))));
    });
    markers.forEach((m) => widths.set(m.step, Math.max(widths.get(m.step) || 0, textWidth(`+${m.count}`))));
    const x = new Map();
    let left = 14;
    for (let s = 0; s <= data.last_step + 1; s++) {
      x.set(s, left);
      left += (widths.get(s) || 0) + 30;
    }
    const height = cursor * row + 30;
    // While stepping the canvas only grows (a resized SVG root lays every node out again, the cost of a
    // step); any other change fits it to the tree.
    const fit = (name, value) => {
      if (!growOnly || value > (Number(canvas.getAttribute(name)) || 0)) setAttr(canvas, name, value);
    };
    fit("width", left + 20);
    fit("height", height);

    // the chosen step's column, and the step numbers along the top
    setAttr(band, "x", x.get(step) - 8);
    setAttr(band, "width", (widths.get(step) || 0) + 22);
    setAttr(band, "height", height);
    axisText.forEach((t, s) => setAttr(t, "x", x.get(s)));
    const top = 22;
    selectedY = y.get(selected) + top;

    const edges = [[], []]; // pruned, other
    shown.forEach((i) => {
      const p = nodes[i][PARENT];
      if (p < 0) return;
      edges[nodes[i][STATUS] === PRUNED ? 0 : 1].push(`M${x.get(nodes[p][STEP])},${y.get(p) + top}` +
        `L${x.get(nodes[i][STEP])},${y.get(i) + top}`);
    });
    markers.forEach((m) => edges[0].push(`M${x.get(m.step - 1)},${y.get(m.parent) + top}L${x.get(m.step)},${y.get(m) + top}`));
    setAttr(prunedEdges, "d", edges[0].join(""));
    setAttr(liveEdges, "d", edges[1].join(""));
    const path = pathTo(selected);
    setAttr(pathLine, "d", path.map((i, k) => `${k ? "L" : "M"}${x.get(nodes[i][STEP])},${y.get(i) + top}`).join(""));

    const inBeam = new Set(beamAt(step));
    const wanted = new Set(shown);
    for (const [i, item] of nodeEls) if (!wanted.has(i) && item.g.parentNode) item.g.remove();
    shown.forEach((i) => {
      const item = nodeEl(i);
      const at = `translate(${x.get(nodes[i][STEP])}px, ${y.get(i) + top}px)`;
      if (item.at !== at) { item.g.style.transform = at; item.at = at; }
      const look = i === selected ? "selected" : inBeam.has(i) ? "beam" : "";
      if (item.look !== look) {
        if (look === "selected") item.shape.setAttribute("stroke", COLORS.path), item.shape.setAttribute("stroke-width", "3");
        else if (look === "beam") item.shape.setAttribute("stroke", "#000"), item.shape.setAttribute("stroke-width", "2");
        else item.shape.removeAttribute("stroke"), item.shape.removeAttribute("stroke-width");
        item.look = look;
      }
      const text = label(i);
      if (item.label !== text) { item.text.textContent = text; item.label = text; }
      if (!item.g.parentNode) group.append(item.g);
    });
    const wantedMarkers = new Set(markers.map((m) => m.parent));
    for (const [parent, item] of markerEls) if (!wantedMarkers.has(parent) && item.g.parentNode) item.g.remove();
    markers.forEach((m) => {
      const item = markerEl(m.parent);
      const at = `translate(${x.get(m.step)}px, ${y.get(m) + top}px)`;
      if (item.at !== at) { item.g.style.transform = at; item.at = at; }
      if (item.count !== m.count) {
        item.text.textContent = `+${m.count}`;
        item.title.textContent = `${m.count} more node${m.count === 1 ? "" : "s"} under this one: click to open`;
        item.count = m.count;
      }
      if (!item.g.parentNode) group.append(item.g);
    });
    applyZoom();

    back.disabled = step <= data.first_step;
    forward.disabled = step >= data.last_step;
    slider.value = String(step);
    prunedBox.checked = showPruned;
    piecesBox.checked = pieces;
    stepLabel.textContent = `Step ${step} of ${data.last_step}`;
    if (drawnStep !== step || drawnPieces !== pieces) drawTable(inBeam);
    else if (drawnSelected !== selected) markTableRow();
    if (drawnSelected !== selected || drawnPieces !== pieces) drawNode();
    drawnStep = step;
    drawnSelected = selected;
    drawnPieces = pieces;
    rootEl.dataset.step = String(step);
    rootEl.dataset.node = String(idOf(selected));
    rootEl.dataset.nodes = String(shown.length + markers.length);
    rootEl.dataset.painted = `${step}:${idOf(selected)}:${shown.length}`;
    memory.set(id, { trace: data.id, serverStep: data.step, serverNode: data.node, step, selected, pieces,
      showPruned, opened, zoom, pan });
    setUrlParams({ step, node: idOf(selected) });
  }

  let tableRows = []; // node index per table row
  function markTableRow() {
    rowPool.forEach((item, r) => item.tr.classList.toggle("ae-selected", tableRows[r] === selected));
  }

  // The table keeps its rows: a step rewrites the cells whose text changed, hides the rows left over.
  const finishedNodes = [];
  nodes.forEach((n, i) => { if (n[STATUS] === FINISHED) finishedNodes.push(i); });
  const hypotheses = new Map();
  const hypothesisOf = (i) => {
    if (!hypotheses.has(i)) hypotheses.set(i, hypothesis(i) || "(empty)");
    return hypotheses.get(i);
  };
  const head = el("tr");
  ["rank", "hypothesis", "log-prob", "normalised", "status", "node"].forEach((h) => head.append(el("th", "", h)));
  table.append(head);
  const rowPool = [];
  function drawTable(inBeam) {
    tableTitle.textContent = `The beam after step ${step}`;
    const done = finishedNodes.filter((i) => nodes[i][STEP] <= step);
    const rows = [...inBeam, ...done].sort((a, b) => nodes[b][NORM] - nodes[a][NORM]);
    tableRows = rows;
    while (rowPool.length < rows.length) {
      const item = { tr: el("tr"), cells: [], node: -1 };
      for (let k = 0; k < 6; k++) {
        const td = el("td", k === 1 ? "ae-hyp" : "");
        item.cells.push(td);
        item.tr.append(td);
      }
      item.tr.addEventListener("click", () => select(item.node));
      table.append(item.tr);
      rowPool.push(item);
    }
    rowPool.forEach((item, r) => {
      const i = rows[r];
      item.tr.hidden = i === undefined;
      if (i === undefined) return;
      item.node = i;
      const n = nodes[i];
      item.tr.classList.toggle("ae-selected", i === selected);
      const status = n[STATUS] === FINISHED ? `finished at step ${n[STEP]}` : "in the beam";
      [String(r + 1), hypothesisOf(i), n[SCORE].toFixed(3), n[NORM].toFixed(3), status, String(idOf(i))]
        .forEach((v, k) => { if (item.cells[k].textContent !== v) item.cells[k].textContent = v; });
    });
  }

  function drawNode() {
    const n = nodes[selected];
    nodeBox.replaceChildren();
    nodeBox.append(el("h3", "ae-h3", `Node ${idOf(selected)}`), el("div", "ae-hypothesis",
      hypothesis(selected) || "(the start: nothing generated yet)"));
    if (n[PARENT] < 0) return;
    const where = { 1: "kept in the beam", 2: "pruned (dropped from the beam)", 3: "finished (ended with </s>)" };
    nodeBox.append(el("div", "ae-caption", `Step ${n[STEP]}: token ${data.tokens[n[TOKEN]]} · ${where[n[STATUS]]}` +
      (n[RANK] ? `, n-best #${n[RANK]}` : "")));
    const metrics = el("div", "ae-metrics");
    [["token log-prob", n[LOGPROB]], ["cumulative", n[SCORE]], ["normalised", n[NORM]]].forEach(([name, v]) => {
      const m = el("div", "ae-metric");
      m.append(el("div", "ae-caption", name), el("div", "ae-mvalue", v.toFixed(3)));
      metrics.append(m);
    });
    nodeBox.append(metrics);
    const row = data.attention[String(n[PARENT])];
    if (!row) {
      nodeBox.append(el("div", "ae-caption", "This model has no attention: nothing to show over the source."));
      return;
    }
    nodeBox.append(el("div", "ae-caption", "Attention over the source when this token was scored"));
    const bars = el("div", "ae-attn");
    row.forEach((milli, k) => {
      const w = milli / SCALE;
      const line = el("div", "ae-attn-row");
      const bar = el("div", "ae-attn-bar");
      bar.style.width = `${Math.max(w * 100, 0.3)}%`;
      const tok = data.source[k] || "";
      line.append(el("span", "ae-attn-label", pieces || tok === EOS ? tok : tok.split(MARK).join("")),
        bar, el("span", "ae-value", w.toFixed(2)));
      bars.append(line);
    });
    nodeBox.append(bars);
  }

  // Writes only (no layout read, so no forced layout in the middle of a step): the canvas is at least
  // as wide as the viewport through CSS (min-width: 100%).
  function applyZoom() {
    setAttr(layer, "transform", `translate(${pan.x},${pan.y}) scale(${zoom})`);
    const w = Number(canvas.getAttribute("width")) || 0;
    const h = Number(canvas.getAttribute("height")) || 0;
    const width = `${w * zoom + Math.max(pan.x, 0)}px`;
    const height = `${Math.max(h * zoom + Math.max(pan.y, 0), 10)}px`;
    if (canvas.style.width !== width) canvas.style.width = width;
    if (canvas.style.height !== height) canvas.style.height = height;
  }

  function select(i) {
    selected = i;
    draw();
  }
  function go(s) {
    step = Math.min(Math.max(s, data.first_step), data.last_step);
    draw(true);
  }

  slider.addEventListener("input", () => go(Number(slider.value)));
  back.addEventListener("click", () => go(step - 1));
  forward.addEventListener("click", () => go(step + 1));
  prunedBox.addEventListener("change", () => { showPruned = prunedBox.checked; draw(); });
  piecesBox.addEventListener("change", () => { pieces = piecesBox.checked; draw(); });
  const setZoom = (z) => { zoom = Math.min(Math.max(z, 0.2), 4); applyZoom(); memory.get(id).zoom = zoom; };
  zoomIn.addEventListener("click", () => setZoom(zoom * 1.25));
  zoomOut.addEventListener("click", () => setZoom(zoom / 1.25));
  zoomReset.addEventListener("click", () => { pan = { x: 0, y: 0 }; memory.get(id).pan = pan; setZoom(1); });
  viewport.addEventListener("wheel", (event) => {
    event.preventDefault();
    setZoom(zoom * (event.deltaY < 0 ? 1.1 : 1 / 1.1));
  }, { passive: false });
  let drag = null;
  viewport.addEventListener("pointerdown", (event) => {
    if (event.target.closest && event.target.closest(".ae-node, .ae-marker")) return;
    drag = { x: event.clientX, y: event.clientY, left: viewport.scrollLeft, top: viewport.scrollTop };
    viewport.setPointerCapture(event.pointerId);
  });
  viewport.addEventListener("pointermove", (event) => {
    if (!drag) return;
    viewport.scrollLeft = drag.left - (event.clientX - drag.x);
    viewport.scrollTop = drag.top - (event.clientY - drag.y);
  });
  viewport.addEventListener("pointerup", () => { drag = null; });

  parentElement.querySelectorAll(":scope > .ae-beam").forEach((node) => node.remove());
  parentElement.append(rootEl);
  draw();
  if (!same) {
    // Open on the chosen step's column, with the selected node in view.
    viewport.scrollLeft = Math.max(Number(band.getAttribute("x")) - viewport.clientWidth / 2, 0);
    viewport.scrollTop = Math.max(selectedY * zoom - viewport.clientHeight / 2, 0);
  }
  return undefined;
}
