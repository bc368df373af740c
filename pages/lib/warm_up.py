"""A fresh server's imports, begun when the server starts instead of in its first visitor's script run.

`streamlit run app.py` imports app.py once to find its ``st.App``, whose start-up hook is :func:`warm_up`. It
starts a thread that does, in this order, what a first script run of Translate would otherwise do itself:

1. import torch and nmt_core's core (torch alone is ~2 s of CPU here, the longest part of a cold start);
2. import pages.lib.common, which begins loading the default model in a thread of its own: that load is
   mostly waiting on files, so it goes on while step 3 keeps the CPU busy;
3. import the rest of what Translate's first run imports (pandas with pyarrow, plotly, the figures, Streamlit's
   emoji table, which an alert with non-ASCII text loads), and fill the sidebar's per-checkpoint caches (the
   picker describes every checkpoint: its config, and its tokenisers read to check their vocabularies).

Meanwhile the server answers: the browser loads the page and opens its websocket. The first script run waits for
the thread (:func:`wait_for_warm_up`) rather than importing the same modules beside it, which two threads could
otherwise do in a circular order and deadlock. One interpreter lock runs the server and this thread, so nothing
is gained by starting sooner (at app.py's import, it slowed the server's own start as much as it saved) or by
letting the run start early; what the order gains is the model's file reads, hidden behind step 3.
"""

import contextlib
import os
import sys
import threading
import time

# Debug: with ATTENTION_EXPLORER_TIMING set, the start-up's milestones go to stderr as
# "attention-explorer-timing <event> <epoch seconds>" (benchmarks/browser.py --cold-breakdown reads them).
TIMING = bool(os.environ.get("ATTENTION_EXPLORER_TIMING"))

_done = threading.Event()
_started = threading.Event()


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
        import pages.lib.sidebar  # noqa: F401

        mark("preload_started")
        _import_translate_page()
        mark("page_imported")
        _describe_checkpoints()
    except Exception:  # noqa: BLE001  the script run imports them again and shows the real error there
        pass
    finally:
        mark("warm_up_done")
        _done.set()


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
    (nmt_core/figures/components/) themselves when first mounted (pages.lib.common.file_component). So the
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


def _import_translate_page() -> None:
    """What pages/translate.py and its first run import: the figures (pandas, pyarrow, plotly), the views."""
    import streamlit.emojis  # noqa: F401  st.info/st.warning with non-ASCII text look for a leading emoji

    import nmt_core.explain.coverage  # noqa: F401
    import nmt_core.figures.attention_heads  # noqa: F401
    import nmt_core.figures.traces  # noqa: F401
    import nmt_core.views.attention_heads  # noqa: F401
    import nmt_core.views.heatmap_data  # noqa: F401


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


def wait_for_warm_up(timeout: float = 120.0) -> None:
    """Block until the warm-up is done (at once when none was started: AppTest, a warm server)."""
    if _started.is_set():
        _done.wait(timeout)
