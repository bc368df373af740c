"""Figures from traces, in two steps: trace -> DataFrame -> chart. No streamlit here.

Token labels go through :func:`label`, which HTML-escapes them: plotly renders
a subset of HTML in tick labels and hover text, and user text must be shown as
text, never as markup.

Heatmaps use integer axes with tick labels: with text axes plotly would merge
repeated tokens (two "the") into one row. Every heatmap here puts target
tokens down and source tokens across with the same margins and row height, so
figures placed side by side (the Compare page) line up row for row.
"""

from __future__ import annotations

import functools
import html
import math

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go
import plotly.io

from ..decoding.trace import Trace
from ..views.attention import argmax_alignment, attention_view, entropy

ROW_HEIGHT = 28  # px per heatmap row
CLASSROOM_ROW_HEIGHT = 46  # px per row on a projector: cells big enough to read from the back
# A heatmap's height is FIGURE_CHROME + rows x row height (title, axis labels, margins).
FIGURE_CHROME = 120
MIN_CLASSROOM_ROW_HEIGHT = 20  # px: below this the row labels (font = row height - 2) get too small to read


def fitted_rows(rows: int, height: int, font_size: int) -> tuple[int, int]:
    """(row height, font size) for a heatmap of ``rows`` rows to fit in ``height`` px on a projector.

    Rows stay at CLASSROOM_ROW_HEIGHT when they fit, else shrink (not below MIN_CLASSROOM_ROW_HEIGHT) and the
    labels with them, so that a 15-word sentence's heatmap is whole on a 1280x720 screen.
    """
    row_height = max(MIN_CLASSROOM_ROW_HEIGHT, min(CLASSROOM_ROW_HEIGHT, (height - FIGURE_CHROME) // max(rows, 1)))
    return row_height, min(font_size, row_height - 2)


FRAME_COLUMNS = ["target_index", "target_token", "target_pieces", "source_index", "source_token", "source_pieces",
                 "weight"]
ENTROPY_COLUMNS = ["model", "step", "token", "entropy", "uniform"]
ALIGNMENT_COLUMNS = ["target_index", "target_word", "source_index", "source_word", "weight"]
NO_ATTENTION_NOTE = ("No attention: the decoder sees only the encoder's final state, one fixed vector for the whole "
                     "sentence, the same at every step. The bar stands for that vector: every source piece goes into "
                     "it, none is singled out.")


def label(token: str) -> str:
    """A piece as a readable, HTML-safe label (SentencePiece's ▁ word marker kept)."""
    return html.escape(token, quote=False)


def image_config(filename: str, image_format: str = "png", scale: int = 2) -> dict:
    """``st.plotly_chart(config=...)``: the modebar's camera button saves the figure as PNG or SVG in the browser."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in filename)[:80] or "figure"
    return {"toImageButtonOptions": {"format": image_format, "filename": safe, "scale": scale},
            "displaylogo": False}


def set_font_size(figure: go.Figure, font_size: int) -> go.Figure:
    """Apply ``font_size`` to every text of a figure, axes and annotations included.

    ``layout.font`` alone is not enough: Streamlit's plotly theme sets tick and
    title fonts explicitly, and those win over the inherited global font.
    """
    sized = {"size": font_size}
    figure.update_layout(font=sized, legend={"font": sized})
    figure.update_xaxes(tickfont=sized, title_font=sized)
    figure.update_yaxes(tickfont=sized, title_font=sized)
    figure.update_annotations(font=sized)
    figure.update_traces(colorbar={"tickfont": sized, "title": {"font": sized}}, selector={"type": "heatmap"})
    return figure


# --- Attention heatmaps -----------------------------------------------------------------------------------


def matrix_frame(matrix, source: list[str], target: list[str], source_pieces: list[list[str]] | None = None,
                 target_pieces: list[list[str]] | None = None) -> pd.DataFrame:
    """Long form of a (T, S) matrix: one row per (target, source) cell with its ``weight``."""
    matrix = np.asarray(matrix, dtype=float).reshape(len(target), len(source))
    source_pieces = source_pieces or [[s] for s in source]
    target_pieces = target_pieces or [[t] for t in target]
    rows = [
        {"target_index": t, "target_token": target[t], "target_pieces": " ".join(target_pieces[t]),
         "source_index": s, "source_token": source[s], "source_pieces": " ".join(source_pieces[s]),
         "weight": float(matrix[t, s])}
        for t in range(len(target)) for s in range(len(source))
    ]
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def attention_frame(trace: Trace, merge_words: bool = False) -> pd.DataFrame:
    """Long form: one row per (target token, source token) with its attention weight.

    ``merge_words``: pieces merged into words (sum over source pieces, mean over
    target pieces; see :mod:`nmt_core.views.attention`). Empty for a model without attention.
    """
    if trace.attention is None:
        return pd.DataFrame([], columns=FRAME_COLUMNS)
    view = attention_view(trace.source_tokens, trace.target_tokens, trace.attention, merge_words)
    return matrix_frame(view.matrix, view.source, view.target, view.source_pieces, view.target_pieces)


def _axes(frame: pd.DataFrame, source: list[str] | None = None) -> tuple[list[str], list[str], np.ndarray]:
    """Source labels, target labels and the (T, S) matrix of a long frame (``source``: labels for an empty one)."""
    if len(frame) or source is None:
        source = frame.drop_duplicates("source_index").sort_values("source_index")["source_token"].tolist()
    target = frame.drop_duplicates("target_index").sort_values("target_index")["target_token"].tolist()
    matrix = np.zeros((len(target), len(source)))
    matrix[frame["target_index"].to_numpy(int), frame["source_index"].to_numpy(int)] = frame["weight"].to_numpy(float)
    return source, target, matrix


def _hover(frame: pd.DataFrame, rows: int, columns: int, value_name: str) -> list[list[str]]:
    hover = [[""] * columns for _ in range(rows)]
    for row in frame.itertuples(index=False):
        text = f"{label(row.target_token)} ← {label(row.source_token)}<br>{value_name}: {row.weight:.3f}"
        if row.source_pieces != row.source_token or row.target_pieces != row.target_token:
            text += f"<br>pieces: {label(row.target_pieces)} ← {label(row.source_pieces)}"
        hover[row.target_index][row.source_index] = text
    return hover


def heatmap_figure(frame: pd.DataFrame, *, height_per_row: int = ROW_HEIGHT, font_size: int = 13,
                   value_name: str = "attention", y_title: str = "translation",
                   source: list[str] | None = None) -> go.Figure:
    """A long frame (:data:`FRAME_COLUMNS`) as a Blues heatmap: target rows down, source columns across (the Step
    page's revealed heatmap; every other heatmap is the browser component, nmt_core/figures/components/heatmap.js).

    Height is ``max(220, FIGURE_CHROME + height_per_row * rows)``. ``source``: the column labels when the frame
    has no rows yet (nothing decoded).
    """
    source, target, matrix = _axes(frame, source)

    def sized() -> dict:  # a dict of its own for every font: an unvalidated figure keeps the spec's dicts
        return {"size": font_size}

    heatmap = {"type": "heatmap", "z": matrix, "x": list(range(len(source))),
               "y": list(range(len(target))), "colorscale": named_colorscale("Blues"), "zmin": 0.0, "zmax": 1.0,
               "text": _hover(frame, len(target), len(source), value_name), "hoverinfo": "text",
               "xgap": 1, "ygap": 1, "showscale": True,
               "colorbar": {"title": {"text": value_name, "font": sized()}, "thickness": 12, "tickfont": sized()}}
    layout = {
        "xaxis": {"tickmode": "array", "showgrid": False, "tickfont": sized(), "tickvals": list(range(len(source))),
                  "ticktext": [label(s) for s in source], "side": "top", "title": {"text": "source", "font": sized()}},
        "yaxis": {"tickmode": "array", "showgrid": False, "tickfont": sized(), "tickvals": list(range(len(target))),
                  "ticktext": [label(t) for t in target], "autorange": "reversed",
                  "title": {"text": y_title, "font": sized()}},
        "height": max(220, FIGURE_CHROME + height_per_row * len(target)),
        "margin": {"l": 10, "r": 10, "t": 60, "b": 10},
        "font": sized(), "legend": {"font": sized()}, "plot_bgcolor": "white",
    }
    return unvalidated_figure({"data": [heatmap], "layout": layout})


def named_colorscale(colorscale):
    """plotly.py's colorscale of that name, as a list (plotly.js has other scales under some of the same names)."""
    return [list(stop) for stop in _colorscale(colorscale)] if isinstance(colorscale, str) else colorscale


@functools.lru_cache(maxsize=16)
def _colorscale(name: str) -> tuple:
    return tuple(tuple(stop) for stop in plotly.colors.get_colorscale(name))  # ~0.5 ms a lookup: kept


@functools.lru_cache(maxsize=4)
def _template(name: str) -> dict:
    """The default template's JSON (Streamlit's own, once Streamlit is imported), made once: a figure would
    otherwise deep-copy its ~1,400 values on every build (~10 ms)."""
    return plotly.io.templates[name].to_plotly_json()


def unvalidated_figure(spec: dict) -> go.Figure:
    """A plotly Figure of a spec written by hand, without plotly's property validation.

    Validation walks every property through plotly's validators: ~35 ms of a ~40 ms heatmap, paid on every
    new decode. The specs here are fixed in code, and tests/test_plots.py checks each against the validated
    ``go.Figure(spec)``, so the check is made once, in the tests, instead of on every request.
    """
    default = plotly.io.templates.default
    if isinstance(default, str) and "template" not in spec.get("layout", {}):
        spec = {**spec, "layout": {**spec.get("layout", {}), "template": _template(default)}}
    try:
        return go.Figure(spec, _validate=False)
    except TypeError:  # a plotly without the private flag: validate after all
        return go.Figure(spec)


ALIGNED_LABEL_CHARACTERS = 16  # labels longer than this are shortened in side-by-side heatmaps (whole on hover)


def attention_heatmap(trace: Trace, height_per_row: int = ROW_HEIGHT, *, merge_words: bool = False,
                      font_size: int = 13) -> go.Figure:
    """Target tokens down, source tokens across. Integer axes with tick labels,
    so repeated tokens (two "the") stay separate rows instead of merging.

    Hover shows the target and source piece (or word, with its pieces) and the weight.
    """
    if trace.attention is None and trace.output_steps:
        raise ValueError("this trace has no attention (a model without attention)")
    source = attention_view(trace.source_tokens, [], np.zeros((0, len(trace.source_tokens))), merge_words).source
    return heatmap_figure(attention_frame(trace, merge_words), height_per_row=height_per_row, font_size=font_size,
                          source=source)


def component_chrome(longest: int, font_size: int, label_font: int | None = None, lines: int = 1) -> int:
    """px of a heatmap component (components/heatmap.css) besides its rows: ``lines`` lines of title and controls
    (1.6 em and 0.3 em below, at ``font_size``) and the source labels set upright above the cells (~0.62 em a
    character, 0.6 em of padding, at ``label_font``), with a few px of gaps."""
    label = label_font or font_size
    return int(lines * 1.9 * font_size + 0.62 * label * longest + 0.6 * label + 6)


def fitted_component_rows(rows: int, longest: int, height: int, font_size: int, lines: int = 1,
                          label_font: int | None = None) -> tuple[int, int]:
    """(row height, label font) for a heatmap component of ``rows`` rows, source labels of up to ``longest``
    characters, to fit in ``height`` px on a projector: rows of CLASSROOM_ROW_HEIGHT px when they fit, else fewer
    (not below MIN_CLASSROOM_ROW_HEIGHT); the labels never larger than a row (the source labels drawn at most
    ``label_font``, as the component draws them). A smaller
    font shortens the upright labels and frees room for the rows, so it settles in a few rounds."""
    rows, font = max(rows, 1), font_size
    row_height = CLASSROOM_ROW_HEIGHT
    for _ in range(3):
        room = height - component_chrome(longest, font_size, min(font, label_font or font), lines)
        row_height = max(MIN_CLASSROOM_ROW_HEIGHT, min(CLASSROOM_ROW_HEIGHT, room // rows - 1))  # 1 px grid gap
        font = min(font, row_height - 2)  # only ever smaller: the loop cannot swing back
    return row_height, font


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
    figure = go.Figure()
    for name, rows in frame.groupby("model", sort=False):
        hover = [f"{label(name)}<br>step {r.step}: {label(r.token)}<br>{r.entropy:.2f} bits"
                 for r in rows.itertuples(index=False)]
        figure.add_trace(go.Scatter(x=rows["step"].tolist(), y=rows["entropy"].tolist(), mode="lines+markers",
                                    name=label(name), text=hover, hoverinfo="text"))
    for uniform in sorted(set(frame["uniform"].round(6))):
        figure.add_hline(y=uniform, line={"dash": "dash", "color": "#888"},
                         annotation_text=f"even over {2 ** uniform:.0f} pieces", annotation_position="top left")
    figure.update_layout(
        xaxis={"title": {"text": "target step"}, "dtick": 1},
        yaxis={"title": {"text": "attention entropy (bits)"}, "rangemode": "tozero"},
        height=height, margin={"l": 10, "r": 10, "t": 20, "b": 10},
        legend={"orientation": "h", "y": -0.25},
    )
    return set_font_size(figure, font_size)


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

    # Traces and annotations are collected as plain dicts and validated once by go.Figure:
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
    figure = go.Figure(data=lines + markers, layout={
        "xaxis": {"visible": False, "range": [0, 1]}, "yaxis": {"visible": False, "range": [-0.05, 1.05]},
        "height": height or int(160 + 2 * room), "margin": {"l": 10, "r": 10, "t": room + 10, "b": room + 10},
        "plot_bgcolor": "white", "annotations": annotations,
    })
    return set_font_size(figure, font_size)


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
