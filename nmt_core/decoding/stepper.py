"""Greedy or sampled decoding one token at a time: the Stepper behind Step through, greedy and sampling."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from ..text import BOS_ID, EOS_ID
from .scoring import layer_attention, next_token_log_probs, sampling_distribution
from .settings import DecodeSettings, InputError
from .trace import Candidate, Step, Trace

if TYPE_CHECKING:
    from .translator import Translator


class Stepper:
    """Greedy or sampled decoding, one token at a time.

    ``peek()`` shows the next-token distribution without committing;
    ``advance()`` commits the decoder's choice or a token you pick, which is how
    the UI's "what if" works: force a token, then keep going.
    """

    def __init__(self, translator: Translator, text: str, settings: DecodeSettings, prefix=None):
        self.translator = translator
        self.settings = settings
        self.source = translator.prepare(text)
        self.max_length = settings.max_length(len(self.source.tokens))
        self.generator = torch.Generator().manual_seed(settings.seed)
        self.steps: list[Step] = []
        with torch.inference_mode():
            self.memory, self.state = translator.encode(self.source)
        self._prev = BOS_ID
        # (log_probs (V,), chooser (V,), attention (S,) or None, next state, layer attention (L, h, S) or None)
        self._pending = None
        for token_id in translator.prefix_ids(prefix):
            self.advance(token_id, forced=True)

    @property
    def finished(self) -> bool:
        return (bool(self.steps) and self.steps[-1].token_id == EOS_ID) or len(self.steps) >= self.max_length

    def _next(self):
        if self._pending is None:
            with torch.inference_mode():
                prev = torch.tensor([self._prev], device=self.translator.device)
                # "The model's distribution" from here on means over tokens it may emit:
                # <pad>/<s> banned and the UNK penalty applied, as beam search scores them.
                log_probs, attention, state = next_token_log_probs(
                    self.translator.model, prev, self.state, self.memory, self.settings.unk_penalty)
            raw = log_probs[0].cpu()
            chooser = sampling_distribution(raw, self.settings)
            attention = None if attention is None else attention[0].float().cpu()
            layers = layer_attention(state)
            self._pending = (raw, chooser, attention, state, None if layers is None else layers[:, 0])
        return self._pending

    def peek(self) -> list[Candidate]:
        """The most likely next tokens (model probability and the chooser's)."""
        raw, chooser = self._next()[:2]
        return self._candidates(raw, chooser)

    def _candidates(self, raw: torch.Tensor, chooser: torch.Tensor) -> list[Candidate]:
        k = min(self.settings.num_candidates, raw.numel())
        top = raw.topk(k)
        tokens = self.translator.tgt_tokenizer.pieces(top.indices.tolist())
        return [
            Candidate(int(i), tok, math.exp(lp), float(chooser[i]))
            for i, lp, tok in zip(top.indices.tolist(), top.values.tolist(), tokens, strict=True)
        ]

    def choose(self) -> int:
        """The decoder's own choice for the next token (draws from the RNG when sampling)."""
        chooser = self._next()[1]
        if self.settings.is_greedy:
            return int(chooser.argmax())
        return int(torch.multinomial(chooser, 1, generator=self.generator))

    def advance(self, token_id: int | None = None, forced: bool = False) -> Step:
        """Commit one token: ``token_id`` if given (a forced choice), else the decoder's."""
        if self.finished:
            raise InputError("decoding has already finished")
        raw, chooser, attention, state, layers = self._next()
        if token_id is None:
            token_id = self.choose()
        elif not (0 <= token_id < raw.numel()):
            raise InputError(f"token id {token_id} is outside the target vocabulary")
        else:
            forced = True
        step = Step(
            index=len(self.steps),
            token_id=token_id,
            token=self.translator.tgt_tokenizer.pieces([token_id])[0],
            logprob=float(raw[token_id]),
            attention=None if attention is None else attention.tolist(),
            candidates=self._candidates(raw, chooser),
            forced=forced,
            layer_attention=None if layers is None else layers.tolist(),
        )
        self.steps.append(step)
        self.state, self._prev, self._pending = state, token_id, None
        return step

    def run(self) -> Trace:
        while not self.finished:
            self.advance()
        return self.trace()

    def trace(self) -> Trace:
        finished = bool(self.steps) and self.steps[-1].token_id == EOS_ID
        ids = [s.token_id for s in (self.steps[:-1] if finished else self.steps)]
        method = "greedy" if self.settings.is_greedy else "sample"
        return Trace(
            method=method,
            settings=self.settings.to_dict(),
            source_text=self.source.text,
            source_tokens=self.source.tokens,
            steps=list(self.steps),
            translation=self.translator.tgt_tokenizer.decode(ids),
            finished=finished,
            warnings=list(self.source.warnings),
        )
