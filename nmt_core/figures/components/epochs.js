// Attention as it formed (the Models page), in the browser: every recorded epoch of one probe sentence arrives once,
// in two elements of the heatmap component that this module links by their `link` name:
//
// - the heatmap (heatmap.js with `epochs` in its payload: nmt_core/views/probes.py, epochs_payload) draws the epoch
//   shown, over pieces or words;
// - the panel beside it (`panel: true`: epoch_panel_payload) holds the epoch scrubber (a range input: arrow keys,
//   Home/End, or a click on the curve; a play button), what the model wrote after that epoch, dev BLEU and the
//   attention's entropy with their change since the epoch before, and a small curve of both, the epoch marked.
//
// Scrubbing redraws both with no server run. On the page's one card (`url`: the parameter's name) the epoch is kept
// in the address bar (?epoch=), so a link reopens it. User text reaches the page only through textContent.

import { el, MARK, setUrlParams } from "./shared.js";

const SCALE = 1000; // the matrices arrive as integers in thousandths
const SPECIAL = new Set(["</s>", "<s>", "<pad>"]); // nmt_core.views.attention.SPECIAL_TOKENS
const PLAY_MS = 900; // one epoch a step while playing
const SVG_NS = "http://www.w3.org/2000/svg";
const BLEU_COLOR = "#1f77b4";
const ENTROPY_COLOR = "#ff7f0e";
const CURRENT_COLOR = "#d62728"; // nmt_core.figures.probes.CURRENT_COLOR

// --- the heatmap's payload: per epoch, the two views heatmap.js draws -------------------------------------------

// The groups of pieces a word spans, from their sizes (0: every word one piece).
function groupsOf(sizes, n) {
  if (!sizes) return Array.from({ length: n }, (_, i) => [i]);
  let at = 0;
  return sizes.map((size) => Array.from({ length: size }, () => at++));
}

// nmt_core.views.attention.word_text: the word a group of pieces spells, without the ▁ marks.
function wordText(pieces, group) {
  const text = group.map((i) => pieces[i]).join("");
  if (group.length === 1 && SPECIAL.has(pieces[group[0]])) return text;
  return text.split(MARK).join(" ").trim() || text;
}

const matrixOf = (rows) => rows.map((row) => row.map((w) => w / SCALE));

// Per epoch {pieces: VIEW, words: VIEW}, the views nmt_core.views.heatmap_data.matrix_payload makes of that epoch
// (labels, matrices, and the words view's pieces per word for the hover). Unpacked once per message.
let unpacked = { from: null, views: null };
export function unpackEpochs(data) {
  const epochs = data.epochs;
  if (unpacked.from === epochs) return unpacked.views;
  const source = data.source;
  const sourceGroups = groupsOf(epochs.source_groups, source.length);
  const words = sourceGroups.map((g) => wordText(source, g));
  const sourcePieces = sourceGroups.map((g) => (g.length > 1 ? g.map((i) => source[i]) : 0));
  const views = epochs.epoch.map((_, e) => {
    const target = epochs.target[e];
    const targetGroups = groupsOf(epochs.target_groups[e], target.length);
    return {
      pieces: { source, target, matrix: matrixOf(epochs.pieces[e]) },
      words: { source: words, target: targetGroups.map((g) => wordText(target, g)),
        matrix: matrixOf(epochs.words[e]), source_pieces: sourcePieces,
        target_pieces: targetGroups.map((g) => (g.length > 1 ? g.map((i) => target[i]) : 0)) },
    };
  });
  unpacked = { from: epochs, views };
  return views;
}

// --- the link between the heatmap and its panel: the epoch shown and the view ----------------------------------

// link name (one per card) -> {epochs, at, serverEpoch, scrubbed, words, members: Set of redraw callbacks}. Kept
// across re-renders and probe sentences: a server run that names the epoch it named before (the link's ?epoch= of
// the session's first run, or the first epoch: Streamlit sends a rerun the query string it last knew, not the
// address bar's) leaves the epoch the user scrubbed to, on the next probe sentence too; another epoch wins.
const links = new Map();

