"""Heatmap sizing and the image-download options: plain arithmetic, no pandas, plotly or streamlit here.

Translate's first run needs these to mount its heatmap component; a fresh server sends that heatmap before it has
imported pandas and plotly (pages/lib/warm_up.py), so they live apart from the figures in
nmt_core/figures/traces.py.
"""

from __future__ import annotations

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


def image_config(filename: str, image_format: str = "png", scale: int = 2) -> dict:
    """``st.plotly_chart(config=...)``: the modebar's camera button saves the figure as PNG or SVG in the browser.
    The heatmap component's download takes its ``toImageButtonOptions`` (pages/lib/heatmap.py)."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in filename)[:80] or "figure"
    return {"toImageButtonOptions": {"format": image_format, "filename": safe, "scale": scale},
            "displaylogo": False}


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
