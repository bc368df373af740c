"""Altair charts built once per data and font size, shared by every session and run.

Altair builds and validates a chart at every call (``length_chart``: ~54 ms under load), and the Models page's
Training tab draws four of them on each of its runs, Sampling, Compare and Evaluate one or two. A cached chart goes to
``st.altair_chart`` as is: Streamlit still converts it to Vega-Lite on each run (~23 ms), but no longer builds
it. Pages never change a chart after it is built, so sessions can share one.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from nmt_core.figures import models as figures
from nmt_core.figures import sampling as sampling_figures


@st.cache_resource(max_entries=128, show_spinner=False)
def length_chart(frame: pd.DataFrame, font_size: int, title: str = "Test BLEU by source length") -> alt.Chart:
    """:func:`nmt_core.figures.models.length_chart`, cached (keyed by the frame's content)."""
    return figures.length_chart(frame, font_size, title)


@st.cache_resource(max_entries=128, show_spinner=False)
def history_chart(frame: pd.DataFrame, quantity: str, font_size: int) -> alt.Chart:
    """:func:`nmt_core.figures.models.history_chart`, cached (keyed by the frame's content)."""
    return figures.history_chart(frame, quantity, font_size)


@st.cache_resource(max_entries=128, show_spinner=False)
def beam_curve_chart(frame: pd.DataFrame, font_size: int) -> alt.Chart:
    """:func:`nmt_core.figures.models.beam_curve_chart`, cached (keyed by the frame's content)."""
    return figures.beam_curve_chart(frame, font_size)


@st.cache_resource(max_entries=128, show_spinner=False)
def temperature_chart(frame: pd.DataFrame, font_size: int, width: int, words: bool) -> alt.Chart:
    """:func:`nmt_core.figures.sampling.temperature_chart`, cached (keyed by the frame's content)."""
    return sampling_figures.temperature_chart(frame, font_size, width=width, words=words)
