"""Figures from traces, in two steps: trace -> DataFrame -> chart. No streamlit here.

Token labels go through :func:`label`, which HTML-escapes them: plotly renders
a subset of HTML in tick labels and hover text, and user text must be shown as
text, never as markup.

Every attention heatmap is the browser component (nmt_core/figures/components/heatmap.js, its data from
nmt_core/views/heatmap_data.py); the row heights and the classroom fitting that its pages size it with are in
nmt_core/figures/sizing.py.
"""

from __future__ import annotations

import html
import math

import pandas as pd
import plotly.graph_objects as go

from ..decoding.trace import Trace
from ..views.attention import argmax_alignment, attention_view, entropy

ENTROPY_COLUMNS = ["model", "step", "token", "entropy", "uniform"]
ALIGNMENT_COLUMNS = ["target_index", "target_word", "source_index", "source_word", "weight"]
NO_ATTENTION_NOTE = ("No attention: the decoder sees only the encoder's final state, one fixed vector for the whole "
                     "sentence, the same at every step. The bar stands for that vector: every source piece goes into "
                     "it, none is singled out.")


def label(token: str) -> str:
    """A piece as a readable, HTML-safe label (SentencePiece's ▁ word marker kept)."""
    return html.escape(token, quote=False)


def sized_figure(data: list[dict], layout: dict, font_size: int) -> go.Figure:
    """A figure of ``data`` (trace dicts) and ``layout`` (a dict), every text at ``font_size``: axes
    (``xaxis``, ``xaxis2``, ... present in ``layout``), annotations without a font of their own, the legend
    and heatmap colorbars. ``layout.font`` alone is not enough: Streamlit's plotly theme sets tick and title
    fonts explicitly, and those win over the inherited global font.

    Built as dicts and validated once by ``go.Figure``: plotly validates at every ``update_*`` and
    ``add_*`` call, and sizing a built figure that way (five calls) took as long as building it.
    """
    sized = {"size": font_size}
    layout = {**layout, "font": sized, "legend": {**layout.get("legend", {}), "font": sized}}
    for name in ["xaxis", "yaxis", *(k for k in layout if k.startswith(("xaxis", "yaxis")))]:
        axis = layout.get(name, {})
        title = axis.get("title", {})
        title = {"text": title} if isinstance(title, str) else title  # plotly's shorthand: a title as a string
        layout[name] = {**axis, "tickfont": sized, "title": {**title, "font": sized}}
    layout["annotations"] = [{"font": sized, **a} for a in layout.get("annotations", [])]
    data = [{**t, "colorbar": {**t.get("colorbar", {}), "tickfont": sized,
                               "title": {**t.get("colorbar", {}).get("title", {}), "font": sized}}}
            if t.get("type") == "heatmap" and t.get("showscale", True) else t for t in data]
    return go.Figure(data=data, layout=layout)


# --- Attention heatmaps -----------------------------------------------------------------------------------


ALIGNED_LABEL_CHARACTERS = 16  # labels longer than this are shortened in side-by-side heatmaps (whole on hover)


# --- Compare: entropy, difference, word alignment --------------------------------------------------------


def entropy_frame(traces: dict[str, Trace]) -> pd.DataFrame:
    """Attention entropy in bits per target step, per model (models without attention left out).

    ``uniform``: log2 of the number of source pieces, the entropy of attention spread evenly.
    """
    rows = []
    for name, trace in traces.items():
        if trace.attention is None:
            continue
        uniform = math.log2(len(trace.source_tokens))
        for step, (token, bits) in enumerate(zip(trace.target_tokens, entropy(trace.attention, base=2),
                                                 strict=True)):
            rows.append({"model": name, "step": step + 1, "token": token, "entropy": bits, "uniform": uniform})
    return pd.DataFrame(rows, columns=ENTROPY_COLUMNS)


def entropy_chart(frame: pd.DataFrame, font_size: int = 13, height: int = 300) -> go.Figure:
    """One line per model: entropy (bits) of each step's attention row; dashed: even spread over the source."""
    data = []
    for name, rows in frame.groupby("model", sort=False):
        hover = [f"{label(name)}<br>step {r.step}: {label(r.token)}<br>{r.entropy:.2f} bits"
                 for r in rows.itertuples(index=False)]
        data.append({"type": "scatter", "x": rows["step"].to_numpy(), "y": rows["entropy"].to_numpy(),
                     "mode": "lines+markers", "name": label(name), "text": hover, "hoverinfo": "text"})
    shapes, annotations = [], []
    for uniform in sorted(set(frame["uniform"].round(6))):  # a dashed line across, labelled at its top left
        shapes.append({"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": uniform,
                       "y1": uniform, "line": {"dash": "dash", "color": "#888"}})
        annotations.append({"text": f"even over {2 ** uniform:.0f} pieces", "xref": "x domain", "x": 0,
                            "xanchor": "left", "yref": "y", "y": uniform, "yanchor": "bottom", "showarrow": False})
    return sized_figure(data, {
        "xaxis": {"title": {"text": "target step"}, "dtick": 1},
        "yaxis": {"title": {"text": "attention entropy (bits)"}, "rangemode": "tozero"},
        "height": height, "margin": {"l": 10, "r": 10, "t": 20, "b": 10},
        "legend": {"orientation": "h", "y": -0.25}, "shapes": shapes, "annotations": annotations,
    }, font_size)


