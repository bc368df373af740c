"""Inference-only decoder step with weights laid out for thin matrix products.

A beam step multiplies a handful of rows (the hypotheses) by large weight
matrices, so it is bound by reading those weights, and the layout they are read
in matters: on this machine ``addmm(b, x, Wᵀ)`` with ``Wᵀ`` stored contiguous is
~1.8x faster than ``nn.Linear``'s ``x @ W.T`` for the 8,000 x 256 output layer,
and a GRU/LSTM cell written as two such products is ~1.4x faster than
``nn.GRU`` called for one time step (beam 5 went from 20.5 to 14.4 ms a sentence).

The output layer (V x O, V ~ 8,000) is the largest product of a step, and for 2 to 16 rows (a beam) MKL's
sgemm is slow on this machine's AMD CPU: 5 rows cost ~7 ms where 1 row costs ~1 ms, the weights' read
(``benchmarks/packed_gemm.py``). A checkpoint's weights are stored in float16, so fbgemm's float16
GEMM (``torch.ops.quantized.linear_dynamic_fp16``: weights packed as float16, activations and sums in
float32) computes the same products from the same numbers, only summed in another order (logits differ by
~1e-6 relative), ~1 ms for 5 rows. :func:`fast_affine` uses it for ``PACKED_ROWS`` rows, and only when every
weight is exactly a float16 value (a model loaded from a checkpoint); otherwise, and on a CPU or build
without fbgemm, the plain product.

:class:`FrozenStep` holds transposed, contiguous copies of the weights a step
uses. It is built once a model's weights are final (``load_checkpoint`` calls
``Seq2Seq.freeze_for_inference``) and is read-only afterwards, so one model can
serve every session. Training never uses it: ``Decoder.step_logits`` takes this
path only in eval mode, and the test suite checks both paths agree.

Shapes: B rows (hypotheses), L layers, H hidden size, V target vocabulary.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class Affine(NamedTuple):
    """y = bias + x @ weight_t, with weight_t (in, out) contiguous."""

    weight_t: torch.Tensor
    bias: torch.Tensor

    @classmethod
    def of(cls, linear: nn.Linear) -> Affine:
        return cls(linear.weight.detach().t().contiguous(), linear.bias.detach().clone())

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.bias, x, self.weight_t)


# fbgemm's float16 GEMM beats sgemm here for 2 to 16 rows (a beam: 2x-7x on the output layer, 1.4x-1.9x on the
# recurrent cell's products at 5 rows); for one row (greedy, sampling) sgemm's matrix-vector path is as fast or
# faster, and from ~24 rows (batched decoding: sentences times the beam) sgemm wins again.
PACKED_ROWS = range(2, 17)


class PackedAffine(NamedTuple):
    """An affine map whose float16-exact weights are also packed for fbgemm; a beam's few rows take that path."""

    affine: Affine
    packed: object  # torch.ops.quantized.linear_prepack_fp16 of the same weight and bias (opaque)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, in) -> (B, out)."""
        if x.shape[0] in PACKED_ROWS:
            return torch.ops.quantized.linear_dynamic_fp16(x, self.packed)
        return self.affine(x)


def fast_affine(weight: torch.Tensor, bias: torch.Tensor) -> Affine | PackedAffine:
    """y = bias + x @ weight.T, weight (out, in): an :class:`Affine`, with fbgemm's float16 packing where it
    computes the same thing (every weight exactly a float16 value, and fbgemm present and agreeing)."""
    weight, bias = weight.detach(), bias.detach().clone()
    affine = Affine(weight.t().contiguous(), bias)
    if weight.dtype != torch.float32 or not torch.equal(weight.half().float(), weight):
        return affine  # not float16 values (a model still training, say): packing would round them
    try:
        packed = torch.ops.quantized.linear_prepack_fp16(weight, bias)
        probe = torch.randn(3, weight.shape[1], generator=torch.Generator().manual_seed(0))
        agrees = torch.allclose(torch.ops.quantized.linear_dynamic_fp16(probe, packed), affine(probe),
                                rtol=1e-4, atol=1e-4)
    except (RuntimeError, AttributeError, NotImplementedError):  # no fbgemm here (e.g. a CPU without AVX2)
        return affine
    return PackedAffine(affine, packed) if agrees else affine


def output_layer(linear: nn.Linear) -> Affine | PackedAffine:
    """A model's output layer (V x O) for inference steps: :func:`fast_affine` of its weights."""
    return fast_affine(linear.weight, linear.bias)


class FrozenStep(NamedTuple):
    """The decoder's recurrent cell (per layer: input and hidden products), combine and output layers."""

    rnn_type: str  # "gru" or "lstm"
    cells: list[tuple[Affine | PackedAffine, Affine | PackedAffine]]  # per layer: (input, hidden) -> gates
    combine: Affine | PackedAffine
    out: Affine | PackedAffine

    @classmethod
    def of(cls, rnn: nn.RNNBase, combine: nn.Linear, out: nn.Linear, rnn_type: str) -> FrozenStep:
        cells = []
        for layer in range(rnn.num_layers):
            w_ih, w_hh = getattr(rnn, f"weight_ih_l{layer}"), getattr(rnn, f"weight_hh_l{layer}")
            b_ih, b_hh = getattr(rnn, f"bias_ih_l{layer}"), getattr(rnn, f"bias_hh_l{layer}")
            cells.append((fast_affine(w_ih, b_ih), fast_affine(w_hh, b_hh)))
        return cls(rnn_type, cells, fast_affine(combine.weight, combine.bias), output_layer(out))

    def rnn_step(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None):
        """One time step of the stacked cell. x (B, in), h and c (L, B, H) -> output (B, H), new h, new c.

        The gate order and equations are PyTorch's own (nn.GRU: r, z, n; nn.LSTM: i, f, g, o).
        """
        new_h, new_c = [], []
        for layer, (input_part, hidden_part) in enumerate(self.cells):
            gi, gh = input_part(x), hidden_part(h[layer])
            if self.rnn_type == "gru":
                i_r, i_z, i_n = gi.chunk(3, dim=1)
                h_r, h_z, h_n = gh.chunk(3, dim=1)
                r = torch.sigmoid(i_r + h_r)
                z = torch.sigmoid(i_z + h_z)
                n = torch.tanh(i_n + r * h_n)
                x = (1 - z) * n + z * h[layer]
            else:
                i, f, g, o = (gi + gh).chunk(4, dim=1)
                cell = torch.sigmoid(f) * c[layer] + torch.sigmoid(i) * torch.tanh(g)
                x = torch.sigmoid(o) * torch.tanh(cell)
                new_c.append(cell)
            new_h.append(x)
        return x, torch.stack(new_h), (torch.stack(new_c) if new_c else None)
