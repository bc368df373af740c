"""A Transformer's every attention (encoder self, decoder self, cross) for one trace, from one forced pass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..model import source_batch
from ..text import BOS_ID
from .trace import Trace

if TYPE_CHECKING:
    from .translator import Translator


@dataclass
class AttentionMaps:
    """Every attention of a Transformer for one trace's sentence and translation (plain numpy, fp32).

    encoder_self (L_enc, h, S, S): source piece i (row) attending to source piece j;
    decoder_self (L_dec, h, T, T): the query writing target token t attends to the decoder inputs
    ``decoder_inputs`` (``<s>`` then the target tokens before t); zero above the diagonal (causal);
    cross (L_dec, h, T, S): the same as the trace's ``layer_attention``, from one teacher-forced pass.
    """

    encoder_self: np.ndarray
    decoder_self: np.ndarray
    cross: np.ndarray
    source_tokens: list[str]
    target_tokens: list[str]
    decoder_inputs: list[str]


def attention_maps(translator: Translator, trace: Trace) -> AttentionMaps | None:
    """A Transformer's self- and cross-attention for ``trace`` (its source and translation fed as a forced
    target), or None for a model without them (the RNNs). One full pass: attention at a step depends only
    on the tokens before it, so the rows equal the ones the decoder saw step by step."""
    model = translator.model
    if not hasattr(model, "attention_maps"):
        return None
    source = translator.prepare(trace.source_text)
    if source.tokens != trace.source_tokens:
        raise ValueError("the trace's source pieces are not what this model reads for its text")
    targets = trace.target_ids
    tgt_in = [BOS_ID] + targets[:-1] if targets else [BOS_ID]
    with torch.inference_mode():
        src, lengths = source_batch([source.ids], translator.device)
        maps = model.attention_maps(src, lengths, torch.tensor([tgt_in], device=translator.device))
    rows = len(targets)
    return AttentionMaps(
        encoder_self=maps.encoder_self.float().cpu().numpy(),
        decoder_self=maps.decoder_self.float().cpu().numpy()[:, :, :rows, :rows],
        cross=maps.cross.float().cpu().numpy()[:, :, :rows],
        source_tokens=list(trace.source_tokens),
        target_tokens=trace.target_tokens,
        decoder_inputs=translator.tgt_tokenizer.pieces(tgt_in)[:rows],
    )
