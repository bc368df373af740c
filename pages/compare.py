"""Compare: the sidebar's sentence through two to four checkpoints side by side.

Translations, scores and attention heatmaps in columns (same row height and
margins, so rows line up), attention entropy per step, the difference of two
models' attention where they share tokenizers, and each model's word alignment.
The selection lives in the URL as ``?models=a,b,c`` (and ``?pair=a,b`` for the difference).
A Transformer's column has a layer and head choice (one head, a layer's mean, or all), which its
heatmap, entropy, difference and word alignment all follow; in the URL as ``?column_heads=name:L2H3,...``.
"""

from dataclasses import dataclass, field
from itertools import combinations

import streamlit as st

from nmt_core.checkpoint import CheckpointError
from nmt_core.decoding import DecodeSettings, InputError, Trace
from nmt_core.figures import payload_json
from nmt_core.figures.compare import controls_lines, fitted_aligned_rows, upright_label_font
from nmt_core.figures.sizing import ROW_HEIGHT, image_config
from nmt_core.figures.traces import (
    ALIGNED_LABEL_CHARACTERS,
    NO_ATTENTION_NOTE,
    alignment_figure,
    alignment_frame,
    entropy_chart,
    entropy_frame,
    nbest_frame,
)
from nmt_core.views.attention import MERGE_RULE, attention_view, common_prefix_length
from nmt_core.views.attention_heads import HeadChoice, default_choice, head_options, head_shape, with_choice
from nmt_core.views.compare import attention_type, default_selection, same_tokenizers
from nmt_core.views.heatmap_data import (
    VIEWS,
    ViewSize,
    context_payload,
    difference_payload,
    heatmap_payload,
    view_sizes,
)
from nmt_core.views.models import length_frame, other_language_note
from pages.lib.charts import length_chart
from pages.lib.common import (
    NO_CHECKPOINT,
    available_checkpoints,
    classroom,
    config_of,
    describe_checkpoint,
    escape_markdown,
    leave_legacy_mode,
    set_url,
    settings_values,
    source_language_of,
    translate,
)
from pages.lib.heatmap import draw_heatmap, words_choice
from pages.lib.style import CLASSROOM_TEXT_LINE, classroom_extra_lines, figure_font_size

leave_legacy_mode()  # a fresh server's first visit to this page's link: see pages/lib/common.py

MAX_MODELS = 4
MODELS_KEY, MODELS_KEPT = "compare_models", "compare_models_kept"  # widget key; copy that outlives page switches
PAIR_KEY = "compare_pair"
GROUP = "compare"  # the heatmaps that follow one words/pieces switch (the first column's) and line up row for row
CONTEXT_NOTE = "encoder's final state: the same context at every step"  # the no-attention bar's hover
HEADS_PREFIX = "compare_heads_"  # + model name: a Transformer column's layer/head choice
# px for the heatmaps on a 1280x720 projector: they start ~230 px down, below the picker row and the names
# (each on one line; classroom_room takes off what their wrapping adds)
CLASSROOM_HEATMAP_HEIGHT = 480
CLASSROOM_WIDTH, COLUMN_GAP = 1060, 22  # px: the main column at 1280 px (the sidebar folded), between columns
CLASSROOM_MODELS = 2  # side by side on a projector by default: a third or fourth is one pick away


@dataclass(frozen=True)
class Request:
    """What every column is asked: the sidebar's sentence and settings, words or pieces, classroom size, and
    the source language of the sidebar's model (the sentence is in it)."""

    sentence: str
    settings: DecodeSettings
    merge: bool
    big: bool
    sentence_language: str | None

    @property
    def font_size(self) -> int:
        return figure_font_size(self.big)


@dataclass
class Column:
    """One model's column: its config, then its trace or the problem that kept it from decoding
    (("warning" | "error", markdown)), then a Transformer's layer/head choice."""

    name: str
    config: dict | None
    trace: Trace | None = None
    problem: tuple[str, str] | None = None
    choice: HeadChoice | None = field(default=None)

    @property
    def heads(self) -> str:
        """The head choice as column_payload's cache key ("" for the model's default row)."""
        return self.choice.key if self.choice else ""

    @property
    def has_attention(self) -> bool:
        return self.trace is not None and self.trace.attention is not None


