"""Forced decoding: push a given target through the model and read what it did at every step.

Two things need the model run on a *given* target rather than on its own output:
the attention matrix of a reference translation (the ``attention`` and ``shift``
alignment methods) and gradients of each target token's log-probability with respect
to the source embeddings (the attribution methods).

The gradient path needs the source *embeddings* as an input. The shared, served model
must not be touched (no hooks, no ``requires_grad`` changes, no ``.grad`` written: one
model object serves every session of the app), so :func:`encode_embedded` and
:func:`decoder_features` re-state the models' own forward passes from the embedding
layer on, reading the modules' weights and calling their submodules. Gradients are
taken with ``torch.autograd.grad`` on the inputs only, so no parameter's ``.grad`` is
written. ``tests/test_explain.py`` checks these re-stated passes against the models'
own teacher-forced outputs.

Shapes: B batch, S source pieces (with the closing ``</s>``), T target steps
(``<s>`` + target pieces as inputs; target pieces + ``</s>`` as outputs), E embedding
size, O size of the vector the output layer reads.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..model import TransformerSeq2Seq, source_batch
from ..model.rnn import DecoderState, Memory, reverse_padded
from ..text import BOS_ID, EOS_ID


def target_batch(tgt_ids: list[int], device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Target piece ids -> (tgt_in (1, T) = <s> y_1..y_n, tgt_out (1, T) = y_1..y_n </s>)."""
    tgt_in = torch.tensor([[BOS_ID, *tgt_ids]], dtype=torch.long, device=device)
    tgt_out = torch.tensor([[*tgt_ids, EOS_ID]], dtype=torch.long, device=device)
    return tgt_in, tgt_out


def has_attention(model) -> bool:
    return isinstance(model, TransformerSeq2Seq) or model.decoder.attention is not None


def attention_matrix(model, src_ids: list[int], tgt_ids: list[int]) -> np.ndarray | None:
    """Teacher-forced attention: (T, S) with T = len(tgt_ids) + 1 steps, S = len(src_ids) + 1.

    Row t is the attention while predicting target piece t (the last row predicts ``</s>``);
    columns are the source pieces and the closing ``</s>``. None for a model without attention.
    """
    if not has_attention(model):
        return None
    device = next(model.parameters()).device
    with torch.inference_mode():
        src, lengths = source_batch([src_ids], device)
        tgt_in, _ = target_batch(tgt_ids, device)
        if isinstance(model, TransformerSeq2Seq):
            _, attention = model(src, lengths, tgt_in, need_weights=True)
        else:
            _, attention = model(src, lengths, tgt_in)
    return attention[0].float().cpu().numpy()


# -- the forward pass from the source embeddings on (for gradients)
def source_embeddings(model, src: torch.Tensor) -> torch.Tensor:
    """src (B, S) ids -> the embedding layer's output (B, S, E), detached from the shared weights."""
    embedding = model.src_embed if isinstance(model, TransformerSeq2Seq) else model.encoder.embed
    return embedding(src).detach()


def encode_embedded(model, embedded: torch.Tensor, lengths: torch.Tensor):
    """The model's ``encode`` from the source embedding layer's output (B, S, E) on.

    -> (memory, initial state) exactly as ``model.encode(src, lengths)`` gives them when
    ``embedded`` is the embedding of ``src`` (eval mode: dropout is the identity).
    """
    S = embedded.size(1)
    mask = torch.arange(S, device=embedded.device)[None, :] < lengths[:, None]  # (B, S)
    if isinstance(model, TransformerSeq2Seq):
        x = embedded * math.sqrt(model.cfg.d_model) + model.positions[:S]
        for layer in model.encoder_layers:
            x, _ = layer(x, mask[:, None, None, :])
        values = model.encoder_norm(x)
        return (values, mask), None
    encoder, cfg = model.encoder, model.cfg
    x = reverse_padded(embedded, lengths) if cfg.reverse_source else embedded
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    outputs, final = encoder.rnn(packed)
    outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=S)
    if cfg.reverse_source:
        outputs = reverse_padded(outputs, lengths)
    if cfg.rnn_type == "lstm":
        state = DecoderState(encoder._merge_directions(final[0]), encoder._merge_directions(final[1]))
    else:
        state = DecoderState(encoder._merge_directions(final))
    attention = model.decoder.attention
    keys = attention.prepare_keys(outputs) if attention is not None else outputs
    return Memory(outputs, keys, mask), model.decoder.initial_state(state)


