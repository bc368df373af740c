// Beam search, in the browser: every node of one search arrives once as `data`
// (nmt_core/figures/beam_data.py). The step slider, node selection, folding, pruned branches on/off,
// words/pieces, zoom and pan, the beam-at-step table and the node's details all redraw here.
//
// Legibility: only the branches that matter are drawn. A branch is "live" when it leads to a
// finished hypothesis or to the beam after the last step, to the beam at the chosen step, or to
// the selected node. Everything else under a drawn node folds into one "+k" marker (k nodes) until
// it is clicked open. The layout is the tidy one (leaves in order, parents centred), one label row
// per leaf and one label width per step column, so at the default zoom (1:1) no two labels overlap.
// User text reaches the page only through textContent / SVG text nodes, never innerHTML.

const SVG = "http://www.w3.org/2000/svg";
const [PARENT, STEP, TOKEN, LOGPROB, SCORE, NORM, STATUS, RANK] = [0, 1, 2, 3, 4, 5, 6, 7];
const START = 0, KEPT = 1, PRUNED = 2, FINISHED = 3;
const COLORS = { 0: "#444444", 1: "#1f77b4", 2: "#b0b0b0", 3: "#2ca02c", best: "#d62728", path: "#ff7f0e" };
const memory = new Map();

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  return node;
}

function setUrl(params) {
  try {
    const url = new URL(window.location.href);
    let changed = false;
    for (const [k, v] of Object.entries(params)) {
      if (url.searchParams.get(k) !== String(v)) {
        url.searchParams.set(k, String(v));
        changed = true;
      }
    }
    if (changed) window.history.replaceState(window.history.state, "", url.toString());
  } catch (error) {
    // no address to rewrite: only sharing is lost
  }
}

