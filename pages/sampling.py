"""Sampling: what temperature does to one step's distribution, several sampled translations
(each replayable from the sidebar by its seed), and the samples merged into a prefix tree
beside the beam search tree of the same sentence.

Tokens read as words (the samples' tree merges pieces into words) or as SentencePiece pieces: one toggle,
words first on a projector, mirrored as ``?words=0|1``. In classroom mode the temperature chart and its
controls share the first screen, side by side.
"""

import streamlit as st

from nmt_core.checkpoint import CheckpointError
from nmt_core.decoding import DecodeSettings, InputError
from nmt_core.figures.trees import beam_tree_figure, prefix_tree_figure
from nmt_core.views.beam import beam_settings, nodes_frame, pieces_text
from nmt_core.views.sampling import (
    DEMO_TEMPERATURES,
    prefix_tree,
    prefix_tree_frame,
    sample_settings,
    samples_frame,
    temperature_frame,
    trace_tokens,
    trace_words,
    word_label,
)
from pages.lib.charts import temperature_chart
from pages.lib.common import (
    NO_CHECKPOINT,
    classroom,
    escape_markdown,
    leave_legacy_mode,
    load,
    set_url,
    sidebar_choices,
    translate,
    url_int,
)
from pages.lib.style import figure_font_size

leave_legacy_mode()  # a fresh server's first visit to this page's link: see pages/lib/common.py

STEP_KEY, COUNT_KEY = "sampling_page_step", "sampling_page_count"
WORDS_KEY = "sampling_page_words"  # words or pieces; mirrored as ?words=0|1
MAX_SAMPLES = 30


@st.cache_data(show_spinner=False, max_entries=256)
def temperatures_at(name: str, sentence: str, prefix: tuple[int, ...], temperatures: tuple[float, ...],
                    unk_penalty: float):
    """One step's distribution under each temperature (a few decoder steps; cached per prefix)."""
    translator = load(name).translator
    return temperature_frame(translator, sentence, list(prefix), temperatures, top_n=8, unk_penalty=unk_penalty)


def replay(seed: int):
    """Button callback (runs before the rerun builds the sidebar): sample with this seed there."""
    st.session_state["method"] = "sample"
    st.session_state["seed"] = int(seed)


def sidebar_sampling() -> tuple[float, int, float]:
    """The sidebar's temperature, top-k and top-p (kept in session state even when it is not sampling)."""
    return (float(st.session_state.get("temperature", 1.0)), int(st.session_state.get("top_k", 0)),
            float(st.session_state.get("top_p", 1.0)))


def words_toggle(big: bool) -> bool:
    """Words or pieces for the chart's tokens and the trees (words first on a projector), mirrored as ?words=."""
    if WORDS_KEY not in st.session_state:
        st.session_state[WORDS_KEY] = bool(url_int("words", int(big), 0, 1))
    words = st.toggle("Words instead of pieces", key=WORDS_KEY,
                      help="Tokens as they read among words: “▁gamma” is “gamma”, a piece inside a word “+ma”; the "
                           "samples' tree merges each word's pieces into one node. Off: SentencePiece pieces (▁ "
                           "marks a word start).")
    set_url(words=int(words))
    return words


def temperature_section(name: str, sentence: str, settings: DecodeSettings, big: bool) -> bool:
    """The step slider, the greedy prefix and the temperature panels (on a projector: the panels left, the
    controls and the words toggle right, all on the first screen). Returns words-or-pieces."""
    st.subheader("Temperature reshapes the next-token distribution")
    if big:
        chart_place, controls = st.columns([3, 2])
    else:
        chart_place = controls = st.container()
    greedy = translate(name, sentence, DecodeSettings(method="greedy", unk_penalty=settings.unk_penalty,
                                                      max_tokens=settings.max_tokens))
    last = len(greedy.steps) - 1
    if STEP_KEY not in st.session_state:
        st.session_state[STEP_KEY] = url_int("step", 0, 0, max(last, 0))
    st.session_state[STEP_KEY] = min(max(int(st.session_state[STEP_KEY]), 0), max(last, 0))
    with controls:
        if big:
            words = words_toggle(big)
        if last > 0:
            step = st.slider("Step of the greedy translation", 0, last, key=STEP_KEY)
        else:
            step = 0
        set_url(step=step)
        st.caption("Prefix so far (greedy)")
        st.text(pieces_text([s.token for s in greedy.steps[:step]]) or "(nothing yet: the first token)")
        if not big:
            words = words_toggle(big)
    prefix = [s.token_id for s in greedy.steps[:step]]
    temperatures = list(DEMO_TEMPERATURES)
    sidebar_temperature = sidebar_sampling()[0]
    if settings.method == "sample" and sidebar_temperature > 0 and sidebar_temperature not in temperatures:
        temperatures.append(sidebar_temperature)  # the one the sidebar samples with, as a fourth panel
    frame = temperatures_at(name, sentence, tuple(prefix), tuple(sorted(temperatures)), settings.unk_penalty)
    # px per panel: on a projector the panels share two thirds of the screen with the labels (~180 px)
    width = (90 if len(temperatures) > 3 else 120) if big else (130 if len(temperatures) > 3 else 170)
    chart_place.altair_chart(temperature_chart(frame, figure_font_size(big), width=width, words=words))
    if not big:
        st.caption("Probabilities are softmax(log p / T). T → 0 puts all the mass on the top token (greedy); "
                   "T = 1 is the model's own distribution; a large T flattens it towards uniform over the whole "
                   "vocabulary, so the top tokens shrink and \"all other tokens\" takes almost everything.")
    return words


