"""Word alignment from a translation model, and the ``align`` / ``evaluate-alignment`` commands.

The model reads ``source ||| target`` word pairs (fast_align/eflomal format), the target is
forced through it, and each method scores every source word for every target word; the
argmax per target word is its link. Methods (see ``nmt_core.explain.attribution`` for the
gradient ones):

* ``attention`` — the attention weights while *predicting* target word j (Bahdanau et al. 2015;
  Luong et al. 2015), summed over the source word's pieces and averaged over the target word's;
* ``shift`` — the attention of the step that *reads* target word j as its input, i.e. the one
  predicting j + 1 (Chen et al. 2020, "Accurate Word Alignment Induction from Neural Machine
  Translation", EMNLP): the decoder attends to a word's source when it has just emitted it,
  so the row one step later aligns better (the last word reads the ``</s>`` step's row). That
  holds for Transformers; the RNNs here attend with the state that *predicts* word j (Luong:
  after reading y_{j-1}; Bahdanau: s_{j-1}), so on them shift is far worse than plain attention;
* ``saliency``, ``input-x-gradient``, ``integrated-gradients`` — gradient attribution of the
  target word's log-probability (its pieces' rows averaged) to the source word's embeddings
  (Ding, Xu & Koehn 2019, "Saliency-driven Word Alignment Interpretation for NMT", WMT);

With a model of the opposite direction (``--reverse-checkpoint``) both directions are
aligned and symmetrised by grow-diag-final-and (``nmt_core.explain.aer``).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

import numpy as np

from ..casing import restore_case
from ..decoding import MAX_OUTPUT_LENGTH, MAX_SOURCE_PIECES, InputError, Translator
from .aer import AlignmentFormatError, Link, alignment_scores, format_links, grow_diag_final_and, parse_links
from .forced import attention_matrix, has_attention
from .words import join_words, piece_words, word_matrix

ATTENTION_METHODS = ("attention", "shift")
METHODS = ("attention", "shift", "saliency", "input-x-gradient", "integrated-gradients")
MAX_WORDS = 150  # per side of one line; longer lines are refused (the encoder reads 200 pieces)


@dataclass
class WordPair:
    """One ``source ||| target`` line, tokenised for the model.

    src_ids / tgt_ids: pieces without ``</s>``; src_owner / tgt_owner: the word index of each piece.
    """

    source_words: list[str]
    target_words: list[str]
    src_ids: list[int]
    src_owner: list[int]
    tgt_ids: list[int]
    tgt_owner: list[int]


def _pieces(tokenizer, words: list[str], language: str | None) -> tuple[list[int], list[int]]:
    text, spans = join_words(words, language)
    recased = restore_case(text, tokenizer)  # lower-cased aligner input: read it with capitals, as the app does
    if recased is not None and len(recased) == len(text):
        text = recased
    return piece_words(tokenizer, text, spans)


def prepare_pair(translator: Translator, source_words: list[str], target_words: list[str],
                 source_language: str | None = None, target_language: str | None = None) -> WordPair:
    """Words of both sides -> pieces with their word owners; InputError when a side cannot be read."""
    if not source_words or not target_words:
        raise InputError("a side is empty: nothing to align")
    if len(source_words) > MAX_WORDS or len(target_words) > MAX_WORDS:
        raise InputError(f"more than {MAX_WORDS} words on a side: align one sentence at a time")
    src_ids, src_owner = _pieces(translator.src_tokenizer, source_words, source_language)
    tgt_ids, tgt_owner = _pieces(translator.tgt_tokenizer, target_words, target_language)
    if len(src_ids) > MAX_SOURCE_PIECES or len(tgt_ids) >= MAX_OUTPUT_LENGTH:
        raise InputError(f"the sentence is longer than the model reads ({MAX_SOURCE_PIECES} source, "
                         f"{MAX_OUTPUT_LENGTH - 1} target pieces)")
    return WordPair(source_words, target_words, src_ids, src_owner, tgt_ids, tgt_owner)


def word_scores(translator: Translator, pair: WordPair, method: str) -> np.ndarray:
    """(target words J, source words I): how much each source word explains each target word."""
    from .attribution import GRADIENT_METHODS, attribute  # captum only when a gradient method is asked for

    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    model = translator.model
    if method in ATTENTION_METHODS and not has_attention(model):
        raise InputError(f"this model has no attention: use one of {', '.join(GRADIENT_METHODS)}")
    T = len(pair.tgt_ids)
    source_owner = [*pair.src_owner, -1]  # the closing </s> belongs to no word
    I, J = len(pair.source_words), len(pair.target_words)

    def words(matrix: np.ndarray) -> np.ndarray:
        return word_matrix(matrix, pair.tgt_owner, source_owner, J, I)

    if method in ATTENTION_METHODS:
        rows = attention_matrix(model, pair.src_ids, pair.tgt_ids)  # (T + 1, S + 1)
        return words(rows[1 : T + 1] if method == "shift" else rows[:T])
    return words(attribute(model, pair.src_ids, pair.tgt_ids, method).source[:T])


def argmax_links(scores: np.ndarray) -> set[Link]:
    """(J, I) scores -> one link (i, j) per target word j with any score (its best source word)."""
    return {(int(row.argmax()), j) for j, row in enumerate(scores) if np.any(row != 0)}


def align_pair(translator: Translator, source_words: list[str], target_words: list[str], method: str,
               reverse: Translator | None = None, languages: tuple[str | None, str | None] = (None, None)) -> set[Link]:
    """Links (i, j) for one sentence pair; with ``reverse`` (a target→source model) symmetrised by gdfa."""
    pair = prepare_pair(translator, source_words, target_words, *languages)
    forward = argmax_links(word_scores(translator, pair, method))
    if reverse is None:
        return forward
    back_pair = prepare_pair(reverse, target_words, source_words, languages[1], languages[0])
    backward = {(i, j) for j, i in argmax_links(word_scores(reverse, back_pair, method))}
    return grow_diag_final_and(forward, backward)


def parse_pair_line(line: str) -> tuple[list[str], list[str]]:
    """``source words ||| target words`` -> the two word lists (InputError when malformed)."""
    if line.count("|||") != 1:
        raise InputError("expected one 'source words ||| target words' pair")
    source, target = line.split("|||")
    return source.split(), target.split()


# -- the command line
def add_parsers(commands) -> None:
    """Register ``align`` and ``evaluate-alignment`` on ``python -m nmt_core``'s subparsers."""
    align = commands.add_parser(
        "align", help="word alignment from a model: 'source ||| target' lines -> Pharaoh i-j links",
        description="Force each target through the model and align words: one output line of 0-based "
        "'i-j' links (i source word, j target word) per input line of space-separated words "
        "'source ||| target' (fast_align/eflomal format). An empty line where nothing can be aligned.")
    align.add_argument("-c", "--checkpoint", required=True, help="a source->target checkpoint folder")
    align.add_argument("file", nargs="?", metavar="FILE", help="input file (default: stdin)")
    align.add_argument("--method", default="attention", choices=METHODS, help="default: attention")
    align.add_argument("--reverse-checkpoint", help="a target->source checkpoint: align both ways and "
                       "symmetrise with grow-diag-final-and")

    evaluate = commands.add_parser(
        "evaluate-alignment", help="AER, precision and recall of links against a gold alignment",
        description="Alignment error rate (Och & Ney 2003) of HYP against GOLD, line by line. Links are "
        "'i-j' (sure) or 'ipj' (possible), source index first.")
    evaluate.add_argument("hypothesis", metavar="HYP")
    evaluate.add_argument("gold", metavar="GOLD")
    evaluate.add_argument("--one-based", action="store_true", help="GOLD counts words from 1")
    evaluate.add_argument("--json", action="store_true")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def run_align(args: argparse.Namespace) -> int:
    from ..checkpoint import CheckpointError, load_checkpoint

    try:
        checkpoint = load_checkpoint(args.checkpoint)
        reverse = load_checkpoint(args.reverse_checkpoint) if args.reverse_checkpoint else None
    except CheckpointError as error:
        return _fail(str(error))
    problem = _models_problem(checkpoint, reverse, args.method)
    if problem:
        return _fail(problem)
    try:
        handle = open(args.file, encoding="utf-8", errors="replace") if args.file else sys.stdin
    except OSError as error:
        return _fail(f"cannot read {args.file}: {error.strerror}")
    if handle is sys.stdin and hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="replace")
    languages = (checkpoint.config.get("source_language"), checkpoint.config.get("target_language"))
    with handle:
        failures = sum(not _align_line(number, line.rstrip("\r\n"), checkpoint, reverse, args.method, languages)
                       for number, line in enumerate(handle, start=1))
    return 1 if failures else 0


