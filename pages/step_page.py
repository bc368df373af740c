"""Step through: a translation read one decoding step at a time.

Step ``t`` (1-based, ``?step=t`` in the URL) shows the decision that emitted the
t-th target piece: the attention over the source, the top-k next tokens before
and after temperature, the token taken and why, and the heatmap up to row t.
Moving between steps (back, next, slider, play) only reads the cached trace;
the one thing that decodes is "what if": forcing another token at step t
(``?force=<token id>``), which decodes once from that prefix (cached too).

The step view is a fragment so that "play" can rerun just the view on a timer
(``run_every``) without rerunning the sidebar.
"""

import time

import streamlit as st

from nmt_core.decoding import InputError
from nmt_core.step_figures import candidate_chart, revealed_heatmap, source_strip
from nmt_core.stepping import (
    candidate_frame,
    compare_endings,
    ending_frame,
    force_options,
    forced_prefix,
    format_probability,
    is_stop,
    next_play_step,
    pieces_text,
    source_attention_frame,
    step_at,
    step_count,
    stopped_trace,
    why_chosen,
)
from nmt_core.trace import Trace
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

STEP_PARAM, FORCE_PARAM = "step", "force"
PLAY_INTERVAL = 1.0  # seconds per step while playing: slow enough to read aloud
# session_state keys (prefixed: the state is shared by every page of the session)
SLIDER, FORCE_SELECT = "step_slider", "step_force"  # widget key prefixes (the step number is appended)
PLAYING = "step_playing"  # bool: play is on
PLAY_LAST = "step_play_last"  # time.monotonic() of the last step play showed
SHOWN = "step_shown_sentence"  # (model, sentence) last shown: a new sentence starts again at step 1


def clear_force() -> None:
    if FORCE_PARAM in st.query_params:
        del st.query_params[FORCE_PARAM]


def show_step(t: int) -> None:
    """Move to step ``t``; a token forced at another step no longer applies."""
    set_url(**{STEP_PARAM: t})
    clear_force()


def stop_and_show(t: int) -> None:
    """Callback of back/next/slider: a manual move stops play."""
    st.session_state[PLAYING] = False
    show_step(t)


def on_slider(key: str, shown: int) -> None:
    """Callback of the step slider created at step ``shown``.

    The browser can report a slider again after the server replaced it (while
    playing, steps change under it); such an echo still holds ``shown`` and is
    not a move by the user.
    """
    if st.session_state.get(key) != shown:
        stop_and_show(st.session_state[key])


def set_playing(on: bool, t: int, n: int) -> None:
    """Callback of play (``on``) and pause. Play on the last step starts again from step 1.

    Setting rather than toggling: a click the browser delivers twice changes nothing.
    """
    if on and not st.session_state.get(PLAYING):
        if t >= n:
            show_step(1)
        st.session_state[PLAY_LAST] = time.monotonic()  # the current step stays up for one interval
    st.session_state[PLAYING] = on


def on_force(key: str, shown: int) -> None:
    """Callback of the "what if" picker created at step ``shown`` (ignored once the step moved on)."""
    if url_int(STEP_PARAM, 0, 0, 2**31 - 1) != shown:
        return
    chosen = st.session_state.get(key)
    if chosen is None:
        clear_force()
    else:
        set_url(**{FORCE_PARAM: int(chosen)})


def controls(t: int, n: int, playing: bool) -> None:
    widths = [2, 2, 2, 5] if classroom() else [1, 1, 1, 6]  # large type needs wider buttons
    back, forward, play, slider = st.columns(widths, vertical_alignment="bottom")
    back.button("◀ Back", key="step_back", on_click=stop_and_show, args=(t - 1,), disabled=t <= 1, width="stretch")
    forward.button("Next ▶", key="step_next", on_click=stop_and_show, args=(t + 1,), disabled=t >= n,
                   width="stretch")
    if playing:
        play.button("⏸ Pause", key="step_pause", on_click=set_playing, args=(False, t, n), width="stretch")
    else:
        play.button("▶ Play", key="step_play", on_click=set_playing, args=(True, t, n), width="stretch",
                    help="Show one step per second until the end")
    if n > 1:
        # The URL is the truth and the slider mirrors it. One widget key per step:
        # while playing, the browser can send back the slider's previous value just
        # as the server moves it; under a new key that stale value changes nothing.
        key = f"{SLIDER}_{t}"
        slider.slider("Step", 1, n, value=t, key=key, on_change=on_slider, args=(key, t))
    else:
        slider.caption("This translation has a single step.")


