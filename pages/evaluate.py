"""Evaluate: translate a batch (pasted or an uploaded TSV), score it, find the worst sentences.

Decoding follows the sidebar: beam search with its width and length penalty,
or greedy. The table can be ranked by coverage flags (nmt_core.explain.coverage): each translation's
attention, read back by forced decoding, names the source words that look dropped or repeated.
Results are kept per (checkpoint, batch, beam, length penalty) for the whole process, so coming back
to a batch (or sharing the machine with a colleague evaluating the same one) costs nothing.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import streamlit as st

from nmt_core.checkpoint import CheckpointError
from nmt_core.evaluate import (
    MAX_LINES,
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_MB,
    EvalInputError,
    EvalRow,
    corpus_scores,
    decode_upload,
    length_records,
    parse_eval_text,
    scores_by_source_length,
    size_limit_text,
    translate_many,
)
from nmt_core.explain.forced import has_attention
from nmt_core.views.evaluation import beam_curve, coverage_columns, rank_by_coverage, results_csv, sentence_frame
from nmt_core.views.models import records_frame
from pages.lib.charts import beam_curve_chart, length_chart
from pages.lib.common import (
    NO_CHECKPOINT,
    checkpoint_root,
    classroom,
    config_of,
    escape_markdown,
    folder_signature,
    leave_legacy_mode,
    load,
)
from pages.lib.style import figure_font_size

leave_legacy_mode()  # a fresh server's first visit to this page's link: see pages/lib/common.py

CURVE_BEAMS = (1, 2, 4, 8)
CURVE_SENTENCES = 200  # the curve decodes the batch once per width: cap it so it takes seconds, not minutes
STORE_ENTRIES = 32
COVERAGE_ORDER = "coverage flags first"
PLACEHOLDER = "¿Dónde está la estación?\tWhere is the station?\nTengo hambre.\tI'm hungry.\tI am hungry."


@st.cache_resource
def shared_store() -> tuple[OrderedDict, threading.Lock]:
    """Finished evaluations and curves, shared by every session (they depend only on their key)."""
    return OrderedDict(), threading.Lock()


def store() -> OrderedDict:
    return shared_store()[0]


def remember(key: tuple, value) -> None:
    """Keep a result, forgetting the oldest beyond STORE_ENTRIES (sessions run in threads: hence the lock)."""
    results, lock = shared_store()
    with lock:
        results[key] = value
        while len(results) > STORE_ENTRIES:
            results.popitem(last=False)


def batch_key(name: str, rows: list[EvalRow], beam: int, length_penalty: float) -> tuple:
    """(checkpoint folder, its weights' checksum and files' state, the batch's digest, beam, α): what a
    result depends on. A checkpoint changed on disk gets a new key, so no result of its old files is shown."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update("\t".join([row.source, *row.references]).encode() + b"\n")
    weights = ((config_of(name) or {}).get("sha256") or {}).get("model.safetensors", "")
    folder = checkpoint_root() / name
    return str(folder), (weights, folder_signature(folder)), digest.hexdigest(), beam, length_penalty


def decoding_choice() -> tuple[int, float]:
    """The sidebar's beam width and length penalty; greedy (beam 1) for greedy or sampling."""
    settings = st.session_state.get("settings")
    if settings is not None and settings.method == "beam":
        return settings.beam_size, settings.length_penalty
    return 1, 1.0


def read_input() -> list[EvalRow] | None:
    """The pasted or uploaded batch, parsed; None (with a message) when there is nothing usable."""
    mode = st.radio("Input", ["Paste", "Upload a TSV file"], horizontal=True, key="evaluate_input",
                    label_visibility="collapsed")
    if mode == "Paste":
        text = st.text_area("Sentences, one per line: source, then optionally a tab and reference(s)",
                            key="evaluate_text", height=180, max_chars=MAX_UPLOAD_BYTES, placeholder=PLACEHOLDER)
        if not text.strip():
            st.info("Paste sentences to translate, one per line. Add a tab and a reference translation after each "
                    "(more tabs for more references) to get BLEU and chrF.")
            return None
        try:  # the same limit as a file, in UTF-8 bytes (a character may take up to four)
            decode_upload(text.encode("utf-8", errors="replace"), what="text")
        except EvalInputError as error:
            st.warning(escape_markdown(str(error)))
            return None
    else:
        # One limit everywhere: Streamlit's uploader counts an MB as 1,000,000 bytes, as MAX_UPLOAD_BYTES does.
        upload = st.file_uploader(f"TSV file (UTF-8, up to {size_limit_text()} and {MAX_LINES:,} lines)",
                                  type=["tsv", "txt"], key="evaluate_file", max_upload_size=MAX_UPLOAD_MB)
        if upload is None:
            st.info("Upload a file of `source<TAB>reference` lines (references optional; more tabs for more "
                    "references).")
            return None
        try:
            text = decode_upload(upload.getvalue())
        except EvalInputError as error:
            st.warning(escape_markdown(str(error)))
            return None
    try:
        return parse_eval_text(text)
    except EvalInputError as error:
        st.warning(escape_markdown(str(error)))
        return None


def evaluate(name: str, rows: list[EvalRow], beam: int, length_penalty: float) -> dict:
    """Translate and score the batch with a progress bar; the result dict the page shows."""
    translator = load(name).translator
    bar = st.progress(0.0, text="Translating…")

    def on_progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"Translated {done:,} of {total:,} sentences")

    hypotheses = translate_many(translator, [row.source for row in rows], beam, length_penalty, on_progress)
    bar.empty()
    scored = bool(rows[0].references)
    references = [row.references for row in rows]
    return {
        "frame": sentence_frame(rows, hypotheses, name, beam, length_penalty),
        "scores": corpus_scores(hypotheses, references) if scored else None,
        "by_length": length_records(scores_by_source_length([row.source for row in rows], hypotheses, references))
        if scored else [],
    }


