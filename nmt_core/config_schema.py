"""One schema check for a checkpoint's config.json: types and ranges, naming the field.

A config.json may come from anywhere, and every page of the app, the model card and
the command line read it. So it is checked once, when it is read
(:func:`nmt_core.checkpoint.read_config`), and a value that would crash a reader later
(a list where a language code goes, a dropout of 1.5 or NaN, a beam width of ``"5"``,
an ``Infinity`` in the scores) is refused there with one message naming the field::

    metrics.test_by_source_length[0].low must be a whole number from 1 to 1000, not inf

Rules that hold everywhere: the file is at most :data:`MAX_CONFIG_BYTES`, nested at most
:data:`MAX_DEPTH` levels, and holds no NaN or infinite number. Entries this schema does
not know are allowed (newer libraries may add some) but follow those rules too.
The architecture (``model``) is checked field by field for both the RNNs and the
Transformer; whether its weights fit is :mod:`nmt_core.checkpoint`'s business.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from .decoding import MAX_OUTPUT_LENGTH
from .model.attention import ATTENTION_BIASES, ATTENTION_KEY_PRIORS, ATTENTION_SCORES, ATTENTION_TYPES
from .model.rnn import ATTENTION_QUERIES, DECODER_INITS
from .model.transformer import ARCHITECTURE as TRANSFORMER

MAX_CONFIG_BYTES = 1_000_000  # shipped configs are under 10 kB; a year of per-epoch history fits easily
MAX_DEPTH = 16  # shipped configs nest 4 levels (training.config.model.dropout)
MAX_LIST = 100_000  # entries in any one list (history, averaged epochs...)
MAX_TEXT = 10_000  # characters in any one string
MAX_VOCAB = 10**6
MAX_WHOLE = 10**15  # counts, seeds: far beyond any real value, small enough for every reader's arithmetic


class ConfigSchemaError(ValueError):
    """``field`` (a dotted path such as ``model.dropout``) breaks the schema; ``str()`` says how."""

    def __init__(self, field: str, problem: str):
        self.field, self.problem = field, problem
        super().__init__(f"{field} {problem}")


Check = Callable[[str, object], None]


def _join(field: str, key) -> str:
    return f"{field}.{key}" if field else str(key)


def _n(value: int) -> str:
    return f"{value:,}" if abs(value) >= 100_000 else str(value)


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def whole(low: int = 0, high: int = MAX_WHOLE) -> Check:
    def check(field: str, value) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigSchemaError(field, f"must be a whole number from {_n(low)} to {_n(high)}, not {_shown(value)}")
    return check


def number(low: float, high: float, high_open: bool = False) -> Check:
    """A finite int or float in [low, high] (or [low, high) when ``high_open``)."""
    def check(field: str, value) -> None:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) \
            and low <= value and (value < high if high_open else value <= high)
        if not ok:
            span = f"from {low:g} up to (not including) {high:g}" if high_open else f"from {low:g} to {high:g}"
            raise ConfigSchemaError(field, f"must be a number {span}, not {_shown(value)}")
    return check


def text(max_length: int = MAX_TEXT, pattern: str | None = None) -> Check:
    def check(field: str, value) -> None:
        if not isinstance(value, str):
            raise ConfigSchemaError(field, f"must be text, not {_shown(value)}")
        if len(value) > max_length:
            raise ConfigSchemaError(field, f"must be at most {max_length:,} characters, not {len(value):,}")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise ConfigSchemaError(field, f"must look like {pattern!r}, not {_shown(value)}")
    return check


def one_of(*choices) -> Check:
    def check(field: str, value) -> None:
        if not any(value == c and type(value) is type(c) for c in choices):
            raise ConfigSchemaError(field, f"must be one of {', '.join(map(repr, choices))}, not {_shown(value)}")
    return check


def boolean(field: str, value) -> None:
    if not isinstance(value, bool):
        raise ConfigSchemaError(field, f"must be true or false, not {_shown(value)}")


def optional(check: Check) -> Check:
    def checked(field: str, value) -> None:
        if value is not None:
            check(field, value)
    return checked


def record(fields: dict[str, Check], required: tuple[str, ...] = ()) -> Check:
    """An object whose known keys follow ``fields``; other keys are allowed (see the module docstring)."""
    def check(field: str, value) -> None:
        if not isinstance(value, dict):
            raise ConfigSchemaError(field, f"must be an object, not {_shown(value)}")
        for key in required:
            if key not in value:
                raise ConfigSchemaError(_join(field, key), "is missing")
        for key, rule in fields.items():
            if key in value:
                rule(_join(field, key), value[key])
    return check


def list_of(rule: Check, max_length: int = MAX_LIST) -> Check:
    def check(field: str, value) -> None:
        if not isinstance(value, list):
            raise ConfigSchemaError(field, f"must be a list, not {_shown(value)}")
        if len(value) > max_length:
            raise ConfigSchemaError(field, f"must have at most {max_length:,} entries, not {len(value):,}")
        for index, item in enumerate(value):
            rule(f"{field}[{index}]", item)
    return check


def mapping(rule: Check) -> Check:
    """An object of any keys whose values all follow ``rule``."""
    def check(field: str, value) -> None:
        if not isinstance(value, dict):
            raise ConfigSchemaError(field, f"must be an object, not {_shown(value)}")
        for key, item in value.items():
            rule(_join(field, key), item)
    return check


BLEU = number(0, 100)
COUNT = whole()
FRACTION = number(0, 1)
LANGUAGE = text(32, r"[A-Za-z0-9_.-]+")  # "spa", "eng"; "src"/"tgt" for a TSV without languages
LOSS = number(0, 1e6)
DROPOUT = number(0, 1, high_open=True)
BEAM = whole(1, 50)  # nmt_core.decoding.DecodeSettings' range
LENGTH_PENALTY = number(0, 5)
VOCAB = whole(4, MAX_VOCAB)  # the four special pieces at least

RNN_MODEL = record({
    "src_vocab_size": VOCAB,
    "tgt_vocab_size": VOCAB,
    "embedding_dim": whole(1, 8192),
    "hidden_size": whole(1, 8192),
    "num_layers": whole(1, 8),
    "rnn_type": one_of("gru", "lstm"),
    "bidirectional": boolean,
    "attention": one_of(*ATTENTION_TYPES),
    "attention_size": whole(1, 8192),
    "output_size": whole(1, 8192),
    "input_feeding": boolean,
    "reverse_source": boolean,
    "dropout": DROPOUT,
    "tie_embeddings": boolean,
    "attend_to_source_end": boolean,
    "decoder_init": one_of(*DECODER_INITS),
    "attention_bias": one_of(*ATTENTION_BIASES),
    "attention_query": one_of(*ATTENTION_QUERIES),
    "attention_key_prior": one_of(*ATTENTION_KEY_PRIORS),
    "attention_score": one_of(*ATTENTION_SCORES),
}, required=("src_vocab_size", "tgt_vocab_size"))

TRANSFORMER_MODEL = record({
    "architecture": one_of(TRANSFORMER),
    "src_vocab_size": VOCAB,
    "tgt_vocab_size": VOCAB,
    "d_model": whole(1, 4096),
    "num_heads": whole(1, 64),
    "encoder_layers": whole(1, 24),
    "decoder_layers": whole(1, 24),
    "ff_size": whole(1, 16384),
    "dropout": DROPOUT,
    # The decoder embeds up to MAX_OUTPUT_LENGTH target positions (and the source at most 201): fewer
    # sinusoids would make a long sentence fail halfway through decoding.
    "max_positions": whole(MAX_OUTPUT_LENGTH + 1, 4096),
    "tie_embeddings": boolean,
    "display_layer": whole(-24, 23),
}, required=("src_vocab_size", "tgt_vocab_size"))


def model_schema(field: str, value) -> None:
    """config.json's ``model``: the Transformer's fields when ``architecture`` says so, else an RNN's."""
    if isinstance(value, dict) and "architecture" in value:
        TRANSFORMER_MODEL(field, value)
    else:
        RNN_MODEL(field, value)


