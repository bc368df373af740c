"""The shared sidebar: checkpoint, sentence and decoding settings, mirrored into the URL.

app.py draws it on every script run, before the page. Its widgets live in session state so they
persist across pages. Every setting is mirrored into the URL (?model=...&text=...&method=beam&beam=5...)
so a view can be shared as a link and reopens exactly; pages add their own parameters (``step``,
``node``...) through ``pages.lib.common.set_url``.
"""

import streamlit as st

from nmt_core.decoding import MAX_INPUT_CHARACTERS, MAX_OUTPUT_LENGTH, DecodeSettings
from nmt_core.examples import DEFAULT_SENTENCE, examples_for, first_example, sentence_for_language
from pages.lib.common import (
    available_checkpoints,
    checkpoint_problem,
    default_length_penalty,
    describe_checkpoint,
    set_url,
    source_language_of,
)
from pages.lib.style import apply_classroom_style

DEFAULT_MODEL = "spa-eng-luong"  # the flagship, whose tutorial sentence is the default
METHODS = {"Beam search": "beam", "Greedy": "greedy", "Sampling": "sample"}
METHOD_LABELS = {method: label for label, method in METHODS.items()}
# The box (and ?text=) accept as much as nmt_core reads; a sentence longer than the model's
# limit is cut at a word boundary by Translator.prepare, with a notice on the page.
MAX_SENTENCE_CHARACTERS = MAX_INPUT_CHARACTERS

# The sidebar's state in the URL: widget key = URL parameter -> (type, default). Each widget is seeded
# from the link once per session (clamped to LIMITS; a malformed value gives the default) and written
# back to the URL on every run. This stays hand-written rather than Streamlit 1.67's bind="query-params",
# whose limits were checked here and do not fit this sidebar:
# - it writes a widget's format_func label into the URL (?method=Beam+search, ?model=<the picker's
#   long description>) and reads a toggle only as ?classroom=true, so today's share links would break;
# - a bound int widget raises OverflowError inside Streamlit for ?beam=inf (a traceback from a link);
#   an out-of-range value is dropped, not clamped (?beam=99 would open at 5, not 16);
# - a widget not rendered on a run loses its value and parameter, and the beam and sampling settings
#   are rendered only for their method, while other pages (Sampling, Beam search) read them all;
# - the URL is written by the browser, so AppTest cannot see what a share link would hold.
URL_STATE = {
    "text": (str, DEFAULT_SENTENCE),
    "method": (str, "beam"),
    "beam": (int, 5),
    "lp": (float, 1.0),
    "temperature": (float, 1.0),
    "top_k": (int, 0),
    "top_p": (float, 1.0),
    "seed": (int, 0),
    "unk": (float, 0.0),
    "max": (int, 0),
    "classroom": (int, 0),
}
LIMITS = {"beam": (1, 16), "lp": (0.0, 2.0), "temperature": (0.0, 3.0), "top_k": (0, 1000), "top_p": (0.05, 1.0),
          "seed": (0, 2**31 - 1), "unk": (0.0, 10.0), "max": (0, MAX_OUTPUT_LENGTH), "classroom": (0, 1)}


def from_url(key: str, default=None):
    """The URL's value for a widget, converted and clamped; the default when absent or malformed."""
    kind, fallback = URL_STATE[key]
    default = fallback if default is None else default
    raw = st.query_params.get(key, default)
    try:
        value = kind(float(raw)) if kind is int else kind(raw)
    except (TypeError, ValueError, OverflowError):
        return default
    if kind is float and value != value:  # NaN
        return default
    if kind is float:
        # The sliders step by 0.05 or more; rounding also turns a denormal like 1e-320 (which
        # float32 maths reads as 0, dividing by it) into a plain 0.
        value = round(value, 6)
    if key in LIMITS:
        low, high = LIMITS[key]
        value = min(max(value, low), high)
    if key == "method" and value not in METHODS.values():
        return default
    if key == "classroom":
        return bool(value)
    return value[:MAX_SENTENCE_CHARACTERS] if key == "text" else value


def use_example():
    """Copy the chosen example into the sentence box (a widget callback runs before the rerun)."""
    if st.session_state.get("example_input"):
        st.session_state["text"] = st.session_state["example_input"]
    st.session_state["example_input"] = None