def initial_selection(names: list[str], big: bool = False) -> list[str]:
    """This session's last choice, else the link's ``?models=``, else the default mix of attention types
    (two models on a projector, where four columns would be too narrow to read)."""
    kept = [n for n in st.session_state.get(MODELS_KEPT, []) if n in names]
    if kept:
        return kept
    wanted = [n for n in str(st.query_params.get("models", "")).split(",") if n in names]
    if wanted:
        return list(dict.fromkeys(wanted))[:MAX_MODELS]
    return default_selection(st.session_state.get("checkpoint"), {n: config_of(n) for n in names},
                             CLASSROOM_MODELS if big else MAX_MODELS)


def decode_all(chosen: list[str], request: Request) -> list[Column]:
    """A column per model, with its trace, or the problem shown in its place."""
    columns = []
    for name in chosen:
        column = Column(name, config_of(name))
        try:
            column.trace = translate(name, request.sentence, request.settings)
        except InputError as error:
            column.problem = ("warning", escape_markdown(str(error)))
        except CheckpointError as error:
            column.problem = ("error", f"This checkpoint cannot be loaded: {escape_markdown(str(error))}")
        columns.append(column)
    return columns


def score_line(trace) -> str:
    best = nbest_frame(trace).iloc[0]
    tokens = len(trace.target_tokens)
    return (f"log-prob {best['log-prob']:.2f} · normalised {best['normalised']:.2f} · {tokens} token"
            f"{'s' if tokens != 1 else ''}")


def show_columns(columns: list[Column], request: Request) -> None:
    """One column per model: name, translation and scores in one row of columns, heatmaps (or the
    fixed-context bar) in the next, so the heatmaps start at the same height however the texts wrap.
    A column reading another language than the sidebar's model is flagged. Sets each column's head choice.

    On a projector only the names sit above the heatmaps, and the translations, notices and head choices
    below them: the heatmaps, sized to the screen, open above the fold whatever the translations' length."""
    names = st.columns(len(columns))
    figures = st.columns(len(columns))
    details = st.columns(len(columns)) if request.big else names  # filled before the figures: they need the choice
    for name_place, detail_place, column in zip(names, details, columns, strict=True):
        with name_place:
            show_name(column, request)
        with detail_place:
            show_header(column, request)
    payloads = {c.name: column_payload(c.name, request.sentence, settings_values(request.settings), c.heads)
                for c in columns if c.trace is not None}
    fit = heatmap_fit(columns, [sizes for _, sizes in payloads.values()], request)
    switch = next(iter(payloads), None)  # the first heatmap holds the words/pieces switch of them all
    for place, column in zip(figures, columns, strict=True):
        if column.trace is None:
            continue
        with place:
            show_column_heatmap(column, payloads[column.name][0], fit, request, column.name == switch,
                                controls_lines(len(columns)) > 1)


def show_column_heatmap(column: Column, payload: bytes, fit: dict | None, request: Request, switch: bool,
                        compact: bool) -> None:
    """One column's heatmap component (narrow: no axis titles, no colour scale), or the no-attention bar.
    ``switch``: this one holds the words/pieces switch of the page's heatmaps; ``compact``: the hover readout
    on a line of its own (three or four columns)."""
    kind = "heatmap" if column.has_attention else "context"
    look = {"scale": {"show": False}} if column.has_attention else \
        {"scale": {"colors": "grey", "label": "share", "show": False}, "hover_note": CONTEXT_NOTE}
    draw_heatmap(f"compare_{kind}_{column.name}", payload,
                 f"{'attention' if column.has_attention else 'context'}-{column.name}", merge=request.merge,
                 classroom=request.big, font_size=request.font_size, row_height=ROW_HEIGHT, fit=fit,
                 shorten=ALIGNED_LABEL_CHARACTERS, y_title="", x_title="" if request.big else "source",
                 group=GROUP, switch=switch, compact=compact, **look)
    if not column.has_attention:
        st.caption(NO_ATTENTION_NOTE)


def heatmap_fit(columns: list[Column], sizes: list[dict[str, ViewSize]], request: Request) -> dict | None:
    """On a projector, per view (pieces, words): [row height, row label font, source label font] shared by every
    column, so rows line up; None (the component's normal rows) elsewhere.

    The rows shrink (and their labels with them) until the tallest heatmap fits the screen below the names, and
    the upright source labels shrink until they stand apart in columns as narrow as the models are many."""
    if not request.big or not sizes:
        return None
    room = classroom_room([c.name for c in columns], [c.config for c in columns])
    width = (CLASSROOM_WIDTH - COLUMN_GAP * (len(columns) - 1)) / len(columns)
    fit = {}
    for view in VIEWS:
        shapes = [size[view] for size in sizes]
        label_font = min(upright_label_font(width, shape.columns, ["x" * shape.target_chars], request.font_size)
                         for shape in shapes)
        row_height, font = fitted_aligned_rows(max(s.rows for s in shapes), max(s.source_chars for s in shapes),
                                               room, request.font_size, len(columns), label_font)
        fit[view] = [row_height, font, min(font, label_font)]
    return fit


