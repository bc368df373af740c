"""Beam search: the whole search tree (kept, pruned and finished branches), the beam at each
step ranked like "the top translations so far", and any node's hypothesis and attention row.

The page always runs beam search, with width and length penalty set right here; those two
widgets mirror the sidebar's (session-state keys ``beam_input`` and ``length_penalty_input``),
so the other pages see the same values. Its own state (``step``, ``node``) is in the URL.
"""

import streamlit as st

from nmt_core.beam_view import (
    attention_row_frame,
    beam_at_step,
    beam_settings,
    node_summary,
    nodes_frame,
    step_range,
)
from nmt_core.decoding import DecodeSettings
from nmt_core.tree_figures import attention_row_chart, beam_labels, beam_tree_figure
from pages.common import (
    NO_CHECKPOINT,
    classroom,
    decode_or_explain,
    escape_markdown,
    set_url,
    sidebar_choices,
    translate,
    url_int,
)
from pages.style import figure_font_size

WIDTH_KEY, PENALTY_KEY = "beam_input", "length_penalty_input"  # the sidebar's widgets
PAGE_WIDTH_KEY, PAGE_PENALTY_KEY = "beam_page_width", "beam_page_penalty"
STEP_KEY, NODE_KEY, CHART_KEY = "beam_page_step", "beam_page_node", "beam_page_tree"


@st.cache_data(show_spinner=False, max_entries=64)
def tree_frame(name: str, sentence: str, settings: tuple, show_pruned: bool):
    """The tree's nodes, layout and labels, once per search: a step or node change only redraws."""
    trace = translate(name, sentence, DecodeSettings(*settings))
    return beam_labels(nodes_frame(trace.beam, show_pruned=show_pruned))


def copy_to_sidebar(page_key: str, sidebar_key: str):
    """Widget callback: the page's slider moved, so the sidebar's value follows (before the rerun)."""
    st.session_state[sidebar_key] = st.session_state[page_key]


def search_controls() -> tuple[int, float, bool]:
    """Width, length penalty (shared with the sidebar) and whether to draw pruned branches."""
    # Seeded from the sidebar's keys on every run, before the widgets exist: that is how a
    # change in the sidebar shows here; the callbacks carry changes made here back.
    st.session_state[PAGE_WIDTH_KEY] = int(st.session_state.get(WIDTH_KEY, 5))
    st.session_state[PAGE_PENALTY_KEY] = float(st.session_state.get(PENALTY_KEY, 1.0))
    left, middle, right = st.columns([2, 2, 1])
    width = left.slider("Beam width", 1, 16, key=PAGE_WIDTH_KEY, on_change=copy_to_sidebar,
                        args=(PAGE_WIDTH_KEY, WIDTH_KEY), help="Hypotheses kept after every step")
    penalty = middle.slider("Length penalty (α)", 0.0, 2.0, step=0.1, key=PAGE_PENALTY_KEY, on_change=copy_to_sidebar,
                            args=(PAGE_PENALTY_KEY, PENALTY_KEY),
                            help="Finished hypotheses are ranked by log-prob / ((5 + length) / 6)^α")
    show_pruned = right.toggle("Pruned branches", value=True, key="beam_page_pruned",
                               help="Continuations the search scored and dropped")
    return width, penalty, show_pruned


def apply_click(node_count: int):
    """A click on a node of the tree (a plotly selection event) selects it.

    The event stays in the chart's state until the next selection, so only a new one
    is applied: otherwise it would undo every later change of the node box.
    """
    event = st.session_state.get(CHART_KEY)
    points = (event or {}).get("selection", {}).get("points", []) if hasattr(event, "get") else []
    clicked = tuple(int(p["customdata"]) for p in points if isinstance(p.get("customdata"), int | float))
    if clicked and clicked != st.session_state.get("beam_page_clicked"):
        st.session_state["beam_page_clicked"] = clicked
        if 0 <= clicked[-1] < node_count:
            st.session_state[NODE_KEY] = clicked[-1]


