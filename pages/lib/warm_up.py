"""A fresh server's imports, begun when the server starts instead of in its first visitor's script run.

`streamlit run app.py` imports app.py once to find its ``st.App``, whose start-up hook is :func:`warm_up`.
It starts a thread that imports what a first script run needs (torch alone is ~2 s of CPU; pandas, plotly
and nmt_core ~1.5 s more) and begins loading the default model (pages/lib/common.py's preload), while the
browser is still loading the page and opening its websocket. The server answers at once: the hook does not
wait for the thread. The first script run waits for it (:func:`wait_for_warm_up`) rather than importing the
same modules beside it, which two threads could otherwise do in a circular order and deadlock.
"""

import contextlib
import threading

_done = threading.Event()
_started = threading.Event()


def _import_what_the_first_run_needs() -> None:
    try:
        import nmt_core.explain.coverage  # noqa: F401  the Translate page's, its figures' (plotly, pandas)
        import nmt_core.figures.attention_heads  # noqa: F401
        import nmt_core.figures.traces  # noqa: F401
        import pages.lib.common  # noqa: F401
        import pages.lib.sidebar  # noqa: F401  torch, nmt_core's decoding and checkpoints, the default model's preload
    except Exception:  # noqa: BLE001  the script run imports them again and shows the real error there
        pass
    finally:
        _done.set()


@contextlib.asynccontextmanager
async def warm_up(_app):
    """st.App's lifespan: start the imports in the background; the server starts serving meanwhile."""
    _started.set()
    threading.Thread(target=_import_what_the_first_run_needs, name="attention-explorer-warm-up", daemon=True).start()
    yield


def wait_for_warm_up(timeout: float = 120.0) -> None:
    """Block until the warm-up's imports are done (at once when none was started: AppTest, a warm server)."""
    if _started.is_set():
        _done.wait(timeout)
