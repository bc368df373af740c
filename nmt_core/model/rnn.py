"""The encoder-decoder: embeddings, a GRU/LSTM encoder and an attentional decoder.

Shapes use B = batch (or beam), S = source length, T = target length,
E = embedding size, H = hidden size, O = output (attentional vector) size,
V = target vocabulary.

Decoder flavours, one ``Decoder.step`` for all:

* ``none`` (Sutskever et al. 2014 / Cho et al. 2014): the decoder starts from
  the encoder's final state and sees nothing else of the source;
  ``h̃_t = tanh(W_c h_t)``.
* ``bahdanau``: attend with the *previous* state s_{t-1}, feed the context
  into the RNN input: ``h_t = RNN([y_{t-1}; c_t], s_{t-1})``,
  ``h̃_t = tanh(W_c [h_t; c_t])``. (``attention_query="current"``: the additive score in
  Luong's flow below instead.)
* ``luong-dot`` / ``luong-general``: run the RNN first, attend with its output:
  ``c_t = attn(h_t)``, ``h̃_t = tanh(W_c [c_t; h_t])``; optional input feeding
  puts h̃_{t-1} into the next RNN input.

Then ``p(y_t) = softmax(W_out h̃_t)``. Without input feeding, Luong and
no-attention decoders are teacher-forced over the whole target in one RNN
call (several times faster on a CPU than a Python loop over steps); the test
suite checks that this equals stepping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..text import EOS_ID, PAD_ID
from .arguments import Arguments
from .attention import ATTENTION_BIASES, ATTENTION_KEY_PRIORS, ATTENTION_SCORES, ATTENTION_TYPES, build_attention
from .fast_step import FrozenStep

DECODER_INITS = ("encoder-final", "zeros", "backward-first")
ATTENTION_QUERIES = ("previous", "current")


@dataclass
class ModelConfig(Arguments):
    """Architecture arguments; a checkpoint rebuilds its model from these alone."""

    src_vocab_size: int
    tgt_vocab_size: int
    embedding_dim: int = 256  # E, both languages
    hidden_size: int = 512  # H: decoder state and encoder output (both directions together)
    num_layers: int = 1  # stacked RNN layers, encoder and decoder alike
    rnn_type: str = "gru"  # "gru" or "lstm"
    bidirectional: bool = True  # encoder only; each direction gets H/2 units
    attention: str = "luong-general"  # one of ATTENTION_TYPES
    attention_size: int = 256  # Bahdanau's hidden scoring layer
    output_size: int = 256  # O, the attentional vector h̃ fed to the softmax
    input_feeding: bool = False  # Luong's h̃_{t-1} -> next RNN input (slower to train)
    reverse_source: bool = False  # Sutskever's trick: read the source backwards
    dropout: float = 0.2  # on embeddings, RNN outputs and h̃
    tie_embeddings: bool = True  # share target embedding and output matrix (needs O == E)
    # False: the source's closing </s> cannot be attended to (weight exactly 0; the row keeps its S columns).
    # The encoder still reads it, and the decoder still starts from the encoder's final state. Issue 16:
    # Bahdanau attention trained with it sank 0.74 of its mass onto </s>, a sentence summary, not a word.
    attend_to_source_end: bool = True
    # Issue 16 ablations; the defaults are what every shipped checkpoint does.
    # The decoder's initial state: "encoder-final" (the encoder's final state, both directions), "zeros",
    # or "backward-first" (Bahdanau et al. 2015: s_0 = tanh(W_s h←_1), the backward direction's state at the
    # first source position alone; LSTM: c_0 = 0; needs a bidirectional encoder).
    decoder_init: str = "encoder-final"
    # Bahdanau only: which projection holds the bias inside the tanh (ATTENTION_BIASES): "key", "query", "none".
    attention_bias: str = "key"
    # Bahdanau only: the query. "previous": s_{t-1}, before the RNN step, the context then goes into the RNN
    # input; "current": the step's RNN output h_t (Luong's flow with the additive score: the context goes
    # only into h̃_t, and into the next RNN input only through input_feeding). nmt_core.explain's
    # forced.decoder_features and intervene.inside_attention read Decoder.attends_before_step for the flow.
    attention_query: str = "previous"
    # Bahdanau only: "keep" the additive score whole, or "remove" its key prior, the part a zero query scores:
    # score(s, h) - score(0, h) (ATTENTION_KEY_PRIORS; see nmt_core/model/attention.py for why it matters).
    attention_key_prior: str = "keep"
    # Bahdanau only: the score in Bahdanau's flow, "additive" or "general" (Luong's sᵀ W_a h_s asked with s_{t-1},
    # the context still fed into the RNN input; ATTENTION_SCORES). Experimental like attention_query "current":
    # nmt_core.explain.intervene.inside_attention reads W_q of every "bahdanau" model.
    attention_score: str = "additive"

    def __post_init__(self):
        if self.rnn_type not in ("gru", "lstm"):
            raise ValueError(f"rnn_type must be 'gru' or 'lstm', got {self.rnn_type!r}")
        if self.attention not in ATTENTION_TYPES:
            raise ValueError(f"attention must be one of {ATTENTION_TYPES}, got {self.attention!r}")
        if self.bidirectional and self.hidden_size % 2:
            raise ValueError("a bidirectional encoder needs an even hidden_size")
        if self.tie_embeddings and self.output_size != self.embedding_dim:
            raise ValueError("tie_embeddings needs output_size == embedding_dim")
        if not isinstance(self.attend_to_source_end, bool):
            raise ValueError(f"attend_to_source_end must be true or false, got {self.attend_to_source_end!r}")
        if self.decoder_init not in DECODER_INITS:
            raise ValueError(f"decoder_init must be one of {DECODER_INITS}, got {self.decoder_init!r}")
        if self.decoder_init == "backward-first" and not self.bidirectional:
            raise ValueError("decoder_init 'backward-first' needs a bidirectional encoder")
        if self.attention_bias not in ATTENTION_BIASES:
            raise ValueError(f"attention_bias must be one of {ATTENTION_BIASES}, got {self.attention_bias!r}")
        if self.attention_query not in ATTENTION_QUERIES:
            raise ValueError(f"attention_query must be one of {ATTENTION_QUERIES}, got {self.attention_query!r}")
        if self.attention_key_prior not in ATTENTION_KEY_PRIORS:
            raise ValueError(f"attention_key_prior must be one of {ATTENTION_KEY_PRIORS}, "
                             f"got {self.attention_key_prior!r}")
        if self.attention_score not in ATTENTION_SCORES:
            raise ValueError(f"attention_score must be one of {ATTENTION_SCORES}, got {self.attention_score!r}")
        options = (self.attention_bias, self.attention_query, self.attention_key_prior, self.attention_score)
        if self.attention != "bahdanau" and options != ("key", "previous", "keep", "additive"):
            raise ValueError("attention_bias, attention_query, attention_key_prior and attention_score are options "
                             "of Bahdanau attention only")
        if self.attention_score == "general" and (self.attention_bias, self.attention_key_prior) != ("key", "keep"):
            raise ValueError("attention_score 'general' has no bias and no key prior: leave attention_bias and "
                             "attention_key_prior at their defaults")


class Memory(NamedTuple):
    """What the decoder reads of the source, computed once per sentence.

    values (B, S, H) encoder outputs; keys (B, S, K) their attention keys;
    mask (B, S) True on real positions.
    """

    values: torch.Tensor
    keys: torch.Tensor
    mask: torch.Tensor

    def index_select(self, index: torch.Tensor) -> Memory:
        return Memory(*(t.index_select(0, index) for t in self))


class DecoderState(NamedTuple):
    """Recurrent state: h (L, B, H); c (L, B, H) for LSTM else None;
    feed (B, O) the previous h̃ when input feeding, else None.

    Reorderable along the batch so beam search can follow parents.
    """

    h: torch.Tensor
    c: torch.Tensor | None = None
    feed: torch.Tensor | None = None

    def index_select(self, index: torch.Tensor) -> DecoderState:
        return DecoderState(
            self.h.index_select(1, index),
            None if self.c is None else self.c.index_select(1, index),
            None if self.feed is None else self.feed.index_select(0, index),
        )


def make_rnn(kind: str, input_size: int, hidden_size: int, layers: int, dropout: float, bidirectional=False):
    cls = nn.GRU if kind == "gru" else nn.LSTM
    return cls(
        input_size,
        hidden_size,
        num_layers=layers,
        batch_first=True,
        bidirectional=bidirectional,
        dropout=dropout if layers > 1 else 0.0,
    )


def source_batch(id_lists: list[list[int]], device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Piece-id lists -> (src (B, S) padded with EOS appended, lengths (B,))."""
    lengths = [len(ids) + 1 for ids in id_lists]
    src = torch.full((len(id_lists), max(lengths)), PAD_ID, dtype=torch.long)
    for row, ids in enumerate(id_lists):
        src[row, : len(ids) + 1] = torch.tensor([*ids, EOS_ID], dtype=torch.long)
    return src.to(device), torch.tensor(lengths, dtype=torch.long, device=device)