LENGTH_RECORD = record({
    "words": text(32),
    "low": whole(1, 1000),
    "high": optional(whole(1, 1000)),
    "sentences": COUNT,
    "bleu": BLEU,
    "chrf": BLEU,
})

HISTORY_RECORD = record({
    "epoch": whole(1, 100_000),
    "lr": number(0, 1e3),
    "train_loss": LOSS,
    "dev_loss": LOSS,
    "train_accuracy": FRACTION,
    "dev_accuracy": FRACTION,
    "dev_bleu": BLEU,
    "minutes": number(0, 1e9),
})

TRAINING_OPTIONS = record({  # TrainConfig as stored; what rebuilds the split (nmt_core.data.held_out_part)
    "data": text(),
    "out": text(),
    "work_dir": text(),
    "source_language": text(32),
    "target_language": text(32),
    "max_words": whole(1, 100_000),
    "dev_fraction": FRACTION,
    "test_fraction": FRACTION,
    "split_seed": whole(-MAX_WHOLE, MAX_WHOLE),
    "model": mapping(lambda field, value: None),  # the options given; the model entry is the checked one
    "epochs": optional(whole(0, 100_000)),
    "batch_size": whole(1, 10**6),
    "lr": number(0, 1e3),
    "label_smoothing": FRACTION,
    "test_beam": BEAM,
    "seed": whole(-MAX_WHOLE, MAX_WHOLE),
})

