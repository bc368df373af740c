"""Explain: is attention an explanation? (issue 15)

For the sidebar's sentence and model: the attention heatmap beside a gradient attribution heatmap
(saliency, input x gradient or integrated gradients) with each row's rank correlation; the model's
alignment error rate per method on its dev silver; the inside of attention at one step, with the
model's formula filled in; an intervention (all attention on one source word, or one word taken
away, at one step, then decode on) with the new continuation beside the old; coverage flags.

Words or pieces on both heatmaps (and the rank correlations): one toggle, words first on a projector,
``?words=0|1``. In classroom mode there is no title, the translation and the toggle share a line, the
coverage notice goes below the heatmaps, and the heatmaps' rows are fitted to a 1280x720 screen.

State in the URL: ``?attribution=`` (the attribution method; ``?method=`` is the sidebar's decoding),
``?step=`` (1-based), ``?word=``, ``?mode=`` and, for a Transformer,
``?layer=`` (1-based decoder layer whose heads the inside view and the intervention work on; default
the display layer, whose head-mean is the attention row).
The attribution and the intervention are computed on demand and cached like traces (keyed by
checkpoint, sentence, settings and the page's choices), shared read-only by every session.
"""


import numpy as np
import pandas as pd
import streamlit as st
import torch

from nmt_core.checkpoint import CheckpointError
from nmt_core.decoding import InputError
from nmt_core.explain.attribution import GRADIENT_METHODS, rank_correlation, trace_attribution
from nmt_core.explain.coverage import coverage_notice
from nmt_core.explain.intervene import MODES, inside_attention, intervene
from nmt_core.figures.explain import ROW_HEIGHT, fitted_score_rows, score_heatmap, score_top_margin
from nmt_core.model import Seq2Seq, TransformerSeq2Seq
from nmt_core.views.attention import MERGE_RULE, attention_view, word_groups, word_text
from pages.lib.common import (
    NO_CHECKPOINT,
    classroom,
    config_of,
    decode_or_explain,
    escape_markdown,
    leave_legacy_mode,
    load,
    load_cached,
    set_url,
    sidebar_choices,
    trace_key,
    trace_of,
    url_int,
)
from pages.lib.style import CLASSROOM_TEXT_LINE, classroom_extra_lines

leave_legacy_mode()  # a fresh server's first visit to this page's link: see pages/lib/common.py

METHOD_PARAM, STEP_PARAM, WORD_PARAM, MODE_PARAM, LAYER_PARAM = "attribution", "step", "word", "mode", "layer"
WORDS_KEY = "explain_words"  # words or pieces on the heatmaps; mirrored as ?words=0|1
# px for the heatmaps on a 1280x720 projector, below the translation line and the method's radio buttons
CLASSROOM_HEATMAP_HEIGHT = 480  # they start ~225 px down, under a one-line translation
TRANSLATION_WIDTH = 636  # px: the translation's column on a projector


@st.cache_resource(show_spinner="Computing attribution…", max_entries=128)
def attribution_cached(decode: tuple, method: str):
    """Attribution of the decode ``decode`` (pages.lib.common.trace_key) names: the page's own trace, not a
    second decode."""
    return trace_attribution(load_cached(decode[0]).translator, trace_of(decode), method)


@st.cache_resource(show_spinner="Decoding with the new attention…", max_entries=128)
def intervention_cached(decode: tuple, step: int, word: int, mode: str, layer: int | None = None):
    with torch.inference_mode():
        return intervene(load_cached(decode[0]).translator, trace_of(decode), step, word, mode, layer=layer)


def choice(name: str, options: tuple, default: str) -> str:
    value = st.query_params.get(name, default)
    return value if value in options else default


def main() -> None:
    name, sentence, settings = sidebar_choices()
    if name is None or settings is None:
        st.info(NO_CHECKPOINT)
        return
    big = classroom()
    if not big:  # on a projector the menu names the page: its height goes to the heatmaps
        st.title("Explain")
        st.caption("Does the output follow the attention? Attention beside gradient attribution, alignment error "
                   "rates, the arithmetic inside one attention step, and an intervention.")
    trace = decode_or_explain(name, sentence, settings)
    if trace is None:
        return
    config = config_of(name) or {}
    try:
        translator = load(name).translator
    except CheckpointError as error:
        st.error(escape_markdown(str(error)))
        return
    decode = trace_key(name, sentence, settings)  # names the page's trace: the cached results' key
    method = show_translation_and_attribution(trace, decode, translator, config, big)
    if method is None:
        return
    show_alignment_error_rates(config)
    step = st.slider("Step", 1, len(trace.steps), url_int(STEP_PARAM, 1, 1, len(trace.steps)))
    params = {METHOD_PARAM: method, STEP_PARAM: step, **show_inside_and_intervention(translator, trace, decode, step)}
    set_url(**params)