def without_source_end(mask: torch.Tensor) -> torch.Tensor:
    """mask (B, S), True on each row's real positions (a prefix ending with the source </s>) -> the same
    without that last real position; a row whose only position is </s> (an empty source) keeps it."""
    after = torch.cat([mask[:, 1:], mask.new_zeros(mask.size(0), 1)], dim=1)
    last = mask & ~after  # (B, S): the </s> of each row
    only = mask.sum(dim=1, keepdim=True) == 1
    return mask & ~(last & ~only)


def reverse_padded(src: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row's first ``length`` entries, leave padding in place.

    Applying it twice gives back the input, which is how encoder outputs are
    put back in reading order after a reversed read.
    """
    positions = torch.arange(src.size(1), device=src.device).expand(src.size(0), -1)  # (B, S)
    flipped = (lengths[:, None] - 1 - positions).clamp(min=0)
    index = torch.where(positions < lengths[:, None], flipped, positions)
    if src.dim() == 3:  # (B, S, H) encoder outputs
        index = index.unsqueeze(-1).expand_as(src)
    return src.gather(1, index)


class Encoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        directions = 2 if cfg.bidirectional else 1
        self.embed = nn.Embedding(cfg.src_vocab_size, cfg.embedding_dim, padding_idx=PAD_ID)
        per_direction = cfg.hidden_size // directions
        self.rnn = make_rnn(
            cfg.rnn_type, cfg.embedding_dim, per_direction, cfg.num_layers, cfg.dropout, cfg.bidirectional
        )
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, src: torch.Tensor, lengths: torch.Tensor):
        """src (B, S), lengths (B,) -> outputs (B, S, H), final DecoderState (L, B, H).

        Packed so padding never enters the recurrence: the backward direction
        starts at each sentence's real last token.
        """
        if self.cfg.reverse_source:
            src = reverse_padded(src, lengths)
        embedded = self.dropout(self.embed(src))
        packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, final = self.rnn(packed)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=src.size(1))
        if self.cfg.reverse_source:
            outputs = reverse_padded(outputs, lengths)
        if self.cfg.rnn_type == "lstm":
            h, c = final
            return outputs, DecoderState(self._merge_directions(h), self._merge_directions(c))
        return outputs, DecoderState(self._merge_directions(final))

    def _merge_directions(self, state: torch.Tensor) -> torch.Tensor:
        """(L * dirs, B, H/dirs) -> (L, B, H), forward and backward concatenated."""
        if not self.cfg.bidirectional:
            return state
        layers, batch = self.cfg.num_layers, state.size(1)
        state = state.view(layers, 2, batch, -1)
        return torch.cat([state[:, 0], state[:, 1]], dim=-1).contiguous()


class Decoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        H, E, O = cfg.hidden_size, cfg.embedding_dim, cfg.output_size
        self.embed = nn.Embedding(cfg.tgt_vocab_size, E, padding_idx=PAD_ID)
        self.attention = build_attention(cfg.attention, H, H, cfg.attention_size, cfg.attention_bias,
                                         cfg.attention_key_prior, cfg.attention_score)
        # Bahdanau's flow (attend with s_{t-1}, context into the RNN input) or Luong's (attend with h_t).
        self.attends_before_step = cfg.attention == "bahdanau" and cfg.attention_query == "previous"
        rnn_input = E + (H if self.attends_before_step else 0) + (O if cfg.input_feeding else 0)
        self.rnn = make_rnn(cfg.rnn_type, rnn_input, H, cfg.num_layers, cfg.dropout)
        self.combine = nn.Linear(H * (2 if self.attention is not None else 1), O)
        self.out = nn.Linear(O, cfg.tgt_vocab_size)
        if cfg.tie_embeddings:
            self.out.weight = self.embed.weight
        if cfg.decoder_init == "backward-first":  # s_0 = tanh(W_s h←_1), per layer
            self.init_bridge = nn.Linear(H // 2, H)
        self.dropout = nn.Dropout(cfg.dropout)
        self.frozen: FrozenStep | None = None  # inference-only weight copies; see freeze_for_inference

    def freeze_for_inference(self) -> None:
        """Lay the step's weights out for thin (beam-sized) products; call once the weights are final.

        Eval-mode steps then read these copies (nmt_core/fast_step.py); training steps never do.
        """
        self.frozen = FrozenStep.of(self.rnn, self.combine, self.out, self.cfg.rnn_type)

    @property
    def parallel_teacher_forcing(self) -> bool:
        """True when every step's RNN input is known up front (no s_{t-1} query, no input feeding)."""
        return not self.attends_before_step and not self.cfg.input_feeding

    def initial_state(self, encoder_final: DecoderState) -> DecoderState:
        """The decoder's state before its first step, from the encoder's final state (L, B, H), forward
        and backward directions concatenated (see ``ModelConfig.decoder_init``)."""
        init = self.cfg.decoder_init
        if init == "zeros":
            encoder_final = DecoderState(torch.zeros_like(encoder_final.h),
                                         None if encoder_final.c is None else torch.zeros_like(encoder_final.c))
        elif init == "backward-first":
            backward = encoder_final.h[..., self.cfg.hidden_size // 2:]  # h←_1: read from </s> back to the start
            encoder_final = DecoderState(torch.tanh(self.init_bridge(backward)),
                                         None if encoder_final.c is None else torch.zeros_like(encoder_final.c))
        if not self.cfg.input_feeding:
            return encoder_final
        batch = encoder_final.h.size(1)
        feed = encoder_final.h.new_zeros(batch, self.cfg.output_size)
        return encoder_final._replace(feed=feed)

    def _rnn(self, inputs: torch.Tensor, state: DecoderState):
        """inputs (B, T, in) -> outputs (B, T, H) and the state after the last step."""
        if self.cfg.rnn_type == "lstm":
            outputs, (h, c) = self.rnn(inputs, (state.h, state.c))
            return outputs, DecoderState(h, c, state.feed)
        outputs, h = self.rnn(inputs, state.h)
        return outputs, DecoderState(h, None, state.feed)

    def attention_mask(self, memory: Memory) -> torch.Tensor:
        """(B, S) True where attention may go: ``memory.mask``, less the source </s> when
        ``attend_to_source_end`` is off. Every attention of this decoder (step, teacher forcing,
        overrides) goes through it; code that scores attention itself should use it too."""
        return memory.mask if self.cfg.attend_to_source_end else without_source_end(memory.mask)

    def _attend(self, query: torch.Tensor, memory: Memory):
        return self.attention(query, memory.keys, memory.values, self.attention_mask(memory))

    def _override(self, override: torch.Tensor, memory: Memory, dtype: torch.dtype) -> torch.Tensor:
        """An attention override (B, S) as step weights (B, 1, S). Without ``attend_to_source_end`` the
        mass it puts on the source </s> is dropped and the rest renormalised (ValueError if none is left)."""
        weights = override.unsqueeze(1).to(dtype)
        if self.cfg.attend_to_source_end:
            return weights
        weights = weights * self.attention_mask(memory)[:, None, :]
        total = weights.sum(dim=-1, keepdim=True)
        if bool((total <= 0).any()):
            raise ValueError("attention_override puts no mass on a position this model can attend to "
                             "(it never attends to the source </s>)")
        return weights / total

    def step_logits(self, prev_tokens: torch.Tensor, state: DecoderState, memory: Memory,
                    attention_override: torch.Tensor | None = None):
        """One step. prev_tokens (B,) -> logits (B, V), attention (B, S) or None, new state.

        ``attention_override`` (B, S), rows summing to 1, replaces this step's attention weights (and so
        its context vector): the intervention experiment of nmt_core.explain.intervene.
        """
        embedded = self.dropout(self.embed(prev_tokens)).unsqueeze(1)  # (B, 1, E)
        weights = None
        if self.attends_before_step:
            context, weights = self._attend(state.h[-1].unsqueeze(1), memory)  # query s_{t-1}
            if attention_override is not None:
                weights = self._override(attention_override, memory, context.dtype)
                context = torch.bmm(weights, memory.values)
            rnn_in = [embedded, context]
        else:
            rnn_in = [embedded]
        if self.cfg.input_feeding:
            rnn_in.append(state.feed.unsqueeze(1))
        fast = self.frozen is not None and not self.training
        if fast:
            output, h, c = self.frozen.rnn_step(torch.cat(rnn_in, dim=-1).squeeze(1), state.h, state.c)
            output, state = output.unsqueeze(1), DecoderState(h, c, state.feed)
        else:
            output, state = self._rnn(torch.cat(rnn_in, dim=-1), state)  # (B, 1, H)
        output = self.dropout(output)
        if self.cfg.attention == "none":
            features = output
        elif self.attends_before_step:
            features = torch.cat([output, context], dim=-1)
        else:
            context, weights = self._attend(output, memory)
            if attention_override is not None:
                weights = self._override(attention_override, memory, context.dtype)
                context = torch.bmm(weights, memory.values)
            features = torch.cat([context, output], dim=-1)
        if fast:
            attentional = torch.tanh(self.frozen.combine(features.squeeze(1)))  # h̃ (B, O)
        else:
            attentional = torch.tanh(self.combine(features)).squeeze(1)
        if self.cfg.input_feeding:
            state = state._replace(feed=attentional)
        logits = self.frozen.out(attentional) if fast else self.out(self.dropout(attentional))
        return logits, (None if weights is None else weights.squeeze(1)), state

    def forward(self, tgt_in: torch.Tensor, state: DecoderState, memory: Memory):
        """Teacher forcing. tgt_in (B, T) starting with BOS -> logits (B, T, V), attention (B, T, S) or None."""
        if not self.parallel_teacher_forcing:
            logits, weights = [], []
            for t in range(tgt_in.size(1)):
                step_logits, step_weights, state = self.step_logits(tgt_in[:, t], state, memory)
                logits.append(step_logits)
                weights.append(step_weights)
            attention = None if weights[0] is None else torch.stack(weights, dim=1)
            return torch.stack(logits, dim=1), attention
        embedded = self.dropout(self.embed(tgt_in))  # (B, T, E)
        outputs, _ = self._rnn(embedded, state)
        outputs = self.dropout(outputs)  # (B, T, H)
        if self.attention is None:
            attention, features = None, outputs
        else:
            context, attention = self._attend(outputs, memory)  # (B, T, H), (B, T, S)
            features = torch.cat([context, outputs], dim=-1)
        attentional = torch.tanh(self.combine(features))
        return self.out(self.dropout(attentional)), attention


class Seq2Seq(nn.Module):
    """Encoder + decoder with the incremental API the decoders in decoding.py use."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> tuple[Memory, DecoderState]:
        """src (B, S) with EOS, lengths (B,) -> Memory and the decoder's initial state."""
        values, final = self.encoder(src, lengths)
        mask = torch.arange(src.size(1), device=src.device)[None, :] < lengths[:, None]
        attention = self.decoder.attention
        keys = attention.prepare_keys(values) if attention is not None else values
        return Memory(values, keys, mask), self.decoder.initial_state(final)

    def step(self, prev_tokens: torch.Tensor, state: DecoderState, memory: Memory):
        """prev_tokens (B,) -> log_probs (B, V), attention (B, S) or None, new state.

        Nothing is stored on the module: the model object is shared by every
        session of the app, so all per-decode data travels in the return value.
        """
        logits, weights, state = self.decoder.step_logits(prev_tokens, state, memory)
        return torch.log_softmax(logits.float(), dim=-1), weights, state

    def freeze_for_inference(self) -> Seq2Seq:
        """See :meth:`Decoder.freeze_for_inference`: faster eval-mode steps, same results."""
        self.decoder.freeze_for_inference()
        return self

    def step_logits(self, prev_tokens: torch.Tensor, state: DecoderState, memory: Memory,
                    attention_override: torch.Tensor | None = None):
        """:meth:`step` before the softmax: logits (B, V), for decoders that adjust scores first.

        ``attention_override`` (B, S): see :meth:`Decoder.step_logits`.
        """
        return self.decoder.step_logits(prev_tokens, state, memory, attention_override)

    def forward(self, src, lengths, tgt_in):
        """Teacher-forced logits (B, T, V) and attention (B, T, S) or None."""
        memory, state = self.encode(src, lengths)
        return self.decoder(tgt_in, state, memory)

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
