"""The Explain page's figures: attention and attribution as heatmaps of the same shape, side by side."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .traces import CLASSROOM_ROW_HEIGHT, MIN_CLASSROOM_ROW_HEIGHT, label, set_font_size

ROW_HEIGHT = 26  # px per row
CHROME = 150  # px of a heatmap besides its rows (title, source labels, margins), top_margin not given
BOTTOM = 10  # px below the rows


def score_heatmap(matrix: np.ndarray, source: list[str], target: list[str], title: str,
                  font_size: int, row_height: int = ROW_HEIGHT, top_margin: int | None = None) -> go.Figure:
    """A (T, S) matrix of scores, one row per target token: attention or attribution on the Explain page.

    Integer axes with tick labels (text axes would merge repeated tokens like "the"); labels HTML-escaped
    (plotly reads tick text as HTML: "</s>" would vanish). Height: CHROME + ``row_height`` per row.
    ``top_margin`` (:func:`score_top_margin`): source labels upright in that much room under the title, and
    the height is exactly ``top_margin`` + BOTTOM + the rows (what :func:`fitted_score_rows` fits)."""
    figure = go.Figure(go.Heatmap(z=matrix, colorscale="Blues", showscale=False,
                                  hovertemplate="%{z:.3f}<extra></extra>"))
    # the title at the very top, the source pieces (ticks on top) below it: they must not overlap
    figure.update_layout(title=dict(text=title, font=dict(size=font_size), y=1.0, yref="container", yanchor="top",
                                    pad=dict(t=8)),
                         height=CHROME + row_height * len(target),
                         margin=dict(l=10, r=10, t=40 + 3 * font_size, b=BOTTOM), font=dict(size=font_size))
    figure.update_xaxes(tickmode="array", tickvals=list(range(len(source))), ticktext=[label(s) for s in source],
                        side="top")
    figure.update_yaxes(tickmode="array", tickvals=list(range(len(target))), ticktext=[label(t) for t in target],
                        autorange="reversed")
    if top_margin is not None:
        figure.update_layout(height=top_margin + BOTTOM + row_height * max(len(target), 1),
                             margin=dict(t=top_margin))
        figure.update_xaxes(tickangle=-90, automargin=False)
    return set_font_size(figure, font_size)  # the ticks too: Streamlit's theme sets their size otherwise


def score_top_margin(source: list[str], font_size: int) -> int:
    """Room above the rows for the title and the source labels set upright under it."""
    longest = max((len(s) for s in source), default=1)
    return int(1.5 * font_size + 20 + 0.62 * font_size * longest)


def fitted_score_rows(rows: int, source: list[str], height: int, font_size: int) -> tuple[int, int, int]:
    """(row height, font size, top margin) for a score heatmap of ``rows`` rows to fit in ``height`` px on a
    projector, source labels upright: rows of up to CLASSROOM_ROW_HEIGHT px, fewer px (not below
    MIN_CLASSROOM_ROW_HEIGHT) when they do not fit, and the labels never larger than a row."""
    rows, font = max(rows, 1), font_size
    row_height = CLASSROOM_ROW_HEIGHT
    for _ in range(3):  # a smaller font frees room above the rows
        top = score_top_margin(source, font)
        row_height = max(MIN_CLASSROOM_ROW_HEIGHT, min(CLASSROOM_ROW_HEIGHT, (height - top - BOTTOM) // rows))
        font = min(font, row_height - 2)
    return row_height, font, score_top_margin(source, font)
