"""A fresh server's imports, begun when the server starts instead of in its first visitor's script run.

`streamlit run app.py` imports app.py once to find its ``st.App``, whose start-up hook is :func:`warm_up`. It
starts a thread that does, in two stages, what a first script run of Translate would otherwise do itself:

Stage 1, what the first run needs up to Translate's heatmap (:func:`wait_for_core` waits for it):

1. import torch and nmt_core's core (torch alone is ~2 s of CPU here, the longest part of a cold start);
2. import pages.lib.common, which begins loading the default model in a thread of its own: that load is
   mostly waiting on files, so it goes on while the rest keeps the CPU busy;
3. import the sidebar, the heatmap component's helpers and Translate's own module-level imports (no pandas,
   pyarrow or plotly figures: the heatmap is a ``st.components.v2`` component fed by nmt_core.views.heatmap_data), and
   Streamlit's emoji table (an alert with non-ASCII text, like the coverage notice above the heatmap, loads it);
   fill the sidebar's per-checkpoint caches (the picker describes every checkpoint: its config, and its
   tokenisers read to check their vocabularies).

Stage 2, the rest of what Translate's first run imports, below its heatmap (:func:`wait_for_warm_up` waits for
it): pandas with pyarrow (the n-best table) and the plotly figures' modules (a Transformer's head grid;
plotly.graph_objects itself is Streamlit's, imported with it when the server starts).

Meanwhile the server answers: the browser loads the page and opens its websocket. The first script run waits for
stage 1 (app.py), draws the sidebar and Translate's heatmap, then waits for stage 2 before its first import of
pandas or the figures; any other page waits for both before it runs. Two threads never import the same modules side by
side, which they could otherwise do in a circular order and deadlock (or hand one of them a half-initialised
module):

- while stage 1 runs, a run waits in :func:`wait_for_core`;
- when stage 1 ends with a run waiting, stage 2 waits in turn until that run asks for it (:func:`wait_for_warm_up`,
  after its heatmap), so the run imports nothing while stage 2 does and has the one interpreter lock to itself
  on the way to the heatmap; stage 2 then lets the browser fetch the heatmap component's files (which the server
  answers under that lock too: :class:`ComponentFiles`) and runs while the browser draws the heatmap;
- when stage 1 ends with no run waiting, stage 2 starts at once; a run that comes meanwhile imports nothing up to
  its heatmap that stage 1 has not (tests/test_warm_up.py checks it) and then waits for stage 2.

One interpreter lock runs the server and this thread, so nothing is gained by starting sooner (at app.py's
import, it slowed the server's own start as much as it saved); what the order gains is the model's file reads,
hidden behind the imports, and a heatmap sent before the imports that only the rest of the page needs.
"""

import contextlib
import os
import re
import sys
import threading
import time

from pages.lib.components import FILE_COMPONENTS

# Debug: with ATTENTION_EXPLORER_TIMING set, the start-up's milestones go to stderr as
# "attention-explorer-timing <event> <epoch seconds>" (benchmarks/browser.py --cold-breakdown reads them).
TIMING = bool(os.environ.get("ATTENTION_EXPLORER_TIMING"))

_started = threading.Event()  # the warm-up thread was started (under `streamlit run` only)
_core = threading.Event()  # stage 1 is over: the first run may start
_waiting = threading.Event()  # a run waits for stage 1
_rest_wanted = threading.Event()  # a run asks for stage 2 (it has sent its heatmap, or it needs pandas)
_done = threading.Event()  # stage 2 is over
REST_AFTER_S = 30.0  # stage 2 starts anyway after this long, should no run ask for it
# After a first run has sent its heatmap, stage 2 also lets the browser fetch the component's files first (see
# :class:`ComponentFiles`): it starts once every file of the heatmap's module graph has been served, or
# COMPONENT_WAIT_S after the run's ask at the latest (a browser that had them cached asks for none).
_heatmap_sent = threading.Event()
_component_files: dict = {"in_flight": 0, "served": set()}  # requests for the components' files: file names served
HEATMAP_FILES = FILE_COMPONENTS["heatmap"]  # with the modules they import
COMPONENT_WAIT_S = 3.0