function linkOf(name, epochs, serverEpoch, words) {
  let link = links.get(name);
  if (!link) {
    link = { epochs, at: 0, serverEpoch, scrubbed: false, words, members: new Set() };
    links.set(name, link);
  }
  const wanted = link.serverEpoch === serverEpoch && link.scrubbed ? link.epochs[link.at] : serverEpoch;
  const at = epochs.findIndex((e) => e >= wanted); // that epoch, else the next one recorded, else the last
  Object.assign(link, { epochs, serverEpoch, at: at < 0 ? epochs.length - 1 : at });
  link.scrubbed = wanted !== serverEpoch;
  return link;
}

function notify(link) {
  link.members.forEach((redraw) => redraw());
}

// For heatmap.js: the epoch mode of one heatmap. ``view(words)``: the epoch's view; ``setWords``: the switch moved
// (the panel's entropy follows); ``join(redraw)``: redraw on the panel's scrubbing, until the returned call.
export function epochHeatmap(data) {
  const views = unpackEpochs(data);
  const link = linkOf(data.link || data.key, data.epochs.epoch, data.epoch, !!data.merge);
  return {
    view: (words) => views[Math.min(link.at, views.length - 1)][words ? "words" : "pieces"],
    epoch: () => link.epochs[link.at],
    setWords(words) {
      link.words = words;
      notify(link);
    },
    join(redraw, root) {
      const member = () => root.isConnected && redraw();
      link.members.add(member);
      return () => link.members.delete(member);
    },
  };
}

// --- the panel ----------------------------------------------------------------------------------------------------

const fixed = (v, digits) => (v === null || v === undefined ? "–" : v.toFixed(digits));

function metric(name, help) {
  const box = el("div", "ae-ep-metric");
  box.dataset.ae = name;
  box.title = help;
  const value = el("div", "ae-ep-value");
  const delta = el("div", "ae-ep-delta");
  box.append(el("div", "ae-ep-label", name === "bleu" ? "Dev BLEU" : "Attention entropy"), value, delta);
  return { box, value, delta };
}

// A value and its change since the epoch before ("+1.20", green when better: BLEU up, entropy down).
function showMetric(m, now, before, unit, lowerIsBetter) {
  m.value.textContent = now === null || now === undefined ? "–" : `${now.toFixed(2)}${unit}`;
  const change = before === null || before === undefined || now === null || now === undefined ? null : now - before;
  m.delta.textContent = change === null ? "" : `${change >= 0 ? "↑" : "↓"} ${change >= 0 ? "+" : "−"}`
    + `${Math.abs(change).toFixed(2)}${unit}`;
  m.delta.className = "ae-ep-delta" + (change === null || Math.abs(change) < 0.005 ? ""
    : (change < 0) === lowerIsBetter ? " ae-ep-better" : " ae-ep-worse");
}

function svg(tag, attributes) {
  const node = document.createElementNS(SVG_NS, tag);
  Object.entries(attributes).forEach(([name, value]) => node.setAttribute(name, String(value)));
  return node;
}