def show_translation_and_attribution(trace, decode: tuple, translator, config: dict, big: bool) -> str | None:
    """The translation, the coverage notice, the words toggle and attention beside attribution; the attribution
    method shown, or None when the model emitted nothing."""
    translation_place, toggle_place = st.columns([3, 2], vertical_alignment="center") if big else \
        (st.container(), st.container())
    translation_place.markdown(f"**Translation:** {escape_markdown(trace.translation)}")
    notice = coverage_notice(trace, config, translator.src_tokenizer)
    if notice and not big:
        st.info(escape_markdown(notice))
    if not trace.steps:
        st.warning("Nothing was emitted.")
        return None
    with toggle_place:
        words = words_toggle(big)
    method = show_attribution(trace, decode, font_size=18 if big else 13, words=words, big=big)
    if notice and big:  # below the heatmaps, which keep the first screen
        st.info(escape_markdown(notice))
    return method


def show_inside_and_intervention(translator, trace, decode: tuple, step: int) -> dict:
    """Inside attention at ``step`` and the intervention, for a model with attention; their URL parameters."""
    model = translator.model
    if not (isinstance(model, TransformerSeq2Seq) or (isinstance(model, Seq2Seq) and trace.attention is not None)):
        st.info("Inside attention and intervention need a model with attention.")
        return {}
    layer = pick_layer(model) if isinstance(model, TransformerSeq2Seq) else None
    inside = inside_attention(translator, trace, step - 1, layer)
    st.subheader(f"Inside attention at step {step} (emitting “{trace.steps[step - 1].token}”)")
    if layer is None:
        show_inside_rnn(inside, trace.source_tokens)
    else:
        show_inside_heads(inside, trace.source_tokens)
    word, mode = show_intervention(trace, decode, step, layer)
    return {WORD_PARAM: word, MODE_PARAM: mode, **({LAYER_PARAM: layer + 1} if layer is not None else {})}


def words_toggle(big: bool) -> bool:
    """Words or pieces on the heatmaps (words first on a projector), mirrored as ``?words=``."""
    if WORDS_KEY not in st.session_state:
        st.session_state[WORDS_KEY] = bool(url_int("words", int(big), 0, 1))
    words = st.toggle("Words instead of pieces", key=WORDS_KEY, help=MERGE_RULE)
    set_url(words=int(words))
    return words


def show_attribution(trace, decode: tuple, font_size: int, words: bool = False, big: bool = False) -> str:
    """Attention and the chosen attribution side by side, with each row's rank correlation; the method.

    ``words``: both merged into words as every heatmap is (sum over a word's source pieces, mean over its
    target pieces). ``big``: rows fitted to a projector's screen."""
    pieces_source, pieces_target = trace.source_tokens, [s.token for s in trace.steps]
    method = st.radio("Attribution method", GRADIENT_METHODS, horizontal=True,
                      index=GRADIENT_METHODS.index(choice(METHOD_PARAM, GRADIENT_METHODS, "saliency")),
                      label_visibility="collapsed" if big else "visible")  # the heatmap's title names it
    attribution = attribution_cached(decode, method)
    has_attention = trace.steps[0].attention is not None
    scores = np.abs(attribution.source)
    scores = scores / np.maximum(scores.sum(axis=1, keepdims=True), 1e-12)
    scored = attention_view(pieces_source, pieces_target, scores, words)
    source, target = scored.source, scored.target
    # source labels upright under the title, in room made for the longest (they crossed the title before)
    row_height, top = ROW_HEIGHT, score_top_margin(source, font_size)
    if big:  # both heatmaps whole on one projector screen
        # less a line for each line more the translation above wraps onto (estimated from its length)
        room = CLASSROOM_HEATMAP_HEIGHT - CLASSROOM_TEXT_LINE * classroom_extra_lines(
            f"Translation: {trace.translation}", TRANSLATION_WIDTH)
        row_height, font_size, top = fitted_score_rows(len(target), source, room, font_size)
    columns = st.columns(2)
    if has_attention:
        attention = attention_view(pieces_source, pieces_target, np.array([s.attention for s in trace.steps]),
                                   words).matrix
        figure = score_heatmap(attention, source, target, "Attention α(t, i)", font_size, row_height, top)
        columns[0].plotly_chart(figure, key="explain_attention")
    else:
        columns[0].info("This model has no attention: only attribution can say what it read.")
    columns[1].plotly_chart(score_heatmap(scored.matrix, source, target, f"{method} (|score|, rows normalised)",
                                          font_size, row_height, top), key="explain_attribution")
    if has_attention:
        rho = [rank_correlation(a, b) for a, b in zip(attention, scored.matrix, strict=True)]
        st.dataframe(pd.DataFrame({"target": target, "Spearman ρ (attention vs attribution)":
                                   [None if r is None else round(r, 2) for r in rho]}), hide_index=True)
    return method


def show_alignment_error_rates(config: dict) -> None:
    """Each method's AER against the eflomal silver of the model's dev split, as recorded in config.json."""
    aer = (config.get("metrics") or {}).get("dev_alignment_aer")
    if isinstance(aer, dict) and isinstance(aer.get("methods"), dict):
        st.subheader("Alignment error rate on the dev silver (lower is better)")
        st.dataframe(pd.DataFrame([{"method": m, **v} for m, v in aer["methods"].items() if isinstance(v, dict)]),
                     hide_index=True)
        st.caption(escape_markdown(f"Silver: {aer.get('silver', '?')}."))


