"""Translate: the translation, its attention heatmap (pieces or words) with each token's probability beside its
row, the n-best list and downloads. Classroom mode keeps only the translation and a large heatmap.

The heatmap is a ``st.components.v2`` component (nmt_core/figures/components/heatmap.js): a decode's pieces
and words views go to the browser once (nmt_core/views/heatmap_data.py), and the words/pieces switch, the
hover and the PNG/SVG download run there, with no server run; the switch keeps ``?words=0|1`` in the URL. Each
row's bar is the model's probability of that token (a word's: the product of its pieces'), the runner-up on hover:
it was a Vega-Lite chart of its own, whose compile and draw took about a third of the browser's work for a new
sentence (benchmarks/new_sentence_ab.py).

A Transformer also gets a layer and head choice for the heatmap (one head, a layer's mean, or every
layer and head averaged; ``?heads=L2H3``), the layer x head grid of its cross-attention (click a panel
to open that head), and its encoder and decoder self-attention with the causal mask drawn.

A fresh server's first run sends the heatmap before it imports the figures and pandas (the n-best table, the head
grid): the warm-up imports them meanwhile (pages/lib/warm_up.py), and the functions that draw them import them."""

import math

import streamlit as st

from nmt_core.decoding import DecodeSettings
from nmt_core.explain.coverage import coverage_notice
from nmt_core.figures import payload_json
from nmt_core.figures.sizing import FIGURE_CHROME, ROW_HEIGHT, fitted_rows, image_config
from nmt_core.views.attention_heads import (
    HeadChoice,
    decoder_self_view,
    default_choice,
    encoder_self_view,
    head_entropy,
    head_grid,
    head_options,
    head_shape,
    with_choice,
)
from nmt_core.views.heatmap_data import heatmap_payload, view_sizes, with_probabilities
from pages.lib.common import (
    NO_CHECKPOINT,
    classroom,
    config_of,
    decode_or_explain,
    escape_markdown,
    leave_legacy_mode,
    load_cached,
    set_url,
    settings_values,
    sidebar_choices,
    trace_key,
    trace_of,
    transformer_maps,
    translate,
)
from pages.lib.heatmap import draw_heatmap as mount_heatmap
from pages.lib.heatmap import words_choice as linked_words
from pages.lib.style import CLASSROOM_TEXT_LINE, classroom_extra_lines, figure_font_size
from pages.lib.warm_up import heatmap_sent, wait_for_warm_up

leave_legacy_mode()  # a fresh server's first visit to this page's link: see pages/lib/common.py

COMPONENT_KEY = "translate_heatmap"  # the heatmap component; its words/pieces switch is mirrored as ?words=0|1
FORMAT_KEY = "translate_image_format"
HEADS_KEY = "translate_heads"  # a Transformer's layer/head choice for the heatmap; mirrored as ?heads=L2H3
GRID_KEY = "translate_head_grid"  # the grid's click selection
ENCODER_KEY, DECODER_KEY = "translate_encoder_heads", "translate_decoder_heads"
IMAGE_FORMATS = {"png": "PNG", "svg": "SVG"}
# px below a one-line translation on a 1280x720 projector (Streamlit's header and the page's padding above it)
CLASSROOM_HEATMAP_HEIGHT = 540
TRANSLATION_WIDTH = 1060  # px: the translation's line on a projector (the main column at 1280 px, sidebar folded)