def samples_section(name: str, sentence: str, settings: DecodeSettings, big: bool):
    st.subheader("Sampled translations")
    temperature, top_k, top_p = sidebar_sampling()
    if COUNT_KEY not in st.session_state:
        st.session_state[COUNT_KEY] = 8
    count = st.number_input("Samples (seeds 0, 1, …)", 1, MAX_SAMPLES, key=COUNT_KEY)
    st.caption(escape_markdown(f"Temperature {temperature:g} · top-k {top_k or 'off'} · top-p {top_p:g}, "
                               "from the sidebar's sampling settings"))
    if temperature == 0:
        st.info("Temperature 0 is greedy search: every seed gives the same translation.")
    seeds = list(range(int(count)))
    traces = [translate(name, sentence, sample_settings(settings, temperature, top_k, top_p, seed)) for seed in seeds]
    current = settings.seed if settings.method == "sample" else None
    frame = samples_frame(seeds, traces)
    for row in frame.itertuples(index=False):
        seed_col, text_col, button_col = st.columns([1, 8, 2], vertical_alignment="center")
        seed_col.markdown(f"**seed {row.seed}**" if row.seed == current else f"seed {row.seed}")
        text_col.text(row.translation or "(empty)")
        button_col.button("In the sidebar" if row.seed == current else "Replay", key=f"sampling_replay_{row.seed}",
                          on_click=replay, args=(row.seed,), disabled=row.seed == current,
                          help="Set the sidebar to sampling with this seed: every page then shows this sample")
    if not big:
        st.caption(f"{frame['translation'].nunique()} different translations out of {len(frame)}. The same seed "
                   "always draws the same tokens, so a sample can be replayed and shared as a link.")
    return traces


def trees_section(name: str, sentence: str, settings: DecodeSettings, traces, big: bool, words: bool):
    st.subheader("Samples as a tree, beside beam search")
    left, right = st.columns(2)
    with left:
        st.caption(f"{len(traces)} samples merged by common prefix{' (of words)' if words else ''}; a node's size "
                   "and number: samples through it")
        tree = prefix_tree_frame(prefix_tree((trace_words if words else trace_tokens)(t) for t in traces))
        st.plotly_chart(prefix_tree_figure(tree, figure_font_size(big)), width="stretch", key="sampling_page_samples")
    with right:
        width = int(st.session_state.get("beam", 5))
        penalty = float(st.session_state.get("lp", 1.0))
        beam = translate(name, sentence, beam_settings(settings, width, penalty))
        st.caption(f"Beam search, width {width}, length penalty {penalty:g} (kept branches; all of it on the "
                   "Beam search page)")
        nodes = nodes_frame(beam.beam, show_pruned=False)
        if words:  # the search's nodes are pieces: each labelled as it reads among words
            nodes = nodes.assign(token=[word_label(t) for t in nodes["token"]])
        figure = beam_tree_figure(nodes, font_size=figure_font_size(big))
        st.plotly_chart(figure, width="stretch", key="sampling_page_beam")


def render():
    name, sentence, settings = sidebar_choices()
    big = classroom()

    if not big:  # on a projector the menu names the page: its height goes to the temperature panels
        st.title("Sampling")
    if not name:
        st.info(NO_CHECKPOINT)
        return
    try:
        words = temperature_section(name, sentence, settings, big)
        traces = samples_section(name, sentence, settings, big)
        trees_section(name, sentence, settings, traces, big, words)
    except InputError as error:
        st.warning(escape_markdown(str(error)))
    except CheckpointError as error:
        st.error(f"This checkpoint cannot be loaded: {escape_markdown(str(error))}")


render()
