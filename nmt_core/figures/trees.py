"""Tree figures (plotly): the beam search tree and the prefix tree of samples. No streamlit here.

Trees are drawn left to right: x = step (depth), y = the tidy-layout position
(:mod:`nmt_core.views.tree_layout`), best branches on top. For speed with thousands of nodes,
edges are one line trace per style (segments joined by ``None`` gaps) and nodes
are one marker trace with per-node colour, size and hover text. Every label goes
through :func:`nmt_core.figures.traces.label` (HTML-escaped): plotly renders a subset of
HTML in text and hover labels, and user text must stay text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .traces import label

WEBGL_FROM = 3000  # nodes; above this, WebGL traces keep panning and hovering smooth
MAX_TEXT_LABELS = 400  # more on-figure labels than this only overlap; hover still names every node
COLORS = {"start": "#444444", "kept": "#1f77b4", "pruned": "#c9c9c9", "finished": "#2ca02c", "best": "#d62728"}
PATH_COLOR = "#ff7f0e"
STATUS_CODE = {name: i for i, name in enumerate(COLORS)}  # node colour by code, through a stepped colour scale


def _stepped(colors: list[str]) -> list[list]:
    """A colour scale mapping codes 0..n-1 (with cmin 0, cmax n-1) to exactly these colours."""
    n = len(colors)
    return [[min(max((i + edge) / n, 0.0), 1.0), c] for i, c in enumerate(colors) for edge in (0, 1)]


STATUS_SCALE = _stepped(list(COLORS.values()))
OUTLINE_SCALE = _stepped(["white", "#000000", PATH_COLOR])  # plain, in the highlighted step's beam, selected
STEP_BAND_COLOR = "rgba(255, 200, 0, 0.18)"


def _segments(frame: pd.DataFrame, x: str, mask: pd.Series | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Edge coordinates parent -> child for the rows in ``mask``, as one polyline with None gaps."""
    where = frame.set_index("id")[[x, "y"]]
    rows = frame[frame["parent"].notna()] if mask is None else frame[mask & frame["parent"].notna()]
    rows = rows[rows["parent"].isin(where.index)]
    parents = where.loc[rows["parent"].astype(int)]
    # Each edge is parent, child, gap: a NaN gap (sent as null) breaks the polyline.
    xs = np.column_stack([parents[x].to_numpy(float), rows[x].to_numpy(float), np.full(len(rows), np.nan)])
    ys = np.column_stack([parents["y"].to_numpy(float), rows["y"].to_numpy(float), np.full(len(rows), np.nan)])
    return xs.ravel(), ys.ravel()


def path_to(frame: pd.DataFrame, node: int) -> list[int]:
    """Node ids from the root to ``node`` (following ``parent``)."""
    parent = dict(zip(frame["id"], frame["parent"], strict=True))
    chain = [node]
    while not pd.isna(parent.get(chain[-1])) and int(parent[chain[-1]]) in parent:
        chain.append(int(parent[chain[-1]]))
    return chain[::-1]


def _scatter(count: int):
    return go.Scattergl if count > WEBGL_FROM else go.Scatter


def _height(frame: pd.DataFrame, per_unit: float, font_size: int) -> int:
    """Tall enough for the layout's span, within what a screen can show at once (users can zoom)."""
    span = float(frame["y"].max() - frame["y"].min()) if len(frame) else 0.0
    return int(min(max(160 + span * per_unit * font_size / 13, 320), 1200))


def beam_hover(row) -> str:
    return (f"<b>{label(row.token)}</b><br>log-prob {row.logprob:.3f}<br>score {row.score:.3f}"
            f" · normalised {row.normalized_score:.3f}<br>step {row.step} · node {row.id} · {row.status}"
            + (f" · n-best #{row.rank}" if row.rank else ""))


def beam_node_text(row) -> str:
    """On-figure label: the token; finished hypotheses add their normalised score (and n-best rank)."""
    if row.status == "start":
        return "start"
    if row.status == "finished":
        return (f"#{row.rank} " if row.rank else "") + f"{row.normalized_score:.2f}"
    return label(row.token)


