// Step through, in the browser: the whole trace arrives once as `data` (nmt_core/views/step_data.py);
// Back, Next, the slider, Play, the words/pieces switch, the strip, the top-k bars and the revealed
// heatmap all redraw here, with no server run. The only message to the server is a forced token
// (a trigger, "force"), because that needs the model.
//
// User text (source and target pieces) reaches the page only through textContent, never innerHTML.
// The step is mirrored into the address bar (?step=, 1-based) so the view can be shared.

import { componentData, el, EOS, MARK, pieceLabel } from "./shared.js";

const PLAY_MS = 1000; // one step per second while playing: slow enough to read aloud
// Per mounted component (its key): the step shown and the trace it belongs to, kept across the
// re-renders that Streamlit causes with unchanged data (the module lives as long as the page).
const memory = new Map();

// Blues, from near-white to dark navy, like the app's plotly heatmaps.
const BLUES = [[247, 251, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]];
function blue(w) {
  const x = Math.min(Math.max(w, 0), 1) * (BLUES.length - 1);
  const i = Math.min(Math.floor(x), BLUES.length - 2);
  const f = x - i;
  const c = BLUES[i].map((v, k) => Math.round(v + f * (BLUES[i + 1][k] - v)));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

function fmt(p) {
  if (p === null || p === undefined) return "–";
  return p >= 0.001 || p === 0 ? p.toFixed(3) : p.toExponential(1);
}

function joinPieces(tokens) {
  return tokens.filter((t) => t !== EOS).join("").split(MARK).join(" ").trim();
}

// Source columns: one per piece, or one per word (attention summed over its pieces).
function sourceColumns(data, pieces) {
  const source = data.source || [];
  if (pieces) return source.map((p, i) => ({ label: p, members: [i] }));
  const columns = [];
  (data.source_words || source.map((_, i) => i)).forEach((w, i) => {
    if (!columns[w]) columns[w] = { label: "", members: [] };
    columns[w].members.push(i);
    columns[w].label += source[i] === EOS ? EOS : source[i].split(MARK).join("");
  });
  return columns.filter(Boolean);
}

function weightsOf(step, columns) {
  if (!step || !step.attention) return null;
  return columns.map((c) => c.members.reduce((sum, i) => sum + (step.attention[i] || 0), 0));
}

// ?step=t, and ?force= only while the step shown is the one a token was forced at.
function setStepInUrl(t, force) {
  try {
    const url = new URL(window.location.href);
    const wanted = force === null || force === undefined ? null : String(force);
    if (url.searchParams.get("step") === String(t) && url.searchParams.get("force") === wanted) return;
    url.searchParams.set("step", String(t));
    if (wanted === null) url.searchParams.delete("force");
    else url.searchParams.set("force", wanted);
    window.history.replaceState(window.history.state, "", url.toString());
  } catch (error) {
    // An address that cannot be rewritten (a sandboxed frame) only loses sharing.
  }
}

// The steps arrive compact (nmt_core/views/step_data.py says how): each piece once, candidates as
// [token_id, prob, (adjusted,) forcible], numbers in ten-thousandths. Unpacked once per trace into what the
// code below reads: {token, token_id, attention, candidates: [[token_id, token, prob, adjusted]], forcible, why}.
const SCALE = 10000;
// Keyed by the parsed array itself, not the trace's id: that id names the decode's tokens and settings, and
// two models sharing a tokenizer can emit the same tokens with other weights.
let unpacked = { from: null, steps: null };
export function unpackSteps(data) {
  if (unpacked.from === data.steps) return unpacked.steps;
  const pieces = data.token_text || {}; // not data.pieces: that is the words/pieces switch
  const number = (v) => (v === null || v === undefined ? null : v / SCALE);
  const steps = data.steps.map((s) => ({
    token_id: s.token_id,
    token: pieces[s.token_id] ?? "",
    why: s.why,
    attention: s.attention ? s.attention.map((w) => w / SCALE) : null,
    candidates: s.candidates.map((c) => [c[0], pieces[c[0]] ?? "", number(c[1]), number(data.show_adjusted ? c[2] : c[1])]),
    forcible: s.candidates.filter((c) => c[c.length - 1]).map((c) => c[0]),
  }));
  unpacked = { from: data.steps, steps };
  return steps;
}

export default function (component) {
  const { parentElement, setTriggerValue, key } = component;
  const data = componentData(component.data);
  if (!data || !Array.isArray(data.steps)) return undefined;
  const steps = unpackSteps(data);
  const n = steps.length;
  const id = key || "step";
  const remembered = memory.get(id);
  // The server's step (the URL's, a forced step, or 1 for a new sentence) wins when it changed or the
  // trace did; otherwise keep what the user stepped to since (the server does not hear about steps).
  let t = data.step || 1;
  if (remembered && remembered.trace === data.id && remembered.serverStep === data.step) t = remembered.step;
  t = Math.min(Math.max(t, 1), Math.max(n, 1));
  let pieces = remembered ? remembered.pieces : !!data.pieces;
  let timer = null;
  const big = !!data.classroom;
  const forcedAt = (step) => (data.force && data.force.step === step ? data.force.token_id : null);

  const root = el("div", "ae-step" + (big ? " ae-big" : ""));
  root.style.setProperty("--ae-font", `${data.font_size || 14}px`);
  root.tabIndex = -1;

  // --- controls ---
  const controls = el("div", "ae-controls");
  const back = el("button", "ae-button", "◀ Back");
  back.dataset.ae = "back";
  const next = el("button", "ae-button", "Next ▶");
  next.dataset.ae = "next";
  const play = el("button", "ae-button", "▶ Play");
  play.dataset.ae = "play";
  play.title = "Show one step per second until the end";
  const slider = el("input", "ae-slider");
  slider.type = "range";
  slider.min = "1";
  slider.max = String(Math.max(n, 1));
  slider.step = "1";
  slider.dataset.ae = "slider";
  slider.setAttribute("aria-label", "Step");
  const label = el("span", "ae-label");
  label.dataset.ae = "label";
  const toggle = el("label", "ae-toggle");
  const box = el("input");
  box.type = "checkbox";
  box.dataset.ae = "pieces";
  toggle.append(box, document.createTextNode(" Pieces"));
  toggle.title = "Show SentencePiece pieces (▁ marks a word start) instead of words";
  controls.append(back, next, play, slider, label, toggle);
  if (n <= 1) slider.disabled = true;

  // --- what is shown for a step ---
  const sofarCaption = el("div", "ae-caption", "Translation so far");
  const sofar = el("div", "ae-sofar");
  sofar.dataset.ae = "sofar";
  const stripCaption = el("div", "ae-caption");
  const strip = el("div", "ae-strip");
  strip.dataset.ae = "strip";

  const chosenCaption = el("div", "ae-caption");
  const chosen = el("div", "ae-chosen");
  chosen.dataset.ae = "chosen";
  const why = el("div", "ae-why");
  why.dataset.ae = "why";
  const candCaption = el("div", "ae-caption", big
    ? "Most likely next tokens (the one taken is outlined)"
    : "Most likely next tokens: the model's probability" +
      (data.show_adjusted ? " and the one sampled from, after temperature / top-k / top-p" : "") +
      " (the token taken is outlined; “what if?” takes another one and decodes on)");
  const CLASSROOM_CANDIDATES = 5; // on a projector: the top 5 (and the token taken, wherever it ranks)
  const cands = el("div", "ae-cands");
  cands.dataset.ae = "candidates";
  const legend = el("div", "ae-legend");
  if (data.show_adjusted) {
    const a = el("span", "ae-key ae-model", "model");
    const b = el("span", "ae-key ae-adjusted", "after temperature / top-k / top-p");
    legend.append(a, b);
  }

  const heatCaption = el("div", "ae-caption");
  const heat = el("div", "ae-heat");
  heat.dataset.ae = "heatmap";

  const left = el("div", "ae-col");
  const right = el("div", "ae-col");
  left.append(chosenCaption, chosen, why);
  if (big) {
    right.append(candCaption, cands, legend);
  } else {
    left.append(candCaption, cands, legend);
    if (data.has_attention) right.append(heatCaption, heat);
  }
  const columns = el("div", "ae-columns");
  columns.append(left, right);
  if (big) {  // one line: "Translation so far: …"
    sofarCaption.textContent = "Translation so far:";
    const line = el("div", "ae-sofar-line");
    line.append(sofarCaption, sofar);
    root.append(controls, line);
  } else {
    root.append(controls, sofarCaption, sofar);
  }
  if (data.has_attention) root.append(stripCaption, strip);
  root.append(columns);

  // --- drawing ---
  // Built once per words/pieces mode: the strip's cells, the heatmap (every row laid out from the start,
  // hidden until revealed, so its size never changes) and a pool of candidate rows. A step then only
  // rewrites the texts, colours and widths that differ and toggles the heatmap rows whose state changed:
  // no node is created or dropped, so the browser's layout stays small (click to paint, issue 13).
  let built = null; // the mode the DOM below was built for
  let stripCells = []; // [{cell, weight}] per source column
  let heatCells = []; // [row][col] cells
  let heatRows = []; // the row heads
  let revealed = 0; // heatmap rows shown (1..revealed)
  let current = -1; // heatmap row outlined
  let pool = []; // candidate rows, reused from step to step
  let cols = [];
  const listedOf = (step) => (big
    ? step.candidates.filter((c, r) => r < CLASSROOM_CANDIDATES || c[0] === step.token_id)
    : step.candidates);

  function buildHeatmap() {
    heat.replaceChildren();
    heatCells = [];
    heatRows = [];
    heat.style.gridTemplateColumns = `max-content repeat(${cols.length}, minmax(1.6em, max-content))`;
    heat.append(el("div", "ae-corner"));
    cols.forEach((c) => {
      const head = el("div", "ae-colhead", c.label);
      head.dataset.ae = "xlabel";
      heat.append(head);
    });
    steps.forEach((s) => {
      const head = el("div", "ae-rowhead ae-hidden", pieceLabel(s.token, pieces));
      head.dataset.ae = "ylabel";
      heat.append(head);
      const weights = weightsOf(s, cols) || [];
      const row = cols.map((_, c) => {
        const cell = el("div", "ae-hcell ae-hidden");
        const w = weights[c] || 0;
        cell.style.background = blue(w);
        cell.title = `${s.token} → ${cols[c].label}: ${w.toFixed(3)}`;
        heat.append(cell);
        return cell;
      });
      heatCells.push(row);
      heatRows.push(head);
    });
    revealed = 0;
    current = -1;
  }

  function buildStrip() {
    strip.replaceChildren();
    stripCells = cols.map((c) => {
      const cell = el("div", "ae-cell");
      cell.dataset.ae = "source";
      const weight = el("span", "ae-weight");
      cell.append(el("span", "ae-piece", c.label), weight);
      strip.append(cell);
      return { cell, weight, w: null };
    });
  }

  function candidateRow() {
    const item = { row: el("div", "ae-cand"), name: el("span", "ae-cname"), lines: [], tokenId: null, token: "" };
    item.name.dataset.ae = "cand-label";
    const bars = el("div", "ae-bars");
    [["ae-model"]].concat(data.show_adjusted ? [["ae-adjusted"]] : []).forEach(([cls]) => {
      const line = el("div", "ae-barline");
      const bar = el("div", "ae-bar " + cls);
      const value = el("span", "ae-value");
      line.append(bar, value);
      bars.append(line);
      item.lines.push({ bar, value });
    });
    item.force = el("button", "ae-force", "what if?");
    item.force.dataset.ae = "force";
    item.force.addEventListener("click", () => {
      stop();
      setStepInUrl(t, item.tokenId);
      setTriggerValue("force", { step: t, token_id: item.tokenId });
    });
    item.space = el("span", "ae-force-space");
    item.row.append(item.name, bars, item.force, item.space);
    cands.append(item.row);
    return item;
  }

  function build() {
    cols = sourceColumns(data, pieces);
    if (data.has_attention) buildStrip();
    if (data.has_attention && !big) buildHeatmap();
    if (!pool.length) {
      const most = Math.max(0, ...steps.map((s) => listedOf(s).length));
      for (let k = 0; k < most; k++) pool.push(candidateRow());
    }
    built = pieces;
  }

  const setText = (node, text) => { if (node.textContent !== text) node.textContent = text; };

  function drawStrip(step) {
    const weights = weightsOf(step, cols);
    if (!weights) return;
    stripCells.forEach((c, i) => {
      const w = weights[i];
      if (c.w === w) return;
      c.w = w;
      c.cell.style.background = blue(w);
      c.cell.style.color = w > 0.5 ? "white" : "#1a1a1a";
      c.weight.textContent = w.toFixed(2);
    });
  }

  function drawCandidates(step) {
    const listed = listedOf(step);
    pool.forEach((item, k) => {
      const cand = listed[k];
      item.row.hidden = !cand;
      if (!cand) return;
      const [tokenId, token, prob, adjusted] = cand;
      item.tokenId = tokenId;
      item.row.classList.toggle("ae-taken", tokenId === step.token_id);
      setText(item.name, pieceLabel(token, pieces));
      item.name.title = token;
      [prob, adjusted].slice(0, item.lines.length).forEach((p, j) => {
        item.lines[j].bar.style.width = `${Math.max((p || 0) * 100, 0.4)}%`;
        setText(item.lines[j].value, fmt(p));
      });
      const forcible = !big && (step.forcible || []).includes(tokenId); // "what if?" is not for the projector
      item.force.hidden = !forcible;
      item.space.hidden = forcible;
      if (forcible) item.force.title = `Take “${token}” at step ${t} instead and let the decoder go on`;
    });
  }

  // Rows 1..t shown, row t outlined: only the rows whose state changes are touched.
  function revealHeatmap() {
    if (!heatRows.length) return;
    const setRow = (r, cls, on) => {
      heatRows[r].classList.toggle(cls, on);
      heatCells[r].forEach((cell) => cell.classList.toggle(cls, on));
    };
    for (let r = Math.min(revealed, t); r < Math.max(revealed, t); r++) setRow(r, "ae-hidden", r >= t);
    revealed = t;
    if (current !== t - 1) {
      if (current >= 0) setRow(current, "ae-current", false);
      setRow(t - 1, "ae-current", true);
      current = t - 1;
    }
  }

  function drawSofar() {
    const tokens = steps.slice(0, t).map((s) => s.token);
    sofar.replaceChildren();
    if (pieces) {
      tokens.forEach((tok, i) => sofar.append(el(i === t - 1 ? "mark" : "span", "ae-sofar-piece", tok)));
    } else {
      const before = joinPieces(tokens.slice(0, -1));
      const last = tokens[t - 1];
      const glue = last && last.startsWith(MARK) && before ? " " : "";
      sofar.append(document.createTextNode(before + glue), el("mark", "", last === EOS ? EOS : last.split(MARK).join("")));
    }
  }

  function draw() {
    const step = steps[t - 1];
    if (built !== pieces) build();
    root.dataset.step = String(t);
    root.dataset.steps = String(n);
    root.dataset.mode = pieces ? "pieces" : "words";
    back.disabled = t <= 1;
    next.disabled = t >= n;
    slider.value = String(t);
    box.checked = pieces;
    setText(label, `Step ${t} of ${n}`);
    setText(play, timer ? "⏸ Pause" : "▶ Play");
    drawSofar();
    setText(stripCaption, `Attention over the source at step ${t} (darker = more weight)`);
    drawStrip(step);
    setText(chosenCaption, `Token chosen at step ${t} of ${n}`);
    setText(chosen, pieceLabel(step.token, pieces));
    setText(why, step.why || "");
    drawCandidates(step);
    setText(heatCaption, `Attention heatmap, rows 1 to ${t} (step ${t} outlined)`);
    revealHeatmap();
    // The server's "what if?" results belong to one step each: show only the current step's.
    document.querySelectorAll('[class*="st-key-step_whatif_"]').forEach((node) => {
      const display = node.classList.contains(`st-key-step_whatif_${t}`) ? "" : "none";
      if (node.style.display !== display) node.style.display = display;
    });
    root.dataset.painted = String(t);
    memory.set(id, { trace: data.id, serverStep: data.step, step: t, pieces });
  }

  function go(target, fromPlay) {
    if (!fromPlay) stop();
    const clamped = Math.min(Math.max(target, 1), Math.max(n, 1));
    if (clamped === t) return draw();
    t = clamped;
    setStepInUrl(t, forcedAt(t));
    draw();
  }

  function stop() {
    if (timer) {
      clearInterval(timer);
      timer = null;
    }
    play.textContent = "▶ Play";
  }

  back.addEventListener("click", () => go(t - 1));
  next.addEventListener("click", () => go(t + 1));
  slider.addEventListener("input", () => go(Number(slider.value)));
  box.addEventListener("change", () => {
    pieces = box.checked;
    draw();
  });
  play.addEventListener("click", () => {
    if (timer) return stop();
    if (t >= n) go(1, true);
    timer = setInterval(() => {
      go(t + 1, true);
      if (t >= n) stop();
    }, PLAY_MS);
    play.textContent = "⏸ Pause";
  });
  root.addEventListener("keydown", (event) => {
    if (event.target === slider) return; // the slider moves itself
    if (event.key === "ArrowRight") go(t + 1);
    else if (event.key === "ArrowLeft") go(t - 1);
  });

  // Streamlit keeps its own <style> holder in parentElement: replace only the previous view.
  parentElement.querySelectorAll(":scope > .ae-step").forEach((node) => node.remove());
  parentElement.append(root);
  draw();
  setStepInUrl(t, forcedAt(t));
  return () => stop();
}