def follow_model_language():
    """On a model change, swap an example sentence in another language for one the new model reads."""
    language = source_language_of(st.session_state.get("model"))
    st.session_state["text"] = sentence_for_language(st.session_state.get("text", ""), language)


def sidebar() -> None:
    """Seed the widgets from the link, draw them, and publish the choices in session state
    (``checkpoint``, ``sentence``, ``settings``: what the pages read) and in the URL."""
    names = available_checkpoints()
    seed_from_url(names)
    with st.sidebar:
        name, sentence, settings, classroom = draw(names)
    st.session_state["checkpoint"] = name
    st.session_state["sentence"] = sentence
    st.session_state["settings"] = settings
    if classroom:
        apply_classroom_style()
    # Write the shared state into the URL, leaving the pages' own parameters (step, node...) alone.
    shared = {**({"model": name} if name else {}),
              **{key: int(st.session_state[key]) if key == "classroom" else st.session_state[key] for key in URL_STATE}}
    set_url(**shared)


def seed_from_url(names: list[str]) -> None:
    """Give every sidebar widget its value before it is drawn: the session's own, else the link's."""
    if names:
        wanted = st.session_state.get("model", st.query_params.get("model"))
        # Open on the flagship, else on the first model that is not broken.
        fallback = DEFAULT_MODEL if DEFAULT_MODEL in names else next(
            (n for n in names if checkpoint_problem(n) is None), names[0])
        st.session_state["model"] = wanted if wanted in names else fallback
    for key in URL_STATE:
        # Re-assigning a widget's value to its own key keeps it when Streamlit recreates
        # the widget under a new id (it does on a session's first rerun and across pages).
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
        elif key == "lp" and names:
            # A link without ?lp= opens with the length penalty tuned for the chosen model.
            st.session_state[key] = from_url(key, default_length_penalty(st.session_state["model"]))
        elif key == "text" and names:
            # A link without ?text= opens with an example in the chosen model's source language.
            st.session_state[key] = from_url(key, first_example(source_language_of(st.session_state["model"])))
        else:
            st.session_state[key] = from_url(key)


def draw(names: list[str]) -> tuple[str | None, str, DecodeSettings, bool]:
    """The widgets, in the sidebar: (model name or None, sentence, decoding settings, classroom mode)."""
    st.header("Attention Explorer")
    name = st.selectbox("Model", names, key="model", format_func=describe_checkpoint,
                        on_change=follow_model_language) if names else None
    sentence = st.text_area("Sentence", key="text", max_chars=MAX_SENTENCE_CHARACTERS)
    st.selectbox("Examples", examples_for(source_language_of(name)), index=None, key="example_input",
                 on_change=use_example, placeholder="Pick an example sentence…")
    method = st.radio("Decoding", list(METHODS.values()), key="method", horizontal=True,
                      format_func=METHOD_LABELS.__getitem__)
    settings = DecodeSettings(method=method)
    if method == "beam":
        settings.beam_size = st.slider("Beam width", *LIMITS["beam"], key="beam")
        settings.n_best = settings.beam_size
        settings.length_penalty = st.slider("Length penalty (α)", *LIMITS["lp"], step=0.1, key="lp",
                                            help="GNMT: hypotheses are ranked by log-prob / ((5 + length) / 6)^α")
    elif method == "sample":
        settings.temperature = st.slider("Temperature", *LIMITS["temperature"], step=0.05, key="temperature",
                                         help="0 means greedy (always the top token)")
        settings.top_k = st.number_input("Top-k (0 = off)", *LIMITS["top_k"], key="top_k")
        settings.top_p = st.slider("Top-p", *LIMITS["top_p"], step=0.05, key="top_p")
        settings.seed = st.number_input("Seed", *LIMITS["seed"], key="seed")
    with st.expander("More settings"):
        settings.unk_penalty = st.slider("UNK penalty", *LIMITS["unk"], step=0.5, key="unk",
                                         help="Subtracted from <unk>'s log-prob")
        settings.max_tokens = st.number_input("Maximum length (tokens, 0 = automatic)", *LIMITS["max"], key="max",
                                              help="Automatic: 2 × source pieces + 10")
    classroom = st.toggle("Classroom mode", key="classroom", help="Large type for a projector, essentials only")
    return name, sentence, settings, classroom
