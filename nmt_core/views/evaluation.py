"""The Evaluate page's tables: per-sentence scores worst first, BLEU against beam width, the CSV export,
and the batch ranked by coverage flags (source words that look dropped or repeated).

Data shaping only (pandas); the scoring itself is :mod:`nmt_core.evaluate`, the flags
:mod:`nmt_core.explain.coverage`.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from urllib.parse import urlencode

import pandas as pd
from sacrebleu.metrics import BLEU, CHRF

from ..decoding import InputError, Translator
from ..decoding.trace import Step, Trace
from ..evaluate import EvalRow, Progress, corpus_scores, translate_many


def translate_link(model: str, source: str, beam_size: int, length_penalty: float) -> str:
    """A relative link that opens ``source`` in the Translate page with the same model and beam."""
    query = {"model": model, "text": source, "method": "beam", "beam": beam_size, "lp": length_penalty}
    return "./?" + urlencode(query)  # Translate is the default page, served at the app's root


def sentence_frame(rows: list[EvalRow], hypotheses: list[str], model: str, beam_size: int,
                   length_penalty: float) -> pd.DataFrame:
    """One row per sentence, worst first when there are references.

    Columns: line, source, translation, reference (several joined by " | "),
    bleu and chrf (sentence-level; NaN without references), link (to the
    Translate page). Sentence BLEU uses effective order, so short sentences
    are not all 0.
    """
    if len(rows) != len(hypotheses):
        raise ValueError(f"{len(rows)} sentences but {len(hypotheses)} translations")
    bleu, chrf = BLEU(effective_order=True), CHRF()
    records = []
    for row, hypothesis in zip(rows, hypotheses, strict=True):
        scored = bool(row.references)
        records.append({
            "line": row.line,
            "source": row.source,
            "translation": hypothesis,
            "reference": " | ".join(row.references),
            "bleu": bleu.sentence_score(hypothesis, row.references).score if scored else float("nan"),
            "chrf": chrf.sentence_score(hypothesis, row.references).score if scored else float("nan"),
            "link": translate_link(model, row.source, beam_size, length_penalty),
        })
    frame = pd.DataFrame(records, columns=["line", "source", "translation", "reference", "bleu", "chrf", "link"])
    if rows and rows[0].references:
        frame = frame.sort_values(["bleu", "chrf", "line"], kind="stable").reset_index(drop=True)
    return frame


def beam_curve(translator: Translator, rows: list[EvalRow], beams: Sequence[int] = (1, 2, 4, 8),
               length_penalty: float = 1.0, on_progress: Progress | None = None) -> pd.DataFrame:
    """Corpus BLEU and chrF of ``rows`` at each beam width: columns beam, bleu, chrf, seconds.

    Progress counts sentences over all widths together (``len(rows) * len(beams)``).
    """
    if not rows or not all(row.references for row in rows):
        raise ValueError("a BLEU-vs-beam curve needs a reference for every sentence")
    sources, references = [row.source for row in rows], [row.references for row in rows]
    total = len(sources) * len(beams)
    records = []
    for index, beam in enumerate(beams):
        offset = index * len(sources)

        def report(done: int, _: int, offset=offset):
            if on_progress:
                on_progress(offset + done, total)

        started = time.perf_counter()
        hypotheses = translate_many(translator, sources, beam, length_penalty, report)
        seconds = time.perf_counter() - started
        scores = corpus_scores(hypotheses, references)
        records.append({"beam": beam, "bleu": scores.bleu, "chrf": scores.chrf, "seconds": seconds})
    return pd.DataFrame(records, columns=["beam", "bleu", "chrf", "seconds"])


# --------------------------------------------------------------------------- coverage

COVERAGE_COLUMNS = ("flags", "flagged", "flag_strength")


def forced_trace(translator: Translator, source: str, translation: str) -> Trace | None:
    """The attention the decoder had while writing ``translation``: its pieces forced through the model
    (teacher forcing gives the same rows as the decode that wrote them), as a Trace coverage can read.
    None when the source is refused, the translation empty or the model has no attention."""
    from ..explain.forced import attention_matrix

    try:
        prepared = translator.prepare(source)
    except InputError:
        return None
    target = translator.tgt_tokenizer.encode(translation)
    if not target:
        return None
    rows = attention_matrix(translator.model, prepared.ids, target)
    if rows is None:
        return None
    pieces = translator.tgt_tokenizer.pieces(target)
    steps = [Step(index=i, token_id=token, token=piece, logprob=0.0, attention=row.tolist())
             for i, (token, piece, row) in enumerate(zip(target, pieces, rows[: len(target)], strict=True))]
    return Trace("beam", {}, prepared.text, prepared.tokens, steps, translation, finished=False)


def flag_strength(word, thresholds: dict) -> float:
    """How far past its threshold a flagged word is, as a share of the threshold (0 for an unflagged one)."""
    if word.flag == "under":
        return (thresholds["under"] - word.peak) / max(thresholds["under"], 1e-9)
    if word.flag == "over":
        return (word.coverage - thresholds["over"]) / max(thresholds["over"], 1e-9)
    return 0.0


def coverage_columns(translator: Translator, frame: pd.DataFrame, config: dict | None,
                     on_progress: Progress | None = None) -> pd.DataFrame:
    """Per row of a :func:`sentence_frame`: ``flags`` (how many source words are flagged), ``flagged`` (the
    words, “word” under or over) and ``flag_strength`` (the sum of :func:`flag_strength`), from the
    checkpoint's measured thresholds (config.json). Same index as ``frame``."""
    from ..explain.coverage import coverage_flags, thresholds_of

    thresholds = thresholds_of(config)
    records = []
    for done, (source, translation) in enumerate(zip(frame["source"], frame["translation"], strict=True)):
        trace = forced_trace(translator, source, translation)
        flagged = coverage_flags(trace, thresholds, translator.src_tokenizer) if trace is not None else []
        records.append({"flags": len(flagged),
                        "flagged": ", ".join(f"“{w.word}” {w.flag}" for w in flagged),
                        "flag_strength": round(sum(flag_strength(w, thresholds) for w in flagged), 3)})
        if on_progress:
            on_progress(done + 1, len(frame))
    return pd.DataFrame(records, columns=list(COVERAGE_COLUMNS), index=frame.index)