def render():
    """Read the sidebar's choices from session state, decode, show."""
    name, sentence, settings = sidebar_choices()
    big = classroom()
    font_size = figure_font_size(big)

    if not big:  # on a projector the menu names the page: its height goes to the heatmap
        st.title("Translate")
    if not name:
        st.info(NO_CHECKPOINT)
        return

    trace = decode_or_explain(name, sentence, settings)
    if trace is None:
        return

    if big:  # on a projector the notices go below the heatmap, which comes right under the translation
        st.text(trace.translation or "(empty)")
    else:
        st.caption("Translation")
        st.text(trace.translation or "(empty)")
        show_notices(trace_key(name, sentence, settings), trace)
    merge = words_choice(trace, big)

    # The heatmap comes first, in this slot above the rest: it is the view a person waits for, and it reaches
    # the browser before the charts below are built. The download format is chosen further down; its widget's
    # value is in session state already.
    heatmap_slot = st.container()
    with heatmap_slot:
        draw_heatmap(name, sentence, settings, trace, big, merge, font_size, st.session_state.get(FORMAT_KEY, "png"))
    if big:
        show_notices(trace_key(name, sentence, settings), trace)

    if not big:
        wait_for_warm_up()  # a fresh server's pandas and pyarrow: imported by the warm-up, not beside it
        from nmt_core.figures.traces import nbest_frame

        st.subheader("Candidates")
        st.caption("The n-best list: log-prob, and log-prob divided by the length penalty (what ranks them).")
        st.dataframe(nbest_frame(trace), hide_index=True, width="stretch")

        st.subheader("Download")
        left, right = st.columns(2)
        # Deferred: the trace's JSON (~30 ms for beam 5, megabytes for a wide beam) is written on a click,
        # not on every run.
        left.download_button("Trace (JSON)", trace.to_json, file_name=f"trace-{name}.json",
                             mime="application/json", on_click="ignore",
                             help="Everything this decode saw: pieces, attention rows, candidates, beam nodes")
        right.radio("Heatmap image format", list(IMAGE_FORMATS), key=FORMAT_KEY, horizontal=True,
                    format_func=IMAGE_FORMATS.__getitem__,
                    help="Then use the Download button above the heatmap: it saves the view shown, words or pieces")


def show_notices(key: tuple, trace) -> None:
    """How the model read the sentence, a cut at the length limit, and the coverage notice (``key``: the trace's)."""
    for message in trace.warnings:
        st.warning(escape_markdown(message))
    if not trace.finished:
        st.caption("Stopped at the length limit before the model emitted </s>.")
    notice = coverage_line(key)
    if notice:
        st.info(escape_markdown(notice))


@st.cache_resource(max_entries=64, show_spinner=False)
def coverage_line(key: tuple) -> str | None:
    """Source words the attention hardly touched (perhaps dropped) or kept returning to (perhaps repeated),
    against thresholds measured on the model's dev set (nmt_core.explain.coverage; details on Explain).
    Once per decode: its word grouping runs the tokenizer over the sentence."""
    checkpoint = load_cached(key[0])
    return coverage_notice(trace_of(key), checkpoint.config, checkpoint.src_tokenizer)


def words_choice(trace, big: bool) -> bool:
    """Words or pieces, as the link says (``?words=0|1``; words first on a projector), written back to the URL.

    The switch itself is the component's: it redraws in the browser and rewrites ``?words=`` there, so the
    next run (a new sentence) reads the user's choice here. False for a model without attention."""
    return False if trace.attention is None else linked_words(big)


def on_words() -> None:
    """The switch of a Transformer's heatmap, where the head grid below follows words/pieces: into the URL."""
    value = getattr(st.session_state.get(COMPONENT_KEY), "words", None)
    if isinstance(value, bool):
        set_url(words=int(value))


def heatmap_chrome(longest: int, font_size: int) -> int:
    """px of the component above its rows: the controls' line and the source labels set upright (about 0.62 of
    the font a character, as nmt_core.figures.sizing.component_chrome reckons), with their padding."""
    return int(2.2 * font_size + 0.62 * font_size * longest + 16)