def view_state(view: tuple, first: int, last: int, best: int, node_count: int) -> None:
    """Seed step and node from the URL on a first visit; back to the defaults for a new search.

    Node ids name nodes of one search only: after a change of sentence, width or penalty
    the old id would point at an unrelated node, so the view starts again at the translation.
    """
    if st.session_state.get("beam_page_view") != view:
        fresh = "beam_page_view" not in st.session_state
        st.session_state["beam_page_view"] = view
        st.session_state[STEP_KEY] = url_int("step", last, first, last) if fresh else last
        st.session_state[NODE_KEY] = url_int("node", best, 0, node_count - 1) if fresh else best
    # Keep both inside this search's range (the widgets refuse values outside it).
    st.session_state[STEP_KEY] = min(max(int(st.session_state.get(STEP_KEY, last)), first), last)
    st.session_state[NODE_KEY] = min(max(int(st.session_state.get(NODE_KEY, best)), 0), node_count - 1)


def show_node(trace, node_id: int, big: bool):
    """The selected node: its hypothesis, scores and the attention row it was scored with."""
    summary = node_summary(trace.beam, node_id)
    node = summary.node
    st.subheader(f"Node {node_id}")
    st.text(summary.hypothesis or "(the start: nothing generated yet)")
    if node.parent is None:
        return
    where = {"kept": "kept in the beam", "pruned": "pruned (dropped from the beam)",
             "finished": "finished (ended with </s>)"}[summary.status]
    ranked = f", n-best #{summary.rank}" if summary.rank else ""
    st.caption(escape_markdown(f"Step {node.step}: token {node.token} · {where}{ranked}"))
    cols = st.columns(3)
    cols[0].metric("token log-prob", f"{node.logprob:.3f}")
    cols[1].metric("cumulative", f"{node.score:.3f}")
    cols[2].metric("normalised", f"{node.normalized_score:.3f}")
    frame = attention_row_frame(trace.source_tokens, node)
    if frame.empty:
        st.info("This model has no attention: nothing to show over the source.")
    else:
        st.caption("Attention over the source when this token was scored")
        st.altair_chart(attention_row_chart(frame, figure_font_size(big)), width="stretch")


def render():
    name, sentence, settings = sidebar_choices()
    big = classroom()

    st.title("Beam search")
    if not name:
        st.info(NO_CHECKPOINT)
        return
    width, penalty, show_pruned = search_controls()
    if settings.method != "beam":
        st.info("The sidebar decodes with " + ("greedy search" if settings.method == "greedy" else "sampling")
                + "; this page always runs beam search, with the width and length penalty above.")
    search = beam_settings(settings, width, penalty)
    trace = decode_or_explain(name, sentence, search)
    if trace is None:
        return

    beam = trace.beam
    first, last = step_range(beam)
    best = beam.hypotheses[0].node_id
    view_state((name, sentence, width, penalty, settings.unk_penalty, settings.max_tokens), first, last, best,
               len(beam.nodes))
    apply_click(len(beam.nodes))

    st.caption("Translation")
    st.text(trace.translation or "(empty)")
    for message in trace.warnings:
        st.warning(escape_markdown(message))

    if last > first:
        step = st.slider("Step", first, last, key=STEP_KEY, help="Shows the beam after this step")
    else:
        step = st.session_state[STEP_KEY]
        st.caption(f"The search ran a single step ({step}).")
    node_id = int(st.session_state[NODE_KEY])
    set_url(step=step, node=node_id)

    frame = tree_frame(name, sentence, tuple(search.to_dict().values()), show_pruned)
    figure = beam_tree_figure(frame, step=step, selected=node_id, font_size=figure_font_size(big))
    st.plotly_chart(figure, key=CHART_KEY, on_select="rerun", selection_mode="points", width="stretch",
                    config={"scrollZoom": True})
    if not big:
        st.caption(f"{len(beam.nodes):,} nodes. Blue: kept in the beam · grey: pruned · green diamonds: finished, "
                   "with their normalised score (red: the translation, #rank: the n-best list) · orange: the "
                   "selected node's path. Click a node to select it; scroll to zoom.")

    left, right = st.columns(2)
    with left:
        st.subheader(f"The beam after step {step}")
        st.dataframe(beam_at_step(beam, step), hide_index=True, width="stretch",
                     column_config={"log-prob": st.column_config.NumberColumn(format="%.3f"),
                                    "normalised": st.column_config.NumberColumn(format="%.3f")})
    with right:
        st.number_input("Node", 0, len(beam.nodes) - 1, key=NODE_KEY,
                        help="A node's id (hover over the tree to see it), or click the node")
        show_node(trace, node_id, big)


render()
