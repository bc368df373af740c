"""Beam search over many sentences at once, for evaluation (no traces).

The rules are exactly those of :func:`nmt_core.decoding.beam_search`, so a
sentence gets the same translation alone in the app or in a batch of 1,000:

* every live hypothesis proposes its ``width + 1`` best continuations;
* a sentence's proposals are ranked by cumulative log-prob; walking that
  ranking, ``</s>`` finishes a hypothesis and the others fill the beam until it
  holds ``width``;
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

from .decoding import DecodeSettings, InputError, Translator, length_penalty, next_token_log_probs
from .model import source_batch
from .text import BOS_ID, EOS_ID


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


def _search_chunk(translator: Translator, sources, settings: DecodeSettings) -> list[BatchHypothesis]:
    model, device = translator.model, translator.device
    W = settings.beam_size
    B = len(sources)
    src, lengths = source_batch([s.ids for s in sources], device)
    memory, state = model.encode(src, lengths)
    rows = torch.arange(B, device=device).repeat_interleave(W)  # sentence of each (B·W) row
    memory, state = memory.index_select(rows), state.index_select(rows)

    scores = torch.full((B, W), float("-inf"), device=device)
    scores[:, 0] = 0.0  # one live hypothesis (the start) per sentence
    tokens = torch.empty((B, W, 0), dtype=torch.long, device=device)
    prev = torch.full((B * W,), BOS_ID, dtype=torch.long, device=device)
    limits = torch.tensor([settings.max_length(len(s.tokens)) for s in sources], device=device)
    active = torch.arange(B, device=device)  # original position of each sentence still searching
    finished: list[list[tuple]] = [[] for _ in range(B)]  # per sentence: (normalised, score, ids, done)
    leftovers: list[list[tuple]] = [[] for _ in range(B)]  # live hypotheses when a sentence stopped
    step = 0
    while active.numel():
        n = active.numel()
        log_probs, _, state = next_token_log_probs(model, prev, state, memory, settings.unk_penalty)  # (n·W, V)
        P = min(W + 1, log_probs.size(1))
        top_lp, top_ids = log_probs.topk(P, dim=-1)  # (n·W, P)
        cumulative = (scores.reshape(n * W, 1) + top_lp).reshape(n, W * P)
        ranked_scores, ranking = cumulative.sort(dim=1, descending=True)  # (n, W·P)
        ranked_tokens = top_ids.reshape(n, W * P).gather(1, ranking)
        ranked_parents = ranking // P  # which of the W hypotheses proposed it
        valid = torch.isfinite(ranked_scores)
        is_eos = ranked_tokens == EOS_ID
        grows = valid & ~is_eos
        grows_before = grows.cumsum(dim=1) - grows.long()  # growing proposals ranked above this one
        in_beam = valid & (grows_before < W)
        penalty = length_penalty(step + 1, settings.length_penalty)

        for b, j in (in_beam & is_eos).nonzero().tolist():  # rare: one per finished hypothesis
            score = float(ranked_scores[b, j])
            ids = tokens[b, int(ranked_parents[b, j])].tolist()
            finished[int(active[b])].append((score / penalty, score, ids, True))

        keep = in_beam & grows  # at most W per sentence, at ranks grows_before
        b_index, j_index = keep.nonzero(as_tuple=True)
        slot = grows_before[b_index, j_index]
        new_scores = torch.full((n, W), float("-inf"), device=device)
        new_scores[b_index, slot] = ranked_scores[b_index, j_index]
        parents = torch.zeros((n, W), dtype=torch.long, device=device)
        parents[b_index, slot] = ranked_parents[b_index, j_index]
        new_tokens = torch.full((n, W), EOS_ID, dtype=torch.long, device=device)
        new_tokens[b_index, slot] = ranked_tokens[b_index, j_index]

        flat_parents = (torch.arange(n, device=device)[:, None] * W + parents).flatten()  # (n·W,)
        tokens = torch.cat([tokens.reshape(n * W, -1)[flat_parents].reshape(n, W, -1), new_tokens[..., None]], dim=2)
        scores = new_scores
        state = state.index_select(flat_parents)
        prev = new_tokens.flatten()
        step += 1

        counts = torch.tensor([len(finished[int(a)]) for a in active.tolist()], device=device)
        alive = torch.isfinite(scores).any(dim=1)
        stop = (counts >= W) | ~alive | (step >= limits[active])
        if bool(stop.any()):
            final_penalty = length_penalty(step, settings.length_penalty)
            for b in stop.nonzero().flatten().tolist():
                for w in torch.isfinite(scores[b]).nonzero().flatten().tolist():
                    score = float(scores[b, w])
                    leftovers[int(active[b])].append((score / final_penalty, score, tokens[b, w].tolist(), False))
            keep_rows = (~stop).nonzero().flatten()
            active = active[keep_rows]
            scores, tokens = scores[keep_rows], tokens[keep_rows]
            beam_rows = (keep_rows[:, None] * W + torch.arange(W, device=device)).flatten()
            state, memory = state.index_select(beam_rows), memory.index_select(beam_rows)
            prev = prev[beam_rows]

    best = []
    for done, live in zip(finished, leftovers, strict=True):
        candidates = done if len(done) >= settings.n_best else done + live
        normalized, score, ids, is_finished = max(candidates, key=lambda c: c[0])
        best.append(BatchHypothesis(translator.tgt_tokenizer.decode(ids), ids, score, normalized, is_finished))
    return best
