"""What a decode may be asked: the methods, their settings and limits, and the error a user can fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass

MAX_INPUT_CHARACTERS = 10_000  # the most of a typed sentence that is read at all (bounds a pasted book's work)
MAX_SOURCE_PIECES = 200  # the encoder's limit: longer sentences are cut at a word boundary, with a notice
MAX_OUTPUT_LENGTH = 250
METHODS = ("greedy", "sample", "beam")
MIN_TEMPERATURE = 1e-6  # below this, sampling is greedy (the argmax, with probability 1)


class InputError(ValueError):
    """Bad user input or settings; the message is meant to be shown as is."""


@dataclass
class DecodeSettings:
    """How to decode; every field has a range checked by :meth:`validate`."""

    method: str = "greedy"  # "greedy", "sample" or "beam"
    beam_size: int = 5  # beam: hypotheses kept per step (1..50)
    n_best: int = 5  # beam: finished hypotheses returned (1..beam_size)
    length_penalty: float = 1.0  # beam: GNMT alpha; 0 ranks by raw log-prob (favours short)
    temperature: float = 1.0  # sample: logits / T; 0 means greedy
    top_k: int = 0  # sample: keep the k most likely tokens (0 = all)
    top_p: float = 1.0  # sample: nucleus, keep the smallest set with mass >= p
    seed: int = 0  # sample: the same seed replays the same sample
    unk_penalty: float = 0.0  # subtracted from <unk>'s log-prob (inf bans it)
    max_length_ratio: float = 2.0  # output limit = ratio * source pieces + extra
    max_length_extra: int = 10
    max_tokens: int = 0  # hard cap on output tokens, </s> included (0 = only the ratio rule)
    num_candidates: int = 10  # alternatives recorded per step

    def validate(self) -> DecodeSettings:
        import numbers

        def check(ok: bool, message: str):
            if not ok:
                raise InputError(message)

        # Types first (a config.json or a caller may hand over "5", 5.5, [] or True): one InputError
        # naming the setting, never a TypeError from a comparison below.
        for name in ("beam_size", "n_best", "top_k", "seed", "max_length_extra", "max_tokens", "num_candidates"):
            value = getattr(self, name)
            check(isinstance(value, numbers.Integral) and not isinstance(value, bool),
                  f"{name.replace('_', ' ')} must be a whole number, not {value!r}"[:120])
        for name in ("length_penalty", "temperature", "top_p", "unk_penalty", "max_length_ratio"):
            value = getattr(self, name)
            check(isinstance(value, numbers.Real) and not isinstance(value, bool),
                  f"{name.replace('_', ' ')} must be a number, not {value!r}"[:120])
        check(isinstance(self.method, str) and self.method in METHODS,
              f"method must be one of {', '.join(METHODS)}, not {self.method!r}"[:120])
        check(1 <= self.beam_size <= 50, f"beam size must be between 1 and 50, not {self.beam_size}")
        check(1 <= self.n_best <= self.beam_size, f"n-best must be between 1 and the beam size ({self.beam_size})")
        check(0 <= self.length_penalty <= 5, f"length penalty must be between 0 and 5, not {self.length_penalty}")
        check(0 <= self.temperature <= 100, f"temperature must be between 0 and 100, not {self.temperature}")
        check(self.top_k >= 0, f"top-k must be 0 (off) or positive, not {self.top_k}")
        # A p below 1e-6 keeps only the top token anyway; far below it (1e-46) float32 reads it as 0 and
        # the nucleus would drop every token.
        check(1e-6 <= self.top_p <= 1, f"top-p must be in (0, 1] and at least 1e-06, not {self.top_p}")
        check(self.unk_penalty >= 0, f"UNK penalty must be 0 or more, not {self.unk_penalty}")
        check(0 < self.max_length_ratio <= 10, f"max length ratio must be in (0, 10], not {self.max_length_ratio}")
        check(0 <= self.max_length_extra <= 100, "max length extra must be between 0 and 100")
        check(0 <= self.max_tokens <= MAX_OUTPUT_LENGTH,
              f"max tokens must be between 0 (automatic) and {MAX_OUTPUT_LENGTH}")
        check(1 <= self.num_candidates <= 100, "candidates per step must be between 1 and 100")
        check(-(2**63) <= self.seed < 2**63, "seed must fit in 64 bits")
        return self

    @property
    def is_greedy(self) -> bool:
        """Greedy, or sampling at a temperature so small that float32 logits / T would overflow."""
        return self.method == "greedy" or self.temperature < MIN_TEMPERATURE

    def max_length(self, source_pieces: int) -> int:
        limit = min(MAX_OUTPUT_LENGTH, int(self.max_length_ratio * source_pieces + self.max_length_extra))
        return min(limit, self.max_tokens) if self.max_tokens else limit

    def to_dict(self) -> dict:
        return asdict(self)
