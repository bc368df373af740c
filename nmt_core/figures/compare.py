"""Sizing of the Compare page's side-by-side heatmaps on a projector. No streamlit here."""

from __future__ import annotations

from .traces import CLASSROOM_ROW_HEIGHT, MIN_CLASSROOM_ROW_HEIGHT, aligned_top_margin

# Below the last row of an aligned heatmap (heatmap_figure's height is top margin + 10 + rows x row height).
ALIGNED_BOTTOM = 10


def fitted_aligned_rows(rows: int, source_labels: list[list[str]], height: int,
                        font_size: int) -> tuple[int, int, int]:
    """(row height, font size, top margin) for side-by-side heatmaps of ``rows`` rows to fit in ``height`` px.

    As :func:`nmt_core.figures.traces.fitted_rows`, but for heatmaps whose source labels stand upright above
    the rows (:func:`nmt_core.figures.traces.aligned_top_margin`): that margin grows with the font, so a
    smaller font gives the rows more room. Rows stay between MIN_CLASSROOM_ROW_HEIGHT and
    CLASSROOM_ROW_HEIGHT px; the labels are never larger than ``font_size`` nor than a row.
    """
    rows, font = max(rows, 1), font_size
    row_height = CLASSROOM_ROW_HEIGHT
    for _ in range(3):  # a smaller font frees room above the rows: settles in two rounds
        top = aligned_top_margin(source_labels, font)
        row_height = max(MIN_CLASSROOM_ROW_HEIGHT,
                         min(CLASSROOM_ROW_HEIGHT, (height - top - ALIGNED_BOTTOM) // rows))
        font = min(font, row_height - 2)  # only ever smaller: the loop cannot swing back
    return row_height, font, aligned_top_margin(source_labels, font)
