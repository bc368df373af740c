"""Models: a card per checkpoint (architecture, data, training curves, scores, embedding projection).

A checkpoint trained with probe sentences (probes.json) also gets "Attention as it formed": one probe
sentence's heatmap epoch by epoch, with dev BLEU and the attention's entropy beside it, in words or pieces. Every
epoch of the chosen probe reaches the browser once, and the epoch scrubber (a slider, play, a click on the curve),
the words/pieces switch, the metrics and the curve's marker all run there (the heatmap component,
nmt_core/figures/components/heatmap.js and epochs.js): no server run until another probe sentence is chosen. The
link keeps the view (``?words=0|1``, words first on a projector) and, on the sidebar's model's card, the epoch
(``?epoch=``).

On a projector (classroom mode) the page has no title and the card's headline opens its first tab, so a
tab's figure, the probe heatmap sized to the screen, is whole on the first screen.

Shows the sidebar's model, or every checkpoint as a list of expanders. A
checkpoint that cannot be read or loaded shows its error in its own card and
the rest of the page keeps working.
"""

import json

import streamlit as st

from nmt_core.checkpoint import PROBES, CheckpointError, read_config, read_probes
from nmt_core.figures import component_data
from nmt_core.figures.models import projection_figure
from nmt_core.figures.sizing import ROW_HEIGHT, fitted_component_rows
from nmt_core.views import models as model_info
from nmt_core.views.probes import epoch_at, epoch_panel_payload, epoch_view_sizes, epochs_payload, probe_sources
from nmt_core.views.projection import SIDES, Projection, embedding_projection
from pages.lib.charts import history_chart, length_chart
from pages.lib.common import (
    NO_CHECKPOINT,
    available_checkpoints,
    checkpoint_root,
    classroom,
    config_of,
    describe_checkpoint,
    escape_markdown,
    leave_legacy_mode,
    load,
    load_cached,
    set_url,
    url_int,
)
from pages.lib.heatmap import draw_heatmap, heatmap_component
from pages.lib.style import figure_font_size

leave_legacy_mode()  # a fresh server's first visit to this page's link: see pages/lib/common.py

VIEWS = {"one": "The sidebar's model", "all": "All models"}
PIECE_COUNTS = (100, 200, 300, 500, 1000)
# px for the probe heatmap on a 1280x720 projector: it starts ~320 px down, below the card's name and its tabs
CLASSROOM_HEATMAP_HEIGHT = 380
TAB_PARAM = "tab"  # the open tab of the sidebar's model's card, in the link: ?tab=Embeddings


@st.cache_data(show_spinner="Projecting the embeddings…", max_entries=64)
def projection_cached(folder: str, side: str, count: int) -> dict:
    """PCA of one checkpoint's embeddings, once per (checkpoint folder, side, count)."""
    checkpoint = load_cached(folder)
    tokenizer = checkpoint.src_tokenizer if side == "source" else checkpoint.tgt_tokenizer
    projection = embedding_projection(checkpoint.model, tokenizer, side, count)
    return {"frame": projection.frame, "explained": projection.explained}


@st.cache_data(show_spinner=False, max_entries=32)
def _probes_cached(folder: str, stamp: int) -> list[dict]:
    # ``stamp`` (probes.json's modification time) is only part of the cache key.
    return read_probes(folder)


def probes_of(folder) -> list[dict]:
    """A checkpoint's probe traces per epoch ([] without probes.json); raises CheckpointError when malformed."""
    path = folder / PROBES
    return _probes_cached(str(folder), path.stat().st_mtime_ns) if path.is_file() else []


def words_choice() -> bool:
    """Words or pieces for the probe heatmaps: the link's ?words= (words first on a projector). The switch is the
    heatmap's, in the browser, which rewrites ?words= there: the next run (another probe, another card) reads it."""
    words = bool(url_int("words", int(classroom()), 0, 1))
    set_url(words=int(words))
    return words


