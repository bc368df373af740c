"""Sizing of the Compare page's side-by-side heatmaps on a projector. No streamlit here.

On a projector the heatmaps drop their "source" axis title (the upright words say it), so the room above
their rows is the labels' alone (:func:`upright_top_margin`)."""

from __future__ import annotations

from .traces import ALIGNED_LABEL_CHARACTERS, CLASSROOM_ROW_HEIGHT, MIN_CLASSROOM_ROW_HEIGHT

# Below the last row of an aligned heatmap (heatmap_figure's height is top margin + 10 + rows x row height).
ALIGNED_BOTTOM = 10
LABEL_SPACING = 1.1  # upright source labels stand at least this many font sizes apart, centre to centre
SMALLEST_LABEL = 8  # px


def fitted_aligned_rows(rows: int, source_labels: list[list[str]], height: int,
                        font_size: int) -> tuple[int, int, int]:
    """(row height, font size, top margin) for side-by-side heatmaps of ``rows`` rows to fit in ``height`` px.

    As :func:`nmt_core.figures.traces.fitted_rows`, but for heatmaps whose source labels stand upright above
    the rows (:func:`upright_top_margin`): that margin grows with the font, so a smaller font gives the rows
    more room. Rows stay between MIN_CLASSROOM_ROW_HEIGHT and
    CLASSROOM_ROW_HEIGHT px; the labels are never larger than ``font_size`` nor than a row.
    """
    rows, font = max(rows, 1), font_size
    row_height = CLASSROOM_ROW_HEIGHT
    for _ in range(3):  # a smaller font frees room above the rows: settles in two rounds
        top = upright_top_margin(source_labels, font)
        row_height = max(MIN_CLASSROOM_ROW_HEIGHT,
                         min(CLASSROOM_ROW_HEIGHT, (height - top - ALIGNED_BOTTOM) // rows))
        font = min(font, row_height - 2)  # only ever smaller: the loop cannot swing back
    return row_height, font, upright_top_margin(source_labels, font)


def upright_top_margin(source_labels: list[list[str]], font_size: int) -> int:
    """Room above the rows for the longest (shortened) source label of any model set upright, without an
    axis title: :func:`nmt_core.figures.traces.aligned_top_margin` less the title's line."""
    longest = max((min(len(text), ALIGNED_LABEL_CHARACTERS) for labels in source_labels for text in labels),
                  default=1)
    return int(font_size + 8 + 0.62 * font_size * longest)  # + the ticks' standoff


def upright_label_font(width: float, columns: int, row_labels: list[str], font_size: int) -> int:
    """The largest font (at most ``font_size``) at which ``columns`` upright source labels stand apart in an
    aligned heatmap ``width`` px wide: LABEL_SPACING font sizes apart, centre to centre. The row labels'
    margin (as heatmap_figure sets it, at ``font_size``) comes off the width first. Narrow side-by-side
    columns (three or four models on a projector) need it: their labels would stand on one another."""
    longest = max((min(len(t), ALIGNED_LABEL_CHARACTERS) for t in row_labels), default=1)
    plot = width - (0.62 * font_size * longest + 14) - 4
    return max(SMALLEST_LABEL, min(font_size, int(plot / max(columns, 1) / LABEL_SPACING)))

