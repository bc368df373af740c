"""One decoder step, scored as every decoder scores it, and the distribution a sampled token is drawn from."""

from __future__ import annotations

import torch

from ..model import DecoderState, Memory, Seq2Seq
from ..text import BOS_ID, PAD_ID, UNK_ID
from .settings import DecodeSettings


def next_token_log_probs(model: Seq2Seq, prev_tokens: torch.Tensor, state: DecoderState, memory: Memory,
                         unk_penalty: float = 0.0):
    """One decoder step, scored as every decoder here scores it.

    prev_tokens (B,) -> log_probs (B, V) fp32 over the tokens that may be emitted
    (<pad> and <s> banned, the UNK penalty subtracted, then normalised),
    attention (B, S) or None, and the new state. One log-softmax over the
    adjusted logits: the same distribution as renormalising the model's
    log-probs, at half the cost.
    """
    logits, attention, state = model.step_logits(prev_tokens, state, memory)
    logits = logits.float()
    logits[:, PAD_ID] = float("-inf")
    logits[:, BOS_ID] = float("-inf")
    if unk_penalty:
        logits[:, UNK_ID] -= unk_penalty
    return torch.log_softmax(logits, dim=-1), attention, state


def layer_attention(state) -> torch.Tensor | None:
    """A decoder state's per-layer, per-head cross-attention of its last step, (L, B, h, S) fp32 on the CPU;
    None for a model that records none (the RNNs). See ``TransformerState.cross_attention``."""
    cross = getattr(state, "cross_attention", None)
    return None if cross is None else cross.float().cpu()


def sampling_distribution(log_probs: torch.Tensor, settings: DecodeSettings) -> torch.Tensor:
    """The distribution a token is drawn from: (V,) log-probs -> (V,) probs.

    Temperature first, then top-k, then top-p (nucleus) on what is left, as in
    Holtzman et al. (2020). Temperature 0 (or greedy) is a one-hot argmax.
    """
    if settings.is_greedy:
        probs = torch.zeros_like(log_probs)
        probs[log_probs.argmax()] = 1.0
        return probs
    logits = log_probs / settings.temperature
    if settings.top_k and settings.top_k < logits.numel():
        kth = logits.topk(settings.top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    if settings.top_p < 1.0:
        sorted_probs, order = probs.sort(descending=True)
        mass_before = sorted_probs.cumsum(0) - sorted_probs
        drop = mass_before >= settings.top_p  # keep tokens until the mass reaches p (the top one always)
        sorted_probs[drop] = 0.0
        probs = torch.zeros_like(probs).scatter(0, order, sorted_probs)
        probs = probs / probs.sum()
    return probs