def formation(name: str, folder, bound: bool = False) -> None:
    """Attention as it formed: a probe sentence's heatmap epoch by epoch, dev BLEU and the entropy beside it.

    Every epoch of the chosen probe goes to the browser once, in two elements of the heatmap component that
    nmt_core/figures/components/epochs.js links: the heatmap, and the panel beside it (the epoch scrubber, the
    translation, the metrics, the curve). Scrubbing and the words/pieces switch run there; choosing another probe
    sentence is a server run. ``bound``: the page's one card, whose epoch is the link's ``?epoch=``.

    On a projector the heatmap (sized to the screen) has the left column to itself, right below the tabs, and the
    probe and the panel stand right of it."""
    try:
        probes = probes_of(folder)
    except CheckpointError as error:
        st.error(f"The probe traces cannot be read: {escape_markdown(str(error))}")
        return
    if not probes:
        st.info("This checkpoint has no probe traces.")
        return
    big = classroom()
    if big:
        left, right = st.columns([3, 2])
    sources = probe_sources(probes)
    with right if big else st.container():
        index = st.selectbox("Probe sentence", list(range(len(sources))), format_func=sources.__getitem__,
                             key=f"models_probe_{name}",
                             help="Dev sentences the model never trained on, decoded (greedy) after every epoch")
    panel = epoch_panel_payload(probes, index)
    epochs = panel["epochs"]["epoch"]
    if not epochs:  # this probe was recorded at no epoch (a file written by another version)
        st.info("This probe sentence was not recorded.")
        return
    epoch = epoch_at(epochs, url_int("epoch", epochs[0], epochs[0], epochs[-1])) if bound else epochs[0]
    words = words_choice()
    font = figure_font_size(big)
    if not big:
        left, right = st.columns([3, 2])
    link = dict(link=f"models_probe_{name}", epoch=epoch, merge=words, font_size=font, classroom=big)
    with left:
        probe_heatmap_of(name, epochs_payload(probes, index), link, font)
    with right:
        heatmap_component()(key=f"models_probe_panel_{name}", data=component_data(
            compact_json(panel), key=f"models_probe_panel_{name}", panel=True, url="epoch" if bound else None,
            **link))
    if not big:
        st.caption("After every training epoch the model translated the same few dev sentences and kept its "
                   "attention (probes.json). Early on the attention is spread out; as the model learns, each "
                   "target word locks onto the source words it translates, and dev BLEU rises with it. Slide "
                   "through the epochs, press play, or click the curve.")


