"""Models: a card per checkpoint (architecture, data, training curves, scores, embedding projection).

Shows the sidebar's model, or every checkpoint as a list of expanders. A
checkpoint that cannot be read or loaded shows its error in its own card and
the rest of the page keeps working.
"""

import streamlit as st

from nmt_core import model_info
from nmt_core.checkpoint import CheckpointError, read_config
from nmt_core.model_figures import history_chart, length_chart, projection_figure
from nmt_core.projection import SIDES, Projection, embedding_projection
from pages.common import (
    NO_CHECKPOINT,
    available_checkpoints,
    checkpoint_root,
    classroom,
    config_of,
    describe_checkpoint,
    escape_markdown,
    load,
    load_cached,
    set_url,
)
from pages.style import figure_font_size

VIEWS = {"one": "The sidebar's model", "all": "All models"}
PIECE_COUNTS = (100, 200, 300, 500, 1000)


@st.cache_data(show_spinner="Projecting the embeddings…", max_entries=64)
def projection_cached(folder: str, side: str, count: int) -> dict:
    """PCA of one checkpoint's embeddings, once per (checkpoint folder, side, count)."""
    checkpoint = load_cached(folder)
    tokenizer = checkpoint.src_tokenizer if side == "source" else checkpoint.tgt_tokenizer
    projection = embedding_projection(checkpoint.model, tokenizer, side, count)
    return {"frame": projection.frame, "explained": projection.explained}


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
            if config.get("model", {}).get("attention") != "none":
                st.latex(model_info.WEIGHTS_LATEX)
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


def card(name: str) -> None:
    """Everything about one checkpoint. Never raises: a broken checkpoint shows its error."""
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
    headline(config, parameters, files)
    st.caption(escape_markdown(model_info.credit(config)))
    tabs = ["Architecture", "Training"] + (["Embeddings"] if checkpoint is not None else []) + \
        ([] if classroom() else ["Files"])
    views = dict(zip(tabs, st.tabs(tabs), strict=True))
    with views["Architecture"]:
        architecture(config, checkpoint)
    with views["Training"]:
        training(name, config)
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
        card(selected)
        return
    overview(names)
    for name in names:
        with st.expander(escape_markdown(describe_checkpoint(name)), expanded=name == selected):
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