def mark(event: str) -> None:
    """Note a start-up milestone on stderr, when ATTENTION_EXPLORER_TIMING is set."""
    if TIMING:
        print(f"attention-explorer-timing {event} {time.time():.4f}", file=sys.stderr, flush=True)


def _warm_up() -> None:
    mark("warm_up_start")
    try:
        _skip_the_direct_run_warning()
        _import_core()
        mark("core_imported")
        import pages.lib.common  # noqa: F401  starts loading the default model in its own thread

        mark("preload_started")
        _import_first_run()
        _describe_checkpoints()
    except Exception:  # noqa: BLE001  the script run imports them again and shows the real error there
        pass
    finally:
        mark("core_ready")
        waiting = _waiting.is_set()
        _core.set()
    try:
        if waiting:  # a run goes first, up to its heatmap, with the interpreter lock to itself
            _rest_wanted.wait(REST_AFTER_S)
            if _heatmap_sent.is_set():
                _let_the_browser_fetch_the_component()
        mark("rest_start")
        _import_rest()
        mark("page_imported")
    except Exception:  # noqa: BLE001  as above
        pass
    finally:
        _freeze_the_imports()
        mark("warm_up_done")
        _done.set()


def _freeze_the_imports() -> None:
    """Move every object alive now, mostly the modules just imported (~280k objects: torch, pandas, plotly,
    Streamlit), out of the cyclic garbage collector's view (``gc.freeze``).

    They live as long as the process, yet each full collection walked them all with the interpreter lock held, which
    every session waits out (in one process after these imports: 0.67-1.8 s on a loaded machine, 0.0 s once frozen).
    Cached traces keep adding objects, so full collections recur on a long-running server. A frozen object is never
    collected: fine for modules, and what is frozen here is little else.
    """
    import gc

    gc.freeze()


def _let_the_browser_fetch_the_component() -> None:
    """Wait while the browser fetches the heatmap component's files (its module graph), up to COMPONENT_WAIT_S.

    The server answers them on its event loop, which needs the interpreter lock that stage 2's imports hold
    nearly all the time: measured on 2 loaded cores, the component's JS (three requests in a row: Streamlit's
    chunk for components, heatmap.js, the modules it imports) then came seconds late, and the heatmap with it.
    """
    needed = module_graph(HEATMAP_FILES)
    deadline = time.monotonic() + COMPONENT_WAIT_S
    while time.monotonic() < deadline:
        if needed <= _component_files["served"] and not _component_files["in_flight"]:
            return
        time.sleep(0.02)


_IMPORT = re.compile(r"""(?:\bimport|\bfrom)\s*(?:\(\s*)?["']\./([\w.-]+\.js)["']""")


def module_graph(files: tuple[str, ...]) -> set[str]:
    """``files`` (in nmt_core/figures/components) and every module they import there (``./name.js``), recursively:
    what the browser fetches to mount a component."""
    from nmt_core.figures import COMPONENTS

    found, todo = set(), list(files)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        if name.endswith(".js"):
            try:
                todo.extend(_IMPORT.findall((COMPONENTS / name).read_text(encoding="utf-8")))
            except OSError:
                pass
    return found


