"""Sizing of the Compare page's side-by-side heatmap components on a projector. No streamlit here.

Each column's heatmap is the browser component (components/heatmap.js); they share one row height, and the
component makes their label rows equally tall, so the columns line up row for row."""

from __future__ import annotations

from .sizing import fitted_component_rows
from .traces import ALIGNED_LABEL_CHARACTERS

LABEL_SPACING = 1.3  # upright source labels stand at least this many font sizes apart, centre to centre
SMALLEST_LABEL = 8  # px
# Lines above the labels: the controls, and in columns too narrow for it beside them, the hover readout.
NARROW = 3  # columns from which the readout takes a line of its own


def controls_lines(columns: int) -> int:
    return 2 if columns >= NARROW else 1


def fitted_aligned_rows(rows: int, longest: int, height: int, font_size: int, columns: int,
                        label_font: int | None = None) -> tuple[int, int]:
    """(row height, label font) for ``columns`` side-by-side heatmaps of up to ``rows`` rows and source labels of
    up to ``longest`` characters (shortened past ALIGNED_LABEL_CHARACTERS) to fit in ``height`` px."""
    return fitted_component_rows(rows, min(longest, ALIGNED_LABEL_CHARACTERS), height, font_size,
                                 controls_lines(columns), label_font)


def upright_label_font(width: float, columns: int, row_labels: list[str], font_size: int) -> int:
    """The largest font (at most ``font_size``) at which ``columns`` upright source labels stand apart in a
    heatmap ``width`` px wide: LABEL_SPACING font sizes apart, centre to centre (a cell is at least 1.3 of
    the labels' font wide in the component). The row labels' width (at ``font_size``) comes off the width first.
    Narrow side-by-side columns (three or four models on a projector) need it: their labels would stand on
    one another."""
    longest = max((min(len(t), ALIGNED_LABEL_CHARACTERS) for t in row_labels), default=1)
    plot = width - (0.62 * font_size * longest + 14) - 4
    return max(SMALLEST_LABEL, min(font_size, int(plot / max(columns, 1) / LABEL_SPACING)))
