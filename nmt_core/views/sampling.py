"""What the Sampling page shows: temperature's effect on one step, and many samples at once.

* :func:`sample_settings` / :func:`samples_frame` -- several sampled translations, one per seed;
  the same seed always replays the same text (the decoder draws from its own seeded generator).
* :func:`temperature_frame` -- one step's next-token distribution under several temperatures
  (the textbook's 0.01 / 1 / 100 demo), with the mass of all the other tokens as one more bar.
* :func:`prefix_tree` / :func:`prefix_tree_frame` -- sampled translations merged into a prefix
  tree: a node per distinct prefix, counting how many samples went through it.
* :func:`word_label` / :func:`trace_words` -- the same in words instead of SentencePiece pieces
  (the words/pieces toggle, as the Step and Beam components draw it).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd
import torch

from ..decoding import DecodeSettings, Translator
from ..decoding.trace import Trace
from ..text import EOS_ID
from .step_data import EOS_PIECE, WORD_MARKER, word_index
from .tree_layout import tidy_layout

DEMO_TEMPERATURES = (0.01, 1.0, 100.0)  # sharp, the model's own, nearly uniform
OTHER_TOKENS = "(all other tokens)"


def word_label(piece: str) -> str:
    """A piece as it reads among words: "▁gamma" is "gamma", a piece inside a word is "+ma", punctuation
    (and </s>, <s>, <unk>, and :data:`OTHER_TOKENS`) is itself. The browser components' ``pieceLabel``, in Python."""
    if piece in (EOS_PIECE, OTHER_TOKENS) or (len(piece) > 2 and piece[0] == "<" and piece[-1] == ">"):
        return piece
    if piece.startswith(WORD_MARKER):
        return piece[len(WORD_MARKER):] or WORD_MARKER
    if piece and all(unicodedata.category(c)[0] in "PS" for c in piece):
        return piece
    return "+" + piece


def sample_settings(settings: DecodeSettings, temperature: float, top_k: int, top_p: float,
                    seed: int) -> DecodeSettings:
    """Sampling with these values, keeping ``settings``' UNK penalty and length cap.

    Built exactly as the sidebar builds its sampling settings (other fields at their
    defaults), so a sample here and its replay from the sidebar are the same decode.
    """
    return DecodeSettings(method="sample", temperature=float(temperature), top_k=int(top_k), top_p=float(top_p),
                          seed=int(seed), unk_penalty=settings.unk_penalty, max_tokens=settings.max_tokens)


SAMPLE_COLUMNS = ["seed", "translation", "log-prob", "tokens", "finished"]


def samples_frame(seeds: Sequence[int], traces: Sequence[Trace]) -> pd.DataFrame:
    """One row per sample: its seed, text, model log-prob (temperature 1), length and whether it ended."""
    rows = [(seed, t.translation, t.score, len(t.target_tokens), t.finished)
            for seed, t in zip(seeds, traces, strict=True)]
    return pd.DataFrame(rows, columns=SAMPLE_COLUMNS)


TEMPERATURE_COLUMNS = ["temperature", "rank", "token", "prob"]


def temperature_frame(translator: Translator, text: str, prefix: Sequence[int],
                      temperatures: Iterable[float] = DEMO_TEMPERATURES, top_n: int = 8,
                      unk_penalty: float = 0.0) -> pd.DataFrame:
    """The next-token distribution after ``prefix`` at each temperature (top-k and top-p off).

    Rows: the model's ``top_n`` tokens (ranked at temperature 1: temperature never reorders
    tokens) with their probability at that temperature, then one ``OTHER_TOKENS`` row (rank
    ``top_n + 1``) holding the rest of the vocabulary's mass, so each temperature sums to 1.
    Tokens are raw pieces (Vega draws text as text). Runs the decoder ``len(prefix) + 1`` steps per temperature.
    """
    rows = []
    for temperature in temperatures:
        settings = DecodeSettings(method="sample", temperature=float(temperature), num_candidates=top_n,
                                  unk_penalty=unk_penalty).validate()
        with torch.inference_mode():
            candidates = translator.stepper(text, settings, list(prefix)).peek()
        for rank, c in enumerate(candidates, start=1):
            rows.append((float(temperature), rank, c.token, c.adjusted_prob))
        rest = max(0.0, 1.0 - sum(c.adjusted_prob for c in candidates))
        rows.append((float(temperature), len(candidates) + 1, OTHER_TOKENS, rest))
    return pd.DataFrame(rows, columns=TEMPERATURE_COLUMNS)


@dataclass
class PrefixNode:
    """One distinct prefix of the samples. The root (id 0, depth 0) is the empty prefix.

    count: samples whose tokens start with this prefix; ends: samples that stop here
    (the last token of a sample cut by the length limit, or its </s>).
    """

    id: int
    parent: int | None
    depth: int
    token_id: int
    token: str
    count: int
    ends: int = 0


def prefix_tree(sequences: Iterable[Sequence[tuple[int | tuple[int, ...], str]]]) -> list[PrefixNode]:
    """Merge token sequences ``[(token_id, piece), ...]`` into a prefix tree, in first-seen order.

    A token may also be a word, ``((piece ids...), word)`` (:func:`trace_words`): its node's ``token_id`` is
    its last piece's (EOS_ID for </s>)."""
    nodes = [PrefixNode(0, None, 0, -1, "<s>", 0)]
    child: dict[tuple[int, tuple[int, ...]], int] = {}  # (parent id, token ids) -> node id
    for sequence in sequences:
        current = nodes[0]
        current.count += 1
        for token_id, token in sequence:
            ids = tuple(int(i) for i in token_id) if isinstance(token_id, tuple) else (int(token_id),)
            key = (current.id, ids)
            if key not in child:
                child[key] = len(nodes)
                nodes.append(PrefixNode(len(nodes), current.id, current.depth + 1, ids[-1], token, 0))
            current = nodes[child[key]]
            current.count += 1
        current.ends += 1
    return nodes


def trace_tokens(trace: Trace) -> list[tuple[int, str]]:
    """Every emitted token of a decode, the closing </s> included: ``[(token_id, piece), ...]``."""
    return [(s.token_id, s.token) for s in trace.steps]


def trace_words(trace: Trace) -> list[tuple[tuple[int, ...], str]]:
    """Every emitted word of a decode, the closing </s> its own: ``[((piece ids...), word), ...]``.

    A word starts at a ``▁`` piece (and at </s>); the pieces after it up to the next start are glued on.
    Two samples share a word node only when they wrote it with the same pieces."""
    pieces = trace_tokens(trace)
    words: dict[int, list[tuple[int, str]]] = {}
    for index, piece in zip(word_index([p for _, p in pieces]), pieces, strict=True):
        words.setdefault(index, []).append(piece)
    return [(tuple(i for i, _ in group), "".join(p for _, p in group).replace(WORD_MARKER, "") or WORD_MARKER)
            for group in words.values()]


PREFIX_COLUMNS = ["id", "parent", "depth", "token_id", "token", "count", "ends", "finished", "y"]


def prefix_tree_frame(nodes: list[PrefixNode]) -> pd.DataFrame:
    """One row per prefix node (``PREFIX_COLUMNS``); ``y`` from the tidy layout, most samples on top."""
    ordered = sorted(nodes, key=lambda n: (n.depth, -n.count, n.id))
    y = tidy_layout((n.id, n.parent) for n in ordered)
    rows = [(n.id, n.parent, n.depth, n.token_id, n.token, n.count, n.ends, n.token_id == EOS_ID, y[n.id])
            for n in nodes]
    return pd.DataFrame(rows, columns=PREFIX_COLUMNS)
