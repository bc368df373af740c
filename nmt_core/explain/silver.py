"""Silver word alignments from eflomal, and each method's AER on a model's dev split.

No human word alignments come with Tatoeba, so each model's dev split is aligned by
eflomal (Östling & Tiedemann 2016, "Efficient word alignment with Markov Chain Monte
Carlo", PBML 106; ``pip install eflomal``), a Bayesian IBM-model aligner, trained on the
*whole* cleaned corpus the model learned from (train + dev + test pairs, both directions,
words lower-cased as aligners usually read them), and symmetrised with grow-diag-final-and.
On human gold sets eflomal scores AER 0.11–0.12 on these corpora (issue 15), so this silver
ranks methods reliably but is not a human reference: every silver link counts as sure.

The dev pair of a source sentence is the sentence and its *first* reference (Tatoeba gives
several translations of some sentences). Silver alignments are cached per corpus file and
direction in ``~/.cache/attention-explorer/silver`` (they take a minute or two to compute).

``python -m nmt_core.explain.silver CKPT [--sentences N] [--reverse-checkpoint CKPT2] [--record]``
scores every method and writes the AERs into config.json's metrics (``add_metrics``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from ..data import read_split
from .aer import Link, alignment_scores, grow_diag_final_and
from .words import split_words

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "attention-explorer" / "silver"


def _corpus_path(training: dict, data: str | None = None) -> Path:
    recorded = Path(training.get("data", ""))
    for candidate in ([Path(data)] if data else [recorded, Path("../shared/data/tatoeba") / recorded.name]):
        if candidate.name and candidate.is_file():
            return candidate
    raise FileNotFoundError(f"the training data {recorded.name} is not where config.json says: pass --data")


def _read_links(path: Path) -> list[set[Link]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        links = set()
        for token in line.split():
            i, j = token.split("-")
            links.add((int(i), int(j)))
        out.append(links)
    return out


def eflomal_links(sources: list[list[str]], targets: list[list[str]], seed: int = 0) -> list[set[Link]]:
    """Align word lists with eflomal (both directions) -> grow-diag-final-and links (i, j) per pair."""
    import eflomal  # the optional silver dependency, imported only here

    with tempfile.TemporaryDirectory() as work:
        forward, backward = Path(work) / "fwd", Path(work) / "rev"
        aligner = eflomal.Aligner()
        aligner.align([" ".join(w).lower() for w in sources], [" ".join(w).lower() for w in targets],
                      links_filename_fwd=str(forward), links_filename_rev=str(backward), quiet=True)
        return [grow_diag_final_and(f, b) for f, b in zip(_read_links(forward), _read_links(backward), strict=True)]


def corpus_silver(config: dict, data: str | None = None) -> dict[tuple[str, str], set[Link]]:
    """Silver links for every cleaned pair of the model's corpus, keyed by (source, target) text.

    The corpus and its orientation come from config.json's recorded training options (the same
    cleaning as training: ``nmt_core.data.read_split``). Cached on disk by corpus file and direction.
    """
    training = config.get("training", {}).get("config", {})
    path = _corpus_path(training, data)
    src, tgt = config.get("source_language"), config.get("target_language")
    split = read_split(path, src, tgt, training.get("max_words", 30), training.get("dev_fraction", 0.02),
                       training.get("test_fraction", 0.02), training.get("split_seed", 0))
    pairs = [(p.source, p.target) for p in split.train]
    pairs += [(source, reference) for source, references in split.dev + split.test for reference in references]
    digest = hashlib.sha256(f"{path.name}:{path.stat().st_size}:{src}:{tgt}:{len(pairs)}".encode()).hexdigest()[:12]
    cache = CACHE / f"{path.stem}-{src}-{tgt}-{digest}.jsonl"
    if cache.is_file():
        rows = [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines()]
        return {(s, t): {tuple(link) for link in links} for s, t, links in rows}
    started = time.perf_counter()
    links = eflomal_links([split_words(s) for s, _ in pairs], [split_words(t) for _, t in pairs])
    print(f"eflomal aligned {len(pairs):,} pairs in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(cache, "w", encoding="utf-8") as handle:
        for (s, t), pair_links in zip(pairs, links, strict=True):
            handle.write(json.dumps([s, t, sorted(pair_links)], ensure_ascii=False) + "\n")
    return dict(zip(pairs, links, strict=True))


def dev_silver(config: dict, sentences: int, data: str | None = None) -> list[tuple[list[str], list[str], set[Link]]]:
    """The first ``sentences`` dev pairs (source, first reference) as words, with their silver links."""
    training = config.get("training", {}).get("config", {})
    path = _corpus_path(training, data)
    split = read_split(path, config.get("source_language"), config.get("target_language"),
                       training.get("max_words", 30), training.get("dev_fraction", 0.02),
                       training.get("test_fraction", 0.02), training.get("split_seed", 0))
    silver = corpus_silver(config, data)
    rows = []
    for source, references in split.dev[:sentences]:
        rows.append((split_words(source), split_words(references[0]), silver[(source, references[0])]))
    return rows


_REVERSE_MEMO: dict[tuple, set[Link]] = {}  # reverse links, shared by the models of one direction in one run


def score_methods(checkpoint, rows, methods, reverse=None, limits: dict[str, int] | None = None) -> dict[str, dict]:
    """Each method's AER / precision / recall on ``rows`` (words, words, silver links).

    -> {method: {"aer", "precision", "recall", "sentences", "cpu_seconds"}} one-way, and with
    ``reverse`` also {method + " (symmetrised)": ...} from the same forward links symmetrised by
    grow-diag-final-and with the reverse model's. ``limits`` caps the sentences of slow methods.
    """
    from .align import argmax_links, prepare_pair, word_scores

    src, tgt = checkpoint.config.get("source_language"), checkpoint.config.get("target_language")
    results = {}
    for method in methods:
        started = time.process_time()
        subset = rows[: (limits or {}).get(method, len(rows))]
        forward, symmetrised = [], []
        for source, target, _ in subset:
            pair = prepare_pair(checkpoint.translator, source, target, src, tgt)
            links = argmax_links(word_scores(checkpoint.translator, pair, method))
            forward.append(links)
            if reverse is not None:
                key = (reverse.name, method, tuple(source), tuple(target))
                if key not in _REVERSE_MEMO:
                    back = prepare_pair(reverse.translator, target, source, tgt, src)
                    back_links = argmax_links(word_scores(reverse.translator, back, method))
                    _REVERSE_MEMO[key] = {(i, j) for j, i in back_links}
                symmetrised.append(grow_diag_final_and(links, _REVERSE_MEMO[key]))
        gold = [g for _, _, g in subset]
        seconds = round(time.process_time() - started, 1)
        for name, hypotheses in ((method, forward), (f"{method} (symmetrised)", symmetrised)):
            if not hypotheses:
                continue
            scores = alignment_scores(hypotheses, gold, gold)
            results[name] = {"aer": round(scores.aer, 4), "precision": round(scores.precision, 4),
                             "recall": round(scores.recall, 4), "sentences": len(subset), "cpu_seconds": seconds}
            print(f"{checkpoint.name}{' + ' + reverse.name if reverse and hypotheses is symmetrised else ''} "
                  f"{name}: {results[name]}", file=sys.stderr, flush=True)
    return results


SLOW_LIMITS = {"saliency": 100, "input-x-gradient": 100, "integrated-gradients": 40}


def main(argv=None) -> int:
    import torch

    from ..checkpoint import add_metrics, load_checkpoint
    from .align import ATTENTION_METHODS, METHODS
    from .forced import has_attention

    parser = argparse.ArgumentParser(prog="python -m nmt_core.explain.silver",
                                     description="Each alignment method's AER on a checkpoint's dev split "
                                     "against eflomal silver alignments.")
    parser.add_argument("checkpoints", nargs="+", metavar="CKPT", help="one or more checkpoints of one direction")
    parser.add_argument("--reverse-checkpoint", help="also score the methods symmetrised with this model")
    parser.add_argument("--sentences", type=int, default=200, help="first N dev sentences (default 200)")
    parser.add_argument("--gradient-sentences", type=int, default=None,
                        help="cap for saliency / input-x-gradient (default 100) and integrated-gradients (40)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--data", help="the training data file, if not where config.json says")
    parser.add_argument("--record", action="store_true", help="store the AERs in config.json and the card")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    limits = dict(SLOW_LIMITS) if args.gradient_sentences is None else {
        m: args.gradient_sentences for m in SLOW_LIMITS}
    reverse = load_checkpoint(args.reverse_checkpoint) if args.reverse_checkpoint else None
    for folder in args.checkpoints:
        checkpoint = load_checkpoint(folder)
        methods = [m for m in args.methods.split(",") if m]
        if not has_attention(checkpoint.translator.model):
            methods = [m for m in methods if m not in ATTENTION_METHODS]
        usable_reverse = reverse
        rows = dev_silver(checkpoint.config, args.sentences, args.data)
        results = score_methods(checkpoint, rows, methods, usable_reverse, limits)
        record = {"silver": "eflomal 2.0.0 (both directions, grow-diag-final-and) on the model's whole corpus",
                  "symmetrised_with": reverse.name if reverse else None, "methods": results}
        print(json.dumps({checkpoint.name: record}), flush=True)
        if args.record:
            previous = ((checkpoint.config.get("metrics") or {}).get("dev_alignment_aer") or {}).get("methods", {})
            record["methods"] = {**previous, **results}  # a rerun of some methods keeps the others
            add_metrics(folder, {"dev_alignment_aer": record})
            print(f"recorded in {folder}/config.json and its card", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
