"""Opening the app (or one of its pages) in streamlit.testing's AppTest."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def run_page(page: str | None = None, text: str | None = None, **params) -> AppTest:
    """Run app.py with URL ``params``, switch to ``page`` (e.g. "step_page"), then set the sentence.

    The app runs once on the default page first: AppTest can only switch to a page
    that st.navigation has registered.
    """
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in params.items():
        app.query_params[key] = value
    app.run()
    if page is not None:
        app.switch_page(f"pages/{page}.py").run()
    if text is not None:
        app.sidebar.text_area[0].set_value(text).run()
    return app
