"""Coverage: how much attention each source word received over a whole translation, and flags.

Coverage of source word i is Σ_t α(t, i) over the emitted target tokens t (source pieces of one
word summed), the quantity coverage models feed back into attention (Tu et al. 2016, "Modeling
Coverage for Neural Machine Translation", ACL; GNMT's coverage penalty, Wu et al. 2016).

Total coverage alone does not find a dropped word: attention that has nowhere better to go
spreads over the neighbours, so a dropped "hermano" still collects 0.77 while the function
words around it ("de", "mi") get 0.2. What tells them apart is the *peak*: a word that was
translated had one step that looked at it hard (max_t α(t, i) ≥ 0.66 for every content word of
that sentence), a dropped one never did (0.36). Function words ("de", "el") are often absorbed
rather than translated, so flags only concern *content* words: words whose unigram
log-probability under the source tokenizer is below a cutoff (rare enough to carry meaning).

* **under-translated**: a content word whose peak attention < ``under``;
* **over-translated**: a content word whose total coverage > ``over`` (attended to again and again).

All three numbers are measured on the model's dev split (:func:`measure_thresholds`): the model
translates dev sources (greedy); ``content`` is the median unigram log-probability of the running
source words, ``under`` a low quantile of content words' peak attention, ``over`` a high quantile
of their coverage. ``python -m nmt_core.explain.coverage CKPT --record`` stores them in config.json
(``coverage_thresholds``) with how well a flag predicts a low sentence chrF on other dev sentences.

The Translate page's one-line notice: :func:`coverage_notice` (trace, config.json, source tokenizer).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

import numpy as np

from ..decoding.trace import Trace
from ..views.attention import word_groups, word_text

UNDER_QUANTILE = 0.1  # the lowest 10% of dev content words' peak attention
OVER_QUANTILE = 0.995  # the highest 0.5% of their coverage
CONTENT_QUANTILE = 0.5  # running words rarer than the median are content words
DEFAULT_THRESHOLDS = {"under": 0.4, "over": 2.5, "content": -6.0}  # when a checkpoint has none measured


@dataclass
class WordCoverage:
    word: str  # the source word as the model read it (pieces joined)
    pieces: list[int]  # its piece indices in trace.source_tokens
    coverage: float  # Σ_t α(t, i) over the emitted tokens
    peak: float  # max_t α(t, i)
    log_prob: float  # unigram log-probability of its letters under the source tokenizer (-inf: unknown)
    letters: bool  # letters in it (not punctuation, not </s>)
    flag: str | None = None  # "under", "over" or None


def source_coverage(trace: Trace, tokenizer=None) -> list[WordCoverage] | None:
    """Per source word of ``trace`` its coverage and peak; None for a model without attention or no output.

    ``tokenizer`` (the source tokenizer) gives each word's unigram log-probability; without it 0.
    """
    rows = trace.attention
    if not rows:
        return None
    matrix = np.asarray(rows, dtype=float)  # (T, S): the emitted tokens (the final </s> left out)
    words = []
    for group in word_groups(trace.source_tokens):
        word = word_text(trace.source_tokens, group)
        letters = any(ch.isalpha() for ch in word) and word not in ("</s>", "<unk>")
        core = "".join(ch for ch in word if ch.isalnum())
        log_prob = tokenizer.log_prob(core) if (tokenizer is not None and core) else 0.0
        column = matrix[:, group].sum(axis=1)
        words.append(WordCoverage(word, group, float(column.sum()), float(column.max()), log_prob, letters))
    return words


def thresholds_of(config: dict | None) -> dict:
    """The checkpoint's measured thresholds (config.json metrics.coverage_thresholds), else the defaults."""
    measured = ((config or {}).get("metrics") or {}).get("coverage_thresholds") or {}
    return {key: float(measured.get(key, value)) for key, value in DEFAULT_THRESHOLDS.items()}


def is_content(word: WordCoverage, thresholds: dict) -> bool:
    return word.letters and word.log_prob < thresholds["content"]


def coverage_flags(trace: Trace, thresholds: dict | None = None, tokenizer=None) -> list[WordCoverage]:
    """The content words flagged under- or over-translated ([] when none, or no attention)."""
    thresholds = thresholds or DEFAULT_THRESHOLDS
    flagged = []
    for word in source_coverage(trace, tokenizer) or []:
        if not is_content(word, thresholds):
            continue
        if word.peak < thresholds["under"]:
            word.flag = "under"
        elif word.coverage > thresholds["over"]:
            word.flag = "over"
        if word.flag:
            flagged.append(word)
    return flagged


