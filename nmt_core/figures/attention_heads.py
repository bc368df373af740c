"""A Transformer's attention, head by head: the layer x head grid (BertViz's model view) and the
encoder and decoder self-attention heatmaps with the causal mask drawn.

Token labels go through :func:`nmt_core.figures.traces.label` (HTML-escaped: plotly renders HTML in labels
and hover text). Axes are integers with tick labels, so repeated tokens keep their own rows.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..views.attention_heads import HeadChoice, HeadGrid, SelfAttentionView
from .sizing import ROW_HEIGHT
from .traces import label, set_font_size

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
    """
    L, h = grid.layers, grid.heads
    T, S = len(grid.target), len(grid.source)
    titles = [f"L{l + 1} H{k + 1}" + ("" if entropy is None else f" · {entropy[l, k]:.1f} bits")
              for l in range(L) for k in range(h)]
    figure = make_subplots(rows=L, cols=h, subplot_titles=titles, horizontal_spacing=0.02,
                           vertical_spacing=min(0.08, 0.5 / max(L, 1)))
    sources, targets = [label(s) for s in grid.source], [label(t) for t in grid.target]
    xs = [s for _ in range(T) for s in range(S)]
    ys = [t for t in range(T) for _ in range(S)]
    for l in range(L):
        for k in range(h):
            z = grid.weights[l, k]
            hover = [f"L{l + 1} H{k + 1}<br>{targets[t]} ← {sources[s]}<br>attention: {z[t, s]:.3f}"
                     for t, s in zip(ys, xs, strict=True)]  # one per cell, in the scatter's order
            # The scatter on top takes hover and clicks (a "skip" trace would take neither), so it carries the
            # hover text; the heatmap under it only draws.
            figure.add_trace(go.Heatmap(z=z, x=list(range(S)), y=list(range(T)), zmin=0, zmax=1, colorscale="Blues",
                                        showscale=False, hoverinfo="skip"), row=l + 1, col=k + 1)
            figure.add_trace(go.Scatter(x=xs, y=ys, mode="markers", marker={"size": 12, "opacity": 0},
                                        customdata=[[l, k]] * len(xs), text=hover,
                                        hoverinfo="text", showlegend=False),
                             row=l + 1, col=k + 1)
    figure.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, range=[-0.5, S - 0.5])
    figure.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed")
    if selected is not None and selected.layer is not None and selected.head is not None \
            and selected.layer < L and selected.head < h:
        index = selected.layer * h + selected.head + 1
        suffix = "" if index == 1 else str(index)
        figure.add_shape(type="rect", xref=f"x{suffix} domain", yref=f"y{suffix} domain", x0=0, x1=1, y0=0, y1=1,
                         line={"color": SELECTED_COLOR, "width": 3})
    # Panels keep roughly the matrix's aspect: ``cell`` px for the source axis of a panel.
    panel = min(max(cell * max(T, 1) / max(S, 1), 50), 2 * cell)
    figure.update_layout(height=int(50 + L * (panel + 30)),
                         margin={"l": 10, "r": 10, "t": 40, "b": 10}, plot_bgcolor="white", dragmode=False,
                         clickmode="event+select")
    set_font_size(figure, font_size)
    figure.update_annotations(font={"size": max(font_size - 2, 9)})
    return figure


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
    hover = [[(f"{rows[r]} cannot see {columns[c]}: a later token (causal mask)" if view.mask[r, c] else
               f"{rows[r]} → {columns[c]}<br>attention: {view.matrix[r, c]:.3f}") for c in range(C)] for r in range(R)]
    data = [go.Heatmap(z=weights, x=list(range(C)), y=list(range(R)), zmin=0, zmax=1, colorscale="Blues",
                       text=hover, hoverinfo="text", xgap=1, ygap=1,
                       colorbar={"title": {"text": "attention"}, "thickness": 12})]
    if view.mask.any():
        data.append(go.Heatmap(z=np.where(view.mask, 1.0, np.nan), x=list(range(C)), y=list(range(R)),
                               colorscale=[[0, MASK_COLOR], [1, MASK_COLOR]], showscale=False, text=hover,
                               hoverinfo="text", xgap=1, ygap=1, name="masked"))
    figure = go.Figure(data)
    figure.update_layout(
        xaxis={"tickmode": "array", "tickvals": list(range(C)), "ticktext": columns, "side": "top",
               "title": {"text": column_title}, "showgrid": False},
        yaxis={"tickmode": "array", "tickvals": list(range(R)), "ticktext": rows, "autorange": "reversed",
               "title": {"text": row_title}, "showgrid": False},
        height=max(220, 120 + height_per_row * R), margin={"l": 10, "r": 10, "t": 60, "b": 10},
        plot_bgcolor="white",
    )
    return set_font_size(figure, font_size)
