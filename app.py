"""Attention Explorer's entry point: `streamlit run app.py`.

This file is read two ways:
- **Imported once, when the server starts** (as the module ``app``): Streamlit finds ``app = st.App(...)``
  below and serves it. Its start-up hook begins importing torch, nmt_core and the figure libraries, and
  loading the default model, in a thread (pages/lib/warm_up.py): a fresh server's first visitor would
  otherwise wait for them in their first script run, after the browser has loaded the page. A first run waits
  for what the sidebar and Translate's heatmap need; other pages wait for all of it. The same hook first
  keeps the server's threads on one core (pages/lib/cores.py).
- **Run as the script of every session** (``__main__``, also under AppTest): the shared sidebar
  (pages/lib/sidebar.py), then the page the URL names, through st.navigation.
"""

import streamlit as st

# (title, URL path): each page is the script pages/<URL path>.py; its helpers live in pages/lib/.
# A page's script runs only when it is opened, so one page's import cost (or bug) never slows
# or breaks another.
PAGES = [
    ("Translate", "translate"),
    ("Step through", "step"),
    ("Beam search", "beam"),
    ("Sampling", "sampling"),
    ("Compare", "compare"),
    ("Models", "models"),
    ("Evaluate", "evaluate"),
    ("Explain", "explain"),
]

# Streamlit wraps an app that has a pages/ folder in its legacy multipage mode: a first,
# hidden navigation over app.py and every pages/*.py, in which a pages/ script runs on its
# own, without app.py's sidebar. This app navigates with st.navigation only, which switches
# that mode off, but Streamlit decides it once per process, before any script runs, so the
# process's very first run is still legacy: a first visit to / comes here anyway, and a
# first visit to a deep link like /step runs pages/step.py, which runs this script in its
# place (pages/lib/common.py:leave_legacy_mode).

if __name__ == "__main__":
    from pages.lib.warm_up import let_warm_up_finish, mark, wait_for_core, wait_for_warm_up

    mark("run_start")
    wait_for_core()  # a fresh server's imports up to Translate's heatmap: done in the warm-up thread, not here
    mark("run_waited")
    import torch

    from pages.lib.common import routed
    from pages.lib.sidebar import sidebar

    # A classroom link (?classroom=1) opens with the sidebar folded: the projector's 1280 px go to the figures.
    st.set_page_config(page_title="Attention Explorer", layout="wide",
                       initial_sidebar_state="collapsed" if st.query_params.get("classroom") == "1" else "auto")
    torch.set_num_threads(1)  # one request = one core; other sessions keep the rest
    sidebar()
    mark("sidebar_done")
    # The default page is served at "/" only (Streamlit gives it no path of its own), so Translate is
    # also registered, hidden from the menu, at /translate: every page's URL path opens its page.
    pages = {path: st.Page(f"pages/{path}.py", title=title, default=(path == "translate"),
                           url_path="home" if path == "translate" else path) for title, path in PAGES}
    translate_link = st.Page("pages/translate.py", title="Translate", url_path="translate", visibility="hidden")
    page = st.navigation([*pages.values(), translate_link])
    if page is not pages["translate"] and page is not translate_link:
        # Translate waits for the rest of the warm-up (pandas, pyarrow) below its heatmap; every other page
        # imports such modules at its top, which must not happen beside the warm-up thread importing them too.
        wait_for_warm_up()
    try:
        with routed():
            page.run()
    finally:
        let_warm_up_finish()  # a run that never asked for the rest (classroom mode, a model without attention)
    mark("run_end")
else:
    import contextlib

    from starlette.middleware import Middleware

    from pages.lib.cores import confine_to_one_core
    from pages.lib.preload import PreloadComponents
    from pages.lib.warm_up import ComponentFiles, mark, skip_component_scan, warm_up

    @contextlib.asynccontextmanager
    async def start_up(served):
        """st.App's lifespan, run when the server starts (not on import, as a test's ``from app import PAGES``):
        every thread onto one core, so that the interpreter lock is not passed between cores; then the warm-up,
        whose thread inherits that core."""
        confine_to_one_core()
        async with warm_up(served):
            yield

    mark("app_imported")
    skip_component_scan()  # the components are inline; the search of every installed package finds none
    # PreloadComponents: a page's HTML names its component's files, which the browser then fetches early.
    app = st.App(__file__, lifespan=start_up, middleware=[Middleware(ComponentFiles), Middleware(PreloadComponents)])
