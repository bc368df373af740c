"""Which of a Transformer's attention heads a view shows: one head, a layer's mean, or all of them.

A Transformer's trace records, at every step, the cross-attention of every decoder
layer and head (:attr:`nmt_core.decoding.trace.Step.layer_attention`, layers x heads x
source). Its ``attention`` row, which every view reads by default, is one fixed
choice: the mean over the heads of the model's display layer (the last, unless
config.json's ``model.display_layer`` says otherwise). A :class:`HeadChoice` picks
another; :func:`with_choice` turns a trace and a choice into a trace whose
``attention`` rows are the chosen ones, so every existing heatmap, entropy and
alignment view works on it unchanged.

Choices travel as short keys (widget values, URL parameters), 1-based like the labels:
``"L2"`` the mean of layer 2's heads, ``"L2H3"`` head 3 of layer 2, ``"all"`` the mean
over every layer and head.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from ..decoding.trace import Trace
from .attention import attention_view

ALL = "all"
_KEY = re.compile(r"L(\d+)(?:H(\d+))?")


@dataclass(frozen=True)
class HeadChoice:
    """layer: 0-based decoder layer, None for the mean over every layer; head: 0-based head of that
    layer, None for the mean over its heads (a head needs a layer)."""

    layer: int | None = None
    head: int | None = None

    def __post_init__(self):
        if self.head is not None and self.layer is None:
            raise ValueError("a head belongs to a layer: give the layer too")

    @property
    def key(self) -> str:
        if self.layer is None:
            return ALL
        return f"L{self.layer + 1}" + ("" if self.head is None else f"H{self.head + 1}")

    @classmethod
    def parse(cls, key: str, layers: int, heads: int) -> HeadChoice | None:
        """A key ("all", "L2", "L2H3") -> the choice, or None when malformed or out of range."""
        if key == ALL:
            return cls()
        match = _KEY.fullmatch(str(key))
        if match is None:
            return None
        layer = int(match.group(1)) - 1
        head = None if match.group(2) is None else int(match.group(2)) - 1
        if not 0 <= layer < layers or (head is not None and not 0 <= head < heads):
            return None
        return cls(layer, head)

    def label(self, heads: int | None = None) -> str:
        """"layer 2, head 3", "layer 2, mean of its 4 heads", "every layer and head, averaged"."""
        if self.layer is None:
            return "every layer and head, averaged"
        if self.head is None:
            return f"layer {self.layer + 1}, mean of its {heads} heads" if heads else f"layer {self.layer + 1}, mean"
        return f"layer {self.layer + 1}, head {self.head + 1}"

    def select(self, weights) -> np.ndarray:
        """(L, h, ...) weights -> (...): one head, the mean of one layer's heads, or the mean of all."""
        weights = np.asarray(weights, dtype=float)
        if weights.ndim < 2:
            raise ValueError(f"expected (layers, heads, ...) weights, got shape {weights.shape}")
        if self.layer is None:
            return weights.mean(axis=(0, 1))
        if self.head is None:
            return weights[self.layer].mean(axis=0)
        return weights[self.layer, self.head]


def head_options(layers: int, heads: int) -> list[str]:
    """Every choice's key, in menu order: per layer its mean then each head, and last the mean of all."""
    keys = []
    for layer in range(layers):
        keys.append(HeadChoice(layer).key)
        keys += [HeadChoice(layer, head).key for head in range(heads)]
    return keys + [ALL]


def display_layer(model_args: dict | None, layers: int) -> int:
    """The 0-based decoder layer whose head-mean is the trace's default row (config.json ``model.display_layer``)."""
    value = (model_args or {}).get("display_layer", -1) if isinstance(model_args, dict) else -1
    if not isinstance(value, int) or isinstance(value, bool) or not -layers <= value < layers:
        value = -1
    return value % layers


def default_choice(model_args: dict | None, layers: int) -> HeadChoice:
    """The choice that gives the trace's own ``attention`` rows: the display layer's head-mean."""
    return HeadChoice(display_layer(model_args, layers))


