"""The neural networks: attention score functions, RNN and Transformer encoder-decoders.

Every model here offers the same incremental contract, which the decoders in
``nmt_core.decoding`` rely on and nothing else::

    memory, state = model.encode(src (B, S), lengths (B,))
    logits (B, V), attention (B, S) or None, state = model.step_logits(prev_tokens (B,), state, memory)
    memory.index_select(rows), state.index_select(rows)      # follow beam parents / batch rows
    logits (B, T, V), attention = model(src, lengths, tgt_in)  # teacher forcing

``build_model`` picks the class from config.json's ``model`` entry: ``"architecture": "transformer"``
builds :class:`TransformerSeq2Seq`; anything else (the key is absent in RNN checkpoints) an RNN.
"""

from __future__ import annotations

from .rnn import DecoderState, Memory, ModelConfig, Seq2Seq, source_batch
from .transformer import ARCHITECTURE as TRANSFORMER
from .transformer import TransformerConfig, TransformerSeq2Seq

AnyConfig = ModelConfig | TransformerConfig
AnyModel = Seq2Seq | TransformerSeq2Seq


def is_transformer(model_args: dict) -> bool:
    """True when config.json's ``model`` entry describes a Transformer."""
    return isinstance(model_args, dict) and model_args.get("architecture") == TRANSFORMER


def config_from_dict(model_args: dict) -> AnyConfig:
    """config.json's ``model`` entry -> the dataclass of its architecture (ValueError/TypeError when bad)."""
    return (TransformerConfig if is_transformer(model_args) else ModelConfig).from_dict(model_args)


def config_fields(model_args: dict) -> set[str]:
    """The argument names the architecture of ``model_args`` accepts."""
    cls = TransformerConfig if is_transformer(model_args) else ModelConfig
    return set(cls.__dataclass_fields__)


def build_model(cfg: AnyConfig) -> AnyModel:
    return TransformerSeq2Seq(cfg) if isinstance(cfg, TransformerConfig) else Seq2Seq(cfg)


def tied_parameter_names(cfg: AnyConfig) -> set[str]:
    """Parameters that are the same tensor as another one, and so are not stored twice."""
    if not cfg.tie_embeddings:
        return set()
    return {"out.weight"} if isinstance(cfg, TransformerConfig) else {"decoder.out.weight"}


__all__ = ["AnyConfig", "AnyModel", "DecoderState", "Memory", "ModelConfig", "Seq2Seq", "TransformerConfig",
           "TransformerSeq2Seq", "build_model", "config_fields", "config_from_dict", "is_transformer",
           "source_batch", "tied_parameter_names"]