export default function (component) {
  const { data, parentElement, key } = component;
  if (!data || !Array.isArray(data.nodes)) return undefined;
  const nodes = data.nodes;
  const N = nodes.length;
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
  const subtree = new Int32Array(N).fill(1); // node counts, children before parents (ids grow with depth)
  const byDepth = [...nodes.keys()].sort((a, b) => nodes[b][STEP] - nodes[a][STEP]);
  byDepth.forEach((i) => { if (nodes[i][PARENT] >= 0) subtree[nodes[i][PARENT]] += subtree[i]; });
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
  tableBox.append(tableTitle, tableNote, table);
  const nodeBox = el("div", "ae-col");
  nodeBox.dataset.ae = "node";
  lower.append(tableBox, nodeBox);
  rootEl.append(controls, viewport);
  if (!big) rootEl.append(legend);
  rootEl.append(lower);

  // --- drawing ---
  let selectedY = 0;
  const measure = document.createElement("canvas").getContext("2d");
  measure.font = `${font}px sans-serif`;
  const widthsSeen = new Map(); // label -> px: a step or a selection redraws the same labels
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
    const keep = new Uint8Array(N);
    nodes.forEach((_, i) => { if (finalLive[i]) keep[i] = 1; });
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

  function draw() {
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
    canvas.setAttribute("width", String(left + 20));
    canvas.setAttribute("height", String(height));
    layer.replaceChildren();

    // the chosen step's column
    const band = svg("rect", { x: x.get(step) - 8, y: 0, width: (widths.get(step) || 0) + 22, height,
      fill: "rgba(255, 200, 0, 0.18)" });
    layer.append(band);
    // step numbers along the top
    const axis = svg("g", { class: "ae-axis" });
    for (let s = 0; s <= data.last_step; s++) {
      const t = svg("text", { x: x.get(s), y: 12, "font-size": Math.round(font * 0.8) });
      t.textContent = s === 0 ? "start" : String(s);
      axis.append(t);
    }
    layer.append(axis);
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
    layer.append(svg("path", { d: edges[0].join(""), stroke: "#dddddd", "stroke-width": 1, fill: "none" }));
    layer.append(svg("path", { d: edges[1].join(""), stroke: "#8aa9c8", "stroke-width": 1.5, fill: "none" }));
    const path = pathTo(selected);
    layer.append(svg("path", { d: path.map((i, k) => `${k ? "L" : "M"}${x.get(nodes[i][STEP])},${y.get(i) + top}`).join(""),
      stroke: COLORS.path, "stroke-width": 4, fill: "none", "stroke-linejoin": "round" }));

    const inBeam = new Set(beamAt(step));
    const group = svg("g", { class: "ae-nodes" });
    shown.forEach((i) => {
      const n = nodes[i];
      const cx = x.get(n[STEP]);
      const cy = y.get(i) + top;
      const color = n[RANK] === 1 ? COLORS.best : COLORS[n[STATUS]];
      const r = n[STATUS] === PRUNED ? 3 : n[STATUS] === FINISHED ? 6 : 5;
      const shape = n[STATUS] === FINISHED
        ? svg("path", { d: `M${cx},${cy - r - 1}L${cx + r + 1},${cy}L${cx},${cy + r + 1}L${cx - r - 1},${cy}Z` })
        : svg("circle", { cx, cy, r });
      shape.setAttribute("fill", color);
      if (i === selected) shape.setAttribute("stroke", COLORS.path), shape.setAttribute("stroke-width", "3");
      else if (inBeam.has(i)) shape.setAttribute("stroke", "#000"), shape.setAttribute("stroke-width", "2");
      const g = svg("g", { class: "ae-node", "data-node": data.ids[i] });
      const title = svg("title");
      title.textContent = `${data.tokens[n[TOKEN]]} · step ${n[STEP]} · log-prob ${n[LOGPROB].toFixed(3)} · score ` +
        `${n[SCORE].toFixed(3)} · normalised ${n[NORM].toFixed(3)} · node ${data.ids[i]}`;
      const text = svg("text", { x: cx + r + 3, y: cy + font * 0.35, "font-size": font,
        fill: n[STATUS] === PRUNED ? "#888" : "#1a1a1a", class: "ae-tlabel" });
      text.textContent = label(i);
      g.append(title, shape, text);
      g.addEventListener("click", (event) => { event.stopPropagation(); select(i); });
      group.append(g);
    });
    markers.forEach((m) => {
      const cx = x.get(m.step);
      const cy = y.get(m) + top;
      const g = svg("g", { class: "ae-marker", "data-parent": data.ids[m.parent] });
      const title = svg("title");
      title.textContent = `${m.count} more node${m.count === 1 ? "" : "s"} under this one: click to open`;
      const text = svg("text", { x: cx + 2, y: cy + font * 0.35, "font-size": font, fill: "#777",
        class: "ae-tlabel" });
      text.textContent = `+${m.count}`;
      g.append(title, svg("circle", { cx: cx - 4, cy, r: 3, fill: "none", stroke: "#999" }), text);
      g.addEventListener("click", (event) => {
        event.stopPropagation();
        opened.add(m.parent);
        draw();
      });
      group.append(g);
    });
    layer.append(group);
    applyZoom();

    back.disabled = step <= data.first_step;
    forward.disabled = step >= data.last_step;
    slider.value = String(step);
    prunedBox.checked = showPruned;
    piecesBox.checked = pieces;
    stepLabel.textContent = `Step ${step} of ${data.last_step}`;
    drawTable(inBeam);
    drawNode();
    rootEl.dataset.step = String(step);
    rootEl.dataset.node = String(data.ids[selected]);
    rootEl.dataset.nodes = String(shown.length + markers.length);
    rootEl.dataset.painted = `${step}:${data.ids[selected]}:${shown.length}`;
    memory.set(id, { trace: data.id, serverStep: data.step, serverNode: data.node, step, selected, pieces,
      showPruned, opened, zoom, pan });
    setUrl({ step, node: data.ids[selected] });
  }

  function drawTable(inBeam) {
    tableTitle.textContent = `The beam after step ${step}`;
    const done = [];
    nodes.forEach((n, i) => { if (n[STATUS] === FINISHED && n[STEP] <= step) done.push(i); });
    const rows = [...inBeam, ...done].sort((a, b) => nodes[b][NORM] - nodes[a][NORM]);
    table.replaceChildren();
    const head = el("tr");
    ["rank", "hypothesis", "log-prob", "normalised", "status", "node"].forEach((h) => head.append(el("th", "", h)));
    table.append(head);
    rows.forEach((i, r) => {
      const n = nodes[i];
      const tr = el("tr", i === selected ? "ae-selected" : "");
      const status = n[STATUS] === FINISHED ? `finished at step ${n[STEP]}` : "in the beam";
      [String(r + 1), hypothesis(i) || "(empty)", n[SCORE].toFixed(3), n[NORM].toFixed(3), status,
        String(data.ids[i])].forEach((v, k) => tr.append(el("td", k === 1 ? "ae-hyp" : "", v)));
      tr.addEventListener("click", () => select(i));
      table.append(tr);
    });
  }

  function drawNode() {
    const n = nodes[selected];
    nodeBox.replaceChildren();
    nodeBox.append(el("h3", "ae-h3", `Node ${data.ids[selected]}`), el("div", "ae-hypothesis",
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
    row.forEach((w, k) => {
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

  function applyZoom() {
    layer.setAttribute("transform", `translate(${pan.x},${pan.y}) scale(${zoom})`);
    const w = Number(canvas.getAttribute("width")) || 0;
    const h = Number(canvas.getAttribute("height")) || 0;
    canvas.style.width = `${Math.max(w * zoom + Math.max(pan.x, 0), viewport.clientWidth || 0)}px`;
    canvas.style.height = `${Math.max(h * zoom + Math.max(pan.y, 0), 10)}px`;
  }

  function select(i) {
    selected = i;
    draw();
  }
  function go(s) {
    step = Math.min(Math.max(s, data.first_step), data.last_step);
    draw();
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
    const band = layer.querySelector("rect");
    if (band) viewport.scrollLeft = Math.max(Number(band.getAttribute("x")) - viewport.clientWidth / 2, 0);
    viewport.scrollTop = Math.max(selectedY * zoom - viewport.clientHeight / 2, 0);
  }
  return undefined;
}
