"""Browser-side views: data for the ``st.components.v2`` components whose assets live in ``components/``.

The modules here shape traces into plain JSON-able dicts (no streamlit import); the pages mount the
components. Each decoded trace goes to the browser once, and everything that only reads it
(stepping, play, words/pieces, the beam tree's step and node) runs there, without a server run.
"""

import json
from pathlib import Path

COMPONENTS = Path(__file__).resolve().parent / "components"


def payload_json(payload: dict) -> bytes:
    """A decode's component payload as JSON bytes: made once per decode (the pages cache it), not per run."""
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def component_data(payload: bytes, **view) -> bytes:
    """A component's ``data``: ``{"view": view, "payload": payload}`` as JSON bytes (shared.js merges the two).

    Bytes, because Streamlit forwards them as they are and names the element by their hash. A dict is
    serialized twice on every run (once to send, once sorted for the element's identity): ~40 ms a run for
    a width-12 beam tree (~240 kB), even when nothing changed.
    """
    return b'{"view":' + json.dumps(view, separators=(",", ":")).encode("utf-8") + b',"payload":' + payload + b"}"
