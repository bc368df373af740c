// Every attention heatmap of the app, in the browser (Translate, Compare, Explain, Models' probe): target rows down,
// source columns across, the value on hover. The data is JSON bytes {"view": {...}, "payload": {...}}
// (nmt_core.figures.component_data; shared.js's componentData merges the two). The payload
// (nmt_core/views/heatmap_data.py) holds the pieces and the words view of one matrix, so the words/pieces switch
// redraws here with no server run; it keeps ?words= in the address bar so a link reopens the view. The image
// download (PNG or SVG) draws the view shown into a file here too.
//
// View fields the page sets (all optional): key (the element's, for tests and the group), merge, classroom, font_size, row_height, fit {pieces|words: [row, font]},
// label_font (px of the column labels: narrow side-by-side columns), shorten (labels cut to that many characters,
// whole on hover), title, x_title, y_title, scale {colors: blues|diverging|grey, range: unit|auto|symmetric,
// label, show}, hover_note (the readout says this instead of a value), notes_title, probability_title, image,
// rule, switch, group, follow, compact, sync_words, show_probability. A view with "probability" (Translate) gets a bar
// per row beside its cells (unless show_probability is false): the model's probability of the row's token, the
// runner-up on hover.
//
// Heatmaps of one group (Compare's columns and difference, Explain's two) follow one words/pieces switch, and
// their label rows take the same height, so side-by-side heatmaps line up row for row. Heatmaps that share a
// `follow` name (the Models page's cards, one above the other) follow one switch without lining up.
//
// Epoch mode (the Models page's "Attention as it formed"; epochs.js): a payload with `epochs` holds every
// recorded epoch of one probe sentence, and a second element with `panel: true` scrubs them (view field `link`
// names the pair, `epoch` the server's epoch); this heatmap draws the epoch the panel shows. Other callers never
// set either, and nothing here changes for them.
//
// User text (source and target pieces or words) reaches the page and the SVG only through textContent,
// never innerHTML.

import { epochHeatmap, mountPanel } from "./epochs.js";
import { componentData, el } from "./shared.js";

// plotly.py's "Blues" and "RdBu_r" (plotly.colors), the scales the app's plotly heatmaps used
// (tests/test_translate_page.py checks these stops against plotly's).
const BLUES = [[247, 251, 255], [222, 235, 247], [198, 219, 239], [158, 202, 225], [107, 174, 214],
  [66, 146, 198], [33, 113, 181], [8, 81, 156], [8, 48, 107]];
const RDBU_R = [[5, 48, 97], [33, 102, 172], [67, 147, 195], [146, 197, 222], [209, 229, 240], [247, 247, 247],
  [253, 219, 199], [244, 165, 130], [214, 96, 77], [178, 24, 43], [103, 0, 31]];
const GREY = [[158, 158, 158], [158, 158, 158]];
const PALETTES = { blues: BLUES, diverging: RDBU_R, grey: GREY };
const SHADES = 256; // colours worked out once per palette: a cell's colour is a table lookup
const tables = new Map();
function shadeTable(stops) {
  if (!tables.has(stops)) {
    tables.set(stops, Array.from({ length: SHADES }, (_, k) => {
      const x = (k / (SHADES - 1)) * (stops.length - 1);
      const i = Math.min(Math.floor(x), stops.length - 2);
      const f = x - i;
      const c = stops[i].map((v, j) => Math.round(v + f * (stops[i + 1][j] - v)));
      return `rgb(${c[0]},${c[1]},${c[2]})`;
    }));
  }
  return tables.get(stops);
}
const ROW_PX = 28; // nmt_core.figures.traces.ROW_HEIGHT
const MIN_LABEL_PX = 8; // the smallest source labels fitWidth sets (nmt_core.figures.compare.SMALLEST_LABEL)
const SVG_NS = "http://www.w3.org/2000/svg";
const IDLE = "Hover a cell: translation ← source, value";