def classroom_room(names: list[str], configs: list[dict | None]) -> int:
    """px left for the heatmaps on a 1280x720 projector, less a line for each line the picker's label or a
    column's name wraps onto (estimated from their length)."""
    picker = classroom_extra_lines("Models: " + ", ".join(names), CLASSROOM_WIDTH * 3 / 5 - 70)
    width = (CLASSROOM_WIDTH - COLUMN_GAP * (len(names) - 1)) / max(len(names), 1)
    name = max((classroom_extra_lines(f"{n} · {attention_type(c)}", width) for n, c in zip(names, configs,
                                                                                         strict=True)), default=0)
    return CLASSROOM_HEATMAP_HEIGHT - CLASSROOM_TEXT_LINE * (picker + name)


def show_name(column: Column, request: Request) -> None:
    """A column's model name and attention type (one line on a projector)."""
    kind = attention_type(column.config)
    if request.big:
        st.markdown(f"**{escape_markdown(column.name)}** · {escape_markdown(kind)}")
        return
    st.subheader(escape_markdown(column.name))
    st.caption(escape_markdown(f"attention: {kind}"))


def show_header(column: Column, request: Request) -> None:
    """A column's language flag, then its translation and scores (or its problem), then a Transformer's
    layer/head choice."""
    if (note := other_language_note(column.config, request.sentence_language)) is not None:
        st.warning(note)
    if column.problem is not None:
        kind, message = column.problem
        (st.warning if kind == "warning" else st.error)(message)
        return
    st.text(column.trace.translation or "(empty)")
    if not request.big:
        st.caption(score_line(column.trace))
    for message in column.trace.warnings:  # how this model read the sentence (cut, capitals restored)
        st.caption(escape_markdown(message))
    column.choice = head_picker(column.name, column.trace, column.config)


def head_picker(name: str, trace, config: dict | None) -> HeadChoice | None:
    """A Transformer column's layer/head choice (None, and no widget, for a model without heads).

    Seeded from ``?column_heads=name:L2H3``, else the model's own default row (its display layer's mean)."""
    shape = head_shape(trace)
    if shape is None:
        return None
    layers, heads = shape
    options, key = head_options(layers, heads), HEADS_PREFIX + name
    if st.session_state.get(key) not in options:
        wanted = url_heads().get(name)
        st.session_state[key] = wanted if wanted in options else \
            default_choice((config or {}).get("model"), layers).key
    chosen = st.selectbox("Layer and head", options, key=key,
                          format_func=lambda k: HeadChoice.parse(k, layers, heads).label(heads),
                          help="This column's heatmap, entropy, difference and alignment show one head, one "
                               "decoder layer's mean over its heads, or the mean of every layer and head.")
    return HeadChoice.parse(chosen, layers, heads)


def url_heads() -> dict[str, str]:
    """``?column_heads=a:L2H3,b:all`` -> {"a": "L2H3", "b": "all"}."""
    pairs = [item.rsplit(":", 1) for item in str(st.query_params.get("column_heads", "")).split(",") if ":" in item]
    return {name: key for name, key in pairs}


def chosen_trace(name: str, sentence: str, settings: tuple, heads: str = "") -> Trace:
    """A column's trace as it shows it: ``heads``, a Transformer's layer/head choice ("" for the default row)."""
    trace = translate(name, sentence, DecodeSettings(*settings))
    if heads and (shape := head_shape(trace)) is not None:
        trace = with_choice(trace, HeadChoice.parse(heads, *shape))
    return trace


# What the page draws from the traces is made once per decode and head choice and shared by every session and run.
@st.cache_resource(max_entries=256, show_spinner=False)
def column_payload(name: str, sentence: str, settings: tuple, heads: str = "") -> tuple[bytes, dict[str, ViewSize]]:
    """One column's heatmap data, JSON bytes, and its views' sizes: its attention (``heads`` as in
    :func:`chosen_trace`), or the fixed-context bar of a model without attention."""
    trace = chosen_trace(name, sentence, settings, heads)
    payload = context_payload(trace) if trace.attention is None else heatmap_payload(trace)
    return payload_json(payload), view_sizes(payload)


