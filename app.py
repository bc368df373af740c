"""Attention Explorer: router and the shared sidebar (checkpoint, sentence, decoding settings).

The sidebar widgets live here so they persist across pages. Every setting is
mirrored into the URL (?model=...&text=...&method=beam&beam=5...) so a view can
be shared as a link and reopens exactly.
"""

import streamlit as st
import torch

from nmt_core.decoding import DecodeSettings
from pages import translate_page
from pages.common import available_checkpoints, default_length_penalty

st.set_page_config(page_title="Attention Explorer", layout="wide")
torch.set_num_threads(1)  # one request = one core; other sessions keep the rest

DEFAULT_MODEL = "spa-eng-luong"  # the flagship, whose tutorial sentence is the default
DEFAULT_SENTENCE = "¿Todavía están en casa?"
METHODS = {"Beam search": "beam", "Greedy": "greedy", "Sampling": "sample"}
METHOD_LABELS = {method: label for label, method in METHODS.items()}

# widget key -> (URL parameter, type, default). Each widget is seeded from the URL
# once per session and written back to the URL on every run.
URL_STATE = {
    "sentence_input": ("text", str, DEFAULT_SENTENCE),
    "method_input": ("method", str, "beam"),
    "beam_input": ("beam", int, 5),
    "length_penalty_input": ("lp", float, 1.0),
    "temperature_input": ("temperature", float, 1.0),
    "top_k_input": ("top_k", int, 0),
    "top_p_input": ("top_p", float, 1.0),
    "seed_input": ("seed", int, 0),
    "unk_penalty_input": ("unk", float, 0.0),
}
LIMITS = {"beam_input": (1, 20), "length_penalty_input": (0.0, 2.0), "temperature_input": (0.0, 3.0),
          "top_k_input": (0, 1000), "top_p_input": (0.05, 1.0), "seed_input": (0, 2**31 - 1),
          "unk_penalty_input": (0.0, 10.0)}


def from_url(key: str, default=None):
    """The URL's value for a widget, converted and clamped; the default when absent or malformed."""
    name, kind, fallback = URL_STATE[key]
    default = fallback if default is None else default
    try:
        value = kind(st.query_params.get(name, default))
    except ValueError:
        return default
    if key in LIMITS:
        low, high = LIMITS[key]
        value = min(max(value, low), high)
    if key == "method_input" and value not in METHODS.values():
        return default
    return value[:1000] if key == "sentence_input" else value


names = available_checkpoints()
if names:
    wanted = st.session_state.get("model_input", st.query_params.get("model"))
    fallback = DEFAULT_MODEL if DEFAULT_MODEL in names else names[0]
    st.session_state["model_input"] = wanted if wanted in names else fallback
for key in URL_STATE:
    # Re-assigning a widget's value to its own key keeps it when Streamlit recreates
    # the widget under a new id (it does on a session's first rerun and across pages).
    if key in st.session_state:
        st.session_state[key] = st.session_state[key]
    elif key == "length_penalty_input" and names:
        # A link without ?lp= opens with the length penalty tuned for the chosen model.
        st.session_state[key] = from_url(key, default_length_penalty(st.session_state["model_input"]))
    else:
        st.session_state[key] = from_url(key)

with st.sidebar:
    st.header("Attention Explorer")
    name = st.selectbox("Model", names, key="model_input") if names else None
    sentence = st.text_area("Sentence", key="sentence_input", max_chars=1000)
    method = st.radio("Decoding", list(METHODS.values()), key="method_input", horizontal=True,
                      format_func=METHOD_LABELS.__getitem__)
    settings = DecodeSettings(method=method)
    if method == "beam":
        settings.beam_size = st.slider("Beam width", *LIMITS["beam_input"], key="beam_input")
        settings.n_best = settings.beam_size
        settings.length_penalty = st.slider("Length penalty (α)", *LIMITS["length_penalty_input"], step=0.1,
                                            key="length_penalty_input")
    elif method == "sample":
        settings.temperature = st.slider("Temperature", *LIMITS["temperature_input"], step=0.05,
                                         key="temperature_input")
        settings.top_k = st.number_input("Top-k (0 = off)", *LIMITS["top_k_input"], key="top_k_input")
        settings.top_p = st.slider("Top-p", *LIMITS["top_p_input"], step=0.05, key="top_p_input")
        settings.seed = st.number_input("Seed", *LIMITS["seed_input"], key="seed_input")
    settings.unk_penalty = st.slider("UNK penalty", *LIMITS["unk_penalty_input"], step=0.5, key="unk_penalty_input")

st.session_state["checkpoint"] = name
st.session_state["sentence"] = sentence
st.session_state["settings"] = settings
st.query_params.from_dict(
    {**({"model": name} if name else {}), **{URL_STATE[key][0]: st.session_state[key] for key in URL_STATE}}
)

# Pages are functions rather than files, and their modules are not named like their
# URL paths: Streamlit's test harness would run such a file as an old-style page.
page = st.navigation([st.Page(translate_page.render, title="Translate", url_path="translate", default=True)])
page.run()
