// Step through, in the browser: the whole trace arrives once as `data` (nmt_core/figures/step_data.py);
// Back, Next, the slider, Play, the words/pieces switch, the strip, the top-k bars and the revealed
// heatmap all redraw here, with no server run. The only message to the server is a forced token
// (a trigger, "force"), because that needs the model.
//
// User text (source and target pieces) reaches the page only through textContent, never innerHTML.
// The step is mirrored into the address bar (?step=, 1-based) so the view can be shared.

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

export default function (component) {
  const { data, parentElement, setTriggerValue, key } = component;
  if (!data || !Array.isArray(data.steps)) return undefined;
  const n = data.steps.length;
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
  let heatCells = []; // [row][col] cells, rebuilt when words/pieces change
  let heatRows = [];
  let drawnMode = null;

  function buildHeatmap(cols) {
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
    data.steps.forEach((s, r) => {
      const head = el("div", "ae-rowhead", pieceLabel(s.token, pieces));
      head.dataset.ae = "ylabel";
      heat.append(head);
      const weights = weightsOf(s, cols) || [];
      const row = cols.map((_, c) => {
        const cell = el("div", "ae-hcell");
        const w = weights[c] || 0;
        cell.style.background = blue(w);
        cell.title = `${s.token} → ${cols[c].label}: ${w.toFixed(3)}`;
        heat.append(cell);
        return cell;
      });
      heatCells.push(row);
      heatRows.push(head);
    });
  }

  function drawStrip(step, cols) {
    strip.replaceChildren();
    const weights = weightsOf(step, cols);
    if (!weights) return;
    cols.forEach((c, i) => {
      const cell = el("div", "ae-cell");
      cell.dataset.ae = "source";
      const w = weights[i];
      cell.style.background = blue(w);
      cell.style.color = w > 0.5 ? "white" : "#1a1a1a";
      cell.append(el("span", "ae-piece", c.label), el("span", "ae-weight", w.toFixed(2)));
      strip.append(cell);
    });
  }

  function drawCandidates(step) {
    cands.replaceChildren();
    const listed = big
      ? step.candidates.filter((c, r) => r < CLASSROOM_CANDIDATES || c[0] === step.token_id)
      : step.candidates;
    listed.forEach(([tokenId, token, prob, adjusted]) => {
      const row = el("div", "ae-cand" + (tokenId === step.token_id ? " ae-taken" : ""));
      const name = el("span", "ae-cname", pieceLabel(token, pieces));
      name.dataset.ae = "cand-label";
      name.title = token;
      const bars = el("div", "ae-bars");
      const series = [["ae-model", prob]];
      if (data.show_adjusted) series.push(["ae-adjusted", adjusted]);
      series.forEach(([cls, p]) => {
        const line = el("div", "ae-barline");
        const bar = el("div", "ae-bar " + cls);
        bar.style.width = `${Math.max((p || 0) * 100, 0.4)}%`;
        line.append(bar, el("span", "ae-value", fmt(p)));
        bars.append(line);
      });
      row.append(name, bars);
      if (!big && (step.forcible || []).includes(tokenId)) {  // "what if?" is not for the projector view
        const force = el("button", "ae-force", "what if?");
        force.dataset.ae = "force";
        force.title = `Take “${token}” at step ${t} instead and let the decoder go on`;
        force.addEventListener("click", () => {
          stop();
          setStepInUrl(t, tokenId);
          setTriggerValue("force", { step: t, token_id: tokenId });
        });
        row.append(force);
      } else {
        row.append(el("span", "ae-force-space"));
      }
      cands.append(row);
    });
  }

  function draw() {
    const step = data.steps[t - 1];
    const cols = sourceColumns(data, pieces);
    if (drawnMode !== pieces) {
      if (data.has_attention && !big) buildHeatmap(cols);
      drawnMode = pieces;
    }
    root.dataset.step = String(t);
    root.dataset.steps = String(n);
    root.dataset.mode = pieces ? "pieces" : "words";
    back.disabled = t <= 1;
    next.disabled = t >= n;
    slider.value = String(t);
    box.checked = pieces;
    label.textContent = `Step ${t} of ${n}`;
    play.textContent = timer ? "⏸ Pause" : "▶ Play";

    const tokens = data.steps.slice(0, t).map((s) => s.token);
    sofar.replaceChildren();
    if (pieces) {
      tokens.forEach((tok, i) => sofar.append(el(i === t - 1 ? "mark" : "span", "ae-sofar-piece", tok)));
    } else {
      const before = joinPieces(tokens.slice(0, -1));
      const last = tokens[t - 1];
      const glue = last && last.startsWith(MARK) && before ? " " : "";
      sofar.append(el("span", "", before + glue), el("mark", "", last === EOS ? EOS : last.split(MARK).join("")));
    }

    stripCaption.textContent = `Attention over the source at step ${t} (darker = more weight)`;
    drawStrip(step, cols);
    chosenCaption.textContent = `Token chosen at step ${t} of ${n}`;
    chosen.textContent = pieceLabel(step.token, pieces);
    why.textContent = step.why || "";
    drawCandidates(step);

    heatCaption.textContent = `Attention heatmap, rows 1 to ${t} (step ${t} outlined)`;
    heatCells.forEach((row, r) => {
      const shown = r < t;
      heatRows[r].classList.toggle("ae-hidden", !shown);
      heatRows[r].classList.toggle("ae-current", r === t - 1);
      row.forEach((cell) => {
        cell.classList.toggle("ae-hidden", !shown);
        cell.classList.toggle("ae-current", r === t - 1);
      });
    });
    // The server's "what if?" results belong to one step each: show only the current step's.
    document.querySelectorAll('[class*="st-key-step_whatif_"]').forEach((node) => {
      node.style.display = node.classList.contains(`st-key-step_whatif_${t}`) ? "" : "none";
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
