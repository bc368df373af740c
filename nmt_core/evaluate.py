"""Evaluation: read a batch, translate it, score it (sacrebleu BLEU and chrF).

The pieces, in the order the Evaluate page and ``python -m nmt_core evaluate`` use them:

* :func:`decode_upload` / :func:`parse_eval_text` / :func:`read_eval_tsv`: bytes or text of
  ``source[<TAB>reference[<TAB>more references]]`` lines -> :class:`EvalRow` list, with an
  :class:`EvalInputError` naming the line and what is wrong with it.
* :func:`translate_many`: sources -> translations, reporting progress through a callback.
* :func:`corpus_scores`: corpus scores.
* :func:`scores_by_source_length`: corpus BLEU/chrF per source-length bucket (where attention helps).

The page's tables (per-sentence scores, BLEU against beam width, the CSV export) are shaped in
:mod:`nmt_core.views.evaluation`; this module imports no pandas.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sacrebleu.metrics import BLEU, CHRF

from .decoding import DecodeSettings, Translator
from .decoding.batch import beam_search_batch
from .text import normalize

# The one upload limit: the page, its uploader and .streamlit/config.toml's maxUploadSize (in MB, which
# Streamlit counts as 1,000,000 bytes) all say 2 MB. A CPU translates ~5,000 lines in minutes, not seconds.
MAX_UPLOAD_MB = 2
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1_000_000
MAX_LINES = 5000
MAX_LINE_CHARACTERS = 1000  # per source: evaluation is of sentences, and a cut sentence would skew BLEU
CHUNK = 64  # sentences decoded together between two progress reports
FORMAT = "source<TAB>reference[<TAB>reference...]"  # references optional on the page, required by the CLI

Progress = Callable[[int, int], None]  # on_progress(done, total)


@dataclass
class Scores:
    bleu: float
    chrf: float
    sentences: int
    references: int  # the most references any source has
    bleu_signature: str
    chrf_signature: str


@dataclass
class EvalRow:
    """One line of an evaluation batch. ``line``: 1-based line number in the input."""

    line: int
    source: str
    references: list[str]


class EvalInputError(ValueError):
    """A batch that cannot be evaluated. ``problem`` says what is wrong; ``line`` (1-based) is where,
    or None for the whole input (empty, too big, not UTF-8). ``str()`` reads "Line 3: problem"."""

    def __init__(self, problem: str, line: int | None = None):
        self.problem, self.line = problem, line
        super().__init__(f"Line {line}: {problem}" if line else problem)


# --------------------------------------------------------------------------- reading


def size_limit_text(max_bytes: int = MAX_UPLOAD_BYTES) -> str:
    """The limit as the page says it: "2 MB (2,000,000 bytes)"."""
    return f"{max_bytes / 1e6:g} MB ({max_bytes:,} bytes)"


def decode_upload(data: bytes, max_bytes: int = MAX_UPLOAD_BYTES, what: str = "file") -> str:
    """An uploaded file's bytes -> text; clear errors for empty, too large and non-UTF-8 files."""
    if not data:
        raise EvalInputError(f"The {what} is empty.")
    if len(data) > max_bytes:
        raise EvalInputError(f"The {what} is {len(data):,} bytes; the limit is {size_limit_text(max_bytes)}. "
                             "Split it, or evaluate a sample of it.")
    try:
        return data.decode("utf-8-sig")  # -sig: drop the byte-order mark spreadsheet programs write
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise EvalInputError(f"not valid UTF-8 (byte {error.start + 1} of the file); save the file as UTF-8 "
                             "(any spreadsheet or editor can) and upload it again", line) from None


def parse_eval_text(text: str, require_references: bool = False, max_lines: int | None = MAX_LINES,
                    max_characters: int | None = MAX_LINE_CHARACTERS) -> list[EvalRow]:
    """``source[<TAB>reference[<TAB>reference...]]`` lines -> rows; blank lines are skipped.

    ``max_lines`` caps the sentences, ``max_characters`` each source (None: no limit).
    References are optional, but all or nothing: a batch where some lines have
    references and some do not is an error (its BLEU would silently cover only
    part of it). Raises :class:`EvalInputError` naming the first bad line.
    """
    rows: list[EvalRow] = []
    lines = text.removeprefix("\ufeff").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if max_lines is not None and len(rows) >= max_lines:
            raise EvalInputError(f"more than {max_lines:,} sentences; evaluate at most {max_lines:,} at a time",
                                 number)
        row = _eval_row(number, line, require_references, max_characters)
        if rows and bool(rows[0].references) != bool(row.references):
            first = rows[0]
            raise EvalInputError(
                f"{'a' if row.references else 'no'} reference, but line {first.line} has "
                f"{'one' if first.references else 'none'}: give every line a reference (for BLEU), or none "
                "(translations only)", number)
        rows.append(row)
    if not rows:
        raise EvalInputError("No sentences: write one sentence per line, optionally followed by a tab and its "
                             "reference translation.")
    return rows