def coverage_of(name: str, key: tuple, frame) -> object | None:
    """The batch's coverage flags (computed once per batch key, shared like the results); None (with a
    message) for a model without attention."""
    translator = load(name).translator
    if not has_attention(translator.model):
        st.info("This model has no attention, so there is no coverage to rank by.")
        return None
    coverage_key = ("coverage", *key)
    coverage = store().get(coverage_key)
    if coverage is None:
        bar = st.progress(0.0, text="Reading the attention of each translation…")

        def on_progress(done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"Coverage of {done:,} of {total:,} translations")

        coverage = coverage_columns(translator, frame, config_of(name), on_progress)
        bar.empty()
        remember(coverage_key, coverage)
    return coverage


def show_results(name: str, result: dict, beam: int, key: tuple) -> None:
    scores, frame = result["scores"], result["frame"]
    if scores is not None:
        columns = st.columns(3)
        columns[0].metric("BLEU", f"{scores.bleu:.1f}")
        columns[1].metric("chrF", f"{scores.chrf:.1f}")
        columns[2].metric("Sentences", f"{scores.sentences:,}")
        if not classroom():
            st.caption(f"sacrebleu corpus scores. {escape_markdown(scores.bleu_signature)} · "
                       f"chrF {escape_markdown(scores.chrf_signature)}")
    first = "worst score first" if scores is not None else "line order"
    order = st.radio("Order", [first, COVERAGE_ORDER], horizontal=True, key="evaluate_order",
                     help="Coverage: the source words no step looked at hard (perhaps left untranslated) or that "
                          "got far too much attention (perhaps translated twice), with the thresholds measured on "
                          "this model's dev sentences. Sentences with the most flags come first.")
    coverage = coverage_of(name, key, frame) if order == COVERAGE_ORDER else None
    if coverage is not None:
        frame = rank_by_coverage(frame, coverage)
        st.subheader("Sentences, most coverage flags first")
        flagged = int((frame["flags"] > 0).sum())
        st.caption(f"{flagged:,} of {len(frame):,} translations have a source word flagged. Flags are a hint, "
                   "not a verdict: read the source beside the translation.")
    elif scores is not None:
        st.subheader("Sentences, worst first")
    else:
        st.subheader("Translations")
        st.caption("No references, so no scores: add a tab and a reference after each source for BLEU and chrF.")
    shown = ["line", "bleu", "chrf", "source", "translation", "reference", "link"] if scores is not None else \
        ["line", "source", "translation", "link"]
    if coverage is not None:
        shown[1:1] = ["flags", "flagged"]
    st.dataframe(
        frame, hide_index=True, width="stretch", column_order=shown,
        column_config={
            "line": st.column_config.NumberColumn("line", width="small"),
            "bleu": st.column_config.NumberColumn("BLEU", format="%.1f", width="small",
                                                  help="Sentence BLEU (effective order)"),
            "chrf": st.column_config.NumberColumn("chrF", format="%.1f", width="small"),
            "reference": st.column_config.TextColumn("reference(s)"),
            "flags": st.column_config.NumberColumn("flags", width="small",
                                                   help="Source words flagged under- or over-translated"),
            "flagged": st.column_config.TextColumn("flagged words", help="under: no step looked at it hard; "
                                                   "over: attended to again and again"),
            "link": st.column_config.LinkColumn("open", display_text="Translate page ↗", width="small",
                                                help="Open this sentence in the Translate page (heatmap, n-best)"),
        },
    )
    st.download_button("Download as CSV", results_csv(frame), file_name=f"{name}-beam{beam}.csv", mime="text/csv",
                       icon=":material/download:")
    if len(result["by_length"]) > 1:
        st.subheader("BLEU by source length")
        lengths = records_frame({name: result["by_length"]})
        st.altair_chart(length_chart(lengths, figure_font_size(classroom()), title="BLEU by source length"),
                        width="stretch", height=300)
        st.caption("Corpus scores of the sentences in each group of source lengths (words); hover a point for "
                   "how many sentences it stands on. Attention models lose less as sentences grow.")


