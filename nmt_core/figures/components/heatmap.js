// Translate's attention heatmap, in the browser: target rows down, source columns across, Blues, the weight
// on hover. The data is JSON bytes {"view": {...}, "payload": {...}} (nmt_core.figures.component_data;
// shared.js's componentData merges the two). The payload (nmt_core/views/heatmap_data.py) holds the pieces
// and the words view of one decode, so the words/pieces switch redraws here with no server run; it keeps
// ?words= in the address bar so a link reopens the view. The image download (PNG or SVG, the page's radio
// chooses) draws the view shown into a file here too.
//
// User text (source and target pieces or words) reaches the page and the SVG only through textContent,
// never innerHTML.

// plotly.py's "Blues" (plotly.colors.sequential.Blues), the scale of the app's other heatmaps
// (tests/test_translate_page.py checks these stops against plotly's).
const BLUES = [[247, 251, 255], [222, 235, 247], [198, 219, 239], [158, 202, 225], [107, 174, 214],
  [66, 146, 198], [33, 113, 181], [8, 81, 156], [8, 48, 107]];
const SHADES = 256; // colours worked out once: a cell's colour is a table lookup
const SHADE_TABLE = Array.from({ length: SHADES }, (_, k) => {
  const x = (k / (SHADES - 1)) * (BLUES.length - 1);
  const i = Math.min(Math.floor(x), BLUES.length - 2);
  const f = x - i;
  const c = BLUES[i].map((v, j) => Math.round(v + f * (BLUES[i + 1][j] - v)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
});
const shade = (w) => SHADE_TABLE[Math.round(Math.min(Math.max(w || 0, 0), 1) * (SHADES - 1))];
const BLUES_CSS = BLUES.map((c) => `rgb(${c.join(",")})`);
const ROW_PX = 28; // nmt_core.figures.traces.ROW_HEIGHT
const SVG_NS = "http://www.w3.org/2000/svg";
const IDLE = "Hover a cell: translation ← source, weight";

// Per mounted component (its key): the view the user switched to, kept across re-renders and new sentences.
const memory = new Map();

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

// --- the image: one drawing (boxes and texts in px), written as SVG or painted on a canvas for PNG ------------

let measurer = null;
function textWidth(text, font) {
  measurer = measurer || document.createElement("canvas").getContext("2d");
  measurer.font = `${font}px sans-serif`;
  return measurer.measureText(text).width;
}

function drawing(view, font, row, yTitle) {
  const S = view.source.length;
  const T = view.target.length;
  const pad = 10;
  const title = Math.round(font * 1.6);
  const cellW = Math.max(row, Math.round(font * 1.5));
  const colLabels = Math.ceil(Math.max(0, ...view.source.map((s) => textWidth(s, font)))) + 8;
  const rowLabels = Math.ceil(Math.max(0, ...view.target.map((t) => textWidth(t, font)))) + 8;
  const left = pad + title + rowLabels;
  const top = pad + title + colLabels;
  const gridW = S * cellW;
  const gridH = Math.max(T * row, 3 * font);
  const legendX = left + gridW + 16;
  const ticksW = Math.ceil(textWidth("0.5", font));
  const width = Math.max(legendX + 12 + 6 + ticksW, legendX + textWidth("attention", font)) + pad + 4;
  const height = top + gridH + pad;
  const items = [{ kind: "rect", x: 0, y: 0, w: width, h: height, fill: "#ffffff" }];
  view.matrix.forEach((weights, r) => {
    for (let c = 0; c < S; c++) {
      items.push({ kind: "rect", x: left + c * cellW, y: top + r * row, w: cellW - 1, h: row - 1,
        fill: shade(weights[c]) });
    }
  });
  const text = (x, y, value, anchor, rotate) => items.push({ kind: "text", x, y, value, anchor, rotate, font });
  view.source.forEach((s, c) => text(left + (c + 0.5) * cellW + 0.35 * font, top - 6, s, "start", true));
  view.target.forEach((t, r) => text(left - 6, top + (r + 0.5) * row + 0.35 * font, t, "end", false));
  text(left + gridW / 2, pad + font, "source", "middle", false);
  text(pad + font, top + gridH / 2, yTitle, "middle", true);
  items.push({ kind: "scale", x: legendX, y: top, w: 12, h: gridH });
  text(legendX, top - 6, "attention", "start", false);
  [["1", 0], ["0.5", 0.5], ["0", 1]].forEach(([tick, at]) => {
    text(legendX + 18, top + at * gridH + 0.35 * font, tick, "start", false);
  });
  return { width: Math.ceil(width), height: Math.ceil(height), items };
}

function svgOf(picture) {
  const node = (tag, attributes) => {
    const element = document.createElementNS(SVG_NS, tag);
    Object.entries(attributes).forEach(([name, value]) => element.setAttribute(name, String(value)));
    return element;
  };
  const svg = node("svg", { xmlns: SVG_NS, width: picture.width, height: picture.height,
    viewBox: `0 0 ${picture.width} ${picture.height}`, "font-family": "sans-serif" });
  const gradient = node("linearGradient", { id: "ae-blues", x1: 0, y1: 1, x2: 0, y2: 0 });
  BLUES_CSS.forEach((colour, i) => gradient.append(node("stop", { offset: i / (BLUES.length - 1),
    "stop-color": colour })));
  const defs = node("defs", {});
  defs.append(gradient);
  svg.append(defs);
  for (const item of picture.items) {
    if (item.kind === "rect") {
      svg.append(node("rect", { x: item.x, y: item.y, width: item.w, height: item.h, fill: item.fill }));
    } else if (item.kind === "scale") {
      svg.append(node("rect", { x: item.x, y: item.y, width: item.w, height: item.h, fill: "url(#ae-blues)",
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
      BLUES_CSS.forEach((colour, i) => gradient.addColorStop(i / (BLUES.length - 1), colour));
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

// --- the component ---------------------------------------------------------------------------------------------

export default function (component) {
  const { parentElement, key, setTriggerValue } = component;
  const data = componentData(component.data);
  if (!data || !data.pieces || !data.words) return undefined;
  const id = key || "heatmap";
  const remembered = memory.get(id);
  // The server's choice (?words=, or words on a projector) wins when it changed; else the user's last switch.
  const serverWords = !!data.merge;
  let words = remembered && remembered.serverWords === serverWords ? remembered.words : serverWords;
  const big = !!data.classroom;
  const image = data.image || {};
  const format = image.format === "svg" ? "svg" : "png";
  const yTitle = data.y_title || "translation";

  const root = el("div", "ae-heatmap" + (big ? " ae-big" : ""));
  root.style.setProperty("--ae-font", `${data.font_size || 13}px`);

  const controls = el("div", "ae-hm-controls");
  const toggle = el("label", "ae-hm-toggle");
  const box = el("input");
  box.type = "checkbox";
  box.dataset.ae = "words";
  toggle.append(box, document.createTextNode(" Words instead of pieces"));
  toggle.title = data.rule || "";
  const download = el("button", "ae-hm-download", `Download ${format.toUpperCase()}`);
  download.type = "button";
  download.dataset.ae = "download";
  download.title = `Save the heatmap as ${format.toUpperCase()}`;
  const readout = el("div", "ae-hm-readout ae-hm-idle", IDLE);
  readout.dataset.ae = "readout";
  controls.append(toggle, download, readout);
  const rule = el("div", "ae-hm-rule", data.rule || "");
  rule.dataset.ae = "rule";
  const grid = el("div", "ae-hm-grid");
  grid.dataset.ae = "heatmap";
  grid.setAttribute("role", "img");
  root.append(controls, rule, grid);

  let view = null;
  let rowHeads = [];
  let colHeads = [];
  let lit = [];

  function unlight() {
    lit.forEach((node) => node.classList.remove("ae-hm-lit"));
    lit = [];
  }

  function build() {
    view = words ? data.words : data.pieces;
    const { row, font } = sizing(data, words);
    const S = view.source.length;
    const T = view.target.length;
    root.style.setProperty("--ae-row", `${row}px`);
    root.style.setProperty("--ae-label", `${font}px`);
    // ytitle | row labels | S cells | the colour scale
    grid.style.gridTemplateColumns = `auto max-content repeat(${S}, minmax(1.4em, 1fr)) max-content`;
    grid.style.gridTemplateRows = `auto repeat(${T}, var(--ae-row))`;
    grid.setAttribute("aria-label", `Attention heatmap, ${words ? "words" : "pieces"}: ${T} rows, ${S} columns`);
    const fragment = document.createDocumentFragment();
    const xTitle = el("div", "ae-hm-xtitle", "source");
    xTitle.dataset.ae = "xtitle";
    fragment.append(xTitle);
    colHeads = view.source.map((s, c) => {
      const head = el("div", "ae-hm-colhead", s);
      head.dataset.ae = "xlabel";
      head.style.gridColumn = String(c + 3);
      head.style.gridRow = "1";
      fragment.append(head);
      return head;
    });
    const scaleTitle = el("div", "ae-hm-scaletitle", "attention");
    scaleTitle.style.gridColumn = String(S + 3);
    fragment.append(scaleTitle);
    if (T) {
      const title = el("div", "ae-hm-ytitle", yTitle);
      title.dataset.ae = "ytitle";
      title.style.gridRow = `2 / span ${T}`;
      fragment.append(title);
      const scale = el("div", "ae-hm-scale");
      scale.style.gridColumn = String(S + 3);
      scale.style.gridRow = `2 / span ${T}`;
      const bar = el("div", "ae-hm-bar");
      bar.style.background = `linear-gradient(to top, ${BLUES_CSS.join(", ")})`;
      const ticks = el("div", "ae-hm-ticks");
      (T >= 3 ? ["1", "0.5", "0"] : ["1", "0"]).forEach((tick) => ticks.append(el("span", "", tick)));
      scale.append(bar, ticks);
      fragment.append(scale);
    }
    // The cells are placed by the grid itself, row by row, into the slots the labels and the scale leave.
    rowHeads = view.target.map((t, r) => {
      const head = el("div", "ae-hm-rowhead", t);
      head.dataset.ae = "ylabel";
      head.style.gridRow = String(r + 2);
      fragment.append(head);
      const weights = view.matrix[r] || [];
      for (let c = 0; c < S; c++) {
        const cell = document.createElement("div");
        cell.className = "ae-hm-cell";
        cell.style.background = shade(weights[c]);
        cell.dataset.r = String(r);
        cell.dataset.c = String(c);
        fragment.append(cell);
      }
      return head;
    });
    grid.replaceChildren(fragment);
    box.checked = words;
    rule.hidden = !words || big; // on a projector the rule stays in the switch's tooltip
    root.dataset.mode = words ? "words" : "pieces";
    root.dataset.id = data.id || "";
    root.dataset.rows = String(T);
    root.dataset.columns = String(S);
    unlight();
    readout.textContent = IDLE;
    readout.classList.add("ae-hm-idle");
  }

  const piecesOf = (list, i) => (list && list[i] ? list[i].join(" ") : null);
  grid.addEventListener("pointerover", (event) => {
    const cell = event.target;
    if (!cell.classList || !cell.classList.contains("ae-hm-cell")) return;
    const r = Number(cell.dataset.r);
    const c = Number(cell.dataset.c);
    const w = (view.matrix[r] || [])[c] || 0;
    let text = `${view.target[r]} ← ${view.source[c]}   attention: ${w.toFixed(3)}`;
    const tp = piecesOf(view.target_pieces, r);
    const sp = piecesOf(view.source_pieces, c);
    if (tp || sp) text += `   pieces: ${tp || view.target[r]} ← ${sp || view.source[c]}`;
    readout.textContent = text;
    readout.classList.remove("ae-hm-idle");
    unlight();
    lit = [rowHeads[r], colHeads[c]];
    lit.forEach((node) => node.classList.add("ae-hm-lit"));
  });
  grid.addEventListener("pointerleave", () => {
    unlight();
    readout.textContent = IDLE;
    readout.classList.add("ae-hm-idle");
  });
  box.addEventListener("change", () => {
    words = box.checked;
    memory.set(id, { words, serverWords });
    setWordsInUrl(words);
    build();
    // Only where other views on the page follow the switch (a Transformer's head grid) does the server hear it.
    if (data.sync_words && setTriggerValue) setTriggerValue("words", words);
  });
  download.addEventListener("click", async () => {
    const { row, font } = sizing(data, words);
    const picture = drawing(view, font, row, yTitle);
    const name = `${image.filename || "attention"}${words ? "-words" : ""}.${format}`;
    if (format === "svg") {
      saveFile(new Blob([svgOf(picture)], { type: "image/svg+xml" }), name);
    } else {
      const blob = await paintPng(picture, image.scale || 2);
      if (blob) saveFile(blob, name);
    }
  });

  build();
  memory.set(id, { words, serverWords });
  // Streamlit keeps its own <style> holder in parentElement: replace only the previous view.
  parentElement.querySelectorAll(":scope > .ae-heatmap").forEach((node) => node.remove());
  parentElement.append(root);
  return undefined;
}
