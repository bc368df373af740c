"""The Sampling page's temperature chart (altair): one step's top tokens at several temperatures."""

from __future__ import annotations

import altair as alt
import pandas as pd

from ..views.sampling import OTHER_TOKENS, word_label
from .trees import COLORS


def temperature_chart(frame: pd.DataFrame, font_size: int = 13, width: int = 150, words: bool = False) -> alt.Chart:
    """Bars of one step's top tokens, one panel per temperature (:func:`nmt_core.views.sampling.temperature_frame`).

    Same token order and the same 0..1 scale in every panel, so flattening shows as shrinking bars
    and a growing "all other tokens" bar. ``words``: each piece as it reads among words ("▁gamma" is
    "gamma", a piece inside a word "+ma"; :func:`nmt_core.views.sampling.word_label`). Labels are never cut.
    """
    tokens = [word_label(t) for t in frame["token"]] if words else list(frame["token"])
    data = frame.assign(
        label=[f"{r}. {t}" if t != OTHER_TOKENS else t for r, t in zip(frame["rank"], tokens, strict=True)],
        panel=[f"T = {t:g}" for t in frame["temperature"]],
        other=frame["token"] == OTHER_TOKENS,
    )
    order = list(dict.fromkeys(data.sort_values("rank")["label"]))
    panels = list(dict.fromkeys(data.sort_values("temperature")["panel"]))
    # Horizontal bars: token labels stay readable however many panels share the row.
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=0, labelOverlap=False)),
            x=alt.X("prob:Q", title="probability", scale=alt.Scale(domain=[0, 1])),
            color=alt.condition(alt.datum.other, alt.value("#bbbbbb"), alt.value(COLORS["kept"])),
            tooltip=[alt.Tooltip("panel:N", title="temperature"), alt.Tooltip("label:N", title="token"),
                     alt.Tooltip("prob:Q", format=".4f")],
        )
        .properties(width=width, height=max(len(order), 1) * (font_size + 9))
        .facet(column=alt.Column("panel:N", sort=panels, title=None, header=alt.Header(labelFontSize=font_size + 2)))
        .configure_axis(labelFontSize=font_size, titleFontSize=font_size)
    )
