"""The Translate page's heatmap component's data: one decode's attention, by pieces and by words, sent once.

Both views travel together, so the words/pieces switch redraws in the browser with no server run
(``nmt_core/figures/components/heatmap.js``)::

    {"version": 1, "id": "<12 hex>", "pieces": VIEW, "words": VIEW}
    VIEW = {"source": [label, ...],           S column labels (raw text: the browser writes it with textContent)
            "target": [label, ...],           T row labels
            "matrix": [[w, ...], ...],        T x S weights, rounded to DECIMALS (0.0 written as 0)
            "source_pieces": [[piece, ...] | 0, ...],   words view only: a word's pieces, 0 for a one-piece word
            "target_pieces": [[piece, ...] | 0, ...]}   (the hover names them, as the plotly heatmap's does)

Views come from :func:`nmt_core.views.attention.attention_view`: words sum a word's source pieces and average
its target pieces, as every other words view in the app. A Transformer's layer/head choice is applied before
(``with_choice(trace, choice)`` from :mod:`nmt_core.views.attention_heads`). Pure: no streamlit, no plotly.
A 15-word sentence's payload is ~5 kB, against ~40 kB of plotly JSON for one of its views.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from ..decoding.trace import Trace
from .attention import attention_view

PAYLOAD_VERSION = 1
DECIMALS = 3  # the hover prints 3 decimals, as the plotly heatmap's did
VIEWS = ("pieces", "words")


def _rows(matrix) -> list[list[float]]:
    rounded = np.round(np.asarray(matrix, dtype=float), DECIMALS)
    # 0 rather than 0.0: on a long sentence most cells round to zero, and each is a byte on the wire.
    return [[0 if w == 0 else float(w) for w in row] for row in rounded.tolist()]


def _view(trace: Trace, merge_words: bool) -> dict:
    view = attention_view(trace.source_tokens, trace.target_tokens, trace.attention, merge_words)
    out = {"source": list(view.source), "target": list(view.target), "matrix": _rows(view.matrix)}
    if merge_words:
        out["source_pieces"] = [pieces if len(pieces) > 1 else 0 for pieces in view.source_pieces]
        out["target_pieces"] = [pieces if len(pieces) > 1 else 0 for pieces in view.target_pieces]
    return out


def heatmap_payload(trace: Trace) -> dict:
    """The component's payload for ``trace`` (see the module docstring); ValueError for a model without attention."""
    if trace.attention is None:
        raise ValueError("this trace has no attention (a model without attention)")
    views = {name: _view(trace, name == "words") for name in VIEWS}
    # Names the drawing: another sentence, model or head gives another id (the benchmark waits for a new one).
    digest = hashlib.sha1(json.dumps(views, ensure_ascii=False).encode("utf-8")).hexdigest()[:12]
    return {"version": PAYLOAD_VERSION, "id": digest, **views}


def view_sizes(payload: dict) -> dict[str, tuple[int, int]]:
    """Per view, (rows, characters of its longest source label): what sizing it for a projector needs."""
    return {name: (len(payload[name]["target"]), max((len(s) for s in payload[name]["source"]), default=1))
            for name in VIEWS}
