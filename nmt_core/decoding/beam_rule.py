"""The beam search rule, written once: which proposals finish, which grow the beam, which are pruned.

A pure function of scores, in the manner of fairseq's ``BeamSearch.step``: it
takes the live hypotheses' cumulative scores and their next-token log-probs,
and returns the ranked proposals with what happens to each. It holds no
model, no state and no bookkeeping; the two searches that use it differ only
in what they record:

* :func:`nmt_core.decoding.beam_search` (one sentence, the app's traced
  search) records every proposal as a node of the tree;
* :func:`nmt_core.decoding.batch.beam_search_batch` (many sentences, evaluation)
  keeps tensors only.

The rule (Hands-On ML's beam search, with the details that make it exact):

1. every live hypothesis proposes its ``width + 1`` best continuations (one
   more than the beam, so a ``</s>`` among them never starves the beam);
2. all of a sentence's proposals are ranked by cumulative log-prob;
3. walking that ranking, a ``</s>`` proposal finishes its hypothesis and any
   other proposal joins the next beam, until the beam holds ``width`` live
   hypotheses; every proposal after that is pruned. Proposals at -inf
   (banned tokens, empty beam slots) are neither.

Shapes: N sentences, K live hypotheses per sentence (K ≤ width; empty slots
score -inf), V vocabulary, P = min(width + 1, V) proposals per hypothesis,
R = K·P ranked proposals per sentence.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from ..text import EOS_ID


class BeamSelection(NamedTuple):
    """The ranked proposals of one step, best first, each (N, R)."""

    scores: torch.Tensor  # cumulative log-prob of the proposal
    tokens: torch.Tensor  # the proposed token id
    logprobs: torch.Tensor  # the token's own log-prob
    parents: torch.Tensor  # which of the K live hypotheses proposed it
    finishes: torch.Tensor  # bool: a </s> inside the beam, a finished hypothesis
    grows: torch.Tensor  # bool: joins the next beam as a live hypothesis
    slot: torch.Tensor  # the proposal's place in the next beam (meaningful where ``grows``)

    @property
    def valid(self) -> torch.Tensor:
        """Proposals with a finite score: the ones a traced search records."""
        return torch.isfinite(self.scores)

    @property
    def pruned(self) -> torch.Tensor:
        return self.valid & ~self.finishes & ~self.grows


def select(scores: torch.Tensor, log_probs: torch.Tensor, width: int) -> BeamSelection:
    """One step of the rule. scores (N, K) cumulative, log_probs (N, K, V) -> :class:`BeamSelection`."""
    N, K, V = log_probs.shape
    P = min(width + 1, V)
    top_lp, top_ids = log_probs.topk(P, dim=-1)  # (N, K, P)
    cumulative = (scores[:, :, None] + top_lp).reshape(N, K * P)
    # Stable: equal scores keep the order of their parents and ranks, in both searches alike.
    ranked_scores, ranking = cumulative.sort(dim=1, descending=True, stable=True)  # (N, R)
    tokens = top_ids.reshape(N, K * P).gather(1, ranking)
    logprobs = top_lp.reshape(N, K * P).gather(1, ranking)
    parents = ranking // P
    valid = torch.isfinite(ranked_scores)
    is_eos = tokens == EOS_ID
    growing = valid & ~is_eos
    slot = growing.cumsum(dim=1) - growing.long()  # live proposals ranked above this one
    in_beam = valid & (slot < width)
    return BeamSelection(ranked_scores, tokens, logprobs, parents, in_beam & is_eos, in_beam & growing, slot)


def length_penalty(length: int, alpha: float) -> float:
    """GNMT length penalty ((5 + |Y|) / 6) ** alpha (Wu et al. 2016): normalised score = score / penalty."""
    return ((5 + length) / 6) ** alpha