class ComponentFiles:
    """ASGI middleware (app.py): notes the requests for the ``st.components.v2`` components' files while the
    warm-up is not done (:func:`_let_the_browser_fetch_the_component`); afterwards it only passes requests on."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if _done.is_set() or scope.get("type") != "http" or "/_stcore/bidi-components/" not in scope.get("path", ""):
            await self.app(scope, receive, send)
            return
        _component_files["in_flight"] += 1  # the event loop's thread only: no lock needed
        try:
            await self.app(scope, receive, send)
        finally:
            _component_files["in_flight"] -= 1
            _component_files["served"].add(scope["path"].rsplit("/", 1)[-1])


def _skip_the_direct_run_warning() -> None:
    """Mark Streamlit's once-per-process warning "run this with `streamlit run`" as given.

    Streamlit decides it on the first element a script writes, and its test for a REPL calls inspect.stack(),
    which looks up the module of every frame among all of sys.modules: ~0.4 s of CPU in the first run once torch
    is loaded (thousands of modules), and still ~0.2 s before it. This code runs under `streamlit run` (the
    start-up hook called it), where that warning is never printed, so there is nothing to test.
    """
    from streamlit import delta_generator

    if hasattr(delta_generator, "_use_warning_has_been_displayed"):  # private: another Streamlit checks again
        delta_generator._use_warning_has_been_displayed = True


def skip_component_scan() -> None:
    """Skip Streamlit's search of every installed package for st.components.v2 manifests (call before the runtime
    starts: app.py, when the server imports it).

    This app is not an installed package: its components are inline, or declare their asset folder
    (nmt_core/figures/components/) themselves when first mounted (pages.lib.components.file_component). So the
    search finds nothing here, and it costs ~0.3 s of CPU (the metadata of some 300 packages) on the way to the
    server's first page. A component that a package declares in a manifest would not be registered: this app
    uses none.
    """
    try:
        from streamlit.components.v2 import manifest_scanner
    except ImportError:  # another Streamlit: nothing to skip
        return
    if hasattr(manifest_scanner, "scan_component_manifests"):
        manifest_scanner.scan_component_manifests = _no_manifests


def _no_manifests(*_args, **_kwargs) -> list:
    return []


def _import_core() -> None:
    """torch and what pages.lib.common needs from nmt_core: nothing here imports Streamlit's server modules."""
    import torch  # noqa: F401

    import nmt_core.checkpoint  # noqa: F401
    import nmt_core.decoding  # noqa: F401


def _import_first_run() -> None:
    """Stage 1's rest: the sidebar, and what Translate imports at its top and uses up to its heatmap."""
    import streamlit.emojis  # noqa: F401  st.info/st.warning with non-ASCII text look for a leading emoji

    import nmt_core.explain.coverage  # noqa: F401
    import nmt_core.figures.sizing  # noqa: F401
    import nmt_core.views.attention_heads  # noqa: F401
    import nmt_core.views.heatmap_data  # noqa: F401
    import pages.lib.heatmap  # noqa: F401
    import pages.lib.sidebar  # noqa: F401
    import pages.lib.style  # noqa: F401


def _import_rest() -> None:
    """Stage 2: what Translate imports below its heatmap (pandas, pyarrow, the plotly figures)."""
    import nmt_core.figures.attention_heads  # noqa: F401
    import nmt_core.figures.traces  # noqa: F401  pandas (which imports pyarrow) and plotly


def _describe_checkpoints() -> None:
    """The sidebar's picker describes every checkpoint on a session's first run: fill its caches now."""
    from pages.lib.common import available_checkpoints, describe_checkpoint

    for name in available_checkpoints():
        describe_checkpoint(name)


@contextlib.asynccontextmanager
async def warm_up(_app):
    """st.App's lifespan: start the warm-up in the background; the server starts serving meanwhile."""
    mark("lifespan")
    if not _started.is_set():
        _started.set()
        threading.Thread(target=_warm_up, name="attention-explorer-warm-up", daemon=True).start()
    yield


def wait_for_core(timeout: float = 120.0) -> None:
    """app.py's: block until stage 1 is done, the imports of the sidebar and of Translate up to its heatmap (at
    once when no warm-up was started: AppTest, a warm server). A run must not import pandas, pyarrow or the figures
    (nor anything else stage 2 imports) before :func:`wait_for_warm_up`."""
    if _started.is_set() and not _core.is_set():
        _waiting.set()
        _core.wait(timeout)


def heatmap_sent() -> None:
    """Translate's first run has mounted its heatmap: stage 2 lets the browser fetch its files first."""
    mark("heatmap_sent")
    _heatmap_sent.set()


def let_warm_up_finish() -> None:
    """Let stage 2 start, if it waits for a run (app.py, when a page's run is over), without waiting for it."""
    _rest_wanted.set()


def wait_for_warm_up(timeout: float = 120.0) -> None:
    """Let stage 2 start, if it waits for this run, and block until the whole warm-up is done (at once when none
    was started: AppTest, a warm server). Call it before importing anything stage 2 imports."""
    if _started.is_set() and not _done.is_set():
        _rest_wanted.set()
        _done.wait(timeout)
