"""The heatmap component's data: a matrix over pieces and over words, sent once (every page's heatmap).

Both views travel together, so the words/pieces switch redraws in the browser with no server run
(``nmt_core/figures/components/heatmap.js``)::

    {"version": 2, "id": "<12 hex>", "pieces": VIEW, "words": VIEW}
    VIEW = {"source": [label, ...],           S column labels (raw text: the browser writes it with textContent)
            "target": [label, ...],           T row labels
            "matrix": [[w, ...], ...],        T x S values, rounded to DECIMALS (0.0 written as 0)
            "source_pieces": [[piece, ...] | 0, ...],   words view only: a word's pieces, 0 for a one-piece word
            "target_pieces": [[piece, ...] | 0, ...],   (the hover names them)
            "notes": [text, ...],             optional: a short text per row, drawn right of it (Explain's rho)
            "probability": [p, ...],          optional (Translate): the model's probability of each row's token,
            "forced": [0 | 1, ...],           drawn as a bar right of the row (orange where the token was forced),
            "probability_notes": [text, ...]} and what its hover says (the runner-up; a word's pieces)

Views come from :func:`nmt_core.views.attention.attention_view`: words sum a word's source pieces and average
its target pieces, as every other words view in the app. That merge is linear, so the words view of a
difference (Compare's A − B) is the difference of the words views. A Transformer's layer/head choice is applied
before (``with_choice(trace, choice)`` from :mod:`nmt_core.views.attention_heads`). Pure: no streamlit, no plotly.
A 15-word sentence's payload is ~5 kB, against ~40 kB of plotly JSON for one of its views.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ..decoding.trace import Trace
from .attention import attention_view, word_groups, word_text

PAYLOAD_VERSION = 2
DECIMALS = 3  # the hover prints 3 decimals
VIEWS = ("pieces", "words")
CONTEXT_ROW = "context"  # the no-attention bar's one row: the same vector at every step

# (view name, the view's matrix) -> one note per row (e.g. a rank correlation), computed on the view's own rows.
RowNotes = Callable[[str, np.ndarray], list[str]]


def _rows(matrix) -> list[list[float]]:
    rounded = np.round(np.asarray(matrix, dtype=float), DECIMALS)
    # 0 rather than 0.0: on a long sentence most cells round to zero, and each is a byte on the wire.
    return [[0 if w == 0 else float(w) for w in row] for row in rounded.tolist()]


def _view(source_tokens: list[str], target_tokens: list[str], matrix, merge_words: bool) -> tuple[dict, np.ndarray]:
    """A view's JSON and its matrix (unrounded: row notes are computed on it)."""
    view = attention_view(source_tokens, target_tokens, matrix, merge_words)
    out = {"source": list(view.source), "target": list(view.target), "matrix": _rows(view.matrix)}
    if merge_words:
        out["source_pieces"] = [pieces if len(pieces) > 1 else 0 for pieces in view.source_pieces]
        out["target_pieces"] = [pieces if len(pieces) > 1 else 0 for pieces in view.target_pieces]
    return out, view.matrix


def _named(views: dict) -> dict:
    # Names the drawing: another sentence, model or head gives another id (the benchmark waits for a new one).
    digest = hashlib.sha1(json.dumps(views, ensure_ascii=False).encode("utf-8")).hexdigest()[:12]
    return {"version": PAYLOAD_VERSION, "id": digest, **views}


def matrix_payload(source_tokens: list[str], target_tokens: list[str], matrix,
                   notes: RowNotes | None = None) -> dict:
    """Both views of a (T, S) matrix over pieces (see the module docstring); ``notes``: a note per row of a view."""
    matrix = np.asarray(matrix, dtype=float).reshape(len(target_tokens), len(source_tokens))
    views = {}
    for name in VIEWS:
        view, merged = _view(source_tokens, target_tokens, matrix, name == "words")
        if notes is not None:
            view["notes"] = notes(name, merged)
        views[name] = view
    return _named(views)