def draw_heatmap(name, sentence, settings, trace, big, merge, font_size, image_format):
    """A Transformer's head choice, the heatmap component (its data cached per decode and head), the grid."""
    if trace.attention is None:
        st.info("This model has no attention: the decoder sees only the encoder's final state, "
                "so there is no heatmap.")
        return
    choice = head_picker(trace, config_of(name))
    payload, sizes = heatmap_data(trace_key(name, sentence, settings), choice.key if choice is not None else None)
    fit = None
    if big:  # the whole heatmap on one projector screen (1280x720), below the translation: both views sized
        room = CLASSROOM_HEATMAP_HEIGHT - CLASSROOM_TEXT_LINE * classroom_extra_lines(trace.translation,
                                                                                      TRANSLATION_WIDTH)
        # fitted_rows leaves FIGURE_CHROME px for a plotly figure's margins; the component needs its own chrome
        fit = {view: fitted_rows(size.rows, room - heatmap_chrome(size.source_chars, font_size) + FIGURE_CHROME,
                                 font_size) for view, size in sizes.items()}
    mount_heatmap(COMPONENT_KEY, payload, f"attention-{name}", image_format, on_words=on_words, merge=merge,
                  classroom=big, font_size=font_size, row_height=ROW_HEIGHT, fit=fit, y_title="translation",
                  sync_words=choice is not None, show_probability=not big)  # on a projector: the essentials
    heatmap_sent()  # a fresh server lets the browser fetch the component before importing the rest
    if not big:
        end = f" It stopped with </s> at p = {math.exp(trace.steps[-1].logprob):.3f}." if trace.finished else ""
        st.caption("Beside each row, the probability the model gave that token (a word's: the product of its "
                   "pieces'); hover a bar for the runner-up; orange: a token forced on the model." + end)
    if choice is not None:
        show_heads(name, sentence, settings, trace, choice, merge, font_size)


@st.cache_resource(max_entries=64, show_spinner=False)
def heatmap_data(key: tuple, choice: str | None) -> tuple[bytes, dict]:
    """The component's payload (JSON bytes: both views) and each view's size, once per decode and head choice,
    shared by every session and run."""
    trace = trace_of(key)
    shape = head_shape(trace)
    parsed = HeadChoice.parse(choice, *shape) if choice is not None and shape is not None else None
    payload = with_probabilities(heatmap_payload(with_choice(trace, parsed)), trace)
    return payload_json(payload), view_sizes(payload)


def choice_label(key: str, layers: int, heads: int) -> str:
    parsed = HeadChoice.parse(key, layers, heads)
    return parsed.label(heads) if parsed is not None else key


def head_picker(trace, config: dict | None) -> HeadChoice | None:
    """The layer/head selectbox of a Transformer's heatmap (None, and nothing drawn, for an RNN).

    Seeded from ``?heads=``, else the model's own default row (its display layer's head-mean);
    a choice the current model does not have (another model was picked) falls back to that default.
    """
    shape = head_shape(trace)
    if shape is None:
        return None
    layers, heads = shape
    options = head_options(layers, heads)
    default = default_choice((config or {}).get("model"), layers).key
    if st.session_state.get(HEADS_KEY) not in options:
        wanted = str(st.query_params.get("heads", default))
        st.session_state[HEADS_KEY] = wanted if wanted in options else default
    key = st.selectbox("Layer and head", options, key=HEADS_KEY, format_func=lambda k: choice_label(k, layers, heads),
                       help="A Transformer has several attention heads in each decoder layer. The heatmap shows "
                            f"one head, one layer's mean over its heads, or the mean of all. The default, "
                            f"{choice_label(default, layers, heads)}, is the row every other view uses.")
    set_url(heads=key)
    return HeadChoice.parse(key, layers, heads)


def open_clicked_head():
    """The grid's click callback: open the clicked panel's head in the heatmap above."""
    from nmt_core.figures.attention_heads import clicked_head

    points = ((st.session_state.get(GRID_KEY) or {}).get("selection") or {}).get("points") or []
    heads = st.session_state.get("translate_grid_heads", 1)
    for point in points:
        choice = clicked_head(point, heads)
        if choice is not None:
            st.session_state[HEADS_KEY] = choice.key
            return


