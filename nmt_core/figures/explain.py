"""The Explain page's heatmaps: attention and attribution of the same shape, side by side, as the heatmap
component's data (nmt_core/views/heatmap_data.py), each row of the attribution with its rank correlation to the
attention's row. No streamlit here."""

from __future__ import annotations

import numpy as np

from ..explain.attribution import rank_correlation
from ..views.attention import attention_view
from ..views.heatmap_data import matrix_payload

ROW_HEIGHT = 26  # px per row
RHO = "Spearman ρ"  # the title of the attribution's notes: each row's rank correlation with the attention's


def normalised_scores(scores) -> np.ndarray:
    """|attribution|, each row scaled to sum to 1 (comparable with an attention row)."""
    scores = np.abs(np.asarray(scores, dtype=float))
    return scores / np.maximum(scores.sum(axis=1, keepdims=True), 1e-12)


def explain_payloads(source: list[str], target: list[str], attention, scores) -> tuple[dict | None, dict]:
    """(the attention's payload, None without attention; the attribution's) over ``source`` x ``target`` pieces,
    both views each. ``scores``: the raw (T, S) attribution; drawn as :func:`normalised_scores`. With attention,
    each attribution row notes its Spearman ρ with the attention row (words: both merged first)."""
    scored = normalised_scores(scores)
    if attention is None:
        return None, matrix_payload(source, target, scored)
    attention = np.asarray(attention, dtype=float)

    def rho(view: str, merged: np.ndarray) -> list[str]:
        rows = attention_view(source, target, attention, view == "words").matrix
        values = [rank_correlation(a, b) for a, b in zip(rows, merged, strict=True)]
        return ["–" if r is None else f"{r:.2f}" for r in values]

    return matrix_payload(source, target, attention), matrix_payload(source, target, scored, notes=rho)
