"""Attention score functions and the masked softmax they share.

Every attention module works on a whole block of queries at once so the same
code serves one decoder step (``T == 1``) and teacher-forced training over a
whole target sentence (``T == target length``)::

    keys    = module.prepare_keys(values)       # once per source sentence
    context, weights = module(query, keys, values, mask)

Shapes: ``query (B, T, Hq)``, ``values (B, S, Hv)``, ``mask (B, S)`` (True on
real source positions), ``weights (B, T, S)``, ``context (B, T, Hv)``.
Weights are a softmax over real positions only: each row sums to 1 and padded
positions get exactly 0.
"""

from __future__ import annotations

import torch
from torch import nn

ATTENTION_TYPES = ("none", "bahdanau", "luong-dot", "luong-general")
# Where Bahdanau's additive score keeps its bias b in vᵀ tanh(W_q s + W_k h_s + b): "key" (W_k's bias, the
# shipped models), "query" (W_q's: the same function, another parameterisation), "none" (no b at all).
ATTENTION_BIASES = ("key", "query", "none")
# Bahdanau only, issue 16: "keep" the additive score as it is (the shipped models), or "remove" its key prior,
# the part of the score that does not depend on the query: score(s, h) - score(0, h), so a zero query attends
# uniformly. In the linear regime of tanh, vᵀ tanh(W_q s + W_k h + b) ≈ vᵀ W_q s + vᵀ (W_k h + b): the query term
# is the same for every key and cancels in the softmax, so the ranking of the keys is the key prior alone;
# what "remove" leaves, ≈ vᵀ (W_q s ⊙ sech²(W_k h + b)), is an interaction of query and key from the start.
ATTENTION_KEY_PRIORS = ("keep", "remove")
# Bahdanau only, issue 16: the score in Bahdanau's flow, "additive" (vᵀ tanh(W_q s + W_k h_s + b), the shipped
# models) or "general" (Luong's bilinear sᵀ W_a h_s, with Bahdanau's query s_{t-1} and the context in the RNN
# input): with attention_query, the two halves of a score x flow comparison.
ATTENTION_SCORES = ("additive", "general")


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax of ``scores (B, T, S)`` over S with padded positions forced to 0.

    ``mask (B, S)`` is True on real positions. exp(-inf) == 0, so padding gets
    exactly zero weight and the rest renormalises among real positions.
    """
    scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
    return torch.softmax(scores, dim=-1)


class _Attention(nn.Module):
    """Shared forward: scores -> masked softmax -> weighted sum of values."""

    def prepare_keys(self, values: torch.Tensor) -> torch.Tensor:
        """Per-source precomputation, done once per sentence, not per step."""
        return values

    def score(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, query, keys, values, mask):
        weights = masked_softmax(self.score(query, keys), mask)  # (B, T, S)
        context = torch.bmm(weights, values)  # (B, T, Hv)
        return context, weights


class LuongDotAttention(_Attention):
    """Luong et al. (2015) ``dot``: score(h_t, h_s) = h_tᵀ h_s.

    Needs the decoder hidden size to equal the encoder output size.
    """

    def score(self, query, keys):
        return torch.bmm(query, keys.transpose(1, 2))  # (B, T, S)


class LuongGeneralAttention(_Attention):
    """Luong et al. (2015) ``general``: score(h_t, h_s) = h_tᵀ W_a h_s.

    ``W_a h_s`` does not depend on the step, so it is computed once per source
    in :meth:`prepare_keys`.
    """

    def __init__(self, query_size: int, value_size: int):
        super().__init__()
        self.W_a = nn.Linear(value_size, query_size, bias=False)

    def prepare_keys(self, values):
        return self.W_a(values)  # (B, S, Hq)

    def score(self, query, keys):
        return torch.bmm(query, keys.transpose(1, 2))


class BahdanauAttention(_Attention):
    """Bahdanau et al. (2015) additive: score(s, h_s) = vᵀ tanh(W_q s + W_k h_s + b).

    ``W_k h_s`` is precomputed per source; the query is the decoder state
    *before* the step (s_{t-1}), which is what makes it "Bahdanau" (the decoder
    can also ask with its current state: ModelConfig.attention_query).
    ``bias`` (one of :data:`ATTENTION_BIASES`) says which projection holds b, if any; ``key_prior`` (one of
    :data:`ATTENTION_KEY_PRIORS`) whether the score keeps the part a zero query gives it.
    """

    def __init__(self, query_size: int, value_size: int, attention_size: int, bias: str = "key",
                 key_prior: str = "keep"):
        super().__init__()
        if bias not in ATTENTION_BIASES:
            raise ValueError(f"unknown attention bias {bias!r}; choose one of {', '.join(ATTENTION_BIASES)}")
        if key_prior not in ATTENTION_KEY_PRIORS:
            raise ValueError(f"unknown attention key prior {key_prior!r}; "
                             f"choose one of {', '.join(ATTENTION_KEY_PRIORS)}")
        self.key_prior = key_prior
        self.W_q = nn.Linear(query_size, attention_size, bias=bias == "query")
        self.W_k = nn.Linear(value_size, attention_size, bias=bias == "key")
        self.v = nn.Linear(attention_size, 1, bias=False)

    def prepare_keys(self, values):
        return self.W_k(values)  # (B, S, A)

    def score(self, query, keys):
        # (B, T, 1, A) + (B, 1, S, A) -> (B, T, S, A) -> (B, T, S)
        hidden = torch.tanh(self.W_q(query).unsqueeze(2) + keys.unsqueeze(1))
        scores = self.v(hidden).squeeze(-1)
        if self.key_prior == "remove":  # less what a zero query scores: vᵀ tanh(W_q 0 + W_k h_s + b), (B, 1, S)
            zero_query = self.W_q.bias if self.W_q.bias is not None else 0.0
            scores = scores - self.v(torch.tanh(keys + zero_query)).squeeze(-1).unsqueeze(1)
        return scores


def build_attention(kind: str, query_size: int, value_size: int, attention_size: int,
                    bias: str = "key", key_prior: str = "keep", score: str = "additive") -> _Attention | None:
    """Attention module for ``kind`` (one of :data:`ATTENTION_TYPES`); None for ``none``.
    ``bias``: where Bahdanau's score keeps its bias (:data:`ATTENTION_BIASES`); the other kinds have none.
    ``key_prior``: whether Bahdanau's score keeps its query-independent part (:data:`ATTENTION_KEY_PRIORS`).
    ``score``: Bahdanau's score function (:data:`ATTENTION_SCORES`); "general" takes neither bias nor key_prior."""
    if kind == "none":
        return None
    if score not in ATTENTION_SCORES:
        raise ValueError(f"unknown attention score {score!r}; choose one of {', '.join(ATTENTION_SCORES)}")
    if kind == "bahdanau" and score == "general":
        if (bias, key_prior) != ("key", "keep"):
            raise ValueError("the general score has no bias and no key prior to move or remove")
        return LuongGeneralAttention(query_size, value_size)
    if kind == "bahdanau":
        return BahdanauAttention(query_size, value_size, attention_size, bias, key_prior)
    if kind == "luong-dot":
        if query_size != value_size:
            raise ValueError(f"luong-dot needs equal sizes, got query {query_size} and value {value_size}")
        return LuongDotAttention()
    if kind == "luong-general":
        return LuongGeneralAttention(query_size, value_size)
    raise ValueError(f"unknown attention {kind!r}; choose one of {', '.join(ATTENTION_TYPES)}")