@st.cache_resource(max_entries=64, show_spinner=False)
def grid_figure(name: str, sentence: str, settings: tuple, merge: bool, selected: str, font_size: int):
    """The layer x head grid (built once per decode and view: ~20 plotly traces)."""
    from nmt_core.figures.attention_heads import head_grid_figure

    trace = translate(name, sentence, DecodeSettings(*settings))
    grid = head_grid(trace, merge)
    selected_choice = HeadChoice.parse(selected, grid.layers, grid.heads)
    return head_grid_figure(grid, selected_choice, font_size=font_size, entropy=head_entropy(grid))


def show_heads(name, sentence, settings, trace, choice, merge, font_size):
    """A Transformer's every head (the grid) and its self-attention: plotly figures, below the heatmap."""
    wait_for_warm_up()  # a fresh server's figure modules (pandas with them): imported by the warm-up, not beside it
    layers, heads = head_shape(trace)
    st.subheader("Every layer and head")
    st.caption(f"Cross-attention of each of the {layers} decoder layers (down) and {heads} heads (across): each "
               "panel is a heatmap like the one above, on the same scale, with its mean entropy in bits (low: a "
               "head that looks at one piece at a time). Click a panel to open that head above.")
    st.session_state["translate_grid_heads"] = heads
    figure = grid_figure(name, sentence, settings_values(settings), merge, choice.key, font_size)
    st.plotly_chart(figure, width="stretch", key=GRID_KEY, on_select=open_clicked_head, selection_mode="points",
                    config=image_config(f"heads-{name}"))
    self_attention(name, sentence, settings, font_size)


@st.fragment
def self_attention(name, sentence, settings, font_size):
    """A Transformer's encoder and decoder self-attention, one layer and head each. A fragment: choosing
    another layer or head reruns only this, not the page (the sidebar, the heatmap, and the grid, which
    Streamlit serialises again on every run). Measured under load on spa-eng-transformer, per choice: 190-200 ms of
    server CPU and 47 websocket frames as a page run (with the slower figures of 00f12f7), 60-80 ms and 15
    frames as this fragment."""
    from nmt_core.figures.attention_heads import self_attention_figure

    maps = transformer_maps(name, sentence, settings)
    if maps is None:
        return
    st.subheader("Self-attention")
    left, right = st.columns(2)
    with left:
        key = self_attention_picker("Encoder layer and head", ENCODER_KEY, maps.encoder_self.shape[:2])
        view = encoder_self_view(maps.encoder_self, maps.source_tokens, key)
        st.plotly_chart(self_attention_figure(view, row_title="source piece", column_title="attends to",
                                              font_size=font_size),
                        width="stretch", key="translate_encoder_self", config=image_config(f"encoder-self-{name}"))
        st.caption("The encoder: every source piece looks at every other (both directions) to build its vector.")
    with right:
        key = self_attention_picker("Decoder layer and head", DECODER_KEY, maps.decoder_self.shape[:2])
        view = decoder_self_view(maps.decoder_self, maps.target_tokens, maps.decoder_inputs, key)
        st.plotly_chart(self_attention_figure(view, row_title="writing", column_title="attends to (its inputs)",
                                              font_size=font_size),
                        width="stretch", key="translate_decoder_self", config=image_config(f"decoder-self-{name}"))
        st.caption("The decoder, writing each token (rows), looks back at <s> and the tokens it wrote before; the "
                   "grey cells above the diagonal are the causal mask: later tokens are not written yet.")


def self_attention_picker(title: str, key: str, shape) -> HeadChoice:
    layers, heads = int(shape[0]), int(shape[1])
    options = head_options(layers, heads)
    if st.session_state.get(key) not in options:
        st.session_state[key] = HeadChoice(layers - 1).key
    chosen = st.selectbox(title, options, key=key, format_func=lambda k: choice_label(k, layers, heads))
    return HeadChoice.parse(chosen, layers, heads)


render()
