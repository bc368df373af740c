"""Translate: the translation, its attention heatmap (pieces or words), per-token probabilities,
the n-best list and downloads. Classroom mode keeps only the translation and a large heatmap."""

import streamlit as st

from nmt_core.alignment import MERGE_RULE
from nmt_core.plots import (
    CLASSROOM_ROW_HEIGHT,
    ROW_HEIGHT,
    attention_heatmap,
    image_config,
    nbest_frame,
    probability_chart,
    probability_frame,
)
from pages.common import NO_CHECKPOINT, classroom, decode_or_explain, escape_markdown, set_url, sidebar_choices, url_int
from pages.style import figure_font_size

WORDS_KEY = "translate_words"  # the pieces/words toggle; mirrored as ?words=0|1
FORMAT_KEY = "translate_image_format"
IMAGE_FORMATS = {"png": "PNG", "svg": "SVG"}


def render():
    """Read the sidebar's choices from session state, decode, show."""
    name, sentence, settings = sidebar_choices()
    big = classroom()
    font_size = figure_font_size(big)

    st.title("Translate")
    if not name:
        st.info(NO_CHECKPOINT)
        return

    trace = decode_or_explain(name, sentence, settings)
    if trace is None:
        return

    st.caption("Translation")
    st.text(trace.translation or "(empty)")
    for message in trace.warnings:
        st.warning(escape_markdown(message))
    if not trace.finished:
        st.caption("Stopped at the length limit before the model emitted </s>.")

    # The heatmap is drawn into this slot after the download format is known (chosen further down).
    heatmap_slot = st.container()

    if not big:
        sure, candidates = st.columns([2, 3])
        with sure:
            st.subheader("How sure was the model?")
            st.caption("The probability the model gave each token it emitted. Hover a bar for the runner-up.")
            st.altair_chart(probability_chart(probability_frame(trace), font_size=font_size), width="stretch")
        with candidates:
            st.subheader("Candidates")
            st.caption("The n-best list: log-prob, and log-prob divided by the length penalty (what ranks them).")
            st.dataframe(nbest_frame(trace), hide_index=True, width="stretch")

        st.subheader("Download")
        left, right = st.columns(2)
        left.download_button("Trace (JSON)", trace.to_json(), file_name=f"trace-{name}.json",
                             mime="application/json", on_click="ignore",
                             help="Everything this decode saw: pieces, attention rows, candidates, beam nodes")
        image_format = right.radio("Heatmap image format", list(IMAGE_FORMATS), key=FORMAT_KEY, horizontal=True,
                                   format_func=IMAGE_FORMATS.__getitem__,
                                   help="Then use the camera icon in the heatmap's toolbar")
    else:
        image_format = st.session_state.get(FORMAT_KEY, "png")

    with heatmap_slot:
        if trace.attention is None:
            st.info("This model has no attention: the decoder sees only the encoder's final state, "
                    "so there is no heatmap.")
            return
        if WORDS_KEY not in st.session_state:
            st.session_state[WORDS_KEY] = bool(url_int("words", 0, 0, 1))
        merge = st.toggle("Words instead of pieces", key=WORDS_KEY, help=MERGE_RULE)
        set_url(words=int(merge))
        if merge and not big:  # on a projector the rule stays in the toggle's tooltip, to keep the heatmap in view
            st.caption(MERGE_RULE)
        figure = attention_heatmap(trace, CLASSROOM_ROW_HEIGHT if big else ROW_HEIGHT, merge_words=merge,
                                   font_size=font_size)
        st.plotly_chart(figure, width="stretch", config=image_config(f"attention-{name}", image_format))


render()