def _models_problem(checkpoint, reverse, method: str) -> str | None:
    """Why these models cannot align with ``method`` (a reverse model of the wrong direction, a model without
    attention for an attention method), or None."""
    src, tgt = checkpoint.config.get("source_language"), checkpoint.config.get("target_language")
    if reverse is not None:
        pair = (reverse.config.get("source_language"), reverse.config.get("target_language"))
        if pair != (tgt, src):
            return f"--reverse-checkpoint must translate {tgt} -> {src}, not {pair[0]} -> {pair[1]}"
    if method in ATTENTION_METHODS:
        for model in (checkpoint, reverse):
            if model is not None and not has_attention(model.translator.model):
                return (f"{model.name} has no attention: use --method saliency, input-x-gradient "
                        "or integrated-gradients")
    return None


def _align_line(number: int, line: str, checkpoint, reverse, method: str, languages: tuple) -> bool:
    """Print one input line's links (an empty line where there is nothing to align); False when it failed,
    with the reason on stderr and an empty line on stdout, so output lines stay in step with input lines."""
    try:
        source_words, target_words = parse_pair_line(line)
        if not source_words or not target_words:
            print("", flush=True)  # nothing to align: an empty line, as fast_align writes
            return True
        links = align_pair(checkpoint.translator, source_words, target_words, method,
                           reverse.translator if reverse else None, languages)
    except (InputError, ValueError) as error:
        print(f"error: line {number}: {error}", file=sys.stderr)
        print("", flush=True)
        return False
    print(format_links(links), flush=True)
    return True