def decoder_features(model, memory, state, tgt_in: torch.Tensor,
                     target_embedded: torch.Tensor | None = None) -> torch.Tensor:
    """Teacher-forced decoder up to the output layer: tgt_in (B, T) -> (B, T, O).

    ``target_embedded`` (B, T, E), when given, replaces the decoder's embedding of ``tgt_in``
    (the input of target-prefix attribution).

    O is what the output layer reads: Luong's/Bahdanau's attentional vector h̃_t for an RNN,
    the final layer norm's output for a Transformer. ``output_logits`` finishes the step.
    """
    if isinstance(model, TransformerSeq2Seq):
        values, mask = memory
        T = tgt_in.size(1)
        embedded = model.tgt_embed(tgt_in) if target_embedded is None else target_embedded
        x = embedded * math.sqrt(model.cfg.d_model) + model.positions[:T]
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()[None, None]
        for layer in model.decoder_layers:
            k, v = layer.self_attention.keys_values(layer.norm_self(x))
            ck, cv = layer.cross_attention.keys_values(values)
            x, _, _ = layer(x, k, v, causal, ck, cv, mask[:, None, None, :])
        return model.decoder_norm(x)
    decoder, cfg = model.decoder, model.cfg
    embedded = decoder.embed(tgt_in) if target_embedded is None else target_embedded  # (B, T, E)
    if decoder.parallel_teacher_forcing:
        outputs, _ = decoder._rnn(embedded, state)  # (B, T, H)
        if decoder.attention is None:
            features = outputs
        else:
            context, _ = decoder._attend(outputs, memory)
            features = torch.cat([context, outputs], dim=-1)
        return torch.tanh(decoder.combine(features))
    # Bahdanau or input feeding: one step at a time, the training (unfrozen) path of Decoder.step_logits.
    steps = []
    for t in range(tgt_in.size(1)):
        rnn_in = [embedded[:, t : t + 1]]  # (B, 1, E)
        if decoder.attends_before_step:  # Bahdanau's flow (not an ablation's attention_query "current")
            context, _ = decoder._attend(state.h[-1].unsqueeze(1), memory)
            rnn_in.append(context)
        if cfg.input_feeding:
            rnn_in.append(state.feed.unsqueeze(1))
        output, state = decoder._rnn(torch.cat(rnn_in, dim=-1), state)
        if cfg.attention == "none":
            features = output
        elif decoder.attends_before_step:
            features = torch.cat([output, context], dim=-1)
        else:
            context, _ = decoder._attend(output, memory)
            features = torch.cat([context, output], dim=-1)
        attentional = torch.tanh(decoder.combine(features)).squeeze(1)  # (B, O)
        if cfg.input_feeding:
            state = state._replace(feed=attentional)
        steps.append(attentional)
    return torch.stack(steps, dim=1)


def output_logits(model, features: torch.Tensor) -> torch.Tensor:
    """(..., O) -> (..., V) through the model's output layer."""
    return model.out(features) if isinstance(model, TransformerSeq2Seq) else model.decoder.out(features)


def gold_log_prob(embedded: torch.Tensor, model, lengths: torch.Tensor, tgt_in: torch.Tensor,
                  tgt_out: torch.Tensor, position: torch.Tensor,
                  target_embedded: torch.Tensor | None = None) -> torch.Tensor:
    """log p(tgt_out[b, position[b]] | source, tgt_in[b, :position[b] + 1]) for each row b: (B,).

    The forward function every attribution method differentiates. Each row of the batch is
    one target position, so one backward pass gives every target token's gradient; only the
    position's own row goes through the (large) output layer.
    """
    memory, state = encode_embedded(model, embedded, lengths)
    rows = torch.arange(tgt_in.size(0), device=tgt_in.device)
    if not isinstance(model, TransformerSeq2Seq) and model.decoder.parallel_teacher_forcing:
        selected = _rnn_features_at(model, memory, state, tgt_in, position, target_embedded)  # (B, O)
    else:
        selected = decoder_features(model, memory, state, tgt_in, target_embedded)[rows, position]  # (B, O)
    logits = output_logits(model, selected)  # (B, V)
    return torch.log_softmax(logits.float(), dim=-1)[rows, tgt_out[rows, position]]


def _rnn_features_at(model, memory, state, tgt_in: torch.Tensor, position: torch.Tensor,
                     target_embedded: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`decoder_features` at row b's ``position[b]`` only, for an RNN whose step inputs are all known
    (no Bahdanau, no input feeding): row b's RNN runs over its first position[b] + 1 inputs (packed), and
    attention and the combination layer run at that one step. The same numbers, a fraction of the work
    (attribution batches one row per target position: the rows are 1, 2, .. T steps long, not T each)."""
    decoder = model.decoder
    embedded = decoder.embed(tgt_in) if target_embedded is None else target_embedded  # (B, T, E)
    packed = pack_padded_sequence(embedded, (position + 1).cpu(), batch_first=True, enforce_sorted=False)
    if model.cfg.rnn_type == "lstm":
        _, (h, _) = decoder.rnn(packed, (state.h, state.c))
    else:
        _, h = decoder.rnn(packed, state.h)
    output = h[-1].unsqueeze(1)  # (B, 1, H): the top layer's output at the last step fed, position[b]
    if decoder.attention is None:
        features = output
    else:
        context, _ = decoder._attend(output, memory)
        features = torch.cat([context, output], dim=-1)
    return torch.tanh(decoder.combine(features)).squeeze(1)