def alignment_frame(trace: Trace, merge_words: bool = True) -> pd.DataFrame:
    """Each target word (or piece) with the source word it attends to most (argmax) and that weight."""
    if trace.attention is None:
        return pd.DataFrame([], columns=ALIGNMENT_COLUMNS)
    view = attention_view(trace.source_tokens, trace.target_tokens, trace.attention, merge_words)
    links = argmax_alignment(view.matrix)
    return pd.DataFrame([
        {"target_index": t, "target_word": view.target[t], "source_index": s, "source_word": view.source[s],
         "weight": float(view.matrix[t, s])}
        for t, s in enumerate(links)
    ], columns=ALIGNMENT_COLUMNS)


def alignment_figure(frame: pd.DataFrame, source_words: list[str], font_size: int = 13,
                     height: int | None = None) -> go.Figure:
    """Source words along the top, target words along the bottom, a line from each target word to the
    source word it attends to most; darker and thicker lines carry more weight.

    Both rows span the same width, so a sentence and its translation of
    different lengths still face each other.
    """
    n_source, n_target = len(source_words), len(frame)

    def x_source(i: int) -> float:
        return (i + 0.5) / max(n_source, 1)

    def x_target(j: int) -> float:
        return (j + 0.5) / max(n_target, 1)

    # Traces and annotations are collected as plain dicts and validated once (sized_figure):
    # adding them one by one (add_trace / add_annotation) cost ~50 ms per figure.
    lines = []
    for row in frame.itertuples(index=False):
        strength = max(0.0, min(1.0, row.weight))
        lines.append({
            "type": "scatter", "x": [x_target(row.target_index), x_source(row.source_index)], "y": [0, 1],
            "mode": "lines", "hoverinfo": "skip", "showlegend": False,
            "line": {"width": 1 + 5 * strength, "color": f"rgba(31, 119, 180, {0.25 + 0.75 * strength:.2f})"},
        })
    source_hover = [f"source: {label(w)}" for w in source_words]
    target_hover = [f"{label(r.target_word)} → {label(r.source_word)} ({r.weight:.2f})"
                    for r in frame.itertuples(index=False)]
    markers = [
        {"type": "scatter", "x": [x_source(i) for i in range(n_source)], "y": [1] * n_source, "mode": "markers",
         "marker": {"size": 8, "color": "#444"}, "text": source_hover, "hoverinfo": "text", "showlegend": False},
        {"type": "scatter", "x": [x_target(j) for j in range(n_target)], "y": [0] * n_target, "mode": "markers",
         "marker": {"size": 8, "color": "#1f77b4"}, "text": target_hover, "hoverinfo": "text", "showlegend": False},
    ]
    crowded = max(n_source, n_target) > 6  # slanted labels when words would overlap
    angle = -35 if crowded else 0
    annotations = [
        {"x": x_source(i), "y": 1, "text": label(word), "showarrow": False, "yshift": 14, "textangle": angle,
         "xanchor": "left" if crowded else "center", "yanchor": "bottom"}
        for i, word in enumerate(source_words)
    ] + [
        {"x": x_target(row.target_index), "y": 0, "text": label(row.target_word), "showarrow": False, "yshift": -14,
         "textangle": angle, "xanchor": "right" if crowded else "center", "yanchor": "top"}
        for row in frame.itertuples(index=False)
    ]
    room = 4 * font_size if crowded else 2 * font_size
    return sized_figure(lines + markers, {
        "xaxis": {"visible": False, "range": [0, 1]}, "yaxis": {"visible": False, "range": [-0.05, 1.05]},
        "height": height or int(160 + 2 * room), "margin": {"l": 10, "r": 10, "t": room + 10, "b": room + 10},
        "plot_bgcolor": "white", "annotations": annotations,
    }, font_size)


# --- N-best -----------------------------------------------------------------------------------------------


EMPTY_HYPOTHESIS = "(empty: </s> first)"  # a hypothesis that ended at once; shown, not left blank


def nbest_frame(trace: Trace) -> pd.DataFrame:
    """The n-best list of a beam search (or the single output of greedy/sampling)."""
    if trace.beam is None:
        return pd.DataFrame([{"rank": 1, "translation": trace.translation or EMPTY_HYPOTHESIS,
                              "log-prob": trace.score, "normalised": trace.score, "finished": trace.finished}])
    return pd.DataFrame([
        {"rank": i + 1, "translation": h.translation or EMPTY_HYPOTHESIS, "log-prob": h.score,
         "normalised": h.normalized_score, "finished": h.finished}
        for i, h in enumerate(trace.beam.hypotheses)
    ])
