"""Traced beam search: every node it proposed, kept, pruned or finished, for the Beam search page.

The selection rule is :func:`nmt_core.decoding.beam_rule.select`, shared with the batched search
(:mod:`nmt_core.decoding.batch`); this module only does the bookkeeping of nodes and beams.
"""

from __future__ import annotations

import gc
import math
import weakref
from contextlib import contextmanager
from typing import TYPE_CHECKING

import torch

from ..text import BOS_ID, EOS_ID
from .beam_rule import length_penalty, select
from .scoring import layer_attention, next_token_log_probs
from .settings import DecodeSettings
from .trace import BeamNode, BeamTrace, Candidate, Hypothesis, Step, Trace

if TYPE_CHECKING:
    from .translator import Translator


_PIECES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # tokenizer -> {token id: piece}


def _piece_memo(tokenizer):
    """``ids -> pieces`` for ``tokenizer``, remembering each id's piece: a wide search asks for the same few
    hundred pieces thousands of times, and each SentencePiece lookup is a call into C++ (~1 µs)."""
    memo = _PIECES.setdefault(tokenizer, {})

    def pieces(ids: list[int]) -> list[str]:
        missing = [i for i in dict.fromkeys(ids) if i not in memo]
        if missing:
            memo.update(zip(missing, tokenizer.pieces(missing), strict=True))
        return [memo[i] for i in ids]

    return pieces


@contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off for the block (unless something else switched it off already).

    A width-12 search creates ~3,300 nodes that all live on (the trace keeps them), so each of the ~5 young
    collections it triggers, and the older-generation scans they lead to, walk them and free nothing: 5-10 ms
    of a search's ~150 ms. Allocation counts still add up, so the collection runs after the search instead.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _finite_prefix(ranked: list[float]) -> int:
    """How many of ``ranked`` (best first) are finite: the -inf proposals (banned tokens) sort last."""
    valid = len(ranked)
    while valid and not math.isfinite(ranked[valid - 1]):
        valid -= 1
    return valid


class _TracedBeam:
    """The bookkeeping of one sentence's traced beam search: every node ever proposed, and the live beam.

    The selection itself is :func:`nmt_core.beam_rule.select`, shared with the batched search.
    """

    def __init__(self, translator: Translator, settings: DecodeSettings):
        self.tokenizer, self.settings = translator.tgt_tokenizer, settings
        self.nodes = [BeamNode(0, None, -1, BOS_ID, self.tokenizer.pieces([BOS_ID])[0], 0.0, 0.0, 0.0, None)]
        self.pieces = _piece_memo(self.tokenizer)  # token id -> piece, shared by every search of this tokenizer
        # Where each expanded step's nodes start and end in self.nodes (a node's siblings are in its step's range).
        self.step_range: dict[int, tuple[int, int]] = {}
        self.beams: list[list[int]] = []
        self.finished: list[BeamNode] = []
        self.alive = [self.nodes[0]]
        # A Transformer's per-layer, per-head rows stay tensors, by node id -> (the step's (L, k, h, S), parent
        # row), until the search ends: only the nodes of the returned hypotheses get them as lists.
        self.node_layers: dict[int, tuple[torch.Tensor, int]] = {}

    def force(self, token_id: int, log_probs: torch.Tensor, attention, state) -> Step:
        """One forced-prefix token under the single live node; returns its Step (with what the model preferred)."""
        parent, settings = self.alive[0], self.settings
        lp = float(log_probs[0, token_id])
        row = None if attention is None else attention[0].float().cpu().tolist()
        layers = layer_attention(state)
        layers = None if layers is None else layers[:, 0].tolist()
        score = parent.score + lp
        node = BeamNode(len(self.nodes), parent.id, parent.step + 1, token_id, self.tokenizer.pieces([token_id])[0],
                        lp, score, score / length_penalty(parent.step + 2, settings.length_penalty), row,
                        layer_attention=layers)
        self.nodes.append(node)
        self.alive = [node]
        top = log_probs[0].topk(min(settings.num_candidates, log_probs.size(1)))
        alternatives = [Candidate(int(i), piece, math.exp(v), math.exp(v)) for i, v, piece in
                        zip(top.indices.tolist(), top.values.tolist(), self.tokenizer.pieces(top.indices.tolist()),
                            strict=True)]
        return Step(node.step, token_id, node.token, lp, row, alternatives, forced=True, layer_attention=layers)

    def expand(self, log_probs: torch.Tensor, attention, state, step_index: int) -> list[int]:
        """Record one step's proposals as nodes; returns the parent row of each new live hypothesis.

        log_probs (k, V) and attention (k, S) or None belong to the k live hypotheses, in order.
        """
        alive = self.alive
        chosen = select(torch.tensor([[n.score for n in alive]]), log_probs.cpu()[None], self.settings.beam_size)
        penalty = length_penalty(step_index + 1, self.settings.length_penalty)
        layers = layer_attention(state)
        rows = None if attention is None else attention.float().cpu().tolist()
        # Plain Python values once per step, two transfers (ints, floats) for the R ranked proposals: a width-12
        # step records ~150 proposals, and per-node tensor indexing or attribute writes cost microseconds each.
        # Ranked best first, so the -inf proposals (not recorded) are the tail; a proposal neither finishing
        # nor growing the beam is pruned.
        logprobs, cumulative = torch.stack((chosen.logprobs[0], chosen.scores[0])).tolist()
        valid = _finite_prefix(cumulative)
        del logprobs[valid:], cumulative[valid:]
        tokens, parents, fates = torch.stack((chosen.tokens[0], chosen.parents[0],
                                              chosen.finishes[0] + 2 * chosen.grows[0]))[:, :valid].tolist()
        parent_ids, pieces, first = [n.id for n in alive], self.pieces(tokens), len(self.nodes)
        new = [BeamNode(first + j, parent_ids[row], step_index, token, piece, logprob, score, score / penalty,
                        None if rows is None else rows[row], fate == 1, fate == 0)
               for j, (token, piece, logprob, score, row, fate) in
               enumerate(zip(tokens, pieces, logprobs, cumulative, parents, fates, strict=True))]
        self.nodes.extend(new)
        self.step_range[step_index] = (first, first + valid)
        if layers is not None:
            self.node_layers.update((node.id, (layers, row)) for node, row in zip(new, parents, strict=True))
        self.finished.extend(node for node, fate in zip(new, fates, strict=True) if fate == 1)
        grown = [j for j, fate in enumerate(fates) if fate == 2]
        self.alive = [new[j] for j in grown]
        self.beams.append([node.id for node in self.alive])
        return [parents[j] for j in grown]

    def siblings(self, node: BeamNode) -> list[BeamNode]:
        """The proposals of ``node``'s parent at ``node``'s step (``node`` among them), in the order recorded."""
        first, end = self.step_range.get(node.step, (0, 0))
        return [n for n in self.nodes[first:end] if n.parent == node.parent]

    def path(self, node: BeamNode) -> list[BeamNode]:
        """The nodes from the root's child down to ``node``."""
        by_id, chain = self.nodes, []
        while node.parent is not None:
            chain.append(node)
            node = by_id[node.parent]  # node ids are their index in self.nodes
        return chain[::-1]

    def best(self) -> list[BeamNode]:
        """The n-best end nodes, by normalised score. Cut by the length limit, unfinished ones compete too."""
        finished = self.finished
        candidates = finished if len(finished) >= self.settings.n_best else finished + self.alive
        candidates = sorted(candidates, key=lambda n: n.normalized_score, reverse=True)[: self.settings.n_best]
        for node in {n.id: n for end in candidates for n in self.path(end)}.values():
            if node.id in self.node_layers:
                layers, row = self.node_layers[node.id]
                node.layer_attention = layers[:, row].tolist()
        return candidates

    def hypothesis(self, end: BeamNode) -> Hypothesis:
        output = [n for n in self.path(end) if n.token_id != EOS_ID]
        return Hypothesis(end.id, [n.token_id for n in output], [n.token for n in output],
                          self.tokenizer.decode(n.token_id for n in output), end.score, end.normalized_score,
                          end.finished)

    def steps(self, end: BeamNode, skip: int) -> list[Step]:
        """The Steps of the path to ``end`` after the ``skip`` forced ones, with each step's proposals as candidates."""
        return [
            Step(index=n.step, token_id=n.token_id, token=n.token, logprob=n.logprob, attention=n.attention,
                 layer_attention=n.layer_attention,
                 candidates=[Candidate(c.token_id, c.token, math.exp(c.logprob), math.exp(c.logprob))
                             for c in sorted(self.siblings(n), key=lambda c: c.logprob, reverse=True)])
            for n in self.path(end)[skip:]
        ]


