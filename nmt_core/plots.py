"""Figures from traces, in two steps: trace -> DataFrame -> chart. No streamlit here.

Token labels go through :func:`label`, which HTML-escapes them: plotly renders
a subset of HTML in tick labels and hover text, and user text must be shown as
text, never as markup.
"""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from .trace import Trace


def label(token: str) -> str:
    """A piece as a readable, HTML-safe label (SentencePiece's ▁ word marker kept)."""
    return html.escape(token, quote=False)


def attention_frame(trace: Trace) -> pd.DataFrame:
    """Long form: one row per (target token, source token) with its attention weight.

    Empty for a model without attention.
    """
    rows = []
    if trace.attention is None:
        return pd.DataFrame(rows, columns=["target_index", "target_token", "source_index", "source_token", "weight"])
    for t, (token, weights) in enumerate(zip(trace.target_tokens, trace.attention or [], strict=True)):
        for s, (source, weight) in enumerate(zip(trace.source_tokens, weights, strict=True)):
            rows.append({"target_index": t, "target_token": token, "source_index": s, "source_token": source,
                         "weight": weight})
    return pd.DataFrame(rows, columns=["target_index", "target_token", "source_index", "source_token", "weight"])


def attention_heatmap(trace: Trace, height_per_row: int = 28) -> go.Figure:
    """Target tokens down, source tokens across. Integer axes with tick labels,
    so repeated tokens (two "the") stay separate rows instead of merging."""
    frame = attention_frame(trace)
    matrix = frame.pivot(index="target_index", columns="source_index", values="weight").to_numpy()
    src_labels = [label(t) for t in trace.source_tokens]
    tgt_labels = [label(t) for t in trace.target_tokens]
    hover = [[f"{tgt_labels[t]} ← {src_labels[s]}: {matrix[t][s]:.3f}" for s in range(len(src_labels))]
             for t in range(len(tgt_labels))]
    figure = go.Figure(
        go.Heatmap(z=matrix, x=list(range(len(src_labels))), y=list(range(len(tgt_labels))), colorscale="Blues",
                   zmin=0, zmax=1, text=hover, hoverinfo="text", colorbar={"title": "attention"})
    )
    figure.update_layout(
        xaxis={"tickmode": "array", "tickvals": list(range(len(src_labels))), "ticktext": src_labels,
               "side": "top", "title": "source"},
        yaxis={"tickmode": "array", "tickvals": list(range(len(tgt_labels))), "ticktext": tgt_labels,
               "autorange": "reversed", "title": "translation"},
        height=max(220, 120 + height_per_row * len(tgt_labels)),
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
    )
    return figure


def nbest_frame(trace: Trace) -> pd.DataFrame:
    """The n-best list of a beam search (or the single output of greedy/sampling)."""
    if trace.beam is None:
        return pd.DataFrame([{"rank": 1, "translation": trace.translation, "log-prob": trace.score,
                              "normalised": trace.score, "finished": trace.finished}])
    return pd.DataFrame([
        {"rank": i + 1, "translation": h.translation, "log-prob": h.score, "normalised": h.normalized_score,
         "finished": h.finished}
        for i, h in enumerate(trace.beam.hypotheses)
    ])

