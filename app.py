"""Attention Explorer: router and the shared sidebar (checkpoint, sentence, decoding settings).

The sidebar widgets live here so they persist across pages; their values are
mirrored into the URL so any view can be shared as a link.
"""

import streamlit as st
import torch

from nmt_core.decoding import DecodeSettings
from pages import translate_page
from pages.common import available_checkpoints

st.set_page_config(page_title="Attention Explorer", layout="wide")
torch.set_num_threads(1)  # one request = one core; other sessions keep the rest

DEFAULT_SENTENCE = "¿Todavía están en casa?"
params = st.query_params

names = available_checkpoints()
# Widgets are keyed and seeded from the URL once per session: a widget whose
# default changed between reruns would otherwise be recreated and lose its value.
if "model_input" not in st.session_state and names:
    st.session_state["model_input"] = params.get("model") if params.get("model") in names else names[0]
if "sentence_input" not in st.session_state:
    st.session_state["sentence_input"] = params.get("text", DEFAULT_SENTENCE)[:1000]

with st.sidebar:
    st.header("Attention Explorer")
    name = st.selectbox("Model", names, key="model_input") if names else None
    sentence = st.text_area("Sentence", key="sentence_input", max_chars=1000)
    methods = {"Beam search": "beam", "Greedy": "greedy", "Sampling": "sample"}
    method_label = st.radio("Decoding", list(methods), horizontal=True)
    method = methods[method_label]
    settings = DecodeSettings(method=method)
    if method == "beam":
        settings.beam_size = st.slider("Beam width", 1, 20, 5)
        settings.n_best = settings.beam_size
        settings.length_penalty = st.slider("Length penalty (α)", 0.0, 2.0, 1.0, 0.1)
    elif method == "sample":
        settings.temperature = st.slider("Temperature", 0.0, 3.0, 1.0, 0.05)
        settings.top_k = st.number_input("Top-k (0 = off)", 0, 1000, 0)
        settings.top_p = st.slider("Top-p", 0.05, 1.0, 1.0, 0.05)
        settings.seed = st.number_input("Seed", 0, 2**31 - 1, 0)
    settings.unk_penalty = st.slider("UNK penalty", 0.0, 10.0, 0.0, 0.5)

st.session_state["checkpoint"] = name
st.session_state["sentence"] = sentence
st.session_state["settings"] = settings
if name:
    st.query_params["model"] = name
st.query_params["text"] = sentence

# Pages are functions rather than files, and their modules are not named like their
# URL paths: Streamlit's test harness would run such a file as an old-style page.
page = st.navigation([st.Page(translate_page.render, title="Translate", url_path="translate", default=True)])
page.run()
