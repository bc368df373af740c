"""The Step-through component's data: one decoded trace as plain JSON, sent to the browser once.

Everything the page shows per step is here (attention row, top-k candidates before and after
temperature, the token taken and why), so moving between steps, playing, and switching between
words and pieces happen in the browser. Steps are 1-based in the page and the URL; ``steps[t - 1]``
is step ``t``. Numbers are rounded to 4 digits (the page prints 2 or 3): a 20-step trace is ~15 kB.

The browser code (``components/step.js``) reads only the fields it knows, so a trace with extra
fields (per-layer or per-head attention, say) passes through without breaking it.
"""

from __future__ import annotations

import hashlib
import json
import math

from ..decoding.trace import Trace
from .step import WORD_MARKER, _adjusted_outside_top_k, force_options, step_count, why_chosen

PAYLOAD_VERSION = 1
DIGITS = 4  # decimals kept for probabilities and attention weights
EOS_PIECE = "</s>"


def _round(value: float | None) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), DIGITS)


def word_index(pieces: list[str]) -> list[int]:
    """For each piece, the index of the word it belongs to (a word starts at ``▁`` and at ``</s>``).

    ["▁the", "▁ca", "t", "</s>"] -> [0, 1, 1, 2]
    """
    words, current = [], -1
    for i, piece in enumerate(pieces):
        if i == 0 or piece.startswith(WORD_MARKER) or piece == EOS_PIECE or pieces[i - 1] == EOS_PIECE:
            current += 1
        words.append(current)
    return words


def trace_id(trace: Trace) -> str:
    """Names one decode: the same sentence, settings and output give the same id."""
    key = json.dumps([trace.method, trace.settings, trace.source_tokens, [s.token_id for s in trace.steps],
                      [s.forced for s in trace.steps]], sort_keys=True, default=str)
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def candidates(trace: Trace, step) -> list[list]:
    """As :func:`nmt_core.views.step.candidate_frame`, without pandas (it runs once per step of every
    decode): ``[token_id, token, prob, adjusted_prob, in_top_k]``, the token taken added last when the
    recorded top-k missed it."""
    rows = [[int(c.token_id), c.token, _round(c.prob), _round(c.adjusted_prob), True] for c in step.candidates]
    if not any(row[0] == step.token_id for row in rows):
        rows.append([int(step.token_id), step.token, _round(math.exp(step.logprob)),
                     _round(_adjusted_outside_top_k(trace, step)), False])
    return rows


def step_payload(trace: Trace) -> dict:
    """The component's ``data`` for ``trace`` (see the module docstring). Pure: no streamlit here."""
    steps = []
    for t in range(1, step_count(trace) + 1):
        step = trace.steps[t - 1]
        forcible = {c.token_id for c in force_options(trace, t)}
        steps.append({
            "token": step.token,
            "token_id": step.token_id,
            "logprob": _round(step.logprob),
            "forced": bool(step.forced),
            "attention": None if step.attention is None else [_round(w) for w in step.attention],
            # [token_id, token, model probability, chooser's probability (null: unknown), in the top-k]
            "candidates": candidates(trace, step),
            "forcible": sorted(forcible),
            "why": why_chosen(trace, t).summary,
        })
    return {
        "version": PAYLOAD_VERSION,
        "id": trace_id(trace),
        "method": trace.method,
        "show_adjusted": trace.method == "sample",
        "finished": bool(trace.finished),
        "source": list(trace.source_tokens),
        "source_words": word_index(list(trace.source_tokens)),
        "target_words": word_index([s.token for s in trace.steps]),
        "has_attention": bool(trace.steps) and trace.steps[0].attention is not None,
        "steps": steps,
    }