def beam_search(translator: Translator, text: str, settings: DecodeSettings, prefix=None) -> Trace:
    """Beam search with the whole beam in one decoder call per step, every proposal recorded.

    The rule is :func:`nmt_core.beam_rule.select`; every proposal becomes a node, kept, finished or pruned.
    The search stops when ``beam_size`` hypotheses have finished or the length limit is reached;
    finished hypotheses are ranked by normalised score.
    """
    with _collector_paused():
        return _beam_search(translator, text, settings, prefix)


def _beam_search(translator: Translator, text: str, settings: DecodeSettings, prefix) -> Trace:
    model, device = translator.model, translator.device
    source = translator.prepare(text)
    max_length = settings.max_length(len(source.tokens))
    search = _TracedBeam(translator, settings)

    with torch.inference_mode():
        memory, state = translator.encode(source)
        # The forced prefix runs first, as a chain of single nodes under the root.
        prefix_steps = []
        for token_id in translator.prefix_ids(prefix):
            prev = torch.tensor([search.alive[0].token_id], device=device)
            log_probs, attention, state = next_token_log_probs(model, prev, state, memory, settings.unk_penalty)
            prefix_steps.append(search.force(token_id, log_probs, attention, state))
        step_index = search.alive[0].step + 1
        memory_k, rows = None, 0  # the source memory repeated for the k live hypotheses: copied when k changes
        while search.alive and step_index < max_length and len(search.finished) < settings.beam_size:
            k = len(search.alive)
            prev = torch.tensor([n.token_id for n in search.alive], device=device)
            if rows != k:
                memory_k, rows = memory.index_select(torch.zeros(k, dtype=torch.long, device=device)), k
            log_probs, attention, state = next_token_log_probs(model, prev, state, memory_k, settings.unk_penalty)
            parent_rows = search.expand(log_probs, attention, state, step_index)
            if parent_rows:
                state = state.index_select(torch.tensor(parent_rows, device=device))
            step_index += 1

    ends = search.best()
    hypotheses = [search.hypothesis(end) for end in ends]
    return Trace(
        method="beam",
        settings=settings.to_dict(),
        source_text=source.text,
        source_tokens=source.tokens,
        steps=prefix_steps + search.steps(ends[0], len(prefix_steps)),
        translation=hypotheses[0].translation,
        finished=ends[0].finished,
        beam=BeamTrace(nodes=search.nodes, beams=search.beams, hypotheses=hypotheses),
        warnings=list(source.warnings),
    )