def heatmap_payload(trace: Trace) -> dict:
    """The attention of ``trace``, both views; ValueError for a model without attention."""
    if trace.attention is None:
        raise ValueError("this trace has no attention (a model without attention)")
    return matrix_payload(trace.source_tokens, trace.target_tokens, trace.attention)


def with_probabilities(payload: dict, trace: Trace) -> dict:
    """``payload`` (the attention of ``trace``) with each row's probability (see the module docstring): a piece's
    is the model's probability of it, with the best other candidate; a word's is the product of its pieces'
    (the chain rule), forced where any of them was."""
    steps, tokens = trace.output_steps, trace.target_tokens
    pieces = [math.exp(step.logprob) for step in steps]
    forced = [int(step.forced) for step in steps]
    runner = []  # " · runner-up TOKEN P" per piece, "" where the model had no other candidate
    for step in steps:
        other = next((c for c in step.candidates if c.token_id != step.token_id), None)
        runner.append(f" · runner-up {other.token} {other.prob:.3f}" if other else "")

    def note(label: str, p: float, group: list[int]) -> str:
        parts = " = " + " × ".join(f"{tokens[i]} {pieces[i]:.3f}" for i in group) if len(group) > 1 else \
            runner[group[0]]
        return f"p({label}) = {p:.3f}{parts}" + (" · forced" if any(forced[i] for i in group) else "")

    groups = word_groups(tokens)
    words = [math.prod(pieces[i] for i in group) for group in groups]
    return {**payload,
            "pieces": {**payload["pieces"], "probability": _rounded(pieces), "forced": forced,
                       "probability_notes": [note(t, p, [i]) for i, (t, p) in enumerate(zip(tokens, pieces,
                                                                                          strict=True))]},
            "words": {**payload["words"], "probability": _rounded(words),
                      "forced": [int(any(forced[i] for i in g)) for g in groups],
                      "probability_notes": [note(word_text(tokens, g), p, g) for g, p in zip(groups, words,
                                                                                             strict=True)]}}


def _rounded(values: list[float]) -> list[float]:
    return [round(v, DECIMALS) for v in values]


def difference_payload(trace_a: Trace, trace_b: Trace, rows: int) -> dict:
    """A − B over the first ``rows`` target tokens (A's labels), both views: B must have read the same pieces."""
    if trace_a.attention is None or trace_b.attention is None:
        raise ValueError("both traces need attention")
    if trace_a.source_tokens != trace_b.source_tokens:
        raise ValueError("the two traces read different source pieces")
    if rows > min(len(trace_a.target_tokens), len(trace_b.target_tokens)):
        raise ValueError(f"cannot compare {rows} rows")
    difference = np.asarray(trace_a.attention[:rows], dtype=float) - np.asarray(trace_b.attention[:rows], dtype=float)
    return matrix_payload(trace_a.source_tokens, trace_a.target_tokens[:rows], difference)


def context_payload(trace: Trace) -> dict:
    """A model without attention: one row standing for the fixed context, the same share on every source column
    (pieces or words)."""
    views = {}
    for name in VIEWS:
        view, _ = _view(trace.source_tokens, [], np.zeros((0, len(trace.source_tokens))), name == "words")
        n = len(view["source"])
        views[name] = {**view, "target": [CONTEXT_ROW], "matrix": _rows(np.full((1, n), 1.0 / max(n, 1))),
                       **({"target_pieces": [0]} if name == "words" else {})}
    return _named(views)


class ViewSize(NamedTuple):
    """What sizing a view for a projector needs: its rows and columns, and its longest labels' characters."""

    rows: int
    columns: int
    source_chars: int
    target_chars: int


def view_sizes(payload: dict) -> dict[str, ViewSize]:
    """Per view (pieces, words), its :class:`ViewSize`."""
    return {name: ViewSize(len(payload[name]["target"]), len(payload[name]["source"]),
                           max((len(s) for s in payload[name]["source"]), default=1),
                           max((len(t) for t in payload[name]["target"]), default=1)) for name in VIEWS}