def coverage_notice(trace: Trace, config: dict | None = None, tokenizer=None) -> str | None:
    """One line for the Translate page, or None: which source words look dropped or repeated.

    ``config`` is the checkpoint's config.json (its measured thresholds), ``tokenizer`` its source tokenizer.
    """
    flagged = coverage_flags(trace, thresholds_of(config), tokenizer)
    if not flagged:
        return None
    under = [w.word for w in flagged if w.flag == "under"]
    over = [w.word for w in flagged if w.flag == "over"]
    parts = []
    if under:
        parts.append("no step looked hard at " + ", ".join(f"“{w}”" for w in under)
                     + " (perhaps left untranslated)")
    if over:
        parts.append("much attention went to " + ", ".join(f"“{w}”" for w in over) + " (perhaps translated twice)")
    return "Coverage: " + "; ".join(parts) + "."


def measure_thresholds(translator, sources: list[str]) -> tuple[dict, list]:
    """Greedy-translate ``sources``; quantiles of the words' log-probs, peaks and coverage -> (thresholds, traces)."""
    from ..decoding import DecodeSettings

    settings = DecodeSettings(method="greedy")
    traces = [translator.translate(source, settings) for source in sources]
    words = [w for trace in traces for w in (source_coverage(trace, translator.src_tokenizer) or []) if w.letters]
    if not words:
        raise ValueError("no attention: coverage needs a model with attention")
    content = float(np.quantile([w.log_prob for w in words if np.isfinite(w.log_prob)], CONTENT_QUANTILE))
    kept = [w for w in words if w.log_prob < content]
    thresholds = {"content": round(content, 3),
                  "under": round(float(np.quantile([w.peak for w in kept], UNDER_QUANTILE)), 3),
                  "over": round(float(np.quantile([w.coverage for w in kept], OVER_QUANTILE)), 3)}
    return thresholds, traces


def flag_quality(traces, references: list[list[str]], thresholds: dict, tokenizer=None,
                 low_quantile: float = 0.25) -> dict:
    """How well "any flag" predicts a low sentence chrF (the bottom ``low_quantile`` of the batch).

    -> precision (flagged sentences that are low), recall (low sentences that are flagged), mean
    chrF with and without a flag, and the share of sentences flagged.
    """
    from sacrebleu.metrics import CHRF

    chrf = CHRF()
    scores = np.array([chrf.sentence_score(t.translation, refs).score for t, refs in zip(traces, references,
                                                                                       strict=True)])
    flagged = np.array([bool(coverage_flags(t, thresholds, tokenizer)) for t in traces])
    low = scores <= np.quantile(scores, low_quantile)
    hits = int((flagged & low).sum())
    return {
        "sentences": len(traces), "flagged": int(flagged.sum()), "low_chrf_below": round(float(np.quantile(
            scores, low_quantile)), 2),
        "precision": round(float(hits / flagged.sum()), 3) if flagged.any() else None,
        "recall": round(float(hits / low.sum()), 3) if low.any() else None,
        "base_rate": round(float(low.mean()), 3),
        "mean_chrf_flagged": round(float(scores[flagged].mean()), 2) if flagged.any() else None,
        "mean_chrf_unflagged": round(float(scores[~flagged].mean()), 2) if (~flagged).any() else None,
    }


def main(argv=None) -> int:
    import torch

    from ..checkpoint import add_metrics, load_checkpoint
    from ..data import held_out_part

    parser = argparse.ArgumentParser(prog="python -m nmt_core.explain.coverage",
                                     description="Measure coverage thresholds on a checkpoint's dev split.")
    parser.add_argument("checkpoint")
    parser.add_argument("--sentences", type=int, default=600, help="dev sentences for the thresholds")
    parser.add_argument("--data")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    checkpoint = load_checkpoint(args.checkpoint)
    config = checkpoint.config
    rows = held_out_part(config.get("training", {}).get("config", {}), "dev", config.get("source_language"),
                         config.get("target_language"), args.data)
    # First half: thresholds; second half: how well they predict low chrF (not measured on their own data).
    half = min(args.sentences, len(rows) // 2)
    thresholds, _ = measure_thresholds(checkpoint.translator, [s for s, _ in rows[:half]])
    from ..decoding import DecodeSettings

    held = rows[half: 2 * half]
    traces = [checkpoint.translator.translate(s, DecodeSettings(method="greedy")) for s, _ in held]
    quality = flag_quality(traces, [refs for _, refs in held], thresholds, checkpoint.translator.src_tokenizer)
    record = {**thresholds, "measured_on": f"{half} dev sentences, greedy", "predicts_low_chrf": quality}
    print(json.dumps({checkpoint.name: record}))
    if args.record:
        add_metrics(args.checkpoint, {"coverage_thresholds": record})
    return 0


if __name__ == "__main__":
    sys.exit(main())