@st.cache_resource(max_entries=256, show_spinner=False)
def word_alignment_figure(name: str, sentence: str, settings: tuple, font_size: int, heads: str = ""):
    """Lines from each target word to the source word it attends to most (``heads`` as in :func:`chosen_trace`)."""
    trace = chosen_trace(name, sentence, settings, heads)
    source_words = attention_view(trace.source_tokens, [], [], merge_words=True).source
    return alignment_figure(alignment_frame(trace), source_words, font_size=font_size)


@st.cache_resource(max_entries=64, show_spinner=False)
def entropy_figure(models: tuple[tuple[str, str], ...], sentence: str, settings: tuple, font_size: int):
    """The entropy chart of ``models`` ((name, heads) pairs, as in :func:`chosen_trace`) with attention."""
    frame = entropy_frame({name: chosen_trace(name, sentence, settings, heads) for name, heads in models})
    return entropy_chart(frame, font_size=font_size) if len(frame) else None


def aligned_pair(a_column: Column, b_column: Column, request: Request):
    """B's trace with rows that match A's target tokens, how many rows to compare, and how:
    "same" (same translation), "forced" (B made to write A's translation) or "prefix" (common prefix only).
    B's layer/head choice applies to a forced trace as to B's own."""
    a, b, settings = a_column.trace, b_column.trace, request.settings
    if a.target_ids == b.target_ids:
        return b, len(a.target_ids), "same"
    try:
        # Feeding A's tokens to B as a forced prefix makes B write A's translation; attention at a step
        # depends only on the tokens before it, so greedy is enough (and cheapest) here.
        forced_settings = DecodeSettings(method="greedy", unk_penalty=settings.unk_penalty,
                                         max_tokens=settings.max_tokens)
        forced = translate(b_column.name, request.sentence, forced_settings, prefix=a.target_ids)
    except (InputError, CheckpointError):
        return b, common_prefix_length(a.target_ids, b.target_ids), "prefix"
    return with_choice(forced, b_column.choice), len(a.target_ids), "forced"


def alignment_note(mode: str, a_name: str, b_name: str, rows: int) -> str:
    """How the rows of A and B were made to match, for the page (markdown, names escaped)."""
    a, b = escape_markdown(a_name), escape_markdown(b_name)
    if mode == "same":
        return "Both models wrote the same translation, so each row compares the same token."
    if mode == "forced":
        return (f"The translations differ, so **{b} was forced to write {a}'s translation** ({a}'s tokens fed to "
                f"{b} as a forced prefix): each row compares both models' attention while writing the same token.")
    return f"The translations differ; compared on their **common prefix** ({rows} tokens) only."


def show_difference(columns: list[Column], request: Request) -> None:
    st.subheader("Difference of attention (A − B)")
    by_name = {c.name: c for c in columns if c.has_attention}
    pairs = [(a, b) for a, b in combinations(by_name, 2) if same_tokenizers(by_name[a].config, by_name[b].config)]
    if not pairs:
        st.caption("A difference needs two models with attention that cut text into the same pieces "
                   "(identical src.model and tgt.model).")
        return
    options = [f"{a},{b}" for a, b in pairs]
    if st.session_state.get(PAIR_KEY) not in options:
        wanted = str(st.query_params.get("pair", ""))
        st.session_state[PAIR_KEY] = wanted if wanted in options else options[0]
    pair = st.selectbox("Models (A − B)", options, key=PAIR_KEY, format_func=lambda p: " − ".join(p.split(",")))
    set_url(pair=pair)
    a_name, b_name = pair.split(",")
    a, b = by_name[a_name], by_name[b_name]
    b_trace, rows, mode = aligned_pair(a, b, request)
    st.caption(alignment_note(mode, a_name, b_name, rows))
    if rows == 0:
        st.info("There is no target token to compare.")
        return
    draw_heatmap("compare_difference", payload_json(difference_payload(a.trace, b_trace, rows)),
                 f"difference-{a_name}-{b_name}", merge=request.merge, font_size=request.font_size,
                 row_height=ROW_HEIGHT, group=GROUP, switch=False,
                 scale={"colors": "diverging", "range": "symmetric", "label": "A − B"})
    st.caption(f"Red: {escape_markdown(a_name)} attends more; blue: {escape_markdown(b_name)} attends more; "
               "white: the same. Each row sums to 0: attention moved, not added.")