def pick_layer(model: TransformerSeq2Seq) -> int:
    """A Transformer's decoder layer (0-based) whose heads the inside view and the intervention use."""
    layers = model.cfg.decoder_layers
    display = model.cfg.display_layer % layers
    return st.selectbox("Decoder layer (its cross-attention, every head)", range(layers),
                        index=url_int(LAYER_PARAM, display + 1, 1, layers) - 1,
                        format_func=lambda i: f"layer {i + 1}" + (" (the attention row shown)" if i == display
                                                                 else ""))


def show_intervention(trace, decode: tuple, step: int, layer: int | None) -> tuple[int, str]:
    """Pick a source word and a change at ``step``; the continuation before and after. Returns (word, mode)."""
    st.subheader("Intervention: does the output follow the attention?")
    if layer is not None:
        st.caption(f"Every head of decoder layer {layer + 1} gets the new attention at step {step}; the other "
                   "layers attend as the model does. A lower layer may already have carried the word along, so "
                   "an unchanged output says this layer's attention was not needed, not that the word was unread.")
    source = trace.source_tokens
    words = [word_text(source, g) for g in word_groups(source)]
    cols = st.columns(2)
    word = cols[0].selectbox("Source word", range(len(words)), index=url_int(WORD_PARAM, 0, 0, len(words) - 1),
                             format_func=lambda i: words[i])
    mode = cols[1].radio("Change", MODES, horizontal=True, index=MODES.index(choice(MODE_PARAM, MODES, "focus")),
                         format_func=lambda m: "all attention on it" if m == "focus" else "take attention off it")
    try:
        new = intervention_cached(decode, step - 1, word, mode, layer)
    except InputError as error:
        st.warning(escape_markdown(str(error)))
        return word, mode
    record = new.settings["intervention"]
    old_col, new_col = st.columns(2)
    old_col.markdown("**Before**")
    old_col.text(trace.translation)
    new_col.markdown("**After**")
    new_col.text(new.translation)
    st.markdown(escape_markdown(
        f"P(“{record['old_token']}”) at step {step}: {record['old_token_prob_before']:.1%} before, "
        f"{record['old_token_prob_after']:.1%} after."))
    return word, mode


def show_inside_rnn(inside: dict, source: list[str]) -> None:
    st.code(inside["formula"] + "\nα(t,i) = exp e(t,i) / Σₖ exp e(t,k)    c(t) = Σᵢ α(t,i) h̄ᵢ", language=None)
    best = int(np.argmax(inside["weights"]))
    if "cosines" in inside:
        st.markdown(escape_markdown(
            f"For “{source[best]}”: e = ‖q‖·‖k‖·cos = {inside['query_norm']:.2f} × {inside['key_norms'][best]:.2f}"
            f" × {inside['cosines'][best]:.3f} = {inside['scores'][best]:.2f}; α = {inside['weights'][best]:.3f}; "
            f"‖c(t)‖ = {inside['context_norm']:.2f}"))
    else:
        st.markdown(escape_markdown(
            f"For “{source[best]}”: ‖W₁ s(t-1)‖ = {inside['query_term_norm']:.2f}, ‖W₂ h̄ᵢ + b‖ = "
            f"{inside['key_norms'][best]:.2f}, e = {inside['scores'][best]:.2f}, α = {inside['weights'][best]:.3f};"
            f" ‖c(t)‖ = {inside['context_norm']:.2f}"))
    st.dataframe(pd.DataFrame({"source piece": source, "e(t,i)": np.round(inside["scores"], 3),
                               "α(t,i)": np.round(inside["weights"], 3)}), hide_index=True)


def show_inside_heads(inside: dict, source: list[str]) -> None:
    """A Transformer layer's heads: the formula, each head's numbers for its most-attended piece, and e and α
    per head and source piece."""
    st.code(inside["formula"] + "\nα_h(t,i) = exp e_h(t,i) / Σₖ exp e_h(t,k)    c_h(t) = Σᵢ α_h(t,i) v_h,ᵢ",
            language=None)
    lines = []
    for h in range(inside["heads"]):
        best = int(np.argmax(inside["weights"][h]))
        lines.append("- " + escape_markdown(
            f"head {h + 1}, “{source[best]}”: e = ‖q‖·‖k‖·cos / √d = {inside['query_norm'][h]:.2f} × "
            f"{inside['key_norms'][h][best]:.2f} × {inside['cosines'][h][best]:.3f} / {inside['scale']:.2f} = "
            f"{inside['scores'][h][best]:.2f}; α = {inside['weights'][h][best]:.3f}; "
            f"‖c_h(t)‖ = {inside['context_norm'][h]:.2f}"))
    st.markdown("\n".join(lines))
    table = {"source piece": source}
    for h in range(inside["heads"]):
        table[f"e h{h + 1}"] = np.round(inside["scores"][h], 3)
        table[f"α h{h + 1}"] = np.round(inside["weights"][h], 3)
    st.dataframe(pd.DataFrame(table), hide_index=True)

main()