// The curve: dev BLEU per epoch (left axis, solid) and the entropy (right axis, dashed), the epoch shown in red.
// Each epoch's column is a click target (the scrubber moves there) with its translation on hover.
function drawCurve(box, series, at, font, onPick) {
  const { epochs, bleu, entropy, translation } = series;
  const W = 420;
  // The legend's two entries side by side where they fit (~26 characters' width), else one under the other.
  const stacked = !!entropy && 26 * font > W;
  const H = Math.round((stacked ? 14.3 : 13) * font);
  const pad = { l: 3.2 * font, r: entropy ? 3.2 * font : font, t: font, b: (stacked ? 4.9 : 3.6) * font };
  const plotW = W - pad.l - pad.r;
  const plotH = H - pad.t - pad.b;
  const n = epochs.length;
  const x = (i) => pad.l + (n > 1 ? (i / (n - 1)) * plotW : plotW / 2);
  const finite = (vs) => vs.filter((v) => v !== null && v !== undefined);
  const top = (vs) => Math.max(1e-9, ...finite(vs)) * 1.08;
  const yBleu = (v) => pad.t + plotH * (1 - v / top(bleu));
  const yEnt = (v) => pad.t + plotH * (1 - v / top(entropy || [1]));
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, "font-size": font, "font-family": "sans-serif" });
  chart.dataset.ae = "curve";
  chart.setAttribute("role", "img");
  chart.setAttribute("aria-label", "Dev BLEU and attention entropy per epoch");
  const text = (value, attrs) => {
    const node = svg("text", { fill: "#555867", ...attrs });
    node.textContent = value;
    chart.append(node);
  };
  chart.append(svg("rect", { x: pad.l, y: pad.t, width: plotW, height: plotH, fill: "#f7f8fa" }));
  const step = Math.ceil(n / 10); // at most ~10 epoch ticks
  epochs.forEach((e, i) => {
    if (i % step && i !== n - 1) return;
    text(String(e), { x: x(i), y: pad.t + plotH + 1.2 * font, "text-anchor": "middle" });
  });
  text("epoch", { x: pad.l + plotW / 2, y: pad.t + plotH + 2.3 * font, "text-anchor": "middle" });
  text(fixed(top(bleu) / 1.08, 0), { x: pad.l - 4, y: pad.t + 0.8 * font, "text-anchor": "end", fill: BLEU_COLOR });
  text("0", { x: pad.l - 4, y: pad.t + plotH, "text-anchor": "end", fill: BLEU_COLOR });
  if (entropy) {
    text(fixed(top(entropy) / 1.08, 1), { x: W - pad.r + 4, y: pad.t + 0.8 * font, fill: ENTROPY_COLOR });
    text("0", { x: W - pad.r + 4, y: pad.t + plotH, fill: ENTROPY_COLOR });
  }
  const line = (values, y, colour, dash) => {
    const points = values.map((v, i) => (v === null || v === undefined ? null : [x(i), y(v)])).filter(Boolean);
    if (points.length > 1) {
      chart.append(svg("polyline", { points: points.map((p) => p.map((c) => c.toFixed(1)).join(",")).join(" "),
        fill: "none", stroke: colour, "stroke-width": 2, ...(dash ? { "stroke-dasharray": "5 4" } : {}) }));
    }
    points.forEach(([px, py]) => chart.append(svg("circle", { cx: px, cy: py, r: 3, fill: colour })));
  };
  chart.append(svg("line", { x1: x(at), x2: x(at), y1: pad.t, y2: pad.t + plotH, stroke: CURRENT_COLOR,
    "stroke-width": 1 }));
  line(bleu, yBleu, BLEU_COLOR, false);
  if (entropy) line(entropy, yEnt, ENTROPY_COLOR, true);
  if (bleu[at] !== null && bleu[at] !== undefined) {
    const marker = svg("circle", { cx: x(at), cy: yBleu(bleu[at]), r: 6, fill: CURRENT_COLOR });
    marker.dataset.ae = "current";
    chart.append(marker);
  }
  // legend, under the axis title
  const legend = (label, colour, dash, lx, ly) => {
    chart.append(svg("line", { x1: lx, x2: lx + 1.6 * font, y1: ly - 0.3 * font, y2: ly - 0.3 * font, stroke: colour,
      "stroke-width": 2, ...(dash ? { "stroke-dasharray": "4 3" } : {}) }));
    text(label, { x: lx + 2 * font, y: ly });
  };
  legend("dev BLEU", BLEU_COLOR, false, pad.l, H - (stacked ? 1.6 : 0.3) * font);
  if (entropy) {
    legend("attention entropy (bits)", ENTROPY_COLOR, true, stacked ? pad.l : pad.l + 7.5 * font, H - 0.3 * font);
  }
  const band = n > 1 ? plotW / (n - 1) : plotW;
  epochs.forEach((e, i) => {
    const hit = svg("rect", { x: x(i) - band / 2, y: pad.t, width: band, height: plotH, fill: "transparent" });
    hit.classList.add("ae-ep-hit");
    const title = svg("title", {});
    title.textContent = `epoch ${e}: ${translation[i] || "(empty)"}\ndev BLEU ${fixed(bleu[i], 2)}`
      + (entropy ? ` · entropy ${fixed(entropy[i], 2)} bits` : "");
    hit.append(title);
    hit.addEventListener("click", () => onPick(i));
    chart.append(hit);
  });
  box.replaceChildren(chart);
}