// Per mounted component (its key) or group: the view the user switched to, kept across re-renders and sentences.
const memory = new Map();
// Per group: its mounted heatmaps (key -> {redraw, align}), so one switch redraws them all.
const groups = new Map();
const followers = new Map(); // follow name -> Map(id -> member): heatmaps redrawn by one another's switch

function setWordsInUrl(words) {
  try {
    const url = new URL(window.location.href);
    if (url.searchParams.get("words") === (words ? "1" : "0")) return;
    url.searchParams.set("words", words ? "1" : "0");
    window.history.replaceState(window.history.state, "", url.toString());
  } catch (error) {
    // An address that cannot be rewritten (a sandboxed frame) only loses sharing.
  }
}

// Row height and label size of a view: fitted to a projector's screen by the page (classroom), else fixed.
function sizing(data, words) {
  const fit = data.fit && data.fit[words ? "words" : "pieces"];
  const font = data.font_size || 13;
  return fit ? { row: fit[0], font: fit[1] } : { row: data.row_height || ROW_PX, font };
}

// The colour scale of a view: its palette, the values at its ends, and the ticks of its legend.
function scaleOf(data, view) {
  const spec = data.scale || {};
  const stops = PALETTES[spec.colors] || BLUES;
  let lo = 0;
  let hi = 1;
  const largest = Math.max(0, ...view.matrix.map((row) => Math.max(0, ...row.map((w) => Math.abs(w || 0)))));
  if (spec.range === "auto") hi = largest > 1e-9 ? largest : 1;
  if (spec.range === "symmetric") {
    hi = largest > 1e-9 ? largest : 1;
    lo = -hi;
  }
  const table = shadeTable(stops);
  const colour = (w) => table[Math.round(Math.min(Math.max(((w || 0) - lo) / (hi - lo), 0), 1) * (SHADES - 1))];
  const fmt = (v) => String(Number(v.toPrecision(2)));
  return { stops: stops.map((c) => `rgb(${c.join(",")})`), colour, label: spec.label || "attention",
    show: spec.show !== false, ticks: [[fmt(hi), 0], [fmt((hi + lo) / 2), 0.5], [fmt(lo), 1]] };
}

const shortened = (text, n) => (n && text.length > n ? text.slice(0, n - 1) + "…" : text);

// --- the image: one drawing (boxes and texts in px), written as SVG or painted on a canvas for PNG ------------

let measurer = null;
function textWidth(text, font) {
  measurer = measurer || document.createElement("canvas").getContext("2d");
  measurer.font = `${font}px sans-serif`;
  return measurer.measureText(text).width;
}

const widest = (texts, font) => Math.ceil(Math.max(0, ...texts.map((t) => textWidth(t, font))));

function drawing(data, view, scale, font, row) {
  const S = view.source.length;
  const T = view.target.length;
  const pad = 10;
  const line = Math.round(font * 1.6);
  const top0 = pad + (data.title ? line : 0);
  const cellW = Math.max(row, Math.round(font * 1.5));
  const left = pad + line + widest(view.target, font) + 8;
  const top = top0 + line + widest(view.source, font) + 8;
  const gridW = S * cellW;
  const gridH = Math.max(T * row, 3 * font);
  const notesW = view.notes ? widest(view.notes.concat([data.notes_title || ""]), font) + 12 : 0;
  const legendX = left + gridW + notesW + 16;
  const legendW = scale.show ? Math.max(12 + 6 + widest(scale.ticks.map((t) => t[0]), font),
    textWidth(scale.label, font)) : 0;
  const width = Math.max(legendX + legendW, textWidth(data.title || "", font) + 2 * pad) + pad + 4;
  const height = top + gridH + pad;
  const items = [{ kind: "rect", x: 0, y: 0, w: width, h: height, fill: "#ffffff" }];
  view.matrix.forEach((weights, r) => {
    for (let c = 0; c < S; c++) {
      items.push({ kind: "rect", x: left + c * cellW, y: top + r * row, w: cellW - 1, h: row - 1,
        fill: scale.colour(weights[c]) });
    }
  });
  const text = (x, y, value, anchor, rotate) => items.push({ kind: "text", x, y, value, anchor, rotate, font });
  if (data.title) text(pad, pad + font, data.title, "start", false);
  view.source.forEach((s, c) => text(left + (c + 0.5) * cellW + 0.35 * font, top - 6, s, "start", true));
  view.target.forEach((t, r) => text(left - 6, top + (r + 0.5) * row + 0.35 * font, t, "end", false));
  (view.notes || []).forEach((n, r) => text(left + gridW + 8, top + (r + 0.5) * row + 0.35 * font, n, "start", false));
  if (view.notes && data.notes_title) text(left + gridW + 8, top - 6, data.notes_title, "start", false);
  text(left + gridW / 2, top0 + font, data.x_title ?? "source", "middle", false);
  if (data.y_title ?? "translation") text(pad + font, top + gridH / 2, data.y_title ?? "translation", "middle", true);
  if (scale.show) {
    items.push({ kind: "scale", x: legendX, y: top, w: 12, h: gridH });
    text(legendX, top - 6, scale.label, "start", false);
    scale.ticks.forEach(([tick, at]) => text(legendX + 18, top + at * gridH + 0.35 * font, tick, "start", false));
  }
  return { width: Math.ceil(width), height: Math.ceil(height), items, stops: scale.stops };
}

