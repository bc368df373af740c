"""Figures for the Step-through page, from the frames in :mod:`nmt_core.views.step`. No streamlit here.

* :func:`source_strip`: the source pieces in one row, each cell shaded by its
  attention weight at the current step (plotly; labels HTML-escaped).
* :func:`revealed_heatmap`: the attention heatmap with rows 1..t filled in and
  the current row outlined; its size is the full trace's, so playing fills it
  in place instead of growing it.
* :func:`candidate_chart`: the top-k next tokens as horizontal bars (altair),
  the model's probability beside the chooser's after temperature/top-k/top-p.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import plotly.graph_objects as go

from ..decoding.trace import Trace
from ..views.step import cut_trace, step_count
from .traces import ROW_HEIGHT, attention_heatmap, label

MODEL_SERIES = "model"
CHOOSER_SERIES = "after temperature / top-k / top-p"


def source_strip(frame: pd.DataFrame, font_size: int = 13) -> go.Figure:
    """One row of cells, one per source piece, shaded by its weight (0..1, Blues).

    ``frame``: :func:`nmt_core.views.step.source_attention_frame` (source_index,
    source_token, weight). Tick labels are the pieces; each cell prints its weight.
    """
    tokens = [label(t) for t in frame["source_token"]]
    weights = [float(w) for w in frame["weight"]]
    positions = list(range(len(tokens)))
    # One constructor call with every font set explicitly (Streamlit's theme overrides inherited
    # fonts): each later update_* call would cost another round of plotly's validation.
    return go.Figure(
        data=[go.Heatmap(z=[weights], x=positions, y=[0], colorscale="Blues", zmin=0, zmax=1, showscale=False,
                         text=[[f"{w:.2f}" for w in weights]], texttemplate="%{text}", textfont={"size": font_size},
                         customdata=[tokens], hovertemplate="%{customdata}: %{z:.3f}<extra></extra>", xgap=2)],
        layout={"xaxis": {"tickmode": "array", "tickvals": positions, "ticktext": tokens, "side": "bottom",
                          "tickfont": {"size": font_size + 2}},  # the pieces are what people read: a size up
                "yaxis": {"visible": False}, "font": {"size": font_size},
                "height": 2 * font_size + 90, "margin": {"l": 10, "r": 10, "t": 10, "b": 10}},
    )


def revealed_heatmap(trace: Trace, t: int, font_size: int = 13) -> go.Figure:
    """The heatmap of steps 1..t (full source axis), sized for every step of the trace.

    Rows are the target pieces emitted so far (``</s>`` included once reached);
    the row of step ``t`` is outlined. The y range is fixed to all ``n`` steps so
    the figure keeps its size while rows fill in.
    """
    n = step_count(trace)
    figure = attention_heatmap(cut_trace(trace, t), height_per_row=ROW_HEIGHT, font_size=font_size)
    figure.update_layout(yaxis={"autorange": False, "range": [n - 0.5, -0.5]}, height=max(220, 120 + ROW_HEIGHT * n))
    sources = len(trace.source_tokens)
    figure.add_shape(type="rect", x0=-0.5, x1=sources - 0.5, y0=t - 1.5, y1=t - 0.5,
                     line={"color": "#d62728", "width": 2})
    return figure


def candidate_long_frame(frame: pd.DataFrame, show_adjusted: bool) -> pd.DataFrame:
    """Candidates in long form for a grouped bar chart: one row per (token, series).

    Columns: label (the piece; unique), order (0 = most likely), chosen, series,
    probability. Unknown probabilities (NaN) are left out.
    """
    labels = list(frame["token"])
    if len(set(labels)) < len(labels):  # two ids, one spelling: keep the bars apart
        labels = [f"{tok} (id {i})" for tok, i in zip(frame["token"], frame["token_id"], strict=True)]
    series = [("prob", MODEL_SERIES)] + ([("adjusted_prob", CHOOSER_SERIES)] if show_adjusted else [])
    rows = []
    for position, (text, (_, row)) in enumerate(zip(labels, frame.iterrows(), strict=True)):
        for column, name in series:
            value = row[column]
            if pd.notna(value):
                rows.append({"label": text, "order": position, "chosen": bool(row["chosen"]), "series": name,
                             "probability": float(value)})
    return pd.DataFrame(rows, columns=["label", "order", "chosen", "series", "probability"])


def candidate_chart(frame: pd.DataFrame, show_adjusted: bool, font_size: int = 13) -> alt.LayerChart:
    """Horizontal bars: the top-k tokens down (most likely first), probability across, value printed.

    ``frame``: :func:`nmt_core.views.step.candidate_frame`. With ``show_adjusted``
    each token gets two bars, the model's probability and the chooser's (with a
    legend); the token taken is outlined in black. Altair draws labels as text,
    not markup, so pieces need no escaping here.
    """
    data = candidate_long_frame(frame, show_adjusted)
    order = list(dict.fromkeys(data["label"]))
    series = [MODEL_SERIES, CHOOSER_SERIES] if show_adjusted else [MODEL_SERIES]
    base = alt.Chart().encode(  # the data goes on the layer: no per-layer copies to reconcile
        y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelFontSize=font_size + 2, labelLimit=240)),
        x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), title="probability",
                axis=alt.Axis(labelFontSize=font_size, titleFontSize=font_size, format=".1f")),
        yOffset=alt.YOffset("series:N", sort=series),
    )
    legend = alt.Legend(orient="bottom", labelFontSize=font_size, labelLimit=400) if show_adjusted else None
    bars = base.mark_bar().encode(
        color=alt.Color("series:N", title=None, sort=series, legend=legend),
        # Value channels with a condition, built directly: alt.condition() costs ~45 ms of schema checks.
        stroke=alt.StrokeValue(None, condition={"test": "datum.chosen", "value": "black"}),
        strokeWidth=alt.StrokeWidthValue(0, condition={"test": "datum.chosen", "value": 2}),
        tooltip=[alt.Tooltip("label:N", title="token"), alt.Tooltip("series:N"),
                 alt.Tooltip("probability:Q", format=".3f")],
    )
    values = base.mark_text(align="left", dx=4, fontSize=font_size).encode(
        text=alt.Text("probability:Q", format=".2f"))
    # Streamlit fits the whole chart (axes and legend included) into this height:
    # give every bar room for its label, plus the x axis and the legend.
    per_token = (font_size + 12) * len(series)
    overhead = 70 + (50 if show_adjusted else 0)
    return alt.layer(bars, values, data=data, height=max(len(order), 1) * per_token + overhead)