export function mountPanel(component, data) {
  const { parentElement } = component;
  const epochs = data.epochs;
  const link = linkOf(data.link || data.key, epochs.epoch, data.epoch, !!data.merge);
  const n = epochs.epoch.length;
  const font = data.font_size || 13;

  const root = el("div", "ae-epochs" + (data.classroom ? " ae-big" : ""));
  root.style.setProperty("--ae-font", `${font}px`);
  root.dataset.key = data.key || "";
  const scrub = el("div", "ae-ep-scrub");
  const play = el("button", "ae-ep-play", "▶");
  play.type = "button";
  play.dataset.ae = "play";
  play.setAttribute("aria-label", "Play the epochs");
  play.title = "Play the epochs, one a second";
  const range = el("input");
  range.type = "range";
  range.min = "0";
  range.max = String(n - 1);
  range.step = "1";
  range.dataset.ae = "epoch";
  range.disabled = n < 2;
  range.setAttribute("aria-label", "Epoch");
  range.title = "Slide (or press ← →) to watch the attention sharpen as the model learns";
  const label = el("span", "ae-ep-label-now");
  label.dataset.ae = "epochlabel";
  label.setAttribute("aria-live", "polite");
  play.disabled = n < 2;
  scrub.append(play, range, label);
  const caption = el("div", "ae-ep-caption");
  const translation = el("div", "ae-ep-translation");
  translation.dataset.ae = "translation";
  const bleu = metric("bleu", "Greedy BLEU on the dev sentences after this epoch");
  const entropy = metric("entropy", "Mean entropy of this sentence's attention rows: lower is sharper (0 bits: all "
    + "attention on one piece)");
  const metrics = el("div", "ae-ep-metrics");
  metrics.append(bleu.box, entropy.box);
  const curve = el("div", "ae-ep-curve");
  root.append(scrub, caption, translation, metrics, curve);

  function draw() {
    const at = link.at;
    const view = link.words ? "words" : "pieces";
    const bits = epochs.entropy ? epochs.entropy[view] : null;
    range.value = String(at);
    range.setAttribute("aria-valuetext", `epoch ${epochs.epoch[at]}`);
    label.textContent = `epoch ${epochs.epoch[at]} of ${epochs.epoch[n - 1]}`;
    caption.textContent = `What the model wrote after epoch ${epochs.epoch[at]}`;
    translation.textContent = epochs.translation[at] || "(empty)";
    showMetric(bleu, epochs.dev_bleu[at], at ? epochs.dev_bleu[at - 1] : null, "", false);
    showMetric(entropy, bits ? bits[at] : null, bits && at ? bits[at - 1] : null, " bits", true);
    drawCurve(curve, { epochs: epochs.epoch, bleu: epochs.dev_bleu, entropy: bits, translation: epochs.translation },
      at, font, pick);
    root.dataset.epoch = String(epochs.epoch[at]);
    root.dataset.mode = view;
  }

  function pick(at) {
    if (at === link.at) return;
    link.at = at;
    link.scrubbed = true;
    if (data.url) setUrlParams({ [data.url]: epochs.epoch[at] });
    notify(link);
  }

  let timer = null;
  function stop() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    play.textContent = "▶";
    play.setAttribute("aria-label", "Play the epochs");
  }
  play.addEventListener("click", () => {
    if (timer !== null) return stop();
    if (link.at >= n - 1) pick(0);
    play.textContent = "❚❚";
    play.setAttribute("aria-label", "Pause");
    timer = setInterval(() => {
      if (!root.isConnected || link.at >= n - 1) return stop();
      pick(link.at + 1);
      if (link.at >= n - 1) stop(); // the last epoch: the button is "play" again
    }, PLAY_MS);
  });
  range.addEventListener("input", () => {
    stop();
    pick(Number(range.value));
  });

  const member = () => root.isConnected && draw();
  link.members.add(member);
  draw();
  parentElement.querySelectorAll(":scope > .ae-epochs").forEach((node) => node.remove());
  parentElement.append(root);
  // A server run may have written the address bar from its own copy, without the epoch scrubbed to: again.
  if (data.url && link.scrubbed) setUrlParams({ [data.url]: epochs.epoch[link.at] });
  return () => {
    stop();
    link.members.delete(member);
  };
}