function svgOf(picture) {
  const node = (tag, attributes) => {
    const element = document.createElementNS(SVG_NS, tag);
    Object.entries(attributes).forEach(([name, value]) => element.setAttribute(name, String(value)));
    return element;
  };
  const svg = node("svg", { xmlns: SVG_NS, width: picture.width, height: picture.height,
    viewBox: `0 0 ${picture.width} ${picture.height}`, "font-family": "sans-serif" });
  const gradient = node("linearGradient", { id: "ae-scale", x1: 0, y1: 1, x2: 0, y2: 0 });
  picture.stops.forEach((colour, i) => gradient.append(node("stop", { offset: i / (picture.stops.length - 1),
    "stop-color": colour })));
  const defs = node("defs", {});
  defs.append(gradient);
  svg.append(defs);
  for (const item of picture.items) {
    if (item.kind === "rect") {
      svg.append(node("rect", { x: item.x, y: item.y, width: item.w, height: item.h, fill: item.fill }));
    } else if (item.kind === "scale") {
      svg.append(node("rect", { x: item.x, y: item.y, width: item.w, height: item.h, fill: "url(#ae-scale)",
        stroke: "#cccccc" }));
    } else {
      const label = node("text", { "font-size": item.font, "text-anchor": item.anchor, fill: "#262730",
        transform: `translate(${item.x.toFixed(1)},${item.y.toFixed(1)})${item.rotate ? " rotate(-90)" : ""}` });
      label.textContent = item.value; // user text: as text, never as markup
      svg.append(label);
    }
  }
  return new XMLSerializer().serializeToString(svg);
}

