"""Step through: a translation read one decoding step at a time, in the browser.

Step ``t`` (1-based, ``?step=t`` in the URL) shows the decision that emitted the
t-th target piece: the attention over the source, the top-k next tokens before
and after temperature, the token taken and why, and the heatmap up to row t.

The decoded trace goes to the browser once, as the data of a ``st.components.v2``
component (nmt_core/figures/components/step.js): Back, Next, the slider, Play,
words/pieces, the strip, the bars and the revealed heatmap redraw there, with
no server run, and the component keeps ``?step=`` in the address bar itself.
The one thing that reaches the server is "what if": forcing another token at
step t (``?force=<token id>``), which decodes once from that prefix (cached).
That runs only this page's fragment, not the sidebar; the trace's data, already
in the browser, is not sent again (Streamlit's message cache sends a reference).
"""

import streamlit as st

from nmt_core.decoding import InputError, Trace
from nmt_core.figures import component_data, payload_json
from nmt_core.views.step import (
    compare_endings,
    ending_frame,
    force_options,
    forced_prefix,
    format_probability,
    is_stop,
    step_count,
    stopped_trace,
)
from nmt_core.views.step_data import step_payload
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
    translate,
    url_int,
)
from pages.lib.components import FILE_COMPONENTS, file_component
from pages.lib.style import figure_font_size

leave_legacy_mode()  # a fresh server's first visit to this page's link: see pages/lib/common.py

STEP_PARAM, FORCE_PARAM = "step", "force"
COMPONENT_KEY = "step_view"
WHATIF_KEY = "step_whatif"  # containers step_whatif_<t>: the component shows only the current step's
SHOWN = "step_shown_sentence"  # (model, sentence) last shown: a new sentence starts again at step 1


def step_component():
    """The component; the browser fetches its step.js (which imports shared.js) and step.css as files."""
    return file_component("step", *FILE_COMPONENTS["step"])


@st.cache_resource(show_spinner=False, max_entries=256)
def payload_bytes(key: tuple) -> bytes:
    """The trace as the component's data (JSON bytes), built and serialized once per decode and shared by
    every session and run."""
    return payload_json(step_payload(trace_of(key)))


def clear_force() -> None:
    if FORCE_PARAM in st.query_params:
        del st.query_params[FORCE_PARAM]


def on_force() -> None:
    """The component's "what if?" trigger: ``{"step": t, "token_id": id}``. Written to the URL, read below."""
    value = getattr(st.session_state.get(COMPONENT_KEY), "force", None)
    if isinstance(value, dict) and isinstance(value.get("step"), int) and isinstance(value.get("token_id"), int):
        set_url(**{STEP_PARAM: value["step"], FORCE_PARAM: value["token_id"]})


def what_if(trace: Trace, t: int, forced: int, name: str, sentence: str, settings) -> None:
    """The decoder's ending and the one after forcing token ``forced`` at step ``t``, side by side."""
    options = {c.token_id: c for c in force_options(trace, t)}
    candidate = options.get(forced)
    if candidate is None:
        return
    with st.container(key=f"{WHATIF_KEY}_{t}"):
        st.subheader(f"What if? Step {t} takes “{candidate.token}” (p = {format_probability(candidate.prob)})")
        if is_stop(candidate):
            new = stopped_trace(trace, t, candidate)
        else:
            try:
                new = translate(name, sentence, settings, prefix=forced_prefix(trace, t, forced))
            except InputError as error:
                st.warning(escape_markdown(str(error)))
                return
        old_end, new_end = compare_endings(trace, new, t)
        if trace.method == "sample":
            st.caption("Sampling: the forced ending is a new draw, so it can differ by chance, not only by the choice.")
        for column, title, end in zip(st.columns(2), ("The decoder's ending", "Forced ending"), (old_end, new_end),
                                      strict=True):
            with column:
                st.caption(title)
                st.text(end.translation or "(empty)")
                delta = None if end is old_end else f"{new_end.sentence_score - old_end.sentence_score:+.2f}"
                st.metric("Sentence log-prob", f"{end.sentence_score:.2f}", delta=delta)
                st.caption(f"From step {t}: log-prob {end.ending_score:.2f} over {len(end.tokens)} tokens"
                           + ("" if end.finished else ", cut by the length limit"))
                st.dataframe(ending_frame(end, t), hide_index=True, width="stretch",
                             column_config={"log-prob": st.column_config.NumberColumn(format="%.3f"),
                                            "probability": st.column_config.ProgressColumn(
                                                min_value=0, max_value=1, format="%.3f")})


@st.fragment
def step_view(trace: Trace, name: str, sentence: str, settings) -> None:
    """The component and the "what if" below it. A forced token reruns this fragment only."""
    n = step_count(trace)
    t = url_int(STEP_PARAM, 1, 1, n)
    forced = url_int(FORCE_PARAM, -1, -1, 2**31 - 1)
    set_url(**{STEP_PARAM: t})  # a missing or out-of-range ?step= reads as the step shown
    big = classroom()
    data = component_data(payload_bytes(trace_key(name, sentence, settings)), step=t, classroom=big,
                          font_size=figure_font_size(big),
                          force={"step": t, "token_id": forced} if forced >= 0 else None)
    step_component()(key=COMPONENT_KEY, data=data, on_force_change=on_force)
    if forced >= 0:
        what_if(trace, t, forced, name, sentence, settings)


def render():
    """Read the sidebar's choices, decode once (cached), then hand the trace to the browser."""
    name, sentence, settings = sidebar_choices()

    st.title("Step through")
    if not name:
        st.info(NO_CHECKPOINT)
        return
    trace = decode_or_explain(name, sentence, settings)
    if trace is None:
        return

    for message in trace.warnings:
        st.warning(escape_markdown(message))
    if not trace.finished:
        st.caption("Stopped at the length limit before the model emitted </s>.")
    if step_count(trace) == 0:
        st.info("The decoder emitted nothing for this sentence.")
        return
    if trace.attention is None:
        st.info("This model has no attention: there is no attention strip or heatmap, but every step's "
                "candidates and choice are here.")

    # A different sentence (or model) starts again at step 1; a link's ?step= holds on the first run.
    shown = (name, sentence)
    if st.session_state.get(SHOWN) not in (None, shown):
        set_url(**{STEP_PARAM: 1})
        clear_force()
    st.session_state[SHOWN] = shown
    step_view(trace, name, sentence, settings)


render()