def read_links_file(path: str, one_based: bool = False) -> tuple[list[set[Link]], list[set[Link]]]:
    sure, possible = [], []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            s, p = parse_links(line, one_based, number)
            sure.append(s)
            possible.append(p)
    return sure, possible


def run_evaluate_alignment(args: argparse.Namespace) -> int:
    try:
        hypothesis, _ = read_links_file(args.hypothesis)
        sure, possible = read_links_file(args.gold, args.one_based)
        scores = alignment_scores(hypothesis, sure, possible)
    except AlignmentFormatError as error:
        return _fail(str(error))
    except OSError as error:
        return _fail(f"cannot read {error.filename}: {error.strerror}")
    except ValueError as error:
        return _fail(str(error))
    if args.json:
        print(json.dumps({"aer": round(scores.aer, 4), "precision": round(scores.precision, 4),
                          "recall": round(scores.recall, 4), "sentences": scores.sentences}))
        return 0
    print(f"AER = {scores.aer:.4f}  precision = {scores.precision:.4f}  recall = {scores.recall:.4f}")
    print(f"{scores.sentences} sentences, {scores.hypothesis_links} hypothesis links, {scores.sure_links} sure, "
          f"{scores.possible_links} possible")
    return 0


HANDLERS = {"align": run_align, "evaluate-alignment": run_evaluate_alignment}