function paintPng(picture, scale) {
  const canvas = document.createElement("canvas");
  canvas.width = Math.ceil(picture.width * scale);
  canvas.height = Math.ceil(picture.height * scale);
  const ctx = canvas.getContext("2d");
  ctx.scale(scale, scale);
  for (const item of picture.items) {
    if (item.kind === "rect") {
      ctx.fillStyle = item.fill;
      ctx.fillRect(item.x, item.y, item.w, item.h);
    } else if (item.kind === "scale") {
      const gradient = ctx.createLinearGradient(0, item.y + item.h, 0, item.y);
      picture.stops.forEach((colour, i) => gradient.addColorStop(i / (picture.stops.length - 1), colour));
      ctx.fillStyle = gradient;
      ctx.fillRect(item.x, item.y, item.w, item.h);
      ctx.strokeStyle = "#cccccc";
      ctx.strokeRect(item.x, item.y, item.w, item.h);
    } else {
      ctx.save();
      ctx.translate(item.x, item.y);
      if (item.rotate) ctx.rotate(-Math.PI / 2);
      ctx.font = `${item.font}px sans-serif`;
      ctx.fillStyle = "#262730";
      ctx.textAlign = item.anchor === "middle" ? "center" : item.anchor === "end" ? "right" : "left";
      ctx.fillText(item.value, 0, 0);
      ctx.restore();
    }
  }
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

function saveFile(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.style.display = "none";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

async function saveImage(data, view, words, image) {
  const { row, font } = sizing(data, words);
  const picture = drawing(data, view, scaleOf(data, view), font, row);
  const format = image.format === "svg" ? "svg" : "png";
  const name = `${image.filename || "attention"}${words ? "-words" : ""}.${format}`;
  if (format === "svg") {
    saveFile(new Blob([svgOf(picture)], { type: "image/svg+xml" }), name);
  } else {
    const blob = await paintPng(picture, image.scale || 2);
    if (blob) saveFile(blob, name);
  }
}

// Heatmaps of a group side by side: each one's label row as tall as the tallest, so their rows line up.
// heatmap.css sets --ae-styled on .ae-heatmap. Streamlit adds the stylesheet's <link> when it mounts the component,
// and a module the page preloaded (pages/lib/preload.py) can mount before that stylesheet applies: until then the
// grid is unstyled, and what fitWidth, keepHeight and alignGroup measure of it would stick (a label row 250 px tall).
const styled = (node) => getComputedStyle(node).getPropertyValue("--ae-styled").trim() === "1";

function whenStyled(node, then) {
  const started = performance.now();
  const check = () => {
    if (!node.isConnected) return;
    if (styled(node) || performance.now() - started > 5000) then();
    else requestAnimationFrame(check);
  };
  check();
}

function alignGroup(group) {
  const members = [...(groups.get(group) || new Map()).values()].filter((m) => m.grid.isConnected);
  members.forEach((m) => m.setHead(0));
  const tallest = Math.max(0, ...members.map((m) => m.headHeight()));
  members.forEach((m) => m.setHead(tallest));
}

// --- the component ---------------------------------------------------------------------------------------------

function controlsOf(data, format) {
  const controls = el("div", "ae-hm-controls");
  const toggle = el("label", "ae-hm-toggle");
  const box = el("input");
  box.type = "checkbox";
  box.dataset.ae = "words";
  toggle.append(box, document.createTextNode(" Words instead of pieces"));
  toggle.title = data.rule || "";
  toggle.hidden = data.switch === false; // another heatmap of the group has the switch
  const download = el("button", "ae-hm-download", `Download ${format.toUpperCase()}`);
  download.type = "button";
  download.dataset.ae = "download";
  download.title = `Save the heatmap as ${format.toUpperCase()}`;
  const readout = el("div", "ae-hm-readout ae-hm-idle", IDLE);
  readout.dataset.ae = "readout";
  controls.append(toggle, download);
  return { controls, box, download, readout };
}

export default function (component) {
  const { parentElement, key, setTriggerValue } = component;
  const data = componentData(component.data);
  if (data && data.panel && data.epochs) return mountPanel(component, data);
  const epochs = data && data.epochs && data.source ? epochHeatmap(data) : null;
  if (!data || (!epochs && (!data.pieces || !data.words))) return undefined;
  const id = data.key || key || "heatmap"; // the page's key (Streamlit's own is an instance id)
  const group = data.group || null;
  const follow = !group && data.follow ? data.follow : null;
  const memoryKey = group ? `group:${group}` : follow ? `follow:${follow}` : id;
  const remembered = memory.get(memoryKey);
  // The server's choice (?words=, or words on a projector) wins when it changed; else the user's last switch.
  const serverWords = !!data.merge;
  let words = remembered && remembered.serverWords === serverWords ? remembered.words : serverWords;
  const big = !!data.classroom;
  const image = data.image || {};
  const format = image.format === "svg" ? "svg" : "png";
  const yTitle = () => (epochs ? `epoch ${epochs.epoch()}` : data.y_title ?? "translation");

  const root = el("div", "ae-heatmap" + (big ? " ae-big" : "") + (data.compact ? " ae-compact" : ""));
  root.style.setProperty("--ae-font", `${data.font_size || 13}px`);
  root.dataset.key = id;
  const { controls, box, download, readout } = controlsOf(data, format);
  if (data.title) {
    const title = el("div", "ae-hm-title", data.title);
    title.dataset.ae = "title";
    root.append(title);
  }
  if (data.compact) root.append(controls, readout);
  else {
    controls.append(readout);
    root.append(controls);
  }
  const rule = el("div", "ae-hm-rule", data.rule || "");
  rule.dataset.ae = "rule";
  const grid = el("div", "ae-hm-grid");
  grid.dataset.ae = "heatmap";
  grid.setAttribute("role", "img");
  root.append(rule, grid);

  let view = null;
  let scale = null;
  let rowHeads = [];
  let colHeads = [];
  let lit = [];
  let head = 0; // px of the label row, set by the group (0: as tall as its labels)
  let bars = false; // the view's probability bars are drawn
  let xlabel = 13; // px of the source labels (build sets it; fitWidth may shrink it)

  function unlight() {
    lit.forEach((node) => node.classList.remove("ae-hm-lit"));
    lit = [];
  }

  function setHead(px) {
    head = px;
    grid.style.gridTemplateRows = `${px ? `${px}px` : "auto"} repeat(${view.target.length}, var(--ae-row))`;
  }

  function headHeight() {
    return Math.max(0, ...colHeads.map((h) => h.offsetHeight), ...[...grid.querySelectorAll(
      ".ae-hm-xtitle, .ae-hm-scaletitle, .ae-hm-notestitle")].map((h) => h.offsetHeight));
  }

  function cell(fragment, r, c, colour) {
    const node = document.createElement("div");
    node.className = "ae-hm-cell";
    node.style.background = colour;
    node.dataset.r = String(r);
    node.dataset.c = String(c);
    fragment.append(node);
  }

  function colourScale(fragment, S, T) {
    const at = S + 3 + (bars ? 1 : 0) + (view.notes ? 1 : 0);
    const scaleTitle = el("div", "ae-hm-scaletitle", scale.label);
    scaleTitle.style.gridColumn = String(at);
    fragment.append(scaleTitle);
    if (!T) return;
    const bar = el("div", "ae-hm-scale");
    bar.style.gridColumn = String(at);
    bar.style.gridRow = `2 / span ${T}`;
    const strip = el("div", "ae-hm-bar");
    strip.style.background = `linear-gradient(to top, ${scale.stops.join(", ")})`;
    const ticks = el("div", "ae-hm-ticks");
    (T >= 3 ? scale.ticks : [scale.ticks[0], scale.ticks[2]]).forEach(([tick]) => ticks.append(el("span", "", tick)));
    bar.append(strip, ticks);
    fragment.append(bar);
  }

  function labels(fragment, S, T) {
    const xTitle = el("div", "ae-hm-xtitle", data.x_title ?? "source");
    xTitle.dataset.ae = "xtitle";
    fragment.append(xTitle);
    colHeads = view.source.map((s, c) => {
      const node = el("div", "ae-hm-colhead", shortened(s, data.shorten));
      node.dataset.ae = "xlabel";
      node.style.gridColumn = String(c + 3);
      node.style.gridRow = "1";
      fragment.append(node);
      return node;
    });
    if (bars) {
      const title = el("div", "ae-hm-notestitle", data.probability_title || "probability");
      title.style.gridColumn = String(S + 3);
      fragment.append(title);
    }
    if (view.notes) {
      const notesTitle = el("div", "ae-hm-notestitle", data.notes_title || "");
      notesTitle.style.gridColumn = String(S + 3 + (bars ? 1 : 0));
      fragment.append(notesTitle);
    }
    if (T) { // even without a title: it holds the first column, so the cells flow into theirs
      const title = el("div", "ae-hm-ytitle", yTitle());
      if (yTitle()) title.dataset.ae = "ytitle";
      title.style.gridRow = `2 / span ${T}`;
      fragment.append(title);
    }
  }

  function build() {
    view = epochs ? epochs.view(words) : words ? data.words : data.pieces;
    bars = !!view.probability && data.show_probability !== false;
    scale = scaleOf(data, view);
    const { row, font } = sizing(data, words);
    const S = view.source.length;
    const T = view.target.length;
    root.style.setProperty("--ae-row", `${row}px`);
    root.style.setProperty("--ae-label", `${font}px`);
    xlabel = Math.min((data.fit && data.fit[words ? "words" : "pieces"] || [])[2] || data.label_font || font, font);
    root.style.setProperty("--ae-xlabel", `${xlabel}px`);
    // ytitle | row labels | S cells | the rows' notes | the colour scale
    grid.style.gridTemplateColumns = `auto max-content repeat(${S}, minmax(calc(1.3 * var(--ae-xlabel)), 1fr))`
      + `${bars ? " minmax(3em, 6em)" : ""}${view.notes ? " max-content" : ""}`
      + `${scale.show ? " max-content" : ""}`;
    setHead(head);
    grid.setAttribute("aria-label", `${data.title || "Attention heatmap"}, ${words ? "words" : "pieces"}: `
      + `${T} rows, ${S} columns`);
    const fragment = document.createDocumentFragment();
    labels(fragment, S, T);
    if (scale.show) colourScale(fragment, S, T);
    // The cells are placed by the grid itself, row by row, into the slots the labels and the scale leave.
    rowHeads = view.target.map((t, r) => {
      const rowHead = el("div", "ae-hm-rowhead", shortened(t, data.shorten));
      rowHead.dataset.ae = "ylabel";
      rowHead.style.gridRow = String(r + 2);
      fragment.append(rowHead);
      const values = view.matrix[r] || [];
      for (let c = 0; c < S; c++) cell(fragment, r, c, scale.colour(values[c]));
      if (bars) fragment.append(probabilityBar(r));
      if (view.notes) fragment.append(el("div", "ae-hm-note", view.notes[r] ?? ""));
      return rowHead;
    });
    grid.replaceChildren(fragment);
    box.checked = words;
    // On a projector, and side by side (a line the others lack would push its rows down), the rule stays in the
    // switch's tooltip and the page's caption.
    rule.hidden = !words || big || !!group;
    root.dataset.mode = words ? "words" : "pieces";
    root.dataset.id = data.id || "";
    root.dataset.rows = String(T);
    root.dataset.columns = String(S);
    if (epochs) root.dataset.epoch = String(epochs.epoch());
    unlight();
    readout.textContent = IDLE;
    readout.classList.add("ae-hm-idle");
    if (grid.isConnected && styled(root)) {
      fitWidth();
      if (epochs) keepHeight();
    }
  }

  // Epoch mode: the grid keeps the tallest height an epoch gave it (per view), so scrubbing to an epoch with fewer
  // rows never pulls the page up under the pointer.
  const tallest = { pieces: 0, words: 0 };
  function keepHeight() {
    const name = words ? "words" : "pieces";
    grid.style.minHeight = "";
    tallest[name] = Math.max(tallest[name], grid.offsetHeight);
    grid.style.minHeight = `${tallest[name]}px`;
  }

  // Narrower than its columns (side by side, a long sentence): the source labels, and with them the cells (at
  // least 1.3 of their font wide), shrink until the grid fits, to 8 px at the least. Never a sideways scroll.
  function fitWidth() {
    const S = view.source.length;
    for (let round = 0; round < 3 && S; round++) {
      const over = grid.scrollWidth - grid.clientWidth;
      if (over <= 1 || xlabel <= MIN_LABEL_PX) return;
      xlabel = Math.max(MIN_LABEL_PX, Math.floor(xlabel - over / (1.3 * S)) - (round ? 1 : 0));
      root.style.setProperty("--ae-xlabel", `${xlabel}px`);
    }
  }

  // The model's probability of row r's token as a bar (orange where the token was forced), its note on hover.
  function probabilityBar(r) {
    const box = el("div", "ae-hm-prob" + (view.forced && view.forced[r] ? " ae-hm-forced" : ""));
    box.dataset.r = String(r);
    box.dataset.ae = "probability";
    const bar = el("div", "ae-hm-pbar");
    bar.style.width = `${Math.round(100 * Math.min(Math.max(view.probability[r] || 0, 0), 1))}%`;
    box.append(bar);
    return box;
  }

  const piecesOf = (list, i) => (list && list[i] ? list[i].join(" ") : null);
  function describe(r, c) {
    if (data.hover_note) return `${view.source[c]} → ${data.hover_note}`;
    const w = (view.matrix[r] || [])[c] || 0;
    let text = `${view.target[r]} ← ${view.source[c]}   ${scale.label}: ${w.toFixed(3)}`;
    const tp = piecesOf(view.target_pieces, r);
    const sp = piecesOf(view.source_pieces, c);
    if (tp || sp) text += `   pieces: ${tp || view.target[r]} ← ${sp || view.source[c]}`;
    return text;
  }
  grid.addEventListener("pointerover", (event) => {
    const target = event.target.closest ? event.target.closest(".ae-hm-cell, .ae-hm-prob") : null;
    if (!target) return;
    const r = Number(target.dataset.r);
    const c = target.classList.contains("ae-hm-prob") ? null : Number(target.dataset.c);
    readout.textContent = c === null ? view.probability_notes[r] : describe(r, c);
    readout.title = readout.textContent; // whole in the tooltip where a narrow column cuts the line
    readout.classList.remove("ae-hm-idle");
    unlight();
    lit = c === null ? [rowHeads[r]] : [rowHeads[r], colHeads[c]];
    lit.forEach((node) => node.classList.add("ae-hm-lit"));
  });
  grid.addEventListener("pointerleave", () => {
    unlight();
    readout.textContent = IDLE;
    readout.classList.add("ae-hm-idle");
  });

  function redraw(value) {
    words = value;
    build();
    if (epochs) epochs.setWords(words);
  }
  const members = group ? groups.get(group) || new Map() : null;
  if (group) groups.set(group, members);
  const following = follow ? followers.get(follow) || new Map() : null;
  if (follow) followers.set(follow, following);
  box.addEventListener("change", () => {
    words = box.checked;
    memory.set(memoryKey, { words, serverWords });
    setWordsInUrl(words);
    build();
    if (group) {
      members.forEach((member, name) => { if (name !== id && member.grid.isConnected) member.redraw(words); });
      alignGroup(group);
    }
    if (follow) {
      following.forEach((member, name) => { if (name !== id && member.grid.isConnected) member.redraw(words); });
    }
    // Only where other views on the page follow the switch (a head grid, a curve) does the server hear it.
    if (epochs) epochs.setWords(words);
    if (data.sync_words && setTriggerValue) setTriggerValue("words", words);
  });
  // In epoch mode the image is of the epoch shown, and says which.
  download.addEventListener("click", () => (epochs
    ? saveImage({ ...data, y_title: yTitle() }, view, words, { ...image,
      filename: `${image.filename || "attention"}-epoch-${epochs.epoch()}` })
    : saveImage(data, view, words, image)));

  build();
  memory.set(memoryKey, { words, serverWords });
  // The user's switch outlives a server run, whose address bar is written from the server's copy of the query
  // string (Streamlit sends a rerun the one it last knew, not the address bar's): ?words= again.
  if (words !== serverWords) setWordsInUrl(words);
  // Streamlit keeps its own <style> holder in parentElement: replace only the previous view.
  parentElement.querySelectorAll(":scope > .ae-heatmap").forEach((node) => node.remove());
  parentElement.append(root);
  if (group) members.set(id, { grid, redraw, setHead, headHeight });
  whenStyled(root, () => {
    fitWidth();
    if (epochs) keepHeight();
    if (group) alignGroup(group);
  });
  if (follow) following.set(id, { grid, redraw });
  if (epochs) epochs.setWords(words); // the panel's entropy is of the view shown here
  const leave = epochs ? epochs.join(() => build(), root) : null;
  return () => {
    if (group && members.get(id)?.grid === grid) members.delete(id);
    if (follow && following.get(id)?.grid === grid) following.delete(id);
    if (leave) leave();
  };
}
