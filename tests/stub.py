"""A scripted stub model: next-token distributions looked up from the history.

In the spirit of fairseq's test utilities: the decoder replays fixed
probabilities, so beam tokens, scores and parents can be checked by hand.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nmt_core.decoding import Translator
from nmt_core.model import DecoderState, Memory
from nmt_core.text import BOS_ID, EOS_ID

VOCAB = ["<pad>", "<unk>", "<s>", "</s>", "a", "b", "c"]
A, B, C = 4, 5, 6
MAX_HISTORY = 16


class StubTokenizer:
    vocab_size = len(VOCAB)

    def encode(self, text: str) -> list[int]:
        return [VOCAB.index(w) if w in VOCAB else 1 for w in text.split()]

    def log_prob(self, text: str) -> float:
        return 0.0 if all(w in VOCAB for w in text.split()) else -math.inf

    def pieces(self, ids):
        return [VOCAB[int(i)] for i in ids]

    def decode(self, ids):
        return " ".join(VOCAB[int(i)] for i in ids if int(i) > 3)


class StubModel(nn.Module):
    """``table[history] = {token: prob}``; the state carries each row's history."""

    def __init__(self, table: dict[tuple[int, ...], dict[int, float]]):
        super().__init__()
        self.table = table
        self.dummy = nn.Parameter(torch.zeros(1))
        self.calls: list[int] = []  # batch size of every step call

    def encode(self, src, lengths):
        values = torch.zeros(src.size(0), src.size(1), 1)
        memory = Memory(values, values, torch.ones(src.shape, dtype=torch.bool))
        return memory, DecoderState(torch.full((1, src.size(0), MAX_HISTORY), -1.0))

    def step(self, prev_tokens, state, memory):
        log_probs, attention, state = self.step_logits(prev_tokens, state, memory)
        return torch.log_softmax(log_probs, dim=-1), attention, state

    def step_logits(self, prev_tokens, state, memory):
        """The table's log-probs serve as logits (they are already normalised)."""
        self.calls.append(len(prev_tokens))
        history = state.h.clone()
        log_probs = torch.full((len(prev_tokens), len(VOCAB)), -math.inf)
        for row, token in enumerate(prev_tokens.tolist()):
            past = [int(t) for t in history[0, row] if t >= 0]
            if token != BOS_ID:
                past.append(token)
                history[0, row, len(past) - 1] = token
            for tok, prob in self.table.get(tuple(past), {EOS_ID: 1.0}).items():
                log_probs[row, tok] = math.log(prob)
        attention = torch.full((len(prev_tokens), memory.values.size(1)), 1.0 / memory.values.size(1))
        return log_probs, attention, DecoderState(history)


# The worked example of tests/test_decoding.py, beam width 2.
TABLE = {
    (): {A: 0.5, B: 0.4, C: 0.06, EOS_ID: 0.04},
    (A,): {EOS_ID: 0.6, B: 0.3, C: 0.1},
    (B,): {A: 0.9, EOS_ID: 0.06, C: 0.04},
    (B, A): {EOS_ID: 0.7, C: 0.2, A: 0.1},
    (A, B): {EOS_ID: 0.9, A: 0.06, C: 0.04},
}


def stub_translator(table=TABLE) -> Translator:
    return Translator(StubModel(table), StubTokenizer(), StubTokenizer())