def rank_by_coverage(frame: pd.DataFrame, coverage: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the coverage columns, most flagged first (then the strongest flags, then line order)."""
    joined = frame.drop(columns=[c for c in COVERAGE_COLUMNS if c in frame.columns]).join(coverage)
    return joined.sort_values(["flags", "flag_strength", "line"], ascending=[False, False, True],
                              kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- export


# A spreadsheet reads a cell starting with one of these as a formula (``=HYPERLINK(...)``, ``+cmd|...``):
# OWASP's CSV-injection advice is to make such a cell text by putting a single quote before it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(text: str) -> str:
    """A text cell that a spreadsheet will show as text, never run as a formula (OWASP, CSV injection)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def results_csv(frame: pd.DataFrame) -> bytes:
    """The per-sentence table as CSV (UTF-8 with a byte-order mark, so spreadsheets read accents right).

    Text cells that a spreadsheet would read as a formula get a leading single quote (:func:`neutralise_cell`).
    """
    columns = [c for c in ("line", "source", "translation", "reference", "bleu", "chrf", "flags", "flagged")
               if c in frame.columns]
    out = frame[columns].copy()
    for column in ("bleu", "chrf"):
        if column in out.columns:
            out[column] = out[column].round(2)
    for column in ("source", "translation", "reference", "flagged"):
        if column in out.columns:
            out[column] = out[column].map(lambda cell: neutralise_cell(cell) if isinstance(cell, str) else cell)
    # Every text cell quoted (OWASP's advice too): a cell holding a lone carriage return stays one cell.
    return out.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC).encode("utf-8-sig")
