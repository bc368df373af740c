"""Beam search: the whole search tree (kept, pruned and finished branches), the beam at each
step ranked as the search ranks its n-best list, and any node's hypothesis and attention row.

The page always runs beam search, with width and length penalty set right here; those two
widgets mirror the sidebar's (session-state keys ``beam_input`` and ``length_penalty_input``),
so the other pages see the same values. Those need the model and rerun the script. Everything
else is a ``st.components.v2`` component (nmt_core/figures/components/beam.js) that receives the
search's nodes once: the step slider, node selection, folding, pruned branches, words/pieces, zoom
and pan run in the browser, which also keeps ``?step=`` (1-based, as on Step through) and
``?node=`` in the address bar.
"""

import streamlit as st

from nmt_core.figures import component_data, payload_json
from nmt_core.views.beam import beam_settings
from nmt_core.views.beam_data import beam_payload, node_ids, node_place
from pages.lib.common import (
    NO_CHECKPOINT,
    classroom,
    decode_or_explain,
    escape_markdown,
    leave_legacy_mode,
    set_url,
    sidebar_choices,
    trace_key,
    trace_of,
    url_int,
)
from pages.lib.components import FILE_COMPONENTS, file_component
from pages.lib.style import figure_font_size

leave_legacy_mode()  # a fresh server's first visit to this page's link: see pages/lib/common.py

WIDTH_KEY, PENALTY_KEY = "beam", "lp"  # the sidebar's widgets (their keys are their URL parameters)
PAGE_WIDTH_KEY, PAGE_PENALTY_KEY = "beam_page_width", "beam_page_penalty"
COMPONENT_KEY = "beam_page_tree"


def beam_component():
    """The component; the browser fetches its beam.js (which imports shared.js) and beam.css as files."""
    return file_component("beam", *FILE_COMPONENTS["beam"])


@st.cache_resource(show_spinner=False, max_entries=64)
def payload(key: tuple) -> dict:
    """The search as the component's data, built once per search and shared, not copied: a width-16 tree
    has thousands of nodes, and st.cache_data would unpickle a copy on every run. Read it, never change it."""
    return beam_payload(trace_of(key))


@st.cache_resource(show_spinner=False, max_entries=64)
def payload_bytes(key: tuple) -> bytes:
    """:func:`payload` as the JSON the browser receives, serialized once per search."""
    return payload_json(payload(key))


def copy_to_sidebar(page_key: str, sidebar_key: str):
    """Widget callback: the page's slider moved, so the sidebar's value follows (before the rerun)."""
    st.session_state[sidebar_key] = st.session_state[page_key]


def search_controls() -> tuple[int, float]:
    """Width and length penalty, shared with the sidebar: a change is a new search."""
    # Seeded from the sidebar's keys on every run, before the widgets exist: that is how a
    # change in the sidebar shows here; the callbacks carry changes made here back.
    st.session_state[PAGE_WIDTH_KEY] = int(st.session_state.get(WIDTH_KEY, 5))
    st.session_state[PAGE_PENALTY_KEY] = float(st.session_state.get(PENALTY_KEY, 1.0))
    left, right = st.columns(2)
    width = left.slider("Beam width", 1, 16, key=PAGE_WIDTH_KEY, on_change=copy_to_sidebar,
                        args=(PAGE_WIDTH_KEY, WIDTH_KEY), help="Hypotheses kept after every step")
    penalty = right.slider("Length penalty (α)", 0.0, 2.0, step=0.1, key=PAGE_PENALTY_KEY, on_change=copy_to_sidebar,
                           args=(PAGE_PENALTY_KEY, PENALTY_KEY),
                           help="Finished hypotheses are ranked by log-prob / ((5 + length) / 6)^α")
    return width, penalty


def render():
    name, sentence, settings = sidebar_choices()
    big = classroom()

    st.title("Beam search")
    if not name:
        st.info(NO_CHECKPOINT)
        return
    width, penalty = search_controls()
    if settings.method != "beam":
        st.info("The sidebar decodes with " + ("greedy search" if settings.method == "greedy" else "sampling")
                + "; this page always runs beam search, with the width and length penalty above.")
    search = beam_settings(settings, width, penalty)
    trace = decode_or_explain(name, sentence, search)
    if trace is None:
        return

    if big:  # one line on a projector: the tree needs the height
        st.text(f"Translation: {trace.translation or '(empty)'}")
    else:
        st.caption("Translation")
        st.text(trace.translation or "(empty)")
    for message in trace.warnings:
        st.warning(escape_markdown(message))

    data = payload(trace_key(name, sentence, search))
    first, last = data["first_step"], data["last_step"]
    # A new search (sentence, width, penalty...) opens on its last step and its translation; a link's
    # ?step= and ?node= hold on the session's first run. After that the browser owns both.
    view = (name, sentence, width, penalty, settings.unk_penalty, settings.max_tokens)
    fresh = "beam_page_view" not in st.session_state
    if st.session_state.get("beam_page_view") != view:
        st.session_state["beam_page_view"] = view
        best = node_ids(data)[data["best"]]
        step = url_int("step", last, first, last) if fresh else last
        node = url_int("node", best, 0, len(data["status"]) - 1) if fresh else best
        st.session_state["beam_page_start"] = (step, node)
        set_url(step=step, node=node)
    step, node = st.session_state["beam_page_start"]
    place = node_place(data, node)
    beam_component()(key=COMPONENT_KEY, data=component_data(
        payload_bytes(trace_key(name, sentence, search)), step=step, node=data["best"] if place is None else place,
        classroom=big, font_size=figure_font_size(big), height=270 if big else 560))
    if not big:
        st.caption(f"{len(trace.beam.nodes):,} nodes expanded, kept and pruned. Steps count from 1 on every page "
                   f"(the start is step 0); this search ran steps {first} to {last}.")


render()
