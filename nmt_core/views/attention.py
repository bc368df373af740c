"""Reading attention matrices: words from pieces, alignments, entropy.

An attention matrix here is a list of rows, one per target token, each row a
distribution over the source pieces (``T x S``, rows sum to 1; see
:attr:`nmt_core.decoding.trace.Trace.attention`). Everything is plain numpy so the
figures in :mod:`nmt_core.figures.traces` and the tests can use it without a model.

Subword pieces -> words
    SentencePiece starts a word with "▁" (U+2581). A word is one piece that
    starts with "▁" plus the pieces that follow it up to the next "▁" piece;
    special tokens such as ``</s>`` are always words of their own. Merging a
    ``T x S`` matrix to words **sums** over a word's source pieces (the
    attention the word received as a whole) and **averages** over a word's
    target pieces (the attention while writing that word), so each merged row
    is still a distribution that sums to 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

WORD_START = "\u2581"  # SentencePiece's "▁": this piece begins a new word
SPECIAL_TOKENS = frozenset({"</s>", "<s>", "<pad>"})  # always a word of their own (<unk> is a normal piece)

MERGE_RULE = (
    "Pieces are merged into words at SentencePiece's ▁ word marks: a word's weight is the **sum** over its "
    "source pieces and the **mean** over its target pieces, so every row still sums to 1. "
    "`</s>` stays a column of its own."
)


def word_groups(pieces: list[str]) -> list[list[int]]:
    """Piece indices grouped into words: ``["▁Tod", "avía", "▁en", "</s>"] -> [[0, 1], [2], [3]]``.

    A piece without "▁" continues the word before it (or starts one when it is
    the first piece, or follows a special token).
    """
    groups: list[list[int]] = []
    previous_special = True  # nothing to continue before the first piece
    for index, piece in enumerate(pieces):
        special = piece in SPECIAL_TOKENS
        if special or previous_special or piece.startswith(WORD_START):
            groups.append([index])
        else:
            groups[-1].append(index)
        previous_special = special
    return groups


def word_text(pieces: list[str], group: list[int]) -> str:
    """The word a group of pieces spells, without the ▁ marks: ``["▁Tod", "avía"] -> "Todavía"``."""
    text = "".join(pieces[i] for i in group)
    if len(group) == 1 and pieces[group[0]] in SPECIAL_TOKENS:
        return text
    return text.replace(WORD_START, " ").strip() or text  # a lone "▁" stays visible


def merge_matrix(matrix, source_groups: list[list[int]], target_groups: list[list[int]]) -> np.ndarray:
    """(T, S) piece attention -> (len(target_groups), len(source_groups)) word attention.

    Columns are summed within a source word, then rows averaged within a target word.
    """
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-d matrix, got shape {matrix.shape}")
    if sorted(i for g in source_groups for i in g) != list(range(matrix.shape[1])):
        raise ValueError("source groups must cover every column exactly once")
    if sorted(i for g in target_groups for i in g) != list(range(matrix.shape[0])):
        raise ValueError("target groups must cover every row exactly once")
    columns = np.stack([matrix[:, g].sum(axis=1) for g in source_groups], axis=1) if source_groups else \
        np.zeros((matrix.shape[0], 0))
    if not target_groups:
        return np.zeros((0, len(source_groups)))
    return np.stack([columns[g].mean(axis=0) for g in target_groups], axis=0)


@dataclass
class AttentionView:
    """An attention matrix with its axis labels, by pieces or by words.

    matrix: (T, S); source/target: one label per column/row (raw text, escape
    before display); source_pieces/target_pieces: for each column/row, the
    pieces it stands for (one piece each unless merged).
    """

    matrix: np.ndarray
    source: list[str]
    target: list[str]
    source_pieces: list[list[str]]
    target_pieces: list[list[str]]
    merged: bool


def attention_view(source_tokens: list[str], target_tokens: list[str], attention, merge_words: bool = False
                   ) -> AttentionView:
    """The (T, S) matrix of a trace as pieces, or merged into words when ``merge_words``."""
    matrix = np.asarray(attention, dtype=float).reshape(len(target_tokens), len(source_tokens))
    if not merge_words:
        return AttentionView(matrix, list(source_tokens), list(target_tokens), [[t] for t in source_tokens],
                             [[t] for t in target_tokens], merged=False)
    src_groups, tgt_groups = word_groups(source_tokens), word_groups(target_tokens)
    return AttentionView(
        merge_matrix(matrix, src_groups, tgt_groups),
        [word_text(source_tokens, g) for g in src_groups],
        [word_text(target_tokens, g) for g in tgt_groups],
        [[source_tokens[i] for i in g] for g in src_groups],
        [[target_tokens[i] for i in g] for g in tgt_groups],
        merged=True,
    )


def argmax_alignment(matrix) -> list[int]:
    """For each target row, the source column with the most attention (ties: the first). (T, S) -> T ints."""
    matrix = np.asarray(matrix, dtype=float)
    if matrix.size == 0:
        return []
    return [int(i) for i in matrix.argmax(axis=1)]


def entropy(matrix, base: float = 2.0) -> list[float]:
    """Entropy of each attention row, ``-sum p log p`` (bits for base 2, nats for base e). (T, S) -> T floats.

    0 when a row puts all its weight on one piece; ``log(S)`` when it is
    spread evenly over all S pieces. Zero weights contribute 0 (``0 log 0 = 0``).
    """
    matrix = np.asarray(matrix, dtype=float)
    if matrix.size == 0:
        return []
    safe = np.where(matrix > 0, matrix, 1.0)  # log(1) = 0 for the zero weights
    values = -(matrix * np.log(safe)).sum(axis=1) / math.log(base)
    return [max(0.0, float(v)) for v in values]  # clip -0.0 and rounding noise


def common_prefix_length(a: list, b: list) -> int:
    """How many leading items two sequences share."""
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length