def compact_json(payload: dict) -> bytes:
    """A payload as JSON bytes, pieces as UTF-8 (3 bytes a ▁, where \\u2581 is 6)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


PROBE_HEATMAPS = "models_probes"  # the probe heatmaps' follow name (heatmap.js)


def probe_heatmap_of(name: str, payload: dict | None, link: dict, font: int) -> None:
    """The probe's heatmap, every epoch (on a projector sized to the screen, labels shrinking with the rows: one size
    for all epochs); ``payload``: None for a model without attention."""
    if payload is None:
        st.info("This model has no attention, so there is no heatmap: only the translation changes.")
        return
    fit = {view: list(fitted_component_rows(size.rows, size.source_chars, CLASSROOM_HEATMAP_HEIGHT, font))
           for view, size in epoch_view_sizes(payload).items()} if link["classroom"] else None
    # follow: in the all-models list, one card's words/pieces switch redraws every card's heatmap in the browser
    draw_heatmap(f"models_probe_heatmap_{name}", compact_json(payload), f"probe-{name}", row_height=ROW_HEIGHT,
                 fit=fit, follow=PROBE_HEATMAPS, **link)


def chart_height() -> int:
    return 340 if classroom() else 270


def table(frame) -> None:
    """A two-column label/value table (text only: config values may come from anywhere)."""
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={"": st.column_config.TextColumn(width="medium"), "value": "value"})


def headline(config: dict, parameters: int | None, files) -> None:
    """Test scores, size and training length in one row of metrics."""
    summary = model_info.metrics_summary(config)
    columns = st.columns(4)
    columns[0].metric("Test BLEU", f"{summary['bleu']:.1f}" if "bleu" in summary else "–",
                      help=f"sacrebleu on {summary.get('sentences', '?')} held-out sentences, beam "
                           f"{summary.get('beam', '?')}, length penalty {summary.get('length_penalty', '?')}")
    columns[1].metric("Test chrF", f"{summary['chrf']:.1f}" if "chrf" in summary else "–",
                      help="Character n-gram F-score: partial credit for nearly right words")
    columns[2].metric("Parameters", f"{parameters:,}" if parameters is not None else "–")
    columns[3].metric("Size on disk", model_info.human_size(int(files["bytes"].sum())) if len(files) else "–")
    if "signature" in summary and not classroom():
        st.caption(f"BLEU signature: {escape_markdown(summary['signature'])}")


def architecture(config: dict, checkpoint) -> None:
    info = model_info.attention_info(config)
    left, right = st.columns([3, 2])
    with left:
        table(model_info.architecture_frame(config))
    with right:
        if info is None:
            st.warning("Unknown attention type in config.json.")
        else:
            st.markdown(f"**{info.title}**")
            st.latex(info.latex)
            for latex in model_info.formula_latex(config):
                st.latex(latex)
            st.caption(info.explanation)
    if checkpoint is not None and not classroom():
        st.caption("Parameters per part (a tensor shared by two layers counts once)")
        st.dataframe(model_info.parameter_frame(checkpoint.model), hide_index=True, width="stretch",
                     column_config={"parameters": st.column_config.NumberColumn(format="localized"),
                                    "share": st.column_config.ProgressColumn(format="percent", min_value=0,
                                                                             max_value=1)})


LENGTH_CAPTION = ("Beam search on this model's own held-out test sentences, grouped by how many words the source "
                  "has. Longer sentences are harder for every model; hover a point for how many sentences it "
                  "stands on (the longest groups are small, so noisy).")


def training(name: str, config: dict) -> None:
    history = model_info.history_frame(config)
    font = figure_font_size(classroom())
    if history.empty:
        st.info("This checkpoint has no per-epoch history.")
    else:
        quantities = [q for q in ("loss", "token accuracy", "BLEU") if (history["quantity"] == q).any()]
        for column, quantity in zip(st.columns(len(quantities)), quantities, strict=True):
            column.altair_chart(history_chart(history, quantity, font), width="stretch", height=chart_height())
    lengths = model_info.length_frame({name: config})
    if len(lengths):
        st.altair_chart(length_chart(lengths, font), width="stretch", height=chart_height())
        st.caption(LENGTH_CAPTION)
    left, right = st.columns(2)
    with left:
        st.caption("Data")
        table(model_info.data_frame(config))
    with right:
        st.caption("Training")
        table(model_info.training_frame(config))


def embeddings(name: str, checkpoint) -> None:
    if checkpoint is None:
        st.info("The weights could not be loaded, so there are no embeddings to show.")
        return
    left, right = st.columns(2)
    side = left.radio("Embeddings", SIDES, index=1, horizontal=True, key=f"models_side_{name}",
                      format_func=lambda s: f"{s} language")
    count = right.select_slider("Most frequent pieces", PIECE_COUNTS, value=300, key=f"models_count_{name}")
    try:
        cached = projection_cached(str(checkpoint_root() / name), side, count)
    except ValueError as error:
        st.warning(escape_markdown(str(error)))
        return
    projection = Projection(cached["frame"], cached["explained"])
    st.plotly_chart(projection_figure(projection, font_size=figure_font_size(classroom())), width="stretch",
                    key=f"models_projection_{name}")
    tied = checkpoint.config.get("model", {}).get("tie_embeddings") and side == "target"
    st.caption(
        f"Each point is one of the {len(projection.frame)} most frequent {side} pieces (SentencePiece log-prob "
        f"scores), placed by the first two principal components of its learned embedding. Pieces used alike "
        f"end up close together. Hover a point for its piece."
        + (" The target embeddings double as the output layer's weights (tied), so they are also what the "
           "decoder compares its state with to choose a word." if tied else "")
    )


def card(name: str, bound: bool = False) -> None:
    """Everything about one checkpoint, one tab at a time. Never raises: a broken checkpoint shows its error.

    ``bound``: this is the page's one card (the sidebar's model), whose open tab is the link's ``?tab=``."""
    folder = checkpoint_root() / name
    try:
        config = read_config(folder)
    except CheckpointError as error:
        st.error(f"This checkpoint cannot be read: {escape_markdown(str(error))}")
        return
    checkpoint = None
    try:
        checkpoint = load(name)
    except CheckpointError as error:
        st.error(f"The weights of this checkpoint cannot be loaded: {escape_markdown(str(error))}")
    files = model_info.file_frame(folder)
    parameters = model_info.parameter_count(checkpoint.model) if checkpoint is not None else None
    big = classroom()
    if not big:
        headline(config, parameters, files)
        st.caption(escape_markdown(model_info.credit(config)))
    labels = ["Architecture", "Training"] + (["Attention as it formed"] if (folder / PROBES).is_file() else []) + \
        (["Embeddings"] if checkpoint is not None else []) + ([] if classroom() else ["Files"])
    # Lazy tabs: only the open tab's content runs and reaches the browser; opening another is a server run.
    # With every tab built, each load drew all of them (3 plotly figures, 3 altair charts, 3 tables) while one
    # is seen. The sidebar's model's card keeps its open tab in the link (?tab=Embeddings): Streamlit's own
    # binding, which drops the parameter on the first tab (the default) and ignores a label the card lacks.
    tabs = st.tabs(labels, key=TAB_PARAM if bound else f"models_tab_{name}", on_change="rerun",
                   bind="query-params" if bound else None)
    views = {label: tab for label, tab in zip(labels, tabs, strict=True) if tab.open}
    if "Architecture" in views:
        with views["Architecture"]:
            if big:  # on a projector the tabs come first, so that a tab's figure opens on the first screen
                headline(config, parameters, files)
                st.caption(escape_markdown(model_info.credit(config)))
            architecture(config, checkpoint)
    if "Training" in views:
        with views["Training"]:
            training(name, config)
    if "Attention as it formed" in views:
        with views["Attention as it formed"]:
            formation(name, folder, bound)
    if "Embeddings" in views:
        with views["Embeddings"]:
            embeddings(name, checkpoint)
    if "Files" in views:
        with views["Files"]:
            total = model_info.human_size(int(files["bytes"].sum()))
            st.dataframe(files, hide_index=True, width="stretch",
                         column_config={"bytes": st.column_config.NumberColumn(format="localized")})
            st.caption(f"{len(files)} files, {total} in all, in `{escape_markdown(folder.name)}/`")


