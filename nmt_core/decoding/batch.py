"""Batched decoding of many sentences at once, for evaluation (no traces): beam search and greedy.

The selection rule is :func:`nmt_core.decoding.beam_rule.select`, shared with the
traced search (:func:`nmt_core.decoding.beam.beam_search`), so a sentence gets the
same translation alone in the app or in a batch of 1,000:

* a sentence stops when ``width`` hypotheses have finished, when none is
  alive, or at its length limit; finished hypotheses (plus the live ones if
  fewer than ``n_best`` finished) are ranked by the GNMT-normalised score.

What differs is the bookkeeping: all sentences' beams live in one (B·W)
batch, so each step is one decoder call and a few tensor ops, with no Python
loop over hypotheses or over the vocabulary. Sentences that are done are
dropped from the batch so no work is spent on them.

Shapes: B sentences in the chunk, W beam width, P = W + 1 proposals per
hypothesis, V target vocabulary, t tokens so far.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..model import source_batch
from ..text import BOS_ID, EOS_ID, PAD_ID
from .beam_rule import BeamSelection, length_penalty, select
from .scoring import next_token_log_probs
from .settings import MAX_OUTPUT_LENGTH, MAX_SOURCE_PIECES, DecodeSettings, InputError
from .translator import Translator


@dataclass
class BatchHypothesis:
    translation: str
    token_ids: list[int]
    score: float  # cumulative log-prob
    normalized_score: float  # score / GNMT length penalty
    finished: bool  # ended with </s> (False: cut by the length limit)


def beam_search_batch(
    translator: Translator,
    texts: list[str],
    settings: DecodeSettings | None = None,
    batch_size: int = 64,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[BatchHypothesis]:
    """The best beam hypothesis for each text, in input order.

    ``batch_size`` sentences are decoded together (sorted by length, so a chunk's
    sentences finish at about the same step); ``on_progress(done, total)`` is
    called after each chunk. A text that is empty after normalisation gives an
    empty translation.
    """
    settings = (settings or DecodeSettings(method="beam")).validate()
    results: list[BatchHypothesis | None] = [None] * len(texts)
    prepared = {}
    for index, text in enumerate(texts):
        try:
            prepared[index] = translator.prepare(text)
        except InputError:
            results[index] = BatchHypothesis("", [], 0.0, 0.0, False)
    order = sorted(prepared, key=lambda i: len(prepared[i].ids))
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            best = _search_chunk(translator, [prepared[i] for i in chunk], settings)
            for index, hypothesis in zip(chunk, best, strict=True):
                results[index] = hypothesis
            if on_progress is not None:
                on_progress(min(start + batch_size, len(order)) + len(texts) - len(order), len(texts))
    return results


class _Chunk:
    """The tensors of one chunk's search, B sentences × W hypotheses (rows b·W + w of the decoder batch).

    Sentences that stop are dropped from every tensor, so ``active`` maps a row back to the chunk.
    """

    def __init__(self, translator: Translator, sources, settings: DecodeSettings):
        model, device = translator.model, translator.device
        W, B = settings.beam_size, len(sources)
        src, lengths = source_batch([s.ids for s in sources], device)
        memory, state = model.encode(src, lengths)
        rows = torch.arange(B, device=device).repeat_interleave(W)  # sentence of each (B·W) row
        self.memory, self.state = memory.index_select(rows), state.index_select(rows)
        self.scores = torch.full((B, W), float("-inf"), device=device)
        self.scores[:, 0] = 0.0  # one live hypothesis (the start) per sentence
        self.tokens = torch.empty((B, W, 0), dtype=torch.long, device=device)
        self.prev = torch.full((B * W,), BOS_ID, dtype=torch.long, device=device)
        self.limits = torch.tensor([settings.max_length(len(s.tokens)) for s in sources], device=device)
        self.active = torch.arange(B, device=device)  # chunk position of each sentence still searching
        self.finished: list[list[tuple]] = [[] for _ in range(B)]  # per sentence: (normalised, score, ids, done)
        self.leftovers: list[list[tuple]] = [[] for _ in range(B)]  # live hypotheses when a sentence stopped
        self.W, self.device = W, device

    def advance(self, chosen: BeamSelection, penalty: float) -> None:
        """Record finished hypotheses and move the beam to the selected proposals."""
        n, W, device = self.active.numel(), self.W, self.device
        for b, j in chosen.finishes.nonzero().tolist():  # rare: one per finished hypothesis
            score = float(chosen.scores[b, j])
            ids = self.tokens[b, int(chosen.parents[b, j])].tolist()
            self.finished[int(self.active[b])].append((score / penalty, score, ids, True))
        b_index, j_index = chosen.grows.nonzero(as_tuple=True)
        slot = chosen.slot[b_index, j_index]
        new_scores = torch.full((n, W), float("-inf"), device=device)
        new_scores[b_index, slot] = chosen.scores[b_index, j_index]
        parents = torch.zeros((n, W), dtype=torch.long, device=device)
        parents[b_index, slot] = chosen.parents[b_index, j_index]
        new_tokens = torch.full((n, W), EOS_ID, dtype=torch.long, device=device)
        new_tokens[b_index, slot] = chosen.tokens[b_index, j_index]
        flat_parents = (torch.arange(n, device=device)[:, None] * W + parents).flatten()  # (n·W,)
        self.tokens = torch.cat([self.tokens.reshape(n * W, -1)[flat_parents].reshape(n, W, -1),
                                 new_tokens[..., None]], dim=2)
        self.scores = new_scores
        self.state = self.state.index_select(flat_parents)
        self.prev = new_tokens.flatten()

    def drop_stopped(self, step: int, alpha: float) -> None:
        """Sentences with W finished, none alive, or at their limit stop; their live hypotheses are kept aside."""
        counts = torch.tensor([len(self.finished[int(a)]) for a in self.active.tolist()], device=self.device)
        alive = torch.isfinite(self.scores).any(dim=1)
        stop = (counts >= self.W) | ~alive | (step >= self.limits[self.active])
        if not bool(stop.any()):
            return
        final_penalty = length_penalty(step, alpha)
        for b in stop.nonzero().flatten().tolist():
            for w in torch.isfinite(self.scores[b]).nonzero().flatten().tolist():
                score = float(self.scores[b, w])
                self.leftovers[int(self.active[b])].append((score / final_penalty, score, self.tokens[b, w].tolist(),
                                                            False))
        keep_rows = (~stop).nonzero().flatten()
        self.active = self.active[keep_rows]
        self.scores, self.tokens = self.scores[keep_rows], self.tokens[keep_rows]
        beam_rows = (keep_rows[:, None] * self.W + torch.arange(self.W, device=self.device)).flatten()
        self.state, self.memory = self.state.index_select(beam_rows), self.memory.index_select(beam_rows)
        self.prev = self.prev[beam_rows]


def _search_chunk(translator: Translator, sources, settings: DecodeSettings) -> list[BatchHypothesis]:
    chunk = _Chunk(translator, sources, settings)
    step = 0
    while chunk.active.numel():
        n = chunk.active.numel()
        log_probs, _, chunk.state = next_token_log_probs(translator.model, chunk.prev, chunk.state, chunk.memory,
                                                         settings.unk_penalty)  # (n·W, V)
        chosen = select(chunk.scores, log_probs.reshape(n, chunk.W, -1), chunk.W)
        chunk.advance(chosen, length_penalty(step + 1, settings.length_penalty))
        step += 1
        chunk.drop_stopped(step, settings.length_penalty)

    best = []
    for done, live in zip(chunk.finished, chunk.leftovers, strict=True):
        candidates = done if len(done) >= settings.n_best else done + live
        normalized, score, ids, is_finished = max(candidates, key=lambda c: c[0])
        best.append(BatchHypothesis(translator.tgt_tokenizer.decode(ids), ids, score, normalized, is_finished))
    return best


def greedy_batch(translator: Translator, texts: list[str], batch_size: int = 128, max_length_ratio: float = 2.0,
                 max_length_extra: int = 10, unk_penalty: float = 0.0) -> list[str]:
    """Greedy translations of many sentences, batched (no traces): for evaluation.

    Scored by :func:`next_token_log_probs` like every other decoder (<pad>/<s> banned, the UNK penalty).
    """
    model, device = translator.model, translator.device
    results: list[str] = [""] * len(texts)
    encoded = [translator.src_tokenizer.encode(t)[:MAX_SOURCE_PIECES] for t in texts]
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            src, lengths = source_batch([encoded[i] for i in chunk], device)
            memory, state = model.encode(src, lengths)
            limit = min(MAX_OUTPUT_LENGTH, int(max_length_ratio * int(lengths.max()) + max_length_extra))
            prev = torch.full((len(chunk),), BOS_ID, dtype=torch.long, device=device)
            done = torch.zeros(len(chunk), dtype=torch.bool, device=device)
            outputs = []
            for _ in range(limit):
                log_probs, _, state = next_token_log_probs(model, prev, state, memory, unk_penalty)
                prev = log_probs.argmax(-1).masked_fill(done, PAD_ID)
                outputs.append(prev)
                done |= prev == EOS_ID
                if bool(done.all()):
                    break
            tokens = torch.stack(outputs, dim=1).tolist()
            for row, index in enumerate(chunk):
                ids = tokens[row]
                if EOS_ID in ids:
                    ids = ids[: ids.index(EOS_ID)]
                results[index] = translator.tgt_tokenizer.decode(ids)
    return results
