"""Intervening on attention, and looking inside one attention step (RNN and Transformer models).

**Intervention** (the experiment of Seq2Seq-Vis, Strobelt et al. 2018, and Lee et al. 2017's
interactive beam search): at step t, replace the model's attention row with one chosen by hand —
all of it on one source word (``focus``), or one word zeroed and the rest renormalised
(``remove``) — then decode on greedily. If the output follows the attention, the word at step t
(and often the rest) changes. :func:`intervene` returns an ordinary :class:`~nmt_core.decoding.trace.Trace`
whose ``settings["intervention"]`` records the change (step, mode, word, the row before and after,
the old token's probability before and after), plus a line in ``warnings``.

**Inside attention** (:func:`inside_attention`): at step t, the raw scores e(t, i), the softmax
weights α(t, i) = exp e(t, i) / Σ_k exp e(t, k) and the context vector c_t = Σ_i α(t, i) h̄_i, with
the model's own score function:

* Bahdanau: e(t, i) = vᵀ tanh(W₁ s_{t-1} + W₂ h̄_i)   (query: the state before the step)
* Luong general: e(t, i) = h_tᵀ W_a h̄_i              (query: the RNN output of the step)
* Luong dot: e(t, i) = h_tᵀ h̄_i

For a model trained with ``attend_to_source_end=False`` the weights are the model's own masked
softmax (α = 0 on the source ``</s>``), and an intervention that would put attention there (``focus``
on ``</s>``, or ``remove`` with nothing else left) is refused with an :class:`InputError`.

**Transformer.** Attention there is several heads in several decoder layers, and the row every view
reads is the head-mean of one layer (``display_layer``, the last by default). The one intervention
defined here: at step t, the cross-attention weights of *every head of one decoder layer* (default
``display_layer``) are replaced, then decoding goes on greedily with every other attention (the other
layers, the self-attention, later steps) left to the model. ``focus`` gives every head of that layer
the same row (all on the word); ``remove`` zeroes the word in each head's own row and renormalises it.
The queries of that layer are not used; the residual stream, the feed-forward blocks and the layers
above read the new mix of values as they would read the model's own. It tests one layer at a time: a
layer below can already have carried the word into the target states, so "the output did not change"
says that *this layer's* attention was not needed, not that the word was not read.
Inside attention for a Transformer is per head h of the chosen layer:
e_h(t, i) = q_hᵀ k_{h,i} / √d with q_h = W_Q,h LN(x_t) (the step's residual stream after the layer's
self-attention) and k_{h,i} = W_K,h h̄_i (the encoder output), α_h = softmax(e_h) and the head's
context c_h = Σ_i α_h(t, i) v_{h,i} (before the output projection W_O).

Both run the model under ``torch.inference_mode`` and pass the override as an argument of the
step (``step_logits(..., attention_override=)``, plus ``override_layer=`` for a Transformer):
nothing is stored on the shared model.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..decoding import DecodeSettings, InputError, Translator, layer_attention
from ..decoding.trace import Candidate, Step, Trace
from ..model import Seq2Seq, TransformerSeq2Seq
from ..model.attention import BahdanauAttention, LuongDotAttention, masked_softmax
from ..text import BOS_ID, EOS_ID, PAD_ID
from ..views.attention import word_groups, word_text

MODES = ("focus", "remove")
MULTI_HEAD_FORMULA = "e_h(t,i) = q_hᵀ k_h,ᵢ / √d,  q_h = W_Q,h LN(x_t),  k_h,ᵢ = W_K,h h̄ᵢ"  # a Transformer's


def query_symbol(model: Seq2Seq) -> str:
    """The RNN's attention query: Bahdanau's flow queries with s(t-1), before the RNN step; Luong's with h(t), its
    output (and so does an ablation's ``attention_query: current``)."""
    return "s(t-1)" if model.decoder.attends_before_step else "h(t)"


def score_formula(model: Seq2Seq) -> str:
    """The RNN's score as it computes it (with :func:`query_symbol`'s query): an additive score may have its key
    prior removed, and a Bahdanau flow may score with Luong's bilinear form (issue 16's ``attention_key_prior`` and
    ``attention_score``)."""
    attention = model.decoder.attention
    query = query_symbol(model)
    if isinstance(attention, BahdanauAttention):
        formula = f"e(t,i) = vᵀ tanh(W₁ {query} + W₂ h̄ᵢ)"
        return formula + " − vᵀ tanh(W₂ h̄ᵢ)" if attention.key_prior == "remove" else formula
    if isinstance(attention, LuongDotAttention):
        return f"e(t,i) = {query}ᵀ h̄ᵢ"
    return f"e(t,i) = {query}ᵀ W_a h̄ᵢ"


def _check_model(translator: Translator) -> None:
    model = translator.model
    if isinstance(model, TransformerSeq2Seq):
        return
    if not isinstance(model, Seq2Seq) or model.decoder.attention is None:
        raise InputError("intervention and inside attention need a model with attention")


def _layer(translator: Translator, layer: int | None) -> int | None:
    """The Transformer decoder layer to work on (0-based; None -> display_layer); None for an RNN."""
    model = translator.model
    if not isinstance(model, TransformerSeq2Seq):
        return None
    try:
        return model.override_layer(layer)
    except ValueError:
        raise InputError(f"layer must be between 0 and {model.cfg.decoder_layers - 1}, not {layer}") from None


def _attendable(model, memory) -> np.ndarray:
    """(S,) True where the model can attend (the source </s> is out when ``attend_to_source_end`` is off)."""
    mask = model.decoder.attention_mask(memory) if isinstance(model, Seq2Seq) else memory.mask
    return mask[0].cpu().numpy()


def override_row(row: np.ndarray, pieces: list[int], mode: str, attendable: np.ndarray | None = None) -> np.ndarray:
    """The new attention row (S,), or rows (..., S) each on its own: ``focus`` puts all mass on ``pieces``
    (equal shares), ``remove`` zeroes them and renormalises the rest (all of it to ``</s>``, the last
    position, when nothing else had any).

    ``attendable`` (S,) bool: where the model can attend. A new row with no mass there (the model never
    attends to the source ``</s>`` and the row would put everything on it) is an :class:`InputError`.
    """
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    row = np.asarray(row, dtype=float)
    if mode == "focus":
        new = np.zeros_like(row)
        new[..., pieces] = 1.0 / len(pieces)
    else:
        new = row.copy()
        new[..., pieces] = 0.0
        total = new.sum(axis=-1, keepdims=True)
        empty = total[..., 0] <= 0
        new = new / np.where(total > 0, total, 1.0)
        new[empty, -1] = 1.0
    if attendable is not None and not (new * attendable).sum(axis=-1).min() > 0:
        what = "all attention on it" if mode == "focus" else "attention taken off it leaves only the source </s>"
        raise InputError(f"this model never attends to the source </s> (it was trained with attend_to_source_end "
                         f"off), so that change ({what}) cannot be made: pick another word")
    return new


def _prefix_state(translator: Translator, trace: Trace, t: int):
    """Encode the trace's source and feed its first t tokens: (prepared source, memory, state before step t)."""
    source = translator.prepare(trace.source_text)
    model = translator.model
    memory, state = translator.encode(source)
    prev = BOS_ID
    for step in trace.steps[:t]:
        _, _, state = model.step_logits(torch.tensor([prev]), state, memory)
        prev = step.token_id
    return source, memory, state, prev


def _log_probs(logits: torch.Tensor) -> torch.Tensor:
    logits = logits.float()[0]
    logits[PAD_ID] = float("-inf")
    logits[BOS_ID] = float("-inf")
    return torch.log_softmax(logits, dim=-1)


def intervene(translator: Translator, trace: Trace, t: int, word: int, mode: str = "focus",
              max_tokens: int | None = None, layer: int | None = None) -> Trace:
    """Decode ``trace``'s source with its first t tokens, step t's attention replaced, then greedy on.

    ``word`` indexes the source words as :func:`nmt_core.views.attention.word_groups` cuts
    ``trace.source_tokens`` (``</s>`` is the last one). ``layer``: for a Transformer, the decoder layer
    whose heads are all overridden (0-based; default its ``display_layer``); ignored for an RNN.
    """
    _check_model(translator)
    if not 0 <= t < len(trace.steps):
        raise InputError(f"step must be between 0 and {len(trace.steps) - 1}, not {t}")
    groups = word_groups(trace.source_tokens)
    if not 0 <= word < len(groups):
        raise InputError(f"source word must be between 0 and {len(groups) - 1}, not {word}")
    layer = _layer(translator, layer)
    settings = DecodeSettings(method="greedy", num_candidates=10)
    tokenizer = translator.tgt_tokenizer
    with torch.inference_mode():
        source, memory, state, prev = _prefix_state(translator, trace, t)
        limit = max_tokens or settings.max_length(len(source.tokens))
        steps = [Step(**{**s.__dict__, "forced": True}) for s in trace.steps[:t]]
        record = {}
        while len(steps) < limit and not (steps and steps[-1].token_id == EOS_ID):
            if len(steps) == t:
                log_probs, attention, state, record = _overridden_step(translator, trace, t, (groups, word), mode,
                                                                       layer, (prev, state, memory))
            else:
                logits, attention, state = translator.model.step_logits(torch.tensor([prev]), state, memory)
                log_probs = _log_probs(logits)
            steps.append(_greedy_step(len(steps), log_probs, attention, state, tokenizer, settings.num_candidates))
            prev = steps[-1].token_id
    finished = steps[-1].token_id == EOS_ID
    ids = [s.token_id for s in (steps[:-1] if finished else steps)]
    verb = "all attention on" if mode == "focus" else "attention taken off"
    where = f" in every head of decoder layer {layer + 1}" if layer is not None else ""
    note = (f"Intervention at step {t + 1}: {verb} “{record['word']}”{where}; the old token “{record['old_token']}” "
            f"went from {record['old_token_prob_before']:.1%} to {record['old_token_prob_after']:.1%}.")
    return Trace(method="greedy", settings={**settings.to_dict(), "intervention": record},
                 source_text=source.text, source_tokens=source.tokens, steps=steps,
                 translation=tokenizer.decode(ids), finished=finished, warnings=[*source.warnings, note])


def _overridden_step(translator: Translator, trace: Trace, t: int, chosen: tuple[list, int], mode: str,
                     layer: int | None, at: tuple):
    """Step t with its attention replaced: (log-probs (V,), attention (1, S), new state, the record).

    ``chosen``: (the source words' piece groups, the word's index); ``at``: (previous token, state, memory).
    The rows replaced are an RNN's one row, or every head's row (h, S) of the Transformer's ``layer``."""
    (groups, word), (prev, state, memory) = chosen, at
    model, transformer = translator.model, layer is not None
    old_token = trace.steps[t].token_id
    natural_logits, natural, natural_state = model.step_logits(torch.tensor([prev]), state, memory)
    before = (natural_state.cross_attention[layer, 0] if transformer else natural[0]).float().numpy()
    after = override_row(before, groups[word], mode, _attendable(model, memory))
    record = {"step": t, "mode": mode, "word": word_text(trace.source_tokens, groups[word]),
              "word_index": word, "pieces": groups[word],
              "attention_before": (before.mean(axis=0) if transformer else before).tolist(),
              "attention_after": (after.mean(axis=0) if transformer else after).tolist(),
              "old_token": trace.steps[t].token,
              "old_token_prob_before": math.exp(float(_log_probs(natural_logits)[old_token]))}
    if transformer:
        record.update(layer=layer, heads_before=before.tolist(), heads_after=after.tolist())
    override = torch.tensor(after, dtype=torch.float32)[None]
    layer_args = {"override_layer": layer} if transformer else {}
    logits, attention, state = model.step_logits(torch.tensor([prev]), state, memory, override, **layer_args)
    log_probs = _log_probs(logits)
    record["old_token_prob_after"] = math.exp(float(log_probs[old_token]))
    return log_probs, attention, state, record


def _greedy_step(index: int, log_probs: torch.Tensor, attention: torch.Tensor, state, tokenizer,
                 num_candidates: int) -> Step:
    """The greedy choice from ``log_probs`` (V,), recorded as a trace step with its top candidates."""
    token = int(log_probs.argmax())
    top = log_probs.topk(num_candidates)
    candidates = [Candidate(int(i), p, math.exp(float(lp)), math.exp(float(lp)))
                  for i, lp, p in zip(top.indices.tolist(), top.values.tolist(),
                                      tokenizer.pieces(top.indices.tolist()), strict=True)]
    layers = layer_attention(state)
    return Step(index=index, token_id=token, token=tokenizer.pieces([token])[0], logprob=float(log_probs[token]),
                attention=attention[0].float().tolist(), candidates=candidates, forced=False,
                layer_attention=None if layers is None else layers[:, 0].tolist())


def inside_attention(translator: Translator, trace: Trace, t: int, layer: int | None = None) -> dict:
    """Step t's attention from the inside: per source piece e(t, i), α(t, i), and the context norm.

    RNN -> {"formula", "attention" (type), "pieces", "scores", "weights", "context_norm", "query_norm",
    "key_norms"} where, for the Luong scores, e(t, i) = ‖q‖ ‖k_i‖ cos(q, k_i) with q the query and
    k_i the key (W_a h̄_i, or h̄_i for dot): the numbers that fill in the formula. The weights are the
    model's own masked softmax (0 on the source ``</s>`` when the model never attends there).

    Transformer -> the same keys, each a list over the heads of decoder ``layer`` (default
    ``display_layer``): "scores", "weights", "key_norms", "cosines" (heads, S), "query_norm" and
    "context_norm" (heads,), plus "layer" (0-based), "heads" and "scale" (√d), so that
    e_h(t, i) = ‖q_h‖ ‖k_h,i‖ cos(q_h, k_h,i) / √d.
    """
    _check_model(translator)
    if not 0 <= t < len(trace.steps):
        raise InputError(f"step must be between 0 and {len(trace.steps) - 1}, not {t}")
    model = translator.model
    if isinstance(model, TransformerSeq2Seq):
        return _inside_transformer(translator, trace, t, _layer(translator, layer))
    kind = model.cfg.attention
    attention = model.decoder.attention
    with torch.inference_mode():
        _, memory, state, prev = _prefix_state(translator, trace, t)
        if model.decoder.attends_before_step:
            query = state.h[-1]  # s_{t-1}: Bahdanau's flow attends before the RNN step
        else:
            _, _, after = model.step_logits(torch.tensor([prev]), state, memory)
            query = after.h[-1]  # h_t: the top layer's output of this step
        scores = attention.score(query[:, None, :], memory.keys)  # (1, 1, S)
        weights = masked_softmax(scores, model.decoder.attention_mask(memory))[0, 0]  # the model's own mask
        scores = scores[0, 0]
        context = weights @ memory.values[0]
        result = {"attention": kind, "formula": score_formula(model), "pieces": trace.source_tokens,
                  "query_symbol": query_symbol(model),
                  "scores": scores.tolist(), "weights": weights.tolist(),
                  "context_norm": float(context.norm()), "query_norm": float(query.norm())}
        if isinstance(attention, BahdanauAttention):  # additive: the two terms inside the tanh
            result["query_term_norm"] = float(attention.W_q(query).norm())  # ‖W₁ s(t-1)‖
            result["key_norms"] = memory.keys[0].norm(dim=-1).tolist()  # ‖W₂ h̄ᵢ + b‖
        else:
            keys = memory.keys[0]
            result["key_norms"] = keys.norm(dim=-1).tolist()
            result["cosines"] = torch.nn.functional.cosine_similarity(query, keys, dim=-1).tolist()
    return result


def _inside_transformer(translator: Translator, trace: Trace, t: int, layer: int) -> dict:
    """:func:`inside_attention` for a Transformer: the step re-stated up to ``layer``'s cross-attention
    (the layers below as the model runs them; then that layer's self-attention sublayer and the
    ``norm_cross`` its queries read), with the model's own keys, values and mask."""
    model = translator.model
    with torch.inference_mode():
        _, memory, state, prev = _prefix_state(translator, trace, t)
        x = model._embed(model.tgt_embed, torch.tensor([[prev]]), start=state.length)  # (1, 1, D)
        self_mask = torch.ones(1, 1, 1, state.length + 1, dtype=torch.bool)
        cross_mask = memory.mask[:, None, None, :]
        for index, block in enumerate(model.decoder_layers[: layer + 1]):
            new_k, new_v = block.self_attention.keys_values(block.norm_self(x))
            k = torch.cat([state.self_keys[index], new_k], dim=2)
            v = torch.cat([state.self_values[index], new_v], dim=2)
            if index < layer:
                x, _, _ = block(x, k, v, self_mask, memory.cross_keys[index], memory.cross_values[index],
                                cross_mask, need_weights=True)
                continue
            mixed, _ = block.self_attention(block.norm_self(x), k, v, self_mask, need_weights=True)
            x = x + block.dropout(mixed)
        cross = model.decoder_layers[layer].cross_attention
        normed = model.decoder_layers[layer].norm_cross(x)
        query = cross.split(cross.query(normed))[0, :, 0]  # (h, d)
        keys, values = memory.cross_keys[layer, 0], memory.cross_values[layer, 0]  # (h, S, d)
        scale = math.sqrt(cross.head_size)
        scores = cross.scores(normed, memory.cross_keys[layer], cross_mask)[0, :, 0]  # (h, S), -inf where masked
        weights = torch.softmax(scores, dim=-1)
        raw = torch.einsum("hd,hsd->hs", query, keys) / scale  # e without the mask, for the table
        context = torch.einsum("hs,hsd->hd", weights, values)
        cosines = torch.nn.functional.cosine_similarity(query[:, None, :], keys, dim=-1)
        return {"attention": "multi-head", "formula": MULTI_HEAD_FORMULA, "pieces": trace.source_tokens,
                "layer": layer, "heads": cross.heads, "scale": scale,
                "scores": raw.tolist(), "weights": weights.tolist(), "context_norm": context.norm(dim=-1).tolist(),
                "query_norm": query.norm(dim=-1).tolist(), "key_norms": keys.norm(dim=-1).tolist(),
                "cosines": cosines.tolist()}


__all__ = ["MODES", "MULTI_HEAD_FORMULA", "inside_attention", "intervene", "override_row", "query_symbol",
           "score_formula"]
