"""Intervening on attention, and looking inside one attention step (RNN models).

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

Both run the model under ``torch.inference_mode`` and pass the override as an argument of the
step (``Seq2Seq.step_logits(..., attention_override=)``): nothing is stored on the shared model.
The Transformer (multi-head, several layers) is not covered here: its per-head weights are in the
trace's ``layer_attention``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..decoding import DecodeSettings, InputError, Translator
from ..decoding.trace import Candidate, Step, Trace
from ..model import Seq2Seq
from ..text import BOS_ID, EOS_ID, PAD_ID
from ..views.attention import word_groups, word_text

MODES = ("focus", "remove")
FORMULAS = {
    "bahdanau": "e(t,i) = vᵀ tanh(W₁ s(t-1) + W₂ h̄ᵢ)",
    "luong-general": "e(t,i) = h(t)ᵀ W_a h̄ᵢ",
    "luong-dot": "e(t,i) = h(t)ᵀ h̄ᵢ",
}


def _check_rnn(translator: Translator) -> None:
    model = translator.model
    if not isinstance(model, Seq2Seq) or model.decoder.attention is None:
        raise InputError("intervention and inside attention need an RNN model with attention")


def override_row(row: np.ndarray, pieces: list[int], mode: str) -> np.ndarray:
    """The new attention row (S,): ``focus`` puts all mass on ``pieces`` (equal shares), ``remove``
    zeroes them and renormalises the rest (all of it to ``</s>`` when nothing else had any)."""
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    new = np.zeros_like(row) if mode == "focus" else row.copy()
    if mode == "focus":
        new[pieces] = 1.0 / len(pieces)
        return new
    new[pieces] = 0.0
    total = new.sum()
    if total <= 0:
        new[-1] = 1.0
        return new
    return new / total


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
              max_tokens: int | None = None) -> Trace:
    """Decode ``trace``'s source with its first t tokens, step t's attention replaced, then greedy on.

    ``word`` indexes the source words as :func:`nmt_core.alignment.word_groups` cuts
    ``trace.source_tokens`` (``</s>`` is the last one).
    """
    _check_rnn(translator)
    if not 0 <= t < len(trace.steps):
        raise InputError(f"step must be between 0 and {len(trace.steps) - 1}, not {t}")
    groups = word_groups(trace.source_tokens)
    if not 0 <= word < len(groups):
        raise InputError(f"source word must be between 0 and {len(groups) - 1}, not {word}")
    settings = DecodeSettings(method="greedy", num_candidates=10)
    model, tokenizer = translator.model, translator.tgt_tokenizer
    with torch.inference_mode():
        source, memory, state, prev = _prefix_state(translator, trace, t)
        limit = max_tokens or settings.max_length(len(source.tokens))
        steps = [Step(**{**s.__dict__, "forced": True}) for s in trace.steps[:t]]
        record = {}
        while len(steps) < limit and not (steps and steps[-1].token_id == EOS_ID):
            override = None
            if len(steps) == t:
                natural_logits, natural, _ = model.step_logits(torch.tensor([prev]), state, memory)
                before = natural[0].float().numpy()
                after = override_row(before, groups[word], mode)
                override = torch.tensor(after, dtype=torch.float32)[None]
                old_token = trace.steps[t].token_id
                record = {"step": t, "mode": mode, "word": word_text(trace.source_tokens, groups[word]),
                          "word_index": word, "pieces": groups[word], "attention_before": before.tolist(),
                          "attention_after": after.tolist(), "old_token": trace.steps[t].token,
                          "old_token_prob_before": math.exp(float(_log_probs(natural_logits)[old_token]))}
            logits, attention, state = model.step_logits(torch.tensor([prev]), state, memory, override)
            log_probs = _log_probs(logits)
            if override is not None:
                record["old_token_prob_after"] = math.exp(float(log_probs[trace.steps[t].token_id]))
            token = int(log_probs.argmax())
            top = log_probs.topk(settings.num_candidates)
            candidates = [Candidate(int(i), p, math.exp(float(lp)), math.exp(float(lp)))
                          for i, lp, p in zip(top.indices.tolist(), top.values.tolist(),
                                              tokenizer.pieces(top.indices.tolist()), strict=True)]
            steps.append(Step(index=len(steps), token_id=token, token=tokenizer.pieces([token])[0],
                              logprob=float(log_probs[token]), attention=attention[0].float().tolist(),
                              candidates=candidates, forced=False))
            prev = token
    finished = steps[-1].token_id == EOS_ID
    ids = [s.token_id for s in (steps[:-1] if finished else steps)]
    verb = "all attention on" if mode == "focus" else "attention taken off"
    note = (f"Intervention at step {t + 1}: {verb} “{record['word']}”; the old token “{record['old_token']}” "
            f"went from {record['old_token_prob_before']:.1%} to {record['old_token_prob_after']:.1%}.")
    return Trace(method="greedy", settings={**settings.to_dict(), "intervention": record},
                 source_text=source.text, source_tokens=source.tokens, steps=steps,
                 translation=tokenizer.decode(ids), finished=finished, warnings=[*source.warnings, note])


def inside_attention(translator: Translator, trace: Trace, t: int) -> dict:
    """Step t's attention from the inside: per source piece e(t, i), α(t, i), and the context norm.

    -> {"formula", "attention" (type), "pieces", "scores", "weights", "context_norm", "query_norm",
    "key_norms"} where, for the Luong scores, e(t, i) = ‖q‖ ‖k_i‖ cos(q, k_i) with q the query and
    k_i the key (W_a h̄_i, or h̄_i for dot): the numbers that fill in the formula.
    """
    _check_rnn(translator)
    if not 0 <= t < len(trace.steps):
        raise InputError(f"step must be between 0 and {len(trace.steps) - 1}, not {t}")
    model = translator.model
    kind = model.cfg.attention
    attention = model.decoder.attention
    with torch.inference_mode():
        _, memory, state, prev = _prefix_state(translator, trace, t)
        if kind == "bahdanau":
            query = state.h[-1]  # s_{t-1}: attend before the RNN step
        else:
            _, _, after = model.step_logits(torch.tensor([prev]), state, memory)
            query = after.h[-1]  # h_t: the top layer's output of this step
        scores = attention.score(query[:, None, :], memory.keys)[0, 0]  # (S,)
        weights = torch.softmax(scores, dim=-1)
        context = weights @ memory.values[0]
        result = {"attention": kind, "formula": FORMULAS[kind], "pieces": trace.source_tokens,
                  "scores": scores.tolist(), "weights": weights.tolist(),
                  "context_norm": float(context.norm()), "query_norm": float(query.norm())}
        if kind == "bahdanau":
            result["query_term_norm"] = float(attention.W_q(query).norm())  # ‖W₁ s(t-1)‖
            result["key_norms"] = memory.keys[0].norm(dim=-1).tolist()  # ‖W₂ h̄ᵢ + b‖
        else:
            keys = memory.keys[0]
            result["key_norms"] = keys.norm(dim=-1).tolist()
            result["cosines"] = torch.nn.functional.cosine_similarity(query, keys, dim=-1).tolist()
    return result


__all__ = ["FORMULAS", "MODES", "inside_attention", "intervene", "override_row"]
