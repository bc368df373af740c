"""A model with its two tokenisers: text in, traces out (greedy and sampling through the Stepper, beam through
beam_search)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..casing import restore_case
from ..model import DecoderState, Memory, Seq2Seq, source_batch
from ..text import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Tokenizer, normalize
from .beam import beam_search
from .settings import MAX_INPUT_CHARACTERS, MAX_SOURCE_PIECES, DecodeSettings, InputError
from .stepper import Stepper
from .trace import Trace


@dataclass
class PreparedSource:
    text: str  # normalised, capitals restored when it had none (nmt_core.casing)
    ids: list[int]  # pieces without EOS
    tokens: list[str]  # pieces with the closing </s>, as the encoder reads them
    warnings: list[str]


class Translator:
    """A model with its two tokenisers: text in, traces out."""

    def __init__(self, model: Seq2Seq, src_tokenizer: Tokenizer, tgt_tokenizer: Tokenizer):
        self.model = model.eval()
        self.src_tokenizer = src_tokenizer
        self.tgt_tokenizer = tgt_tokenizer

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def prepare(self, text: str) -> PreparedSource:
        """Normalise, restore capitals, tokenise; raise :class:`InputError` only for text with nothing to translate.

        A sentence typed without a single capital is read with its capitals restored
        (:func:`nmt_core.casing.restore_case`), and a notice in ``warnings`` says how.

        Too long a sentence is not an error: it is cut at the last word boundary that fits in
        MAX_SOURCE_PIECES pieces (the encoder's limit) and a notice goes into ``warnings``.
        """
        if not isinstance(text, str):
            raise InputError("the sentence must be text")
        # Bound the work before tokenising: a pasted book is cut to MAX_INPUT_CHARACTERS first.
        characters = len(text)
        normalized = normalize(text[:MAX_INPUT_CHARACTERS])
        if not normalized:
            raise InputError("The sentence is empty: type something to translate.")
        warnings = []
        recased = restore_case(normalized, self.src_tokenizer)
        if recased is not None:
            normalized = recased
            shown = recased if len(recased) <= 80 else recased[:80].rstrip() + "…"
            warnings.append(f"The sentence has no capital letters and this model learned from cased text, "
                            f"so it reads “{shown}”.")
        ids = self.src_tokenizer.encode(normalized)
        if len(ids) > MAX_SOURCE_PIECES:
            pieces = f"more than {len(ids):,}" if characters > MAX_INPUT_CHARACTERS else f"{len(ids):,}"
            normalized = self._longest_fitting_prefix(normalized)
            ids = self.src_tokenizer.encode(normalized)
            warnings.append(
                f"The sentence is too long: the model reads at most {MAX_SOURCE_PIECES} pieces and this one has "
                f"{pieces}. Only the first {len(normalized):,} of its {characters:,} characters were translated "
                f"(up to “{normalized[-30:].lstrip()}”): translate one sentence at a time."
            )
        elif characters > MAX_INPUT_CHARACTERS:
            warnings.append(f"The sentence is too long: only its first {MAX_INPUT_CHARACTERS:,} of {characters:,} "
                            "characters were read: translate one sentence at a time.")
        unknown = sum(1 for i in ids if i == UNK_ID)
        if unknown:
            warnings.append(
                f"{unknown} piece{'s' if unknown > 1 else ''} of the sentence {'are' if unknown > 1 else 'is'} "
                "unknown to this model (shown as <unk>): characters it never saw in training."
                + (" Is the sentence in the model's source language?" if unknown * 2 >= len(ids) else "")
            )
        tokens = self.src_tokenizer.pieces(ids) + [self.src_tokenizer.pieces([EOS_ID])[0]]
        return PreparedSource(normalized, ids, tokens, warnings)

    def _longest_fitting_prefix(self, normalized: str) -> str:
        """The longest prefix of ``normalized`` that encodes to at most MAX_SOURCE_PIECES pieces.

        Cut at a space when one fits (whole words), else at any character (a long run of
        text without spaces, e.g. Chinese). Binary search: ~log2(length) encodes.
        """

        def fits(end: int) -> bool:
            return len(self.src_tokenizer.encode(normalized[:end])) <= MAX_SOURCE_PIECES

        def longest(ends: list[int]) -> int:
            low, high = 0, len(ends)  # ends[:low] all fit (assumed monotone); ends[high:] do not
            while low < high:
                middle = (low + high) // 2
                if fits(ends[middle]):
                    low = middle + 1
                else:
                    high = middle
            return ends[low - 1] if low else 0

        end = longest([i for i, ch in enumerate(normalized) if ch == " "])
        if not end:
            end = longest(list(range(1, len(normalized) + 1)))
        return normalized[:end].rstrip()

    def encode(self, source: PreparedSource) -> tuple[Memory, DecoderState]:
        src, lengths = source_batch([source.ids], self.device)
        return self.model.encode(src, lengths)

    def prefix_ids(self, prefix: str | list[int] | None) -> list[int]:
        """A forced prefix given as target text or ids -> ids (no BOS/EOS)."""
        if prefix is None:
            return []
        if isinstance(prefix, str):
            return self.tgt_tokenizer.encode(prefix)
        bad = [i for i in prefix if not (0 <= int(i) < self.tgt_tokenizer.vocab_size) or i in (PAD_ID, BOS_ID, EOS_ID)]
        if bad:
            raise InputError(f"prefix token ids {bad} are not valid target tokens")
        return [int(i) for i in prefix]

    def translate(self, text: str, settings: DecodeSettings | None = None, prefix=None) -> Trace:
        """Decode ``text`` with ``settings``; ``prefix`` forces the first target tokens."""
        settings = (settings or DecodeSettings()).validate()
        if settings.method == "beam":
            return beam_search(self, text, settings, prefix)
        stepper = Stepper(self, text, settings, prefix)
        return stepper.run()

    def stepper(self, text: str, settings: DecodeSettings | None = None, prefix=None) -> Stepper:
        return Stepper(self, text, (settings or DecodeSettings()).validate(), prefix)
