"""Corpus BLEU and chrF through sacrebleu, with any number of references per source."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sacrebleu.metrics import BLEU, CHRF


@dataclass
class Scores:
    bleu: float
    chrf: float
    sentences: int
    references: int  # the most references any source has
    bleu_signature: str
    chrf_signature: str


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


def read_eval_tsv(path: str | Path) -> list[tuple[str, list[str]]]:
    """``source<TAB>ref[<TAB>ref...]`` lines -> [(source, [refs])]; blank lines skipped."""
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        columns = [c for c in line.split("\t")]
        refs = [c for c in columns[1:] if c.strip()]
        if not columns[0].strip() or not refs:
            raise ValueError(f"{path}:{number}: expected 'source<TAB>reference[<TAB>reference...]'")
        rows.append((columns[0], refs))
    if not rows:
        raise ValueError(f"{path}: no sentences to evaluate")
    return rows