def render():
    if not classroom():  # on a projector the menu names the page: its height goes to the card
        st.title("Models")
    names = available_checkpoints()
    selected = st.session_state.get("checkpoint")
    if not names:
        st.info(NO_CHECKPOINT)
        return
    if "models_view" not in st.session_state:
        st.session_state["models_view"] = "all" if st.query_params.get("show") == "all" else "one"
    view = st.radio("Show", list(VIEWS), key="models_view", horizontal=True, format_func=VIEWS.__getitem__,
                    label_visibility="collapsed")
    set_url(show=view)
    if view == "one" and selected in names:
        st.subheader(escape_markdown(describe_checkpoint(selected)))
        card(selected, bound=True)
        return
    overview(names)
    for name in names:
        # Lazy as the tabs: a folded card is not built (opening it is a server run).
        expander = st.expander(escape_markdown(describe_checkpoint(name)), expanded=name == selected,
                               key=f"models_card_{name}", on_change="rerun")
        if expander.open:
            with expander:
                card(name)


def overview(names: list[str]) -> None:
    """All checkpoints side by side, to choose one; each card below has the details."""
    sizes = {name: int(model_info.file_frame(checkpoint_root() / name)["bytes"].sum()) for name in names}
    frame = model_info.overview_frame({name: config_of(name) for name in names}, sizes)
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={"parameters": st.column_config.NumberColumn(format="localized"),
                                "test BLEU": st.column_config.NumberColumn(format="%.2f"),
                                "test chrF": st.column_config.NumberColumn(format="%.2f")})
    st.caption("Test scores: sacrebleu, beam 5, on each model's own held-out test split (models trained on the "
               "same data in the same direction share it). Training minutes are wall-clock time on the hardware "
               "in each card.")


render()
