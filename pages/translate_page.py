"""Translate: the translation, its attention heatmap and the n-best list."""

import streamlit as st

from nmt_core.checkpoint import CheckpointError
from nmt_core.decoding import InputError
from nmt_core.plots import attention_heatmap, nbest_frame
from pages.common import escape_markdown, translate


def render():
    """Read the sidebar's choices from session state, decode, show."""
    name = st.session_state.get("checkpoint")
    sentence = st.session_state.get("sentence", "")
    settings = st.session_state.get("settings")

    st.title("Translate")
    if not name:
        st.info("No checkpoint found in `checkpoints/`. Train one with `python -m nmt_core train` (see README).")
        return

    try:
        trace = translate(name, sentence, settings)
    except InputError as error:
        st.warning(escape_markdown(str(error)))
        return
    except CheckpointError as error:
        st.error(f"This checkpoint cannot be loaded: {escape_markdown(str(error))}")
        return

    st.caption("Translation")
    st.text(trace.translation or "(empty)")
    for message in trace.warnings:
        st.warning(escape_markdown(message))
    if not trace.finished:
        st.caption("Stopped at the length limit before the model emitted </s>.")

    if trace.attention is None:
        st.info("This model has no attention: the decoder sees only the encoder's final state, so there is no heatmap.")
    else:
        st.plotly_chart(attention_heatmap(trace), width="stretch")

    st.subheader("Candidates")
    st.dataframe(nbest_frame(trace), hide_index=True, width="stretch")


render()
