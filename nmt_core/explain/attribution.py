"""Gradient attribution of each target token's log-probability to the source words (captum).

For target piece y_t, f_t(x) = log p(y_t | y_<t, x) as a function of the source
embeddings x (S, E); each method gives a score per source piece (and per target-prefix
piece where the method gives it), summed over the embedding dimensions:

* ``saliency`` (Simonyan et al. 2014): ‖∂f_t/∂x_s‖₂, how sensitive the token is to the piece;
* ``input-x-gradient`` (Shrikumar et al. 2016; Ding et al. 2019 for NMT alignment):
  Σ_e x_{s,e} · ∂f_t/∂x_{s,e}, the first-order contribution of the piece;
* ``integrated-gradients`` (Sundararajan et al. 2017): Σ_e (x − x′)_{s,e} ∫₀¹ ∂f_t/∂x_{s,e}(x′ + α(x − x′)) dα
  with the all-zero embedding as baseline x′ (the ``<pad>`` embedding of the RNNs). By its
  *completeness* axiom the scores of a row sum to f_t(x) − f_t(x′); ``tests/test_explain.py``
  checks it. Only the source is interpolated; the target prefix stays the given one.

All target positions are attributed in one batched pass: row b of the batch is the sentence
with position b selected (``forced.gold_log_prob``), so one backward pass (saliency, x·grad)
or one batch of n_steps interpolations (IG) covers the whole sentence. For an RNN whose step inputs
are known up front (Luong without input feeding), row b's decoder runs only up to position b and
attention only at it (``forced._rnn_features_at``): about half the decoder work of a full pass.
Speed (``benchmarks/bench.py``, section 5b): one 15-word sentence, every target word, on one core
of a shared 2-core machine, spa-eng-luong: integrated gradients 0.89 s CPU (1.27 s before the
truncation), saliency 0.22 s, completeness error 0.13% with 8 Gauss-Legendre steps.

Gradients are taken on the inputs only, with ``torch.inference_mode`` off and autograd
enabled locally; the shared model is only read (see ``nmt_core.explain.forced``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..model import TransformerSeq2Seq, source_batch
from .forced import gold_log_prob, source_embeddings, target_batch

GRADIENT_METHODS = ("saliency", "input-x-gradient", "integrated-gradients")
IG_STEPS = 8  # Gauss-Legendre points: completeness holds to ~0.2% of f(x) - f(x′) on the shipped models


@dataclass
class Attribution:
    """Per target step t (target pieces then ``</s>``) and source piece s (with the closing ``</s>``).

    source (T, S); prefix (T, T) over the decoder inputs ``<s> y_1 .. y_{T-1}`` (0 above the
    diagonal, the future), or None when the method does not give it; output (T,) the
    log-probabilities f_t(x); baseline_output (T,) f_t(x′) for integrated gradients, else None.
    """

    method: str
    source: np.ndarray
    prefix: np.ndarray | None
    output: np.ndarray
    baseline_output: np.ndarray | None = None


def attribute(model, src_ids: list[int], tgt_ids: list[int], method: str, ig_steps: int = IG_STEPS) -> Attribution:
    """Attribute every step of the forced target ``tgt_ids`` (+ ``</s>``) to the source ``src_ids`` (+ ``</s>``)."""
    if method not in GRADIENT_METHODS:
        raise ValueError(f"unknown attribution method {method!r}; choose one of {', '.join(GRADIENT_METHODS)}")
    # Imported here: captum costs ~1 s of imports, which every process that merely imports this module
    # (the app's Explain page, each test worker) would otherwise pay before it attributes anything.
    from captum.attr import InputXGradient, IntegratedGradients, Saliency

    device = next(model.parameters()).device
    # inference_mode(False) re-enables autograd even when a caller (the app) decodes under
    # inference_mode; tensors made here are ordinary ones.
    with torch.inference_mode(False), torch.enable_grad():
        src, lengths = source_batch([src_ids], device)
        tgt_in, tgt_out = target_batch(tgt_ids, device)
        T = tgt_in.size(1)
        embedded = source_embeddings(model, src).expand(T, -1, -1).contiguous().requires_grad_()  # (T, S, E)
        args = (model, lengths.expand(T), tgt_in.expand(T, -1), tgt_out.expand(T, -1),
                torch.arange(T, device=device))
        prefix = None
        if method == "integrated-gradients":
            baseline = torch.zeros_like(embedded)
            raw = IntegratedGradients(gold_log_prob).attribute(
                embedded, baselines=baseline, additional_forward_args=args, n_steps=ig_steps,
                method="gausslegendre")
            source = raw.sum(-1)
            with torch.no_grad():
                base_out = gold_log_prob(baseline, *args).cpu().numpy()
        else:
            target_embedded = _target_embeddings(model, tgt_in).expand(T, -1, -1).contiguous().requires_grad_()
            if method == "saliency":
                # captum's Saliency returns |∂f/∂x| per dimension; the L2 norm over E is the usual reduction.
                grads = Saliency(_with_target_embeddings).attribute(
                    (embedded, target_embedded), additional_forward_args=args, abs=False)
                source, prefix = (g.norm(dim=-1) for g in grads)
            else:
                grads = InputXGradient(_with_target_embeddings).attribute(
                    (embedded, target_embedded), additional_forward_args=args)
                source, prefix = (g.sum(-1) for g in grads)
            prefix = torch.tril(prefix)  # step t reads inputs 0..t only; above the diagonal is exactly 0
            base_out = None
        with torch.no_grad():
            output = gold_log_prob(embedded, *args)
    return Attribution(method, source.detach().cpu().numpy(), None if prefix is None else prefix.detach().cpu().numpy(),
                       output.detach().cpu().numpy(), base_out)


def _target_embeddings(model, tgt_in: torch.Tensor) -> torch.Tensor:
    embedding = model.tgt_embed if isinstance(model, TransformerSeq2Seq) else model.decoder.embed
    return embedding(tgt_in).detach()


def _with_target_embeddings(embedded, target_embedded, model, lengths, tgt_in, tgt_out, position):
    """:func:`gold_log_prob` with the decoder's input embeddings as a second input (prefix attribution)."""
    return gold_log_prob(embedded, model, lengths, tgt_in, tgt_out, position, target_embedded=target_embedded)


def trace_attribution(translator, trace, method: str) -> Attribution:
    """Attribution of every step of ``trace`` (its own output forced, the closing ``</s>`` included).

    The trace API: rows line up with ``trace.steps``, columns with ``trace.source_tokens`` (and, for
    ``prefix``, with ``<s>`` + the emitted tokens). It costs backward passes, so callers cache it
    (the Explain page keys it like a trace: checkpoint, sentence, settings, method).
    """
    source = translator.prepare(trace.source_text)
    return attribute(translator.model, source.ids, trace.target_ids, method)


def rank_correlation(a, b) -> float | None:
    """Spearman's ρ of two rows (ties get their mean rank); None when a row is constant."""
    def ranks(x):
        x = np.asarray(x, dtype=float)
        order = x.argsort(kind="stable")
        r = np.empty_like(x)
        r[order] = np.arange(len(x), dtype=float)
        for value in np.unique(x):  # mean rank for ties
            tie = x == value
            r[tie] = r[tie].mean()
        return r

    ra, rb = ranks(a), ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])
