"""Figures of the Models and Evaluate pages, from the DataFrames of model_info, projection and evaluate.

Altair for the line charts (training curves, BLEU vs beam width), plotly for
the embedding scatter (hover per point). Piece labels go through
:func:`nmt_core.figures.traces.label`: plotly renders HTML in text and hover labels.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import plotly.graph_objects as go

from ..views.projection import Projection
from .traces import label

SPLIT_COLORS = alt.Scale(domain=["train", "dev"], range=["#9ca3af", "#1f77b4"])


def history_chart(frame: pd.DataFrame, quantity: str, font_size: int = 13) -> alt.Chart:
    """One quantity of :func:`nmt_core.views.models.history_frame` against epochs, a line per split.

    No height of its own: the page sets it (st.altair_chart's ``height``), which
    leaves the plot area, not the legend, to take up the space.
    """
    data = frame[frame["quantity"] == quantity]
    title = {"loss": "Loss (lower is better)", "token accuracy": "Token accuracy",
             "BLEU": "Dev BLEU (greedy)"}.get(quantity, quantity)
    chart = (
        alt.Chart(data, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("value:Q", title=quantity, scale=alt.Scale(zero=False)),
            color=alt.Color("split:N", scale=SPLIT_COLORS, title=None, legend=alt.Legend(orient="top")),
            tooltip=[alt.Tooltip("epoch:Q", format="d"), "split:N", alt.Tooltip("value:Q", format=".4g")],
        )
    )
    return chart.configure_axis(labelFontSize=font_size, titleFontSize=font_size).configure_title(
        fontSize=font_size + 2).configure_legend(labelFontSize=font_size)


def projection_figure(projection: Projection, labelled: int = 30, font_size: int = 13,
                      height: int = 560) -> go.Figure:
    """The embedding projection as a scatter; the ``labelled`` most frequent pieces carry their text,
    every point names its piece on hover. Darker = more frequent."""
    frame = projection.frame
    pieces = [label(p) for p in frame["piece"]]
    hover = [f"{piece}<br>rank {rank} · id {i} · log-prob {score:.2f}"
             for piece, rank, i, score in zip(pieces, frame["rank"], frame["id"], frame["score"], strict=True)]
    figure = go.Figure(go.Scatter(
        x=frame["x"], y=frame["y"], mode="markers+text",
        text=[p if rank <= labelled else "" for p, rank in zip(pieces, frame["rank"], strict=True)],
        textposition="top center", textfont={"size": font_size},
        hovertext=hover, hoverinfo="text",
        marker={"size": 7, "color": frame["rank"], "colorscale": "Blues", "reversescale": True, "opacity": 0.8,
                "colorbar": {"title": "frequency rank"}},
    ))
    first, second = (projection.explained + [0.0, 0.0])[:2]
    figure.update_layout(
        xaxis={"title": f"PC 1 ({first:.0%} of variance)", "zeroline": False},
        yaxis={"title": f"PC 2 ({second:.0%} of variance)", "zeroline": False},
        height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, font={"size": font_size},
    )
    return figure


def beam_curve_chart(frame: pd.DataFrame, font_size: int = 13) -> alt.Chart:
    """Corpus BLEU and chrF against beam width (:func:`nmt_core.evaluate.beam_curve`'s frame)."""
    data = frame.melt(id_vars=["beam"], value_vars=["bleu", "chrf"], var_name="metric", value_name="score")
    data["metric"] = data["metric"].map({"bleu": "BLEU", "chrf": "chrF"})
    chart = (
        alt.Chart(data, title="Score by beam width")
        .mark_line(point=True)
        .encode(
            x=alt.X("beam:Q", title="beam width", scale=alt.Scale(type="log", base=2),
                    axis=alt.Axis(values=sorted(frame["beam"].unique().tolist()), format="d")),
            # ".1f": a flat curve (every score 100 on an easy batch) would otherwise label ticks 100.000000…
            y=alt.Y("score:Q", title="score", scale=alt.Scale(zero=False), axis=alt.Axis(format=".1f")),
            color=alt.Color("metric:N", title=None, legend=alt.Legend(orient="top")),
            tooltip=[alt.Tooltip("beam:Q", format="d"), "metric:N", alt.Tooltip("score:Q", format=".2f")],
        )
    )
    return chart.configure_axis(labelFontSize=font_size, titleFontSize=font_size).configure_title(
        fontSize=font_size + 2).configure_legend(labelFontSize=font_size)


def length_chart(frame: pd.DataFrame, font_size: int = 13, title: str = "Test BLEU by source length") -> alt.Chart:
    """Test BLEU against source length, a line per model (:func:`nmt_core.views.models.length_frame`).

    The x axis is ordinal (buckets of words, shortest first); hover gives how many
    test sentences a point stands on, since the long buckets hold few.
    """
    order = frame.sort_values("low")["words"].drop_duplicates().tolist()
    chart = (
        alt.Chart(frame, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("words:O", title="source length (words)", sort=order, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("BLEU:Q", title="BLEU", scale=alt.Scale(zero=False)),
            color=alt.Color("model:N", title=None, legend=alt.Legend(orient="top")),
            tooltip=["model:N", "words:O", "sentences:Q", alt.Tooltip("BLEU:Q", format=".2f"),
                     alt.Tooltip("chrF:Q", format=".2f")],
        )
    )
    return chart.configure_axis(labelFontSize=font_size, titleFontSize=font_size).configure_title(
        fontSize=font_size + 2).configure_legend(labelFontSize=font_size, labelLimit=0)
