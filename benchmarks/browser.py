"""Browser benchmark: what a person waits for, click to paint, in Chromium against `streamlit run`.

    .venv/bin/python benchmarks/browser.py --json after.json              # every measure, 15 tries each
    .venv/bin/python benchmarks/browser.py --json after.json --load 40    # plus 40 websocket sessions
    .venv/bin/python benchmarks/browser.py --root /tmp/before --json before.json   # another checkout

It starts `streamlit run app.py` in ``--root`` (default: this checkout) on 127.0.0.1, drives it with
Playwright in Debian's /usr/bin/chromium, and writes the median and p90 of every measure:

* ``step_next_ms``: Next on Step through, click to the painted step (heatmap row revealed);
* ``beam_step_ms``: one step back with the Beam search page's step slider (keyboard), to the painted tree;
* ``new_sentence_ms``: a new sentence on Translate (Ctrl+Enter in the box), to the painted heatmap (the end of
  the paint of the first frame with the new heatmap, and nothing on the page left stale);
* ``beam_width_ms``: width 11 -> 12 on Beam search for a new 15-word sentence (a new decode), to the
  painted tree (the end of the paint of the first frame showing it: until session 7, the start of that frame);
* ``cold_start_s``: a fresh server process, to the first painted heatmap of a link to Translate;
  ``--cold-breakdown`` times its milestones (server log marks, the page's Performance API and websocket), and
  ``--against ROOT`` starts another checkout in turn for an A/B under the same load.

Times are taken in the page, so Playwright's own round trips are not counted: from the input event (a
capturing listener) the page polls in every animation frame, and stops once the frame that shows the new view
has been laid out and painted (``measure_paint``), so the redraw's layout and paint count too: a plotly figure
lays itself out inside its own script, a component in the frame's rendering, and each is charged for it.
(``new_sentence_ms`` until the heatmap became a component, and ``beam_width_ms`` until session 7, stopped at
the start of that frame; to compare with figures from before, measure both checkouts with this file.)

``--load N`` then opens N sessions that speak Streamlit's websocket protocol from Python (not N
browsers: 2 cores cannot run 40 renderers). Each opens Step through
with its own sentence, then changes the sentence, the beam width and steps (Next, where stepping
still needs the server). It reports p50/p95 per interaction kind, errors and the server's peak RSS.
The JSON records the machine's load average: on a shared machine, compare medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))
from tests.loadtest import SENTENCES, MemoryWatch, free_port, rss_kib  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
MODEL = "spa-eng-luong"
# 15 words (a long sentence for this model: ~20 target pieces); the "new sentence" variants swap one word.
LONG = "Ayer por la tarde mi hermano y yo fuimos al mercado para comprar pan , queso y fruta fresca"
NOUNS = ["pan", "leche", "arroz", "café", "agua", "carne", "pescado", "vino", "sal", "azúcar", "té", "miel",
         "fruta", "huevos", "sopa", "pasta", "maíz", "aceite", "harina", "jamón", "uvas", "peras", "limones"]
TIMEOUT_MS = 120_000

def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def summary(values: list[float], digits: int = 1) -> dict:
    if not values:
        return {"n": 0}
    return {"median": round(statistics.median(values), digits), "p90": round(percentile(values, 0.9), digits),
            "n": len(values), "min": round(min(values), digits), "max": round(max(values), digits)}


class Server:
    """`streamlit run app.py` in ``root`` on a free port, with its own log; a context manager."""

    def __init__(self, root: Path, env: dict | None = None):
        self.root, self.port, self.env = root, free_port(), env or {}
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="streamlit-", suffix=".log", delete=False)
        self.listening = self.healthy = None  # epoch seconds, for --cold-breakdown

    def __enter__(self):
        env = {**os.environ, "OMP_NUM_THREADS": "1", **self.env}
        env.pop("ATTENTION_EXPLORER_CHECKPOINTS", None)
        self.started, self.started_epoch = time.perf_counter(), time.time()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(self.root / "app.py"), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port), "--browser.gatherUsageStats",
             "false"], cwd=self.root, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited: {Path(self.log.name).read_text()[-2000:]}")
            if self.listening is None and port_open(self.port):
                self.listening = time.time()
            try:
                if urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2).read() == b"ok":
                    self.healthy = time.time()
                    return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("streamlit did not start")

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def link(self, path: str, **params) -> str:
        query = {"model": MODEL, "method": "beam", "beam": 5, "lp": 1.0, **params}
        return f"{self.url}/{path}?{urllib.parse.urlencode(query)}"


# In-page click to paint, for every measure here: the capturing listener notes the input event, then checks
# ``condition`` in every animation frame from there; in the first frame where it holds, a MessageChannel
# message is posted, which runs once that frame's style, layout and paint are done. So the time includes the
# redraw's layout and paint, and no Playwright round trip (polling from Python starts only after the click
# returns, a frame or more late).
ARM_PAINT_JS = """([type, condition]) => { window.__aeT0 = null; window.__aeT1 = null; window.__aeFrame = null;
  const ready = new Function('return (' + condition + ')();');
  document.addEventListener(type, () => {
    window.__aeT0 = performance.now();
    const poll = () => {
      let ok = false;
      try { ok = !!ready(); } catch (error) { ok = false; }
      if (!ok) return requestAnimationFrame(poll);
      window.__aeFrame = performance.now();
      const channel = new MessageChannel();
      channel.port1.onmessage = () => { window.__aeT1 = performance.now(); };
      channel.port2.postMessage(0);
    };
    requestAnimationFrame(poll);
  }, {capture: true, once: true}); }"""


def measure_paint(page, event: str, action, condition: str) -> float:
    """Milliseconds from ``event`` (fired by ``action``) to the end of the first frame painted with
    ``condition`` (a JS function's source) true, timed in the page (see ARM_PAINT_JS)."""
    page.evaluate(ARM_PAINT_JS, [event, condition])
    action()
    page.wait_for_function("() => window.__aeT1 !== null", timeout=TIMEOUT_MS)
    return page.evaluate("() => window.__aeT1 - window.__aeT0")


# --- conditions that work on the app before and after issue 13 -------------------------------------------------
# Step through: the new page is one component (.ae-step) with data-step; the old one a plotly heatmap.
STEP_SHOWN_JS = """() => { const c = document.querySelector('.ae-step');
  if (c) return Number(c.dataset.step);
  return document.querySelectorAll('.st-key-step_heatmap .yaxislayer-above g.ytick').length; }"""
STEP_COUNT_JS = """() => { const c = document.querySelector('.ae-step');
  if (c) return Number(c.dataset.steps);
  const s = document.querySelector('[class*="st-key-step_slider"] input[type=range]');
  return s ? Number(s.max) : 0; }"""
NEXT_SELECTOR = ".ae-step [data-ae=next], .st-key-step_next button"
# Beam search: the new tree carries data-step; the old page shows "The beam after step N".
BEAM_STEP_JS = """() => { const c = document.querySelector('.ae-beam');
  if (c) return Number(c.dataset.step);
  const h = [...document.querySelectorAll('h3')].find(e => e.textContent.startsWith('The beam after step'));
  return h ? Number(h.textContent.split(' ').pop()) : null; }"""
BEAM_SLIDER = ".ae-beam input[type=range][data-ae=step], .st-key-beam_page_step input[type=range]"
TREE_SIGNATURE_JS = """() => { const c = document.querySelector('.ae-beam');
  if (c) return c.dataset.nodes + '/' + c.dataset.painted;
  const gd = document.querySelector('.st-key-beam_page_tree .js-plotly-plot');  // plotly: SVG or WebGL
  const nodes = gd && gd.data ? gd.data.find(t => t.name === 'nodes') : null;
  return nodes ? String(nodes.x.length) + '/' + String(gd.data.length) : '0'; }"""
# Translate: the heatmap component (.ae-heatmap) names the decode it drew (data-id) once its cells are in the page;
# before it, a plotly heatmap whose source tick labels were drawn.
HEATMAP_SIGNATURE_JS = """() => { const c = document.querySelector('[data-testid="stMain"] .ae-heatmap');
  if (c) return c.querySelector('.ae-hm-cell') ? c.dataset.id + '/' + c.dataset.mode : '';
  return [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stPlotlyChart"] .xtick text')]
    .map(t => t.textContent).join('|'); }"""


def settled(page) -> None:
    page.wait_for_function("""() => !document.querySelector('[data-testid="stStatusWidget"]')
        && !document.querySelector('[data-stale="true"]')""", timeout=TIMEOUT_MS)
    page.wait_for_timeout(300)


def bench_step(browser, server: Server, tries: int) -> list[float]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    times: list[float] = []
    try:
        while len(times) < tries:
            page.goto(server.link("step", text=LONG, step=1))
            page.wait_for_function(f"({STEP_SHOWN_JS})() === 1", timeout=TIMEOUT_MS)
            settled(page)
            n = page.evaluate(STEP_COUNT_JS)
            for t in range(1, n):
                if len(times) >= tries:
                    break
                times.append(measure_paint(page, "click", lambda: page.locator(NEXT_SELECTOR).first.click(),
                                           f"() => ({STEP_SHOWN_JS})() === {t + 1}"))
                settled(page) if not page.locator(".ae-step").count() else None
    finally:
        page.close()
    return times


def bench_beam_step(browser, server: Server, tries: int) -> list[float]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    times: list[float] = []
    try:
        page.goto(server.link("beam", text=LONG))
        page.wait_for_function(f"({BEAM_STEP_JS})() !== null", timeout=TIMEOUT_MS)
        settled(page)
        slider = page.locator(BEAM_SLIDER).first
        while len(times) < tries:
            step = page.evaluate(BEAM_STEP_JS)
            key, goal = ("ArrowLeft", step - 1) if step > 2 else ("End", None)
            slider.focus()
            if goal is None:  # back at the start: jump to the last step (not measured)
                page.keyboard.press(key)
                settled(page)
                continue
            times.append(measure_paint(page, "keydown", lambda k=key: page.keyboard.press(k),
                                       f"() => ({BEAM_STEP_JS})() === {goal}"))
            if not page.locator(".ae-beam").count():
                settled(page)
    finally:
        page.close()
    return times


def replace_sentence(page, text: str) -> None:
    box = page.locator('[data-testid="stSidebar"] textarea').first
    box.fill(text)


def bench_new_sentence(browser, server: Server, tries: int) -> list[float]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    times: list[float] = []
    try:
        page.goto(server.link("", text=LONG))
        page.wait_for_function(f"({HEATMAP_SIGNATURE_JS})() !== ''", timeout=TIMEOUT_MS)
        settled(page)
        for i in range(tries):
            before = page.evaluate(HEATMAP_SIGNATURE_JS)
            replace_sentence(page, f"Quiero comprar {NOUNS[i % len(NOUNS)]} y {NOUNS[(i + 7) % len(NOUNS)]} hoy .")
            box = page.locator('[data-testid="stSidebar"] textarea').first
            # To the end of the frame's paint (measure_paint): a plotly heatmap lays itself out in its own script
            # (a forced layout), a component's DOM in the frame after; both are counted.
            times.append(measure_paint(page, "keydown", lambda b=box: b.press("Control+Enter"),
                                       f"() => (({HEATMAP_SIGNATURE_JS})() !== {json.dumps(before)})"
                                       " && !document.querySelector('[data-stale=\"true\"]')"))
            settled(page)
    finally:
        page.close()
    return times


def bench_beam_width(browser, server: Server, tries: int) -> list[float]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    times: list[float] = []
    try:
        for i in range(tries):
            words = LONG.split()
            words[words.index("pan")] = NOUNS[(i + 1) % len(NOUNS)]  # a sentence no earlier try decoded
            words[words.index("queso")] = NOUNS[(i + 9) % len(NOUNS)]
            page.goto(server.link("beam", text=" ".join(words), beam=11))
            page.wait_for_function(f"({TREE_SIGNATURE_JS})() !== '0'", timeout=TIMEOUT_MS)
            settled(page)
            before = page.evaluate(TREE_SIGNATURE_JS)
            slider = page.locator('.st-key-beam_page_width input[type="range"]')
            slider.focus()
            # To the end of the frame's paint, as every other click-to-paint measure here (a tree of ~3,000 nodes
            # takes a visible part of a frame to paint).
            times.append(measure_paint(page, "keydown", lambda s=slider: s.press("ArrowRight"),
                                       f"() => new URLSearchParams(location.search).get('beam') === '12'"
                                       f" && ({TREE_SIGNATURE_JS})() !== {json.dumps(before)}"
                                       " && !document.querySelector('[data-stale=\"true\"]')"))
    finally:
        page.close()
    return times


def bench_cold_start(playwright, root: Path, tries: int) -> list[float]:
    times: list[float] = []
    for _ in range(tries):
        browser = launch(playwright)
        try:
            server = Server(root)
            with server:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(server.link("", text="Hace mucho frío aquí."))
                page.wait_for_function(f"({HEATMAP_SIGNATURE_JS})() !== ''", polling="raf", timeout=TIMEOUT_MS)
                times.append(time.perf_counter() - server.started)
        finally:
            browser.close()
    return times


# --- cold start, milestone by milestone (--cold-breakdown) ----------------------------------------------------
# Server side, from the log (pages/lib/warm_up.py's marks, with ATTENTION_EXPLORER_TIMING set); browser side, from
# the Performance API (epoch milliseconds: timeOrigin + the entry's time) and a wrapped WebSocket.
COLD_MILESTONES = ["listening", "app_imported", "lifespan", "warm_up_start", "healthy", "goto", "html_served",
                   "dom_content_loaded", "websocket_open", "first_message", "run_start", "core_imported",
                   "preload_started", "core_ready", "run_waited", "sidebar_done", "heatmap_sent", "rest_start",
                   "heatmap_received", "bidi_chunk_loaded", "heatmap_js_loaded", "shared_js_loaded",
                   "page_imported", "warm_up_done", "run_end", "heatmap_painted"]
# Every WebSocket the page opens notes its open, its first message and the first message that carries the
# heatmap component (Translate's key), in the page's own clock.
WEBSOCKET_TIMES_JS = """(() => { const Original = window.WebSocket, times = window.__aeWs = {};
  const now = () => performance.timeOrigin + performance.now();
  window.WebSocket = function (...args) {
    const ws = new Original(...args);
    ws.addEventListener('open', () => { times.websocket_open = times.websocket_open || now(); });
    ws.addEventListener('message', event => {
      const t = now(); times.first_message = times.first_message || t;
      if (!times.heatmap_received && event.data instanceof ArrayBuffer
          && new TextDecoder().decode(event.data).includes('translate_heatmap')) times.heatmap_received = t;
    });
    return ws; };
  Object.assign(window.WebSocket, Original); window.WebSocket.prototype = Original.prototype; })();"""
# The component's files (and Streamlit's chunk for st.components.v2) from resource timing: when each arrived.
NAVIGATION_JS = """() => { const n = performance.getEntriesByType('navigation')[0], o = performance.timeOrigin;
  const loaded = pattern => { const r = performance.getEntriesByType('resource').find(e => pattern.test(e.name));
    return r ? (o + r.responseEnd) / 1000 : undefined; };
  return {html_served: (o + n.responseEnd) / 1000, dom_content_loaded: (o + n.domContentLoadedEventEnd) / 1000,
          bidi_chunk_loaded: loaded(/\\/BidiComponent[^/]*\\.js$/), heatmap_js_loaded: loaded(/\\/heatmap\\.js$/),
          shared_js_loaded: loaded(/\\/shared\\.js$/),
          ...Object.fromEntries(Object.entries(window.__aeWs || {}).map(([k, v]) => [k, v / 1000]))}; }"""


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def server_marks(log: str) -> dict[str, float]:
    """The first time of each ``attention-explorer-timing <event> <epoch>`` line in a server log."""
    marks: dict[str, float] = {}
    for line in Path(log).read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "attention-explorer-timing":
            marks.setdefault(parts[1], float(parts[2]))
    return marks


def cold_start_once(browser, root: Path) -> dict[str, float]:
    """One fresh server to the painted heatmap: each milestone's seconds since the server process started."""
    server = Server(root, env={"ATTENTION_EXPLORER_TIMING": "1"})
    with server:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.add_init_script(WEBSOCKET_TIMES_JS)
        goto = time.time()
        page.goto(server.link("", text="Hace mucho frío aquí."), wait_until="commit")
        page.wait_for_function(f"""() => {{ if (({HEATMAP_SIGNATURE_JS})() === '') return false;
            window.__aeCold = (performance.timeOrigin + performance.now()) / 1000; return true; }}""",
                               polling="raf", timeout=TIMEOUT_MS)
        painted = page.evaluate("() => window.__aeCold")
        cpu = cpu_seconds(server.process.pid)  # the server's, at the paint
        page.wait_for_timeout(500)  # the run's end, after the heatmap
        navigation = page.evaluate(NAVIGATION_JS)
        page.close()
    times = {**server_marks(server.log.name), **navigation, "goto": goto, "heatmap_painted": painted,
             "listening": server.listening, "healthy": server.healthy}
    since = {k: round(v - server.started_epoch, 3) for k, v in times.items() if v is not None}
    since["server_cpu"] = round(cpu, 2)
    return since


def bench_cold_breakdown(playwright, roots: list[Path], tries: int) -> dict:
    """Median seconds from the server process's start to each milestone, over ``tries`` fresh servers per root;
    with two roots they take turns (A B B A ...), so that a loaded machine weighs on both alike."""
    runs: dict[Path, list[dict]] = {root: [] for root in roots}
    for i in range(tries):
        for root in roots if i % 2 == 0 else roots[::-1]:
            browser = launch(playwright)
            try:
                runs[root].append(cold_start_once(browser, root))
            finally:
                browser.close()
            print("cold_breakdown", root, runs[root][-1], flush=True)
    return {str(root): {name: round(statistics.median(r[name] for r in rs if name in r), 3)
                        for name in [*COLD_MILESTONES, "server_cpu"] if any(name in r for r in rs)}
            for root, rs in runs.items()}


def launch(playwright):
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run"])
    return Browser(browser)


class Browser:
    """Chromium whose pages wait as long as a loaded 2-core machine needs (Playwright's default is 30 s)."""

    def __init__(self, browser):
        self.browser = browser

    def new_page(self, **options):
        page = self.browser.new_page(**options)
        page.set_default_timeout(TIMEOUT_MS)
        return page

    def close(self):
        self.browser.close()


# --- load: sessions speaking Streamlit's websocket protocol ---------------------------------------------------

class WsSession:
    """One Streamlit session over the websocket: reruns with widget states, waits for script_finished."""

    def __init__(self, url: str):
        self.uri = url.replace("http://", "ws://") + "/_stcore/stream"
        # label -> (id, kind) as the last run rendered it; first seen in a run wins (the sidebar's). A widget's
        # id can change from run to run (Streamlit derives it from its parameters, and a link's value is one),
        # and the server ignores a state sent under a stale id: so states are kept by label.
        self.widgets: dict[str, tuple[str, str]] = {}
        self.states: dict[str, object] = {}  # widget label -> value sent with every rerun
        # Hashes of the large messages received (Streamlit's message cache): a browser reports them with every
        # rerun, and the server sends a reference instead of a message the browser already holds.
        self.cached: set[str] = set()
        self.query = ""
        self.exceptions = 0
        self.bytes_received = 0

    async def __aenter__(self):
        import websockets
        self.ws = await websockets.connect(self.uri, subprotocols=["streamlit"], max_size=None,
                                           open_timeout=120, ping_interval=None)
        return self

    async def __aexit__(self, *exc):
        await self.ws.close()

    async def rerun(self, page: str, trigger: str | None = None) -> float:
        """Run ``page`` with the kept widget states (and a click on the button labelled ``trigger``); seconds
        until the run finished. A run superseded by a newer one is waited past."""
        started = time.perf_counter()
        await self.ws.send(self.rerun_message(page, trigger).SerializeToString())
        seen: dict[str, tuple[str, str]] = {}
        while True:
            finished = self.read(await self.ws.recv(), seen)
            if finished in (0, 3):  # FINISHED_SUCCESSFULLY or FINISHED_FRAGMENT_RUN_SUCCESSFULLY
                self.widgets.update(seen)
                return time.perf_counter() - started
            if finished == 1:  # FINISHED_WITH_COMPILE_ERROR
                raise RuntimeError("compile error")
            # None: not the end of a run; 2: FINISHED_EARLY_FOR_RERUN, a newer run follows

    def rerun_message(self, page: str, trigger: str | None):
        """The BackMsg a browser sends: the query, the cached messages' hashes, every kept widget state."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        message = BackMsg()
        client = message.rerun_script
        client.query_string = self.query
        client.page_name = page
        client.cached_message_hashes.extend(sorted(self.cached))
        for label, value in self.states.items():
            if label in self.widgets:
                state = client.widget_states.widgets.add()
                state.id = self.widgets[label][0]
                if isinstance(value, str):
                    state.string_value = value
                elif isinstance(value, float | int):
                    state.double_array_value.data.append(float(value))
        if trigger:
            state = client.widget_states.widgets.add()
            state.id = self.widgets[trigger][0]
            state.trigger_value = True
        return message

    def read(self, raw: bytes, seen: dict[str, tuple[str, str]]) -> int | None:
        """Take in one ForwardMsg: count its bytes, note cacheable hashes, the widgets it draws (``seen``: label
        -> (id, kind), first wins), exceptions and the new query string. The script_finished status, else None."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.bytes_received += len(raw)
        forward = ForwardMsg()
        forward.ParseFromString(raw)
        kind = forward.WhichOneof("type")
        if forward.metadata.cacheable and forward.hash:
            self.cached.add(forward.hash)
        if kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
            element = forward.delta.new_element
            which = element.WhichOneof("type")
            self.exceptions += which == "exception"
            inner = getattr(element, which, None)
            label, wid = getattr(inner, "label", None), getattr(inner, "id", None)
            if label and wid and label not in seen:
                seen[label] = (wid, which)
        elif kind == "page_info_changed":
            self.query = forward.page_info_changed.query_string
        elif kind == "script_finished":
            return forward.script_finished
        return None


async def load_session(url: str, index: int, rounds: int, results: dict, errors: list, together: bool = False) -> None:
    """One session: open Step through, then ``rounds`` times a new sentence, a new beam width and three steps.

    Apart (the default), every session types sentences of its own (numbered, so no two sessions share a decode):
    the worst case, where every interaction is a decode. ``together``: every session types the same sentences and
    widths, as a class does that follows the teacher, so sessions share decodes through the server's caches."""
    sentence = SENTENCES[0 if together else index % len(SENTENCES)]
    try:
        async with WsSession(url) as session:
            session.query = urllib.parse.urlencode({"model": MODEL, "text": sentence, "method": "beam", "beam": 5})
            results["open"].append(await session.rerun("step"))
            if "Sentence" not in session.widgets:
                # A fresh server's first runs go through Streamlit's legacy multipage mode (see app.py);
                # a deep link that arrives while another session switches it off renders an empty
                # page until its next run. Counted, then rerun as a browser's next interaction would.
                results["empty_first_page"] += 1
                await session.rerun("step")
            for r in range(rounds):
                own = f" ({index})" if not together else ""
                session.states["Sentence"] = SENTENCES[(r + 1 + (0 if together else index)) % len(SENTENCES)] + own
                results["sentence"].append(await session.rerun("step"))
                session.states["Beam width"] = 4 + (r + (0 if together else index)) % 4
                results["width"].append(await session.rerun("step"))
                for _ in range(3):  # stepping: a server run only where the page still needs one
                    if "Next ▶" not in session.widgets:
                        results["step_client_side"] += 1
                    else:
                        results["step"].append(await session.rerun("step", trigger="Next ▶"))
            if session.exceptions:
                errors.append(f"session {index}: {session.exceptions} exception(s) on the page")
            results["bytes"] += session.bytes_received
    except Exception as error:  # a load test counts every failure
        errors.append(f"session {index}: {type(error).__name__}: {error}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(root: Path, sessions: int, rounds: int, timeout: float, together: bool = False) -> dict:
    with Server(root) as server:
        watch = MemoryWatch(server.process.pid)
        watch.start()
        idle = rss_kib(server.process.pid)
        cpu_before = cpu_seconds(server.process.pid)
        results: dict = {"open": [], "sentence": [], "width": [], "step": [], "step_client_side": 0, "bytes": 0,
                         "empty_first_page": 0}
        errors: list[str] = []
        started = time.perf_counter()

        async def everyone():
            await asyncio.wait_for(asyncio.gather(*(load_session(server.url, i, rounds, results, errors, together)
                                                    for i in range(sessions))), timeout)
        try:
            asyncio.run(everyone())
        except TimeoutError:
            errors.append(f"the load run passed {timeout:.0f} s")
        wall = time.perf_counter() - started
        server_cpu = cpu_seconds(server.process.pid) - cpu_before
        watch.stopped.set()
        watch.join(timeout=2)
        tracebacks = Path(server.log.name).read_text(errors="replace").count("Traceback")
    interactions = results["sentence"] + results["width"] + results["step"]
    return {
        "sessions": sessions, "rounds": rounds, "sentences": "together" if together else "apart",
        "errors": len(errors) + tracebacks, "error_messages": errors[:10],
        "server_tracebacks": tracebacks,
        "interaction_s": {"p50": round(statistics.median(interactions), 3) if interactions else None,
                          "p95": round(percentile(interactions, 0.95), 3) if interactions else None,
                          "n": len(interactions)},
        **{f"{kind}_s": {"p50": round(statistics.median(v), 3), "p95": round(percentile(v, 0.95), 3), "n": len(v)}
           for kind in ("open", "sentence", "width", "step") if (v := results[kind])},
        "steps_in_browser_without_server": results["step_client_side"],
        "empty_first_page": results["empty_first_page"],
        "bytes_received_per_session": results["bytes"] // max(sessions, 1),
        "wall_s": round(wall, 1), "server_rss_idle_mib": round(idle / 1024, 1),
        "server_rss_peak_mib": round(watch.peak / 1024, 1),
        # The server's own CPU time (user + system) over the run: on a shared machine, where wall times follow
        # the load average, this is the measure of what an interaction costs.
        "server_cpu_s": round(server_cpu, 1),
        "server_cpu_ms_per_run": round(1000 * server_cpu / max(len(interactions) + len(results["open"]), 1)),
    }


def save(path: Path | None, report: dict) -> None:
    if path is not None:
        path.write_text(json.dumps(report, indent=2) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=HERE, help="checkout to serve (default: this one)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--tries", type=int, default=15, help="tries per measure (at least 15 for a report)")
    parser.add_argument("--cold-tries", type=int, help="server starts for cold_start_s (default: --tries)")
    parser.add_argument("--only", default="step,beam_step,new_sentence,beam_width,cold_start",
                        help="comma-separated measures to run")
    parser.add_argument("--cold-breakdown", action="store_true",
                        help="also time a fresh server's start milestone by milestone (--cold-tries starts)")
    parser.add_argument("--against", type=Path,
                        help="with --cold-breakdown: another checkout, started in turn with --root")
    parser.add_argument("--load", type=int, default=0, help="websocket sessions to add (0: none)")
    parser.add_argument("--load-rounds", type=int, default=2, help="sentence/width/step rounds per session")
    parser.add_argument("--load-together", action="store_true",
                        help="every load session types the same sentences (a class following the teacher)")
    parser.add_argument("--load-timeout", type=float, default=600)
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} is missing (apt-get install -y chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    only = set(args.only.split(",")) - {""} if args.only else set()
    report: dict = {"root": str(args.root), "tries": args.tries, "load_average_start": os.getloadavg()}
    with sync_playwright() as playwright:
        if only - {"cold_start"}:
            with Server(args.root) as server:
                browser = launch(playwright)
                try:
                    for name, bench, digits in (("step", bench_step, 1), ("beam_step", bench_beam_step, 1),
                                                ("new_sentence", bench_new_sentence, 1),
                                                ("beam_width", bench_beam_width, 1)):
                        if name in only:
                            field = f"{name if name != 'step' else 'step_next'}_ms"
                            try:
                                report[field] = summary(bench(browser, server, args.tries), digits)
                            except Exception as error:  # report the others anyway
                                report[field] = {"error": f"{type(error).__name__}: {str(error)[:300]}"}
                            print(field, report[field], flush=True)
                            save(args.json, report)
                finally:
                    browser.close()
        if "cold_start" in only:
            report["cold_start_s"] = summary(bench_cold_start(playwright, args.root, args.cold_tries or args.tries), 2)
            print("cold_start", report["cold_start_s"], flush=True)
            save(args.json, report)
        if args.cold_breakdown:
            roots = [args.root] + ([args.against] if args.against else [])
            report["cold_breakdown_s"] = bench_cold_breakdown(playwright, roots, args.cold_tries or args.tries)
            print("cold_breakdown", report["cold_breakdown_s"], flush=True)
            save(args.json, report)
    if args.load:
        report["load"] = run_load(args.root, args.load, args.load_rounds, args.load_timeout, args.load_together)
        print("load", report["load"], flush=True)
    report["load_average_end"] = os.getloadavg()
    save(args.json, report)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
