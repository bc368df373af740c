"""A pre-norm Transformer encoder-decoder (Vaswani et al. 2017) behind the RNNs' step contract.

Shapes use B = batch (or beam), S = source length, T = target length,
D = model size, h = heads, d = D / h per head, L = layers, V = target vocabulary.

Scaled dot-product attention, per head::

    Attention(Q, K, V) = softmax(Q Kᵀ / √d) V
    MultiHead(X, Y)    = Concat(head_1 .. head_h) W_O,  head_i = Attention(X W_Qi, Y W_Ki, Y W_Vi)

Each layer is *pre-norm* (Xiong et al. 2020): ``x = x + Sublayer(LayerNorm(x))``,
which trains without the long warm-up the original post-norm layout needs.
Positions are sinusoidal (no parameters, any length up to ``max_positions``).
The target embedding is tied to the output layer, scaled by √D on the way in.

Incremental decoding keeps a key/value cache: each decoder layer's keys and
values for the tokens emitted so far (``TransformerState``), and the encoder
side's cross-attention keys and values computed once per sentence
(``TransformerMemory``). Both reorder along the batch with ``index_select``, so
beam search, the Stepper and batched search use it exactly like an RNN state.

The attention row every view reads (``step_logits``'s second value) is one
documented choice: the mean over the heads of decoder layer ``display_layer``
(the last by default). The state also carries the step's cross-attention for
every layer and head, which the traced decoders record for the layer/head views.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from ..text import PAD_ID
from .arguments import Arguments
from .fast_step import Affine, PackedAffine, output_layer

ARCHITECTURE = "transformer"
ATTENTION_NAME = "multi-head"  # config.json's "attention" for a Transformer (scaled dot-product, multi-head)


@dataclass
class TransformerConfig(Arguments):
    """Architecture arguments of a Transformer; a checkpoint rebuilds its model from these alone."""

    src_vocab_size: int
    tgt_vocab_size: int
    architecture: str = ARCHITECTURE  # tells config.json's "model" apart from an RNN's
    d_model: int = 256  # D: embeddings and every residual stream
    num_heads: int = 4  # h; D must divide by it
    encoder_layers: int = 4
    decoder_layers: int = 3
    ff_size: int = 1024  # inner size of each position-wise feed-forward block
    dropout: float = 0.1  # on embeddings, sublayer outputs and attention weights
    max_positions: int = 512  # longest source or target the sinusoids are laid out for
    tie_embeddings: bool = True  # target embedding == output matrix
    display_layer: int = -1  # the decoder layer whose head-mean is the default attention row (-1 = last)

    def __post_init__(self):
        if self.architecture != ARCHITECTURE:
            raise ValueError(f"architecture must be {ARCHITECTURE!r}, got {self.architecture!r}")
        if self.num_heads < 1 or self.d_model % self.num_heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of num_heads ({self.num_heads})")
        if not -self.decoder_layers <= self.display_layer < self.decoder_layers:
            raise ValueError(f"display_layer must index one of the {self.decoder_layers} decoder layers")

    @property
    def attention(self) -> str:
        """What config.json's "attention" says, like an RNN's ``attention`` field."""
        return ATTENTION_NAME


def sinusoids(length: int, size: int) -> torch.Tensor:
    """(length, size) positional encodings: PE(p, 2i) = sin(p / 10000^(2i/D)), PE(p, 2i+1) = cos(...)."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, size, 2, dtype=torch.float32) * (-math.log(10000.0) / size))
    table = torch.zeros(length, size)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate[: size // 2])
    return table


class MultiHeadAttention(nn.Module):
    """Multi-head scaled dot-product attention that can return its per-head weights.

    ``forward(x (B, Tq, D), keys (B, h, Tk, d), values (B, h, Tk, d), mask)`` where ``mask`` broadcasts to
    (B, h, Tq, Tk) and is True where attending is allowed. Training takes PyTorch's fused kernel; when
    the weights are wanted (decoding, the views) they are computed explicitly, with the same result.
    """

    def __init__(self, size: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.head_size = heads, size // heads
        self.query = nn.Linear(size, size)
        self.key = nn.Linear(size, size)
        self.value = nn.Linear(size, size)
        self.output = nn.Linear(size, size)
        self.dropout = dropout

    def split(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, h, T, d)."""
        return x.view(x.size(0), x.size(1), self.heads, self.head_size).transpose(1, 2)

    def keys_values(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, D) -> keys and values (B, h, T, d): what a cache stores."""
        return self.split(self.key(x)), self.split(self.value(x))

    def scores(self, x: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The raw scores e = Q Kᵀ / √d, masked positions -inf: (B, h, Tq, Tk)."""
        query = self.split(self.query(x))
        scores = query @ keys.transpose(-1, -2) / math.sqrt(self.head_size)
        return scores.masked_fill(~mask, float("-inf"))

    def forward(self, x, keys, values, mask, need_weights: bool = False, weights_override=None):
        """-> output (B, Tq, D) and weights (B, h, Tq, Tk) or None.

        ``weights_override``, broadcastable to (B, h, Tq, Tk), replaces the softmax weights (the queries
        are not used): the intervention of nmt_core.explain.intervene.
        """
        if weights_override is not None:
            weights = weights_override.to(values.dtype).expand(values.size(0), self.heads, x.size(1), -1)
            mixed = weights @ values
        elif need_weights or not self.training:
            weights = torch.softmax(self.scores(x, keys, mask), dim=-1)
            mixed = weights @ values
        else:
            query = self.split(self.query(x))
            mixed = F.scaled_dot_product_attention(query, keys, values, attn_mask=mask, dropout_p=self.dropout)
            weights = None
        B, _, Tq, _ = mixed.shape
        return self.output(mixed.transpose(1, 2).reshape(B, Tq, -1)), weights


class FeedForward(nn.Sequential):
    """Position-wise: Linear(D, F) -> ReLU -> dropout -> Linear(F, D)."""

    def __init__(self, size: int, inner: int, dropout: float):
        super().__init__(nn.Linear(size, inner), nn.ReLU(), nn.Dropout(dropout), nn.Linear(inner, size))


def attention_sublayer(cfg: TransformerConfig) -> tuple[nn.LayerNorm, MultiHeadAttention]:
    """The pre-norm attention sublayer's modules: its LayerNorm and its multi-head attention."""
    return nn.LayerNorm(cfg.d_model), MultiHeadAttention(cfg.d_model, cfg.num_heads, cfg.dropout)


def feed_forward_sublayer(cfg: TransformerConfig) -> tuple[nn.LayerNorm, FeedForward, nn.Dropout]:
    """The pre-norm feed-forward sublayer's modules, and the residual dropout the whole layer shares."""
    return nn.LayerNorm(cfg.d_model), FeedForward(cfg.d_model, cfg.ff_size, cfg.dropout), nn.Dropout(cfg.dropout)


# The layers assign their modules in a fixed order: it is the order of model.parameters(), which a resumed
# run's optimizer state follows.
class EncoderLayer(nn.Module):
    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.norm_attention, self.attention = attention_sublayer(cfg)
        self.norm_ff, self.ff, self.dropout = feed_forward_sublayer(cfg)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, need_weights: bool = False):
        """x (B, S, D), mask (B, 1, 1, S) -> x (B, S, D), self-attention (B, h, S, S) or None."""
        normed = self.norm_attention(x)
        keys, values = self.attention.keys_values(normed)
        mixed, weights = self.attention(normed, keys, values, mask, need_weights)
        x = x + self.dropout(mixed)
        return x + self.dropout(self.ff(self.norm_ff(x))), weights


class DecoderLayer(nn.Module):
    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.norm_self, self.self_attention = attention_sublayer(cfg)
        self.norm_cross, self.cross_attention = attention_sublayer(cfg)
        self.norm_ff, self.ff, self.dropout = feed_forward_sublayer(cfg)

    def forward(self, x, self_keys, self_values, self_mask, cross_keys, cross_values, cross_mask,
                need_weights: bool = False, cross_override=None):
        """x (B, T, D) queries; self_keys/values (B, h, T', d) include x's own positions.

        -> x (B, T, D), self-attention (B, h, T, T') and cross-attention (B, h, T, S), or None each.
        ``cross_override`` replaces the cross-attention weights (see :meth:`MultiHeadAttention.forward`).
        """
        normed = self.norm_self(x)
        mixed, self_weights = self.self_attention(normed, self_keys, self_values, self_mask, need_weights)
        x = x + self.dropout(mixed)
        mixed, cross_weights = self.cross_attention(self.norm_cross(x), cross_keys, cross_values, cross_mask,
                                                    need_weights, cross_override)
        x = x + self.dropout(mixed)
        return x + self.dropout(self.ff(self.norm_ff(x))), self_weights, cross_weights


class TransformerMemory(NamedTuple):
    """What the decoder reads of the source, computed once per sentence.

    values (B, S, D) encoder outputs; mask (B, S) True on real positions;
    cross_keys / cross_values (L, B, h, S, d): every decoder layer's keys and values of the source.
    """

    values: torch.Tensor
    mask: torch.Tensor
    cross_keys: torch.Tensor
    cross_values: torch.Tensor

    def index_select(self, index: torch.Tensor) -> TransformerMemory:
        return TransformerMemory(self.values.index_select(0, index), self.mask.index_select(0, index),
                                 self.cross_keys.index_select(1, index), self.cross_values.index_select(1, index))


class TransformerState(NamedTuple):
    """The key/value cache: self_keys / self_values (L, B, h, t, d) for the t tokens fed so far.

    cross_attention (L, B, h, S): the last step's cross-attention of every layer and head (None before
    the first step), so a traced decoder can record all of them. Reorderable along the batch.
    """

    self_keys: torch.Tensor
    self_values: torch.Tensor
    cross_attention: torch.Tensor | None = None

    @property
    def length(self) -> int:
        return self.self_keys.size(3)

    def index_select(self, index: torch.Tensor) -> TransformerState:
        return TransformerState(
            self.self_keys.index_select(1, index), self.self_values.index_select(1, index),
            None if self.cross_attention is None else self.cross_attention.index_select(1, index),
        )


class AttentionMaps(NamedTuple):
    """Every attention of a forced decode, for the views (one sentence, batch of 1 squeezed):

    encoder_self (L_enc, h, S, S); decoder_self (L_dec, h, T, T), causal (zero above the diagonal);
    cross (L_dec, h, T, S).
    """

    encoder_self: torch.Tensor
    decoder_self: torch.Tensor
    cross: torch.Tensor


class TransformerSeq2Seq(nn.Module):
    """Encoder + decoder with the incremental API the decoders in decoding.py use (see rnn.Seq2Seq)."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.cfg = cfg
        D = cfg.d_model
        self.src_embed = nn.Embedding(cfg.src_vocab_size, D, padding_idx=PAD_ID)
        self.tgt_embed = nn.Embedding(cfg.tgt_vocab_size, D, padding_idx=PAD_ID)
        self.encoder_layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.encoder_layers))
        self.decoder_layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.decoder_layers))
        self.encoder_norm = nn.LayerNorm(D)
        self.decoder_norm = nn.LayerNorm(D)
        self.out = nn.Linear(D, cfg.tgt_vocab_size)
        if cfg.tie_embeddings:
            self.out.weight = self.tgt_embed.weight
        self.dropout = nn.Dropout(cfg.dropout)
        self.register_buffer("positions", sinusoids(cfg.max_positions, D), persistent=False)
        self.frozen_out: Affine | PackedAffine | None = None  # inference-only copy; see freeze_for_inference
        self._init_weights()

    def _init_weights(self):
        # Embeddings ~ N(0, D^-1/2) so that, scaled by √D, tokens and sinusoids have comparable size.
        for embedding in (self.src_embed, self.tgt_embed):
            nn.init.normal_(embedding.weight, std=self.cfg.d_model ** -0.5)
            with torch.no_grad():
                embedding.weight[PAD_ID].zero_()
        for module in self.modules():
            if isinstance(module, nn.Linear) and module is not self.out:
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        nn.init.zeros_(self.out.bias)

    # -- the pieces
    def _embed(self, embedding: nn.Embedding, ids: torch.Tensor, start: int = 0) -> torch.Tensor:
        """ids (B, T) -> (B, T, D): scaled embedding + the sinusoids of positions start..start+T-1."""
        if start + ids.size(1) > self.cfg.max_positions:
            raise ValueError(f"a sequence longer than max_positions ({self.cfg.max_positions})")
        scaled = embedding(ids) * math.sqrt(self.cfg.d_model)
        return self.dropout(scaled + self.positions[start : start + ids.size(1)])

    def _encode(self, src, lengths, need_weights=False):
        mask = torch.arange(src.size(1), device=src.device)[None, :] < lengths[:, None]  # (B, S)
        x = self._embed(self.src_embed, src)
        weights = []
        for layer in self.encoder_layers:
            x, w = layer(x, mask[:, None, None, :], need_weights)
            weights.append(w)
        return self.encoder_norm(x), mask, weights

    def _cross_cache(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pairs = [layer.cross_attention.keys_values(values) for layer in self.decoder_layers]
        return torch.stack([k for k, _ in pairs]), torch.stack([v for _, v in pairs])

    def display_row(self, cross: torch.Tensor) -> torch.Tensor:
        """The default attention row: (L, B, h, S) -> (B, S), the head-mean of ``display_layer``."""
        return cross[self.cfg.display_layer].mean(dim=1)

    # -- the contract shared with the RNNs
    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> tuple[TransformerMemory, TransformerState]:
        """src (B, S) with EOS, lengths (B,) -> memory and an empty key/value cache."""
        values, mask, _ = self._encode(src, lengths)
        cross_keys, cross_values = self._cross_cache(values)
        L, B, h, _, d = cross_keys.shape
        empty = values.new_zeros(L, B, h, 0, d)
        return TransformerMemory(values, mask, cross_keys, cross_values), TransformerState(empty, empty)

    def override_layer(self, layer: int | None) -> int:
        """The decoder layer (0-based) an attention override replaces: ``layer``, or ``display_layer``
        when None (negative values count from the last); ValueError when out of range."""
        layer = self.cfg.display_layer if layer is None else layer
        if not -self.cfg.decoder_layers <= layer < self.cfg.decoder_layers:
            raise ValueError(f"override_layer must index one of the {self.cfg.decoder_layers} decoder layers")
        return layer % self.cfg.decoder_layers

    def step_logits(self, prev_tokens: torch.Tensor, state: TransformerState, memory: TransformerMemory,
                    attention_override: torch.Tensor | None = None, override_layer: int | None = None):
        """One step. prev_tokens (B,) -> logits (B, V), attention (B, S), new state (cache one longer).

        ``attention_override`` (B, S) or (B, h, S), rows summing to 1, replaces the cross-attention
        weights of every head of decoder layer ``override_layer`` (default: ``display_layer``, whose
        head-mean is the attention row) at this step, the same row for every head when (B, S); the
        other layers attend as usual. The intervention of nmt_core.explain.intervene; the returned
        row and the state's ``cross_attention`` show the replaced weights.
        """
        x = self._embed(self.tgt_embed, prev_tokens[:, None], start=state.length)  # (B, 1, D)
        cross_mask = memory.mask[:, None, None, :]
        self_mask = torch.ones(1, 1, 1, state.length + 1, dtype=torch.bool, device=x.device)
        keys, values, crosses = [], [], []
        replaced, override = None, None
        if attention_override is not None:
            replaced = self.override_layer(override_layer)
            override = attention_override[:, None] if attention_override.dim() == 2 else attention_override
            override = override[:, :, None, :]  # (B, 1 or h, 1, S)
        for index, layer in enumerate(self.decoder_layers):
            new_k, new_v = layer.self_attention.keys_values(layer.norm_self(x))
            k = torch.cat([state.self_keys[index], new_k], dim=2)
            v = torch.cat([state.self_values[index], new_v], dim=2)
            x, _, cross = layer(x, k, v, self_mask, memory.cross_keys[index], memory.cross_values[index],
                                cross_mask, need_weights=True, cross_override=override if index == replaced else None)
            keys.append(k)
            values.append(v)
            crosses.append(cross[:, :, 0])  # (B, h, S)
        if self.frozen_out is not None and not self.training:
            logits = self.frozen_out(self.decoder_norm(x)[:, 0])
        else:
            logits = self.out(self.decoder_norm(x))[:, 0]
        cross = torch.stack(crosses)  # (L, B, h, S)
        return logits, self.display_row(cross), TransformerState(torch.stack(keys), torch.stack(values), cross)

    def step(self, prev_tokens: torch.Tensor, state: TransformerState, memory: TransformerMemory):
        """prev_tokens (B,) -> log_probs (B, V), attention (B, S), new state. Nothing is stored on the module."""
        logits, weights, state = self.step_logits(prev_tokens, state, memory)
        return torch.log_softmax(logits.float(), dim=-1), weights, state

    def _decode(self, tgt_in, values, mask, need_weights):
        T = tgt_in.size(1)
        x = self._embed(self.tgt_embed, tgt_in)
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()[None, None]  # (1, 1, T, T)
        cross_mask = mask[:, None, None, :]
        self_weights, cross_weights = [], []
        for layer in self.decoder_layers:
            k, v = layer.self_attention.keys_values(layer.norm_self(x))
            ck, cv = layer.cross_attention.keys_values(values)
            x, sw, cw = layer(x, k, v, causal, ck, cv, cross_mask, need_weights)
            self_weights.append(sw)
            cross_weights.append(cw)
        return self.out(self.decoder_norm(x)), self_weights, cross_weights

    def forward(self, src, lengths, tgt_in, need_weights: bool = False):
        """Teacher forcing: logits (B, T, V), and the display attention (B, T, S) when need_weights else None."""
        values, mask, _ = self._encode(src, lengths)
        logits, _, cross = self._decode(tgt_in, values, mask, need_weights)
        attention = torch.stack(cross)[self.cfg.display_layer].mean(dim=1) if need_weights else None
        return logits, attention

    @torch.no_grad()
    def attention_maps(self, src: torch.Tensor, lengths: torch.Tensor, tgt_in: torch.Tensor) -> AttentionMaps:
        """Every layer's and head's attention for one sentence and its forced target (batch of 1)."""
        values, mask, encoder_self = self._encode(src, lengths, need_weights=True)
        _, decoder_self, cross = self._decode(tgt_in, values, mask, need_weights=True)
        return AttentionMaps(torch.stack(encoder_self)[:, 0], torch.stack(decoder_self)[:, 0],
                             torch.stack(cross)[:, 0])

    def freeze_for_inference(self) -> TransformerSeq2Seq:
        """The output layer laid out for a step's few rows (nmt_core/model/fast_step.py); call once the weights
        are final. The key/value cache already makes the rest of a step one token's work."""
        self.frozen_out = output_layer(self.out)
        return self

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