def show_curve(name: str, rows: list[EvalRow], length_penalty: float) -> None:
    st.subheader("BLEU by beam width")
    sample = rows[:CURVE_SENTENCES]
    capped = f"the first {len(sample):,} of {len(rows):,} sentences" if len(rows) > len(sample) else \
        f"all {len(rows):,} sentences"
    st.caption(f"Decodes {capped} once per beam width ({', '.join(map(str, CURVE_BEAMS))}), length penalty "
               f"{length_penalty:g}: wider beams find likelier translations, which are not always better ones.")
    key = ("curve", *batch_key(name, sample, 0, length_penalty)[:3], CURVE_BEAMS, length_penalty)
    curve = store().get(key)
    if curve is None:
        slot = st.empty()
        if not slot.button("Compute the curve", key="evaluate_curve"):
            return
        slot.empty()
        bar = st.progress(0.0, text="Decoding…")

        def on_progress(done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"Decoded {done:,} of {total:,} sentence × beam runs")

        curve = beam_curve(load(name).translator, sample, CURVE_BEAMS, length_penalty, on_progress)
        bar.empty()
        remember(key, curve)
    left, right = st.columns([3, 2])
    left.altair_chart(beam_curve_chart(curve, figure_font_size(classroom())), width="stretch", height=300)
    right.dataframe(curve, hide_index=True, width="stretch",
                    column_config={"bleu": st.column_config.NumberColumn("BLEU", format="%.2f"),
                                   "chrf": st.column_config.NumberColumn("chrF", format="%.2f"),
                                   "seconds": st.column_config.NumberColumn("seconds", format="%.1f")})


def render():
    st.title("Evaluate")
    name = st.session_state.get("checkpoint")
    if not name:
        st.info(NO_CHECKPOINT)
        return
    beam, length_penalty = decoding_choice()
    st.caption(f"Model **{escape_markdown(name)}**, " + (f"beam search width {beam}, length penalty "
               f"{length_penalty:g}" if beam > 1 else "greedy decoding") + " (from the sidebar).")
    rows = read_input()
    if rows is None:
        return
    key = batch_key(name, rows, beam, length_penalty)
    result = store().get(key)
    if result is None:
        label = f"Translate {len(rows):,} sentence{'s' if len(rows) != 1 else ''}"
        slot = st.empty()  # the button goes once the results are there
        with slot.container():
            pressed = st.button(label, type="primary", key="evaluate_run")
        if not pressed:
            return
        slot.empty()
        try:
            result = evaluate(name, rows, beam, length_penalty)
        except CheckpointError as error:
            st.error(f"This checkpoint cannot be loaded: {escape_markdown(str(error))}")
            return
        remember(key, result)
    show_results(name, result, beam, key)
    if result["scores"] is not None:
        try:
            show_curve(name, rows, length_penalty)
        except CheckpointError as error:
            st.error(f"This checkpoint cannot be loaded: {escape_markdown(str(error))}")


render()
