"""The Explain page's figures: attention and attribution as heatmaps of the same shape, side by side."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .traces import label


def score_heatmap(matrix: np.ndarray, source: list[str], target: list[str], title: str,
                  font_size: int) -> go.Figure:
    """A (T, S) matrix of scores, one row per target token: attention or attribution on the Explain page.

    Integer axes with tick labels (text axes would merge repeated tokens like "the"); labels HTML-escaped
    (plotly reads tick text as HTML: "</s>" would vanish)."""
    figure = go.Figure(go.Heatmap(z=matrix, colorscale="Blues", showscale=False,
                                  hovertemplate="%{z:.3f}<extra></extra>"))
    # the title at the very top, the source pieces (ticks on top) below it: they must not overlap
    figure.update_layout(title=dict(text=title, y=1.0, yref="container", yanchor="top", pad=dict(t=8)),
                         height=150 + 26 * len(target), margin=dict(l=10, r=10, t=40 + 3 * font_size, b=10),
                         font=dict(size=font_size))
    figure.update_xaxes(tickmode="array", tickvals=list(range(len(source))), ticktext=[label(s) for s in source],
                        side="top")
    figure.update_yaxes(tickmode="array", tickvals=list(range(len(target))), ticktext=[label(t) for t in target],
                        autorange="reversed")
    return figure
