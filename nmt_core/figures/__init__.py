"""Browser-side views: data for the ``st.components.v2`` components whose assets live in ``components/``.

The modules here shape traces into plain JSON-able dicts (no streamlit import); the pages mount the
components. Each decoded trace goes to the browser once, and everything that only reads it
(stepping, play, words/pieces, the beam tree's step and node) runs there, without a server run.
"""

from pathlib import Path

COMPONENTS = Path(__file__).resolve().parent / "components"


def asset(name: str) -> str:
    """The text of a component asset (``step.js``, ``step.css``...), inlined into the component."""
    return (COMPONENTS / name).read_text(encoding="utf-8")


def component_js(name: str) -> str:
    """A component's module (``step.js``, ``beam.js``) with ``shared.js`` (DOM and piece helpers) before it."""
    return asset("shared.js") + "\n" + asset(name)
