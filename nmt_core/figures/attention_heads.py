"""A Transformer's attention, head by head: the layer x head grid (BertViz's model view) and the
encoder and decoder self-attention heatmaps with the causal mask drawn.

Token labels go through :func:`nmt_core.figures.traces.label` (HTML-escaped: plotly renders HTML in labels
and hover text). Axes are integers with tick labels, so repeated tokens keep their own rows.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..views.attention_heads import HeadChoice, HeadGrid, SelfAttentionView
from .sizing import ROW_HEIGHT
from .traces import label, sized_figure

MASK_COLOR = "#d9d9d9"  # the decoder's future: not a weight of 0, a cell it cannot attend to at all
SELECTED_COLOR = "#d62728"
GRID_TRACES_PER_HEAD = 2  # a heatmap, then an invisible scatter over its cells that takes the clicks


def head_grid_figure(grid: HeadGrid, selected: HeadChoice | None = None, *, font_size: int = 13,
                     cell: int = 150, entropy: np.ndarray | None = None) -> go.Figure:
    """Layers down, heads across, each a small (target x source) heatmap on one 0..1 scale; hover names the
    cell. ``selected`` (one head) is framed in red. ``entropy`` (L, h) goes into each panel's title.

    Each panel has an invisible scatter over its cells, so a click on any cell selects a point whose
    ``customdata`` is [layer, head] (0-based) and whose curve number is
    ``GRID_TRACES_PER_HEAD * (layer * heads + head) + 1`` (see :func:`clicked_head`).

    Built as one layout and one list of traces, validated once (:func:`sized_figure`): the same figure built with
    ``make_subplots``, ``add_trace`` per panel and ``update_*`` calls took 0.7 s idle (1.2 s under load) for
    4 x 4 heads on a 15-piece sentence (plotly validates at every call, and a Python list of hover texts item
    by item), this way 0.07 s (``benchmarks/figures.py``).
    """
    L, h = grid.layers, grid.heads
    T, S = len(grid.target), len(grid.source)
    sources = np.array([label(s) for s in grid.source], dtype=object)
    targets = np.array([label(t) for t in grid.target], dtype=object)
    xs, ys = np.tile(np.arange(S), T), np.repeat(np.arange(T), S)  # one point per cell, row by row
    cells = targets[ys] + " ← " + sources[xs]  # each cell's words, in the points' order
    small = {"size": max(font_size - 2, 9)}  # the panels' titles
    layout: dict = {"annotations": [], "shapes": [], "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
                    "plot_bgcolor": "white", "dragmode": False, "clickmode": "event+select"}
    data: list[dict] = []
    for (l, k), (x0, x1, y0, y1) in zip(np.ndindex(L, h), panel_domains(L, h), strict=True):
        panel = l * h + k + 1
        suffix = "" if panel == 1 else str(panel)  # plotly's names: x, x2, ...; xaxis, xaxis2, ...
        x, y = f"x{suffix}", f"y{suffix}"
        axis = {"showticklabels": False, "ticks": "", "showgrid": False, "zeroline": False}  # no stray tick marks
        layout[f"xaxis{suffix}"] = {**axis, "domain": [x0, x1], "anchor": y, "range": [-0.5, S - 0.5]}
        layout[f"yaxis{suffix}"] = {**axis, "domain": [y0, y1], "anchor": x, "autorange": "reversed"}
        title = f"L{l + 1} H{k + 1}" + ("" if entropy is None else f" · {entropy[l, k]:.1f} bits")
        layout["annotations"].append({"text": title, "x": (x0 + x1) / 2, "y": y1, "xref": "paper", "yref": "paper",
                                      "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": small})
        z = grid.weights[l, k].astype(np.float32)  # sent as binary: float32 halves it, and draws the same
        data.append({"type": "heatmap", "z": z, "x": np.arange(S), "y": np.arange(T), "zmin": 0, "zmax": 1,
                     "colorscale": "Blues", "showscale": False, "hoverinfo": "skip", "xaxis": x, "yaxis": y})
        # The scatter on top takes hover and clicks (a "skip" trace would take neither). Its hover is a template
        # that plotly.js fills in the browser: the cell's words (the same for every panel) and its weight (the
        # invisible markers' colours, sent as a binary array), not a finished text per cell and panel (404 kB
        # of JSON for 4 x 4 heads on a 15-piece sentence, against 203 kB this way).
        data.append({"type": "scatter", "x": xs, "y": ys, "mode": "markers",
                     "marker": {"size": 12, "opacity": 0, "color": z[ys, xs]},
                     "customdata": np.tile([l, k], (S * T, 1)), "text": cells, "showlegend": False,
                     "hovertemplate": f"L{l + 1} H{k + 1}<br>%{{text}}<br>attention: %{{marker.color:.3f}}"
                                      "<extra></extra>",
                     "xaxis": x, "yaxis": y})
    if selected is not None and selected.layer is not None and selected.head is not None \
            and selected.layer < L and selected.head < h:
        panel = selected.layer * h + selected.head + 1
        suffix = "" if panel == 1 else str(panel)
        layout["shapes"].append({"type": "rect", "xref": f"x{suffix} domain", "yref": f"y{suffix} domain",
                                 "x0": 0, "x1": 1, "y0": 0, "y1": 1, "line": {"color": SELECTED_COLOR, "width": 3}})
    # Panels keep roughly the matrix's aspect: ``cell`` px for the source axis of a panel.
    panel_height = min(max(cell * max(T, 1) / max(S, 1), 50), 2 * cell)
    layout["height"] = int(50 + L * (panel_height + 30))
    return sized_figure(data, layout, font_size)


def panel_domains(rows: int, columns: int, across: float = 0.02, down: float | None = None):
    """Each panel's (x0, x1, y0, y1) in paper coordinates, row by row from the top left: ``across`` and
    ``down`` are the gaps between panels (as plotly's ``make_subplots`` lays them out)."""
    down = min(0.08, 0.5 / max(rows, 1)) if down is None else down
    width = (1 - across * (columns - 1)) / columns
    height = (1 - down * (rows - 1)) / rows
    for r in range(rows):
        top = 1 - r * (height + down)
        for c in range(columns):
            left = c * (width + across)
            # Clamped: the last row's bottom can come out as -5e-17, which plotly refuses.
            yield max(left, 0.0), min(left + width, 1.0), max(top - height, 0.0), min(top, 1.0)


def clicked_head(point: dict, heads: int) -> HeadChoice | None:
    """The head a click on :func:`head_grid_figure` selected (a Streamlit selection point); None when the
    point is not on a panel."""
    data = point.get("customdata")
    if isinstance(data, list | tuple) and len(data) == 2 and all(isinstance(v, int) for v in data):
        return HeadChoice(int(data[0]), int(data[1]))
    curve = point.get("curve_number")
    if not isinstance(curve, int) or curve % GRID_TRACES_PER_HEAD != 1 or heads < 1:
        return None
    panel = curve // GRID_TRACES_PER_HEAD
    return HeadChoice(panel // heads, panel % heads)


def self_attention_figure(view: SelfAttentionView, *, row_title: str, column_title: str,
                          height_per_row: int = ROW_HEIGHT, font_size: int = 13) -> go.Figure:
    """Rows attend to columns. Masked cells (the decoder's future) are grey, with a hover that says why;
    the rest is on the usual 0..1 blue scale."""
    R, C = view.matrix.shape
    rows, columns = [label(r) for r in view.rows], [label(c) for c in view.columns]
    weights = np.where(view.mask, np.nan, view.matrix)
    row_labels = np.array(rows, dtype=object)[:, None]
    column_labels = np.array(columns, dtype=object)[None, :]
    hover = np.where(view.mask, row_labels + " cannot see " + column_labels + ": a later token (causal mask)",
                     row_labels + " → " + column_labels + "<br>attention: "
                     + np.char.mod("%.3f", view.matrix).astype(object))
    data = [{"type": "heatmap", "z": weights, "x": np.arange(C), "y": np.arange(R), "zmin": 0, "zmax": 1,
             "colorscale": "Blues", "text": hover, "hoverinfo": "text", "xgap": 1, "ygap": 1,
             "colorbar": {"title": {"text": "attention"}, "thickness": 12}}]
    if view.mask.any():
        data.append({"type": "heatmap", "z": np.where(view.mask, 1.0, np.nan), "x": np.arange(C), "y": np.arange(R),
                     "colorscale": [[0, MASK_COLOR], [1, MASK_COLOR]], "showscale": False, "text": hover,
                     "hoverinfo": "text", "xgap": 1, "ygap": 1, "name": "masked"})
    return sized_figure(data, {
        "xaxis": {"tickmode": "array", "tickvals": list(range(C)), "ticktext": columns, "side": "top",
                  "title": {"text": column_title}, "showgrid": False},
        "yaxis": {"tickmode": "array", "tickvals": list(range(R)), "ticktext": rows, "autorange": "reversed",
                  "title": {"text": row_title}, "showgrid": False},
        "height": max(220, 120 + height_per_row * R), "margin": {"l": 10, "r": 10, "t": 60, "b": 10},
        "plot_bgcolor": "white",
    }, font_size)
