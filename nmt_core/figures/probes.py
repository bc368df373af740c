"""The curve of attention as it forms over the training epochs (nmt_core.views.probes); the probe's heatmap is
the browser component (nmt_core.views.probes.probe_payload)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .traces import label, set_font_size

CURRENT_COLOR = "#d62728"


def probe_curve_figure(curve: pd.DataFrame, epoch: int, *, font_size: int = 13, height: int = 300) -> go.Figure:
    """Dev BLEU per epoch (left axis) and the probe's mean attention entropy (right axis, dashed), the
    current epoch marked in red on both."""
    figure = go.Figure()
    hover = [f"epoch {e}<br>{label(t)}" for e, t in zip(curve["epoch"], curve["translation"], strict=True)]
    figure.add_trace(go.Scatter(x=curve["epoch"].tolist(), y=curve["dev_bleu"].tolist(), mode="lines+markers",
                                name="dev BLEU", text=hover,
                                hovertemplate="%{text}<br>dev BLEU %{y:.2f}<extra></extra>"))
    if curve["entropy"].notna().any():
        figure.add_trace(go.Scatter(x=curve["epoch"].tolist(), y=curve["entropy"].tolist(), mode="lines+markers",
                                    name="attention entropy (bits)", yaxis="y2", line={"dash": "dash"},
                                    hovertemplate="epoch %{x}<br>%{y:.2f} bits<extra></extra>"))
    now = curve[curve["epoch"] == epoch]
    if len(now):
        figure.add_trace(go.Scatter(x=now["epoch"].tolist(), y=now["dev_bleu"].tolist(), mode="markers",
                                    marker={"size": 14, "color": CURRENT_COLOR}, name=f"epoch {epoch}",
                                    hoverinfo="skip"))
    figure.add_vline(x=epoch, line={"color": CURRENT_COLOR, "width": 1})
    figure.update_layout(
        xaxis={"title": {"text": "epoch"}, "dtick": 1},
        yaxis={"title": {"text": "dev BLEU (greedy)"}},
        yaxis2={"title": {"text": "attention entropy (bits)"}, "overlaying": "y", "side": "right",
                "rangemode": "tozero", "showgrid": False},
        height=height, margin={"l": 10, "r": 10, "t": 20, "b": 10}, legend={"orientation": "h", "y": -0.3},
    )
    return set_font_size(figure, font_size)