def chosen_token(trace: Trace, t: int) -> None:
    step = step_at(trace, t)
    reason = why_chosen(trace, t)
    st.caption(f"Token chosen at step {t} of {step_count(trace)}")
    if classroom():
        st.text(step.token)  # classroom CSS makes st.text large
    else:
        st.code(step.token, language=None)
    st.text(reason.summary)


def source_attention(trace: Trace, t: int, font_size: int) -> None:
    frame = source_attention_frame(trace, t)
    if frame.empty:  # a model without attention: render() has said so once
        return
    st.caption(f"Attention over the source at step {t} (darker = more weight)")
    st.plotly_chart(source_strip(frame, font_size), key="step_strip", config={"displayModeBar": False})


def candidates(trace: Trace, t: int, font_size: int) -> None:
    frame = candidate_frame(trace, t)
    show_adjusted = trace.method == "sample"
    st.caption("Most likely next tokens: the model's probability"
               + (" and the one sampled from, after temperature / top-k / top-p" if show_adjusted else "")
               + " (the token taken is outlined)")
    st.altair_chart(candidate_chart(frame, show_adjusted, font_size), key="step_candidates")


def what_if(trace: Trace, t: int, name: str, sentence: str, settings) -> None:
    """Pick another candidate at step t: decode on from it, show both endings."""
    st.subheader("What if?")
    options = {c.token_id: c for c in force_options(trace, t)}
    if not options:
        st.caption("No alternative was recorded at this step.")
        return
    forced = url_int(FORCE_PARAM, -1, -1, 2**31 - 1)
    key = f"{FORCE_SELECT}_{t}"  # one widget per step, as the slider
    st.session_state[key] = forced if forced in options else None  # the URL is the truth
    st.selectbox(f"Take another token at step {t} and let the decoder go on", list(options), key=key,
                 on_change=on_force, args=(key, t), placeholder="Pick an alternative token…",
                 format_func=lambda i: f"{options[i].token}   (p = {format_probability(options[i].prob)})")
    choice = st.session_state[key]
    if choice is None:
        return
    candidate = options[choice]
    if is_stop(candidate):
        new = stopped_trace(trace, t, candidate)
    else:
        try:
            new = translate(name, sentence, settings, prefix=forced_prefix(trace, t, choice))
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
                                        "probability": st.column_config.ProgressColumn(min_value=0, max_value=1,
                                                                                       format="%.3f")})


def step_view(trace: Trace, name: str, sentence: str, settings, registered_playing: bool) -> None:
    """Everything that changes with the step. Runs as a fragment: on a timer while playing."""
    playing = bool(st.session_state.get(PLAYING))
    if playing != registered_playing:
        st.rerun()  # play started or stopped: rerun the app to set or clear the fragment's timer
    n = step_count(trace)
    t = url_int(STEP_PARAM, 1, 1, n)
    now = time.monotonic()
    # Advance on the timer's beat only: other reruns while playing (a widget the
    # browser reports again) must not make the animation skip steps.
    if playing and now - st.session_state.get(PLAY_LAST, 0.0) >= 0.8 * PLAY_INTERVAL:
        st.session_state[PLAY_LAST] = now
        t, keep_playing = next_play_step(t, n)
        show_step(t)
        if not keep_playing:
            st.session_state[PLAYING] = False
            st.rerun()  # the end: show it once more without the timer
    set_url(**{STEP_PARAM: t})

    big = classroom()
    font_size = figure_font_size(big)
    controls(t, n, playing)
    st.caption("Translation so far")
    st.text(pieces_text([s.token for s in trace.steps[:t]]) or "(nothing yet)")

    source_attention(trace, t, font_size)
    left, right = st.columns([2, 3])
    if big:  # classroom: the essentials only (strip, token, chart), large
        with left:
            chosen_token(trace, t)
        with right:
            candidates(trace, t, font_size)
        return
    with left:
        chosen_token(trace, t)
        candidates(trace, t, font_size)
    with right:
        if trace.attention is not None:
            st.caption(f"Attention heatmap, rows 1 to {t} (step {t} outlined)")
            st.plotly_chart(revealed_heatmap(trace, t, font_size), key="step_heatmap")
    what_if(trace, t, name, sentence, settings)


def render():
    """Read the sidebar's choices, decode once (cached), then show the step in the URL."""
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
        st.session_state[PLAYING] = False
        show_step(1)
    st.session_state[SHOWN] = shown

    playing = bool(st.session_state.get(PLAYING))
    view = st.fragment(step_view, run_every=PLAY_INTERVAL if playing else None)
    view(trace, name, sentence, settings, playing)


render()