def beam_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its hover text and on-figure text (``hover``, ``text``), HTML-escaped.

    They depend only on the search, not on the step or the selection: a page can compute
    them once per search (they are a third of the figure's cost for 8,000 nodes).
    """
    rows = list(frame.itertuples(index=False))
    show_text = int((frame["status"] != "pruned").sum()) <= MAX_TEXT_LABELS
    return frame.assign(
        hover=[beam_hover(r) for r in rows],
        text=[beam_node_text(r) if (show_text and r.status != "pruned") or r.rank else "" for r in rows],
    )


def beam_tree_figure(frame: pd.DataFrame, step: int | None = None, selected: int | None = None,
                     font_size: int = 13) -> go.Figure:
    """The beam search tree from :func:`nmt_core.views.beam.nodes_frame` (or :func:`beam_labels` of it).

    Kept nodes blue, pruned ones small and grey, finished hypotheses green diamonds
    labelled with their normalised score (the translation red, "#1"). ``step``: that
    step's column gets a band and its beam an outline. ``selected``: a node whose path
    from the start is drawn over the tree. Each node carries its id as customdata, so a
    click on it can select it.
    """
    figure = go.Figure()
    scatter = _scatter(len(frame))
    # Edges: pruned ones faint, the rest (the search's surviving branches) darker.
    pruned = frame["status"] == "pruned"
    for mask, color, width in ((pruned, "#dddddd", 1), (~pruned, "#8aa9c8", 1.5)):
        xs, ys = _segments(frame, "step", mask)
        figure.add_trace(scatter(x=xs, y=ys, mode="lines", line={"color": color, "width": width},
                                 hoverinfo="skip", showlegend=False))
    if selected is not None and selected in set(frame["id"]):
        path = frame.set_index("id").loc[path_to(frame, selected)]
        figure.add_trace(scatter(x=path["step"].tolist(), y=path["y"].tolist(), mode="lines",
                                 line={"color": PATH_COLOR, "width": 4}, hoverinfo="skip", showlegend=False))

    # Per-node styles as numeric codes in numpy arrays: plotly validates those in one go,
    # where a list of 8,000 colour strings takes seconds to validate one by one.
    status = frame["status"]
    code = status.map(STATUS_CODE).to_numpy(dtype=float)
    code[frame["rank"].to_numpy() == 1] = STATUS_CODE["best"]
    in_step = ((frame["step"] == step) & (status != "pruned")).to_numpy()
    chosen = (frame["id"] == selected).to_numpy()
    labelled = frame if "hover" in frame else beam_labels(frame)
    texts = labelled["text"].to_numpy(dtype=object)
    figure.add_trace(scatter(
        x=frame["step"].to_numpy(), y=frame["y"].to_numpy(), mode="markers+text", text=texts,
        textposition="top center", textfont={"size": font_size},
        customdata=frame["id"].to_numpy(), hovertext=labelled["hover"].to_numpy(dtype=object),
        hoverinfo="text",
        marker={"color": code, "colorscale": STATUS_SCALE, "cmin": 0, "cmax": len(STATUS_CODE) - 1,
                "size": np.where(status == "pruned", 5, np.where(status == "finished", 13, 10)),
                "symbol": np.where(status == "finished", 2, 0),  # 0 circle, 2 diamond
                "line": {"color": np.where(chosen, 2, np.where(in_step, 1, 0)), "colorscale": OUTLINE_SCALE,
                         "cmin": 0, "cmax": 2, "width": np.where(chosen, 3, np.where(in_step, 2, 0.5))}},
        showlegend=False, name="nodes",
    ))
    if step is not None:
        figure.add_vrect(x0=step - 0.45, x1=step + 0.45, fillcolor=STEP_BAND_COLOR, line_width=0, layer="below")
    last = int(frame["step"].max()) if len(frame) else 0
    figure.update_layout(
        height=_height(frame, 16, font_size), margin={"l": 10, "r": 10, "t": 30, "b": 10},
        font={"size": font_size}, plot_bgcolor="white", dragmode="pan", clickmode="event+select",
        xaxis={"title": "step", "tickmode": "array", "tickvals": list(range(-1, last + 1)),
               "ticktext": ["start"] + [str(s) for s in range(last + 1)], "range": [-1.6, last + 0.8],
               "showgrid": False, "zeroline": False},
        yaxis={"autorange": "reversed", "visible": False},
    )
    return figure


def prefix_tree_figure(frame: pd.DataFrame, font_size: int = 13) -> go.Figure:
    """Sampled translations merged into a prefix tree (:func:`nmt_core.views.sampling.prefix_tree_frame`).

    Node size grows with how many samples went through it; the label is the token and that count.
    """
    figure = go.Figure()
    scatter = _scatter(len(frame))
    xs, ys = _segments(frame, "depth")
    figure.add_trace(scatter(x=xs, y=ys, mode="lines", line={"color": "#9ab", "width": 1.5}, hoverinfo="skip",
                             showlegend=False))
    total = max(int(frame["count"].max()), 1) if len(frame) else 1
    rows = list(frame.itertuples(index=False))
    texts = [f"×{r.count}" if pd.isna(r.parent) else f"{label(r.token)} ×{r.count}" for r in rows]
    hover = [f"<b>{label(r.token)}</b><br>{r.count} of {total} samples" + (f"<br>{r.ends} end here" if r.ends else "")
             for r in rows]
    figure.add_trace(scatter(
        x=frame["depth"].tolist(), y=frame["y"].tolist(), mode="markers+text",
        text=texts if len(frame) <= MAX_TEXT_LABELS else None, textposition="top center",
        textfont={"size": font_size}, hovertext=hover, hoverinfo="text", customdata=frame["id"].tolist(),
        marker={"size": [6 + 22 * (c / total) ** 0.5 for c in frame["count"]],
                "color": [COLORS["finished"] if f else COLORS["kept"] for f in frame["finished"]]},
        showlegend=False, name="nodes",
    ))
    last = int(frame["depth"].max()) if len(frame) else 0
    figure.update_layout(
        height=_height(frame, 34, font_size), margin={"l": 10, "r": 10, "t": 30, "b": 10}, font={"size": font_size},
        plot_bgcolor="white", dragmode="pan",
        xaxis={"title": "step", "tickmode": "array", "tickvals": list(range(0, last + 1)),
               "ticktext": ["start"] + [str(s) for s in range(last)], "range": [-0.6, last + 0.8],
               "showgrid": False, "zeroline": False},
        yaxis={"autorange": "reversed", "visible": False},
    )
    return figure