def show_alignments(columns: list[Column], request: Request) -> None:
    st.subheader("Word alignment")
    st.caption("Each target word is linked to the source word it attends to most (the argmax of its row, after "
               "merging pieces into words). Thicker, darker lines carry more weight.")
    for place, column in zip(st.columns(len(columns)), columns, strict=True):
        with place:
            if column.trace is None:
                continue
            if not column.has_attention:
                st.caption("No attention, so no alignment: every target word sees the same summary of the sentence.")
                continue
            figure = word_alignment_figure(column.name, request.sentence, settings_values(request.settings),
                                           request.font_size, column.heads)
            st.plotly_chart(figure, width="stretch", config=image_config(f"alignment-{column.name}"),
                            key=f"compare_alignment_{column.name}")


def show_entropy(columns: list[Column], request: Request) -> None:
    st.subheader("How focused is the attention?")
    figure = entropy_figure(tuple((c.name, c.heads) for c in columns if c.has_attention), request.sentence,
                            settings_values(request.settings), request.font_size)
    if figure is not None:
        st.plotly_chart(figure, width="stretch", config=image_config("attention-entropy"), key="compare_entropy")
    st.caption("Entropy in **bits** of each step's attention over the source pieces (`</s>` included): 0 bits "
               "means all attention on one piece; the dashed line is attention spread evenly. "
               "Models without attention have no attention to measure.")


def show_lengths(configs: dict[str, dict | None], font_size: int) -> None:
    """Test BLEU by source length from the model cards: where attention pays off (Bahdanau et al., fig. 2)."""
    frame = length_frame(configs)
    if not len(frame):
        return
    st.subheader("Which model holds up on long sentences?")
    st.altair_chart(length_chart(frame, font_size), width="stretch")
    missing = [name for name in configs if name not in set(frame["model"])]
    st.caption("From each model card: beam search on the model's own held-out test sentences, grouped by source "
               "length. Models trained on the same data in the same direction share one test split; hover a "
               "point for its number of sentences."
               + (f" No record for: {escape_markdown(', '.join(missing))}." if missing else ""))


def pick_models(names: list[str], big: bool) -> list[str]:
    """The checkpoints to compare, from the page's picker (kept across pages, in the URL)."""
    st.session_state[MODELS_KEY] = initial_selection(names, big) if MODELS_KEY not in st.session_state else \
        [n for n in st.session_state[MODELS_KEY] if n in names]
    selection = st.session_state[MODELS_KEY]
    # On a projector the picker (a chip per model) would push the heatmaps below the fold: fold it away.
    picker_place = st.expander(escape_markdown("Models: " + ", ".join(selection)), expanded=len(selection) < 2) \
        if big else st.container()
    with picker_place:
        chosen = st.multiselect("Checkpoints", names, key=MODELS_KEY, max_selections=MAX_MODELS,
                                format_func=describe_checkpoint, placeholder="Pick two to four checkpoints",
                                help="The sentence and decoding settings come from the sidebar")
    st.session_state[MODELS_KEPT] = list(chosen)
    set_url(models=",".join(chosen))
    return chosen


def render():
    big = classroom()
    if not big:  # on a projector the menu names the page: its height goes to the heatmaps
        st.title("Compare")
    names = available_checkpoints()
    if not names:
        st.info(NO_CHECKPOINT)
        return
    chosen = pick_models(names, big)
    if len(chosen) < 2:
        st.info("Pick at least two checkpoints to compare them side by side.")
        return
    # The heatmaps' words/pieces switch is theirs, in the browser (no server run); a link's ?words= opens it.
    merge = words_choice(big)
    request = Request(st.session_state.get("sentence", ""), st.session_state.get("settings") or DecodeSettings(),
                      merge, big, source_language_of(st.session_state.get("checkpoint")))
    columns = decode_all(chosen, request)
    show_columns(columns, request)
    if choices := {c.name: c.choice for c in columns if c.choice is not None}:
        set_url(column_heads=",".join(f"{name}:{choice.key}" for name, choice in choices.items()))
    # From here on each Transformer column's attention is its chosen head(s).
    for column in columns:
        if column.trace is not None:
            column.trace = with_choice(column.trace, column.choice)
    if len({tuple(c.trace.source_tokens) for c in columns if c.trace is not None}) > 1:
        st.caption("These checkpoints cut the sentence into different pieces, so their source axes differ.")
    else:
        st.caption("Same source axis in every column; colour is the attention weight from 0 (white) to 1 "
                   "(dark blue), the same scale everywhere.")
    if not big:  # the words/pieces switch is in the first heatmap; how words are made, here
        st.caption("Words instead of pieces: " + MERGE_RULE)
    if not big:
        show_entropy(columns, request)
        show_difference(columns, request)
    show_alignments(columns, request)
    show_lengths({c.name: c.config for c in columns}, request.font_size)


render()
