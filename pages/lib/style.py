"""Classroom mode's look: large type and roomy widgets, readable on a 1280x720 projector.

Only fixed CSS goes through ``unsafe_allow_html`` here; user text never does.
Plotly and Altair figures read :data:`CLASSROOM_FONT_SIZE` themselves.
"""

import math

import streamlit as st

CLASSROOM_FONT_SIZE = 22  # px, for figure text in classroom mode
NORMAL_FONT_SIZE = 13
# px: a line of classroom text (27.5 px type) and, about, a character of it: for room left below a text
CLASSROOM_TEXT_LINE, CLASSROOM_CHARACTER = 44, 14.5

CLASSROOM_CSS = """
<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 22px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stText"], [data-testid="stCaptionContainer"],
[data-testid="stMetricValue"], [data-testid="stWidgetLabel"] p, .stDataFrame { font-size: 1.25rem !important; }
[data-testid="stText"] { font-size: 1.6rem !important; }
h1 { font-size: 2.1rem !important; padding-top: 0 !important; }
h2, h3 { font-size: 1.9rem !important; }
button p { font-size: 1.2rem !important; }
.block-container { padding-top: 2.9rem !important; max-width: 100%; }  /* just under the header */
</style>
"""


def apply_classroom_style() -> None:
    st.markdown(CLASSROOM_CSS, unsafe_allow_html=True)


def figure_font_size(classroom: bool) -> int:
    return CLASSROOM_FONT_SIZE if classroom else NORMAL_FONT_SIZE


def classroom_extra_lines(text: str, width: float) -> int:
    """Lines beyond the first that classroom text of this length wraps onto in a column ``width`` px wide
    (estimated from its length: the browser wraps it, after the server has sized the figure below)."""
    return max(math.ceil(len(text) * CLASSROOM_CHARACTER / max(width, 1.0)), 1) - 1