SCHEMA = record({
    "format_version": whole(0, 10**6),
    "library_version": text(64),
    "source_language": LANGUAGE,
    "target_language": LANGUAGE,
    "data": record({
        "file": text(),
        "credit": text(),
        "max_words": whole(1, 100_000),
        "pairs": COUNT,
        "train_pairs": COUNT,
        "dev_sources": COUNT,
        "test_sources": COUNT,
        "dev_fraction": FRACTION,
        "test_fraction": FRACTION,
        "split_seed": whole(-MAX_WHOLE, MAX_WHOLE),
    }),
    "training": record({
        "config": TRAINING_OPTIONS,
        "epochs_completed": whole(0, 100_000),
        "best_epoch": whole(0, 100_000),
        "averaged_epochs": list_of(whole(0, 100_000)),
        "train_minutes": number(0, 1e9),
        "hardware": text(),
        "processes": whole(1, 100_000),
        "torch": text(64),
        "init_from": text(),
    }),
    "history": list_of(HISTORY_RECORD),
    "metrics": record({
        "dev_bleu_greedy": BLEU,
        "dev_bleu_by_length_penalty": mapping(BLEU),
        "test_bleu": BLEU,
        "test_chrf": BLEU,
        "test_sentences": COUNT,
        "test_beam": BEAM,
        "test_length_penalty": LENGTH_PENALTY,
        "bleu_signature": text(),
        "test_by_source_length": list_of(LENGTH_RECORD, 100),
    }),
    "decoding_defaults": record({"beam_size": BEAM, "length_penalty": LENGTH_PENALTY}),
    "model": model_schema,
    "attention": text(64),
    "weights_dtype": one_of("float16", "float32", "bfloat16"),
    "parameters": whole(0, 10**12),
    "special_ids": mapping(whole(0, MAX_VOCAB)),
    "tokenizers": record({side: record({"file": text(255), "vocab_size": VOCAB}) for side in ("source", "target")}),
    "sha256": mapping(text(64, r"[0-9a-f]{64}")),
}, required=("model", "sha256"))


def _general_rules(config) -> None:
    """No nesting deeper than MAX_DEPTH, no NaN or infinity, no huge list or string, anywhere.

    Walks with its own stack, not recursion: the point is to stay safe on any input.
    """
    stack: list[tuple[str, object, int]] = [("", config, 0)]
    while stack:
        field, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConfigSchemaError(field, f"is nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigSchemaError(field, f"must be a finite number, not {value}")
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise ConfigSchemaError(field, f"must be at most {MAX_TEXT:,} characters, not {len(value):,}")
        if isinstance(value, dict):
            stack.extend((_join(field, key), item, depth + 1) for key, item in value.items())
        elif isinstance(value, list):
            if len(value) > MAX_LIST:
                raise ConfigSchemaError(field, f"must have at most {MAX_LIST:,} entries, not {len(value):,}")
            stack.extend((f"{field}[{index}]", item, depth + 1) for index, item in enumerate(value))


def validate_config(config: dict) -> dict:
    """Check ``config`` (parsed config.json) against the schema; raise :class:`ConfigSchemaError` naming the
    first field that breaks it (a path such as ``metrics.test_by_source_length[0].low``). Returns ``config``."""
    _general_rules(config)
    SCHEMA("", config)
    return config
