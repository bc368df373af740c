"""The Step-through component's data: one decoded trace as plain JSON, sent to the browser once.

Everything the page shows per step is here (attention row, top-k candidates before and after
temperature, the token taken and why), so moving between steps, playing, and switching between
words and pieces happen in the browser. Steps are 1-based in the page and the URL; ``steps[t - 1]``
is step ``t``.

Compact, since every new sentence, width or setting sends it (:func:`step_payload`; :func:`unpack_steps`
reads it back as ``components/step.js`` does): only the fields the browser reads; each piece once, in
``token_text`` (token id -> piece), the steps naming tokens by id; probabilities and attention weights as
integers in ten-thousandths (the page prints 2 or 3 decimals); a candidate is ``[token_id, prob, forcible]``,
or ``[token_id, prob, adjusted, forcible]`` when the chooser's probability differs from the model's
(sampling). A 20-step width-12 trace: 18 kB as one object per candidate row, 8 kB so.
"""

from __future__ import annotations

import hashlib
import json
import math

from ..decoding.trace import Trace
from .step import WORD_MARKER, _adjusted_outside_top_k, force_options, step_count, why_chosen

PAYLOAD_VERSION = 2
SCALE = 10_000  # probabilities and attention weights are sent in ten-thousandths
EOS_PIECE = "</s>"


def _scaled(value: float | None) -> int | None:
    """``value`` in ten-thousandths; None for an unknown (NaN) probability."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value) * SCALE)


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
    decode): ``(token_id, token, prob, adjusted_prob)`` rows, most likely first, the token taken added last
    when the recorded top-k missed it."""
    rows = [(int(c.token_id), c.token, c.prob, c.adjusted_prob) for c in step.candidates]
    if not any(row[0] == step.token_id for row in rows):
        rows.append((int(step.token_id), step.token, math.exp(step.logprob), _adjusted_outside_top_k(trace, step)))
    return rows


def _packed(rows: list, forcible: set[int], show_adjusted: bool) -> list[list]:
    """Candidate rows as the browser receives them: ``[token_id, prob, (adjusted,) forcible 0/1]``."""
    return [[token_id, _scaled(prob)] + ([_scaled(adjusted)] if show_adjusted else []) + [int(token_id in forcible)]
            for token_id, _, prob, adjusted in rows]


def step_payload(trace: Trace) -> dict:
    """The component's ``data`` for ``trace`` (see the module docstring). Pure: no streamlit here."""
    show_adjusted = trace.method == "sample"
    pieces: dict[str, str] = {}
    steps = []
    for t in range(1, step_count(trace) + 1):
        step = trace.steps[t - 1]
        rows = candidates(trace, step)
        pieces.update((str(token_id), token) for token_id, token, _, _ in rows)
        pieces[str(step.token_id)] = step.token
        steps.append({
            "token_id": step.token_id,
            "attention": None if step.attention is None else [_scaled(w) for w in step.attention],
            "candidates": _packed(rows, {c.token_id for c in force_options(trace, t)}, show_adjusted),
            "why": why_chosen(trace, t).summary,
        })
    return {
        "version": PAYLOAD_VERSION,
        "id": trace_id(trace),
        "show_adjusted": show_adjusted,
        "source": list(trace.source_tokens),
        "source_words": word_index(list(trace.source_tokens)),
        "has_attention": bool(trace.steps) and trace.steps[0].attention is not None,
        "token_text": pieces,
        "steps": steps,
    }


def unpack_steps(payload: dict) -> list[dict]:
    """The steps as the browser reads them back (step.js's ``unpackSteps``): ``token``, ``token_id``,
    ``attention`` (weights, or None), ``candidates`` (``[token_id, token, prob, adjusted]``, adjusted = prob
    unless sampling; None for unknown), ``forcible`` (token ids) and ``why``."""
    pieces, adjusted = payload["token_text"], payload["show_adjusted"]

    def number(value):
        return None if value is None else value / SCALE

    steps = []
    for step in payload["steps"]:
        rows = step["candidates"]
        steps.append({
            "token_id": step["token_id"], "token": pieces[str(step["token_id"])], "why": step["why"],
            "attention": None if step["attention"] is None else [w / SCALE for w in step["attention"]],
            "candidates": [[r[0], pieces[str(r[0])], number(r[1]), number(r[2] if adjusted else r[1])] for r in rows],
            "forcible": [r[0] for r in rows if r[-1]],
        })
    return steps