def _eval_row(number: int, line: str, require_references: bool, max_characters: int | None) -> EvalRow:
    """One non-blank ``source[<TAB>reference...]`` line as a row (EvalInputError naming line ``number``)."""
    columns = line.split("\t")
    source = columns[0].strip()
    references = [c.strip() for c in columns[1:] if c.strip()]
    expected = f"expected '{FORMAT}'" if require_references else f"expected '{FORMAT}' or just 'source'"
    if not normalize(source):
        raise EvalInputError(f"{expected}, but the source (before the first tab) is empty", number)
    if max_characters is not None and len(source) > max_characters:
        raise EvalInputError(f"the source is {len(source):,} characters long; the limit is "
                             f"{max_characters:,} (one sentence per line)", number)
    if len(columns) > 1 and not references:
        raise EvalInputError(f"{expected}, but there is nothing after the tab", number)
    if require_references and not references:
        raise EvalInputError(f"{expected}, but there is no tab and reference after the source", number)
    return EvalRow(number, source, references)


def read_eval_tsv(path: str | Path) -> list[tuple[str, list[str]]]:
    """A file of ``source<TAB>ref[<TAB>ref...]`` lines -> [(source, [refs])]; every line needs a reference.

    Errors read ``PATH:LINE: problem`` (raised as ValueError) and the file may be of any length.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not valid UTF-8 ({error.reason} at byte {error.start + 1})") from None
    try:
        rows = parse_eval_text(text, require_references=True, max_lines=None, max_characters=None)
    except EvalInputError as error:
        where = f"{path}:{error.line}" if error.line else f"{path}"
        raise ValueError(f"{where}: {error.problem}") from None
    return [(row.source, row.references) for row in rows]


# --------------------------------------------------------------------------- translating


def translate_many(translator: Translator, sources: Sequence[str], beam_size: int, length_penalty: float,
                   on_progress: Progress | None = None) -> list[str]:
    """Translations of ``sources``, in order, calling ``on_progress(done, total)`` as it goes.

    Batched beam search (:func:`nmt_core.decoding.batch.beam_search_batch`) in chunks
    of :data:`CHUNK` sentences: each sentence gets exactly the translation the
    Translate page gives it with the same beam and length penalty. A sentence
    the translator refuses (empty after normalisation) gets an empty translation.
    """
    report = on_progress or (lambda done, total: None)
    report(0, len(sources))
    settings = DecodeSettings(method="beam", beam_size=max(beam_size, 1), n_best=1, length_penalty=length_penalty)
    results = beam_search_batch(translator, list(sources), settings, batch_size=CHUNK, on_progress=report)
    return [result.translation for result in results]


# --------------------------------------------------------------------------- scoring


def reference_streams(references: list[list[str]]) -> list[list[str | None]]:
    """Per-source reference lists -> sacrebleu's reference streams (None where a source has fewer)."""
    width = max((len(refs) for refs in references), default=0)
    return [[refs[i] if i < len(refs) else None for refs in references] for i in range(width)]


def corpus_scores(hypotheses: list[str], references: list[list[str]]) -> Scores:
    """Corpus BLEU and chrF of ``hypotheses`` against one or more references each."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    if not hypotheses:
        raise ValueError("nothing to score")
    if any(not refs for refs in references):
        raise ValueError("every source needs at least one reference")
    streams = reference_streams(references)
    bleu, chrf = BLEU(), CHRF()
    bleu_score = bleu.corpus_score(hypotheses, streams)
    chrf_score = chrf.corpus_score(hypotheses, streams)
    return Scores(
        bleu=bleu_score.score,
        chrf=chrf_score.score,
        sentences=len(hypotheses),
        references=len(streams),
        bleu_signature=str(bleu.get_signature()),
        chrf_signature=str(chrf.get_signature()),
    )


LENGTH_EDGES = (4, 8, 12, 16)  # bucket upper bounds in source words; the last bucket is "17+"


@dataclass
class LengthBucket:
    """Scores of the sources whose word count is in ``low..high`` (``high`` None: no upper bound)."""

    low: int
    high: int | None
    sentences: int
    bleu: float
    chrf: float

    @property
    def label(self) -> str:
        return f"{self.low}+" if self.high is None else f"{self.low}-{self.high}"


def scores_by_source_length(sources: Sequence[str], hypotheses: list[str], references: list[list[str]],
                            edges: Sequence[int] = LENGTH_EDGES) -> list[LengthBucket]:
    """Corpus BLEU and chrF per bucket of source length (whitespace words), shortest first.

    Bahdanau et al. (2015, figure 2) showed this curve: an encoder-decoder
    without attention loses BLEU as sentences grow, one with attention much
    less. Buckets no source falls in are left out; each bucket is scored as a
    corpus of its own, so buckets of a few sentences are noisy.
    """
    if not len(sources) == len(hypotheses) == len(references):
        raise ValueError(f"{len(sources)} sources, {len(hypotheses)} hypotheses, {len(references)} reference lists")
    bounds = list(zip((1, *(e + 1 for e in edges)), (*edges, None), strict=True))  # [(1, 4), (5, 8)... (17, None)]
    buckets = []
    for low, high in bounds:
        members = [i for i, source in enumerate(sources)
                   if low <= len(source.split()) and (high is None or len(source.split()) <= high)]
        if members:
            scores = corpus_scores([hypotheses[i] for i in members], [references[i] for i in members])
            buckets.append(LengthBucket(low, high, len(members), scores.bleu, scores.chrf))
    return buckets


def length_records(buckets: Sequence[LengthBucket]) -> list[dict]:
    """Buckets as JSON-ready dicts (``words``, ``low``, ``high``, ``sentences``, ``bleu``, ``chrf``), as
    config.json's ``metrics.test_by_source_length`` stores them."""
    return [{"words": b.label, "low": b.low, "high": b.high, "sentences": b.sentences, "bleu": round(b.bleu, 2),
             "chrf": round(b.chrf, 2)} for b in buckets]
