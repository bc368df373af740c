"""Decoding: greedy, sampling, beam search, forced prefixes and stepping.

All decoders run the model one step at a time under ``torch.inference_mode()``
and score it through one function, :func:`scoring.next_token_log_probs`.

* ``settings``: :class:`DecodeSettings` (method, beam, temperature...) and their limits;
  :class:`InputError`, the error a user can fix.
* ``translator``: :class:`Translator`, a model with its tokenisers: text in, :class:`Trace` out.
* ``stepper``: :class:`Stepper` advances one token at a time (greedy or sampled, or a
  token the caller picks), so the UI can step without re-decoding; greedy and sampled
  translation are a Stepper run to the end.
* ``beam_rule``: the beam search rule, a pure function of scores, written once.
* ``beam``: the traced beam search, which records every node it proposed.
* ``batch``: batched beam search and greedy over many sentences, for evaluation.
* ``trace``: what a decode saw, as plain values with a JSON round-trip.
* ``attention_maps``: a Transformer's self- and cross-attention for one trace.

The names most callers need are importable from ``nmt_core.decoding`` itself.
"""

from .attention_maps import AttentionMaps, attention_maps
from .batch import BatchHypothesis, beam_search_batch, greedy_batch
from .beam import beam_search
from .scoring import layer_attention, next_token_log_probs, sampling_distribution
from .settings import (
    MAX_INPUT_CHARACTERS,
    MAX_OUTPUT_LENGTH,
    MAX_SOURCE_PIECES,
    METHODS,
    MIN_TEMPERATURE,
    DecodeSettings,
    InputError,
)
from .stepper import Stepper
from .trace import BeamNode, BeamTrace, Candidate, Hypothesis, Step, Trace
from .translator import PreparedSource, Translator

__all__ = [
    "MAX_INPUT_CHARACTERS", "MAX_OUTPUT_LENGTH", "MAX_SOURCE_PIECES", "METHODS", "MIN_TEMPERATURE",
    "AttentionMaps", "BatchHypothesis", "BeamNode", "BeamTrace", "Candidate", "DecodeSettings", "Hypothesis",
    "InputError", "PreparedSource", "Step", "Stepper", "Trace", "Translator", "attention_maps", "beam_search",
    "beam_search_batch", "greedy_batch", "layer_attention", "next_token_log_probs", "sampling_distribution",
]
