"""The textbook's beam search, kept as the benchmark's reference point.

This is the algorithm of Hands-On Machine Learning's NMT chapter, on our
model: for every hypothesis at every step it calls the whole model (encoder
included) on the source and the full prefix, keeps only the last position's
probabilities, and walks the vocabulary in a Python loop to build candidates.
Nothing is cached between steps. It is correct, and slow in every way the
real decoder (:func:`nmt_core.decoding.beam_search`) is not; the benchmark
prints how much slower.

The only liberty taken: the loop stops once every kept hypothesis has ended
(the textbook keeps looping to ``max_length`` but does no model work then).
"""

from __future__ import annotations

import math

import torch

from nmt_core.decoding import Translator
from nmt_core.model import source_batch
from nmt_core.text import BOS_ID, EOS_ID


def textbook_beam_search(translator: Translator, text: str, beam_width: int, max_length: int) -> str:
    """Best translation of ``text`` by the textbook's algorithm (ranked by raw log-prob)."""
    model = translator.model
    source = translator.prepare(text)
    src, lengths = source_batch([source.ids], translator.device)

    def next_token_probs(prefix: list[int]) -> list[float]:
        """Run the whole model on (source, <s> + prefix); probabilities at the last position."""
        tgt_in = torch.tensor([[BOS_ID, *prefix]], device=translator.device)
        logits, _ = model(src, lengths, tgt_in)
        return torch.softmax(logits[0, -1].float(), dim=-1).tolist()

    def log(p: float) -> float:
        return math.log(p) if p > 0 else float("-inf")

    with torch.inference_mode():
        probs = next_token_probs([])
        top = sorted(((log(p), [i]) for i, p in enumerate(probs)), reverse=True)[:beam_width]
        for _ in range(1, max_length):
            if all(tokens[-1] == EOS_ID for _, tokens in top):
                break
            candidates = []
            for log_prob, tokens in top:
                if tokens[-1] == EOS_ID:
                    candidates.append((log_prob, tokens))  # finished: carried over, not extended
                    continue
                for word_id, word_prob in enumerate(next_token_probs(tokens)):  # the vocabulary loop
                    candidates.append((log_prob + log(word_prob), tokens + [word_id]))
            top = sorted(candidates, reverse=True)[:beam_width]
    best = top[0][1]
    return translator.tgt_tokenizer.decode([i for i in best if i != EOS_ID])