def head_shape(trace: Trace) -> tuple[int, int] | None:
    """(layers, heads) of a trace's per-head attention; None when it has none (an RNN, an old trace)."""
    for step in trace.steps:
        if step.layer_attention:
            return len(step.layer_attention), len(step.layer_attention[0])
    return None


def with_choice(trace: Trace, choice: HeadChoice | None) -> Trace:
    """A copy of ``trace`` whose steps' ``attention`` rows are ``choice``'s; ``trace`` itself when there is
    nothing to choose (no choice, or no per-head attention). The cached trace is never changed."""
    if choice is None or head_shape(trace) is None:
        return trace
    steps = [step if step.layer_attention is None else
             replace(step, attention=choice.select(step.layer_attention).tolist()) for step in trace.steps]
    return replace(trace, steps=steps)


@dataclass
class HeadGrid:
    """Every layer's and head's cross-attention for one translation, for a BertViz-style model view.

    weights (L, h, T, S) (merged into words when ``merged``); source/target: the axis labels.
    """

    weights: np.ndarray
    source: list[str]
    target: list[str]
    merged: bool

    @property
    def layers(self) -> int:
        return self.weights.shape[0]

    @property
    def heads(self) -> int:
        return self.weights.shape[1]


def head_grid(trace: Trace, merge_words: bool = False) -> HeadGrid | None:
    """The layer x head grid of a trace's cross-attention; None without per-head attention."""
    shape, layers = head_shape(trace), trace.layer_attention
    if shape is None or layers is None:
        return None
    L, h = shape
    S, T = len(trace.source_tokens), len(trace.target_tokens)
    weights = np.asarray(layers, dtype=float).reshape(T, L, h, S).transpose(1, 2, 0, 3) if T else np.zeros((L, h, 0, S))
    views = [[attention_view(trace.source_tokens, trace.target_tokens, weights[l, k], merge_words)
              for k in range(h)] for l in range(L)]
    first = views[0][0]
    merged = np.asarray([[v.matrix for v in row] for row in views], dtype=float)
    return HeadGrid(merged.reshape(L, h, len(first.target), len(first.source)), first.source, first.target,
                    merge_words)


def head_entropy(grid: HeadGrid) -> np.ndarray:
    """(L, h) mean entropy in bits of each head's rows: low = a head that looks at one piece at a time."""
    weights = grid.weights
    if weights.shape[2] == 0:
        return np.zeros(weights.shape[:2])
    safe = np.where(weights > 0, weights, 1.0)
    return np.maximum(-(weights * np.log2(safe)).sum(axis=-1).mean(axis=-1), 0.0)


@dataclass
class SelfAttentionView:
    """One self-attention matrix to draw: rows attend to columns.

    matrix (R, C); mask (R, C) True where attending is impossible (the decoder's future), drawn apart
    from a weight of 0; rows/columns: the labels.
    """

    matrix: np.ndarray
    mask: np.ndarray
    rows: list[str]
    columns: list[str]


def encoder_self_view(weights, source_tokens: list[str], choice: HeadChoice) -> SelfAttentionView:
    """Encoder self-attention (L, h, S, S) under ``choice``: every source piece may attend to every other."""
    matrix = choice.select(weights)
    return SelfAttentionView(matrix, np.zeros(matrix.shape, dtype=bool), list(source_tokens), list(source_tokens))


def decoder_self_view(weights, target_tokens: list[str], decoder_inputs: list[str],
                      choice: HeadChoice) -> SelfAttentionView:
    """Decoder self-attention (L, h, T, T) under ``choice``: the query writing target token t (row) attends to
    the decoder's inputs up to t (``<s>`` and the tokens before t); the cells above the diagonal are masked."""
    matrix = choice.select(weights)
    rows = matrix.shape[0]
    mask = np.triu(np.ones((rows, rows), dtype=bool), k=1)
    return SelfAttentionView(matrix, mask, list(target_tokens), list(decoder_inputs))
