"""Opening the app (or one of its pages) in streamlit.testing's AppTest."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def app_pages() -> list[tuple[str, str]]:
    """app.py's PAGES, (title, URL path), read from its source: importing app.py would build its st.App."""
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    return next(ast.literal_eval(node.value) for node in tree.body
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "PAGES")


def run_page(page: str | None = None, text: str | None = None, **params) -> AppTest:
    """Run app.py with URL ``params``, switch to ``page`` (e.g. "step"), then set the sentence.

    The app runs once on the default page first: AppTest can only switch to a page
    that st.navigation has registered.
    """
    app = open_link(page, **params)
    if text is not None:
        app.sidebar.text_area[0].set_value(text).run()
    return app


def open_link(page: str | None = None, **params) -> AppTest:
    """Follow a link to ``page`` whose URL ``params`` may hold the sentence (``text=``): the first run decodes
    it, where run_page's typed sentence costs a run (and a decode of the default sentence) more."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in params.items():
        app.query_params[key] = value
    app.run()
    # Translate is the default page, which the first run already opened. (Switching to its file would
    # open its second registration, the hidden /translate, as a different page with fresh widgets.)
    if page not in (None, "translate"):
        app.switch_page(f"pages/{page}.py").run()
    return app


def vega_charts(app: AppTest) -> list[tuple[dict, pd.DataFrame]]:
    """Every altair chart on the page: (its vega-lite spec, its data). Streamlit ships the data beside
    the spec as Arrow, not inside it."""
    charts = []
    for chart in app.get("vega_lite_chart"):
        frames = [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets]
        charts.append((json.loads(chart.proto.spec), pd.concat(frames) if frames else pd.DataFrame()))
    return charts


COMPONENTS = ROOT / "nmt_core" / "figures" / "components"


def component_js(name: str) -> str:
    """The code the browser runs for component module ``name`` (``step.js``, ``heatmap.js``...), with the
    ``shared.js`` it imports before it: text, for checks on what the code may do (no innerHTML...)."""
    return "\n".join((COMPONENTS / file).read_text(encoding="utf-8") for file in ("shared.js", name))
