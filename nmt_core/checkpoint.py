"""Self-describing checkpoint folders, saved and loaded without pickle.

A checkpoint is a folder::

    config.json        architecture, tokenisers, data and split, history, metrics, checksums
    model.safetensors  weights (fp16 by default; loaded back as fp32 for CPU maths)
    src.model          source SentencePiece model
    tgt.model          target SentencePiece model
    README.md          the model card, written from config.json

Loading reads JSON, safetensors and SentencePiece protobufs only: a checkpoint
from a stranger cannot run code. A pickle file (``.pt``, ``.pth``, ``.pkl``,
``.bin``...) in the folder, or given as the path, is refused without being
opened. Anything missing, truncated or mismatched raises
:class:`CheckpointError` naming the file and what is wrong with it.

:func:`check_checkpoint` runs the cheap checks only (config, files, sizes,
the safetensors header, the tokenisers; no weights, no checksums): the app
uses it to list a broken model as unavailable without loading it.

Nothing a config.json says is trusted before it is checked: :mod:`nmt_core.config_schema`
checks every field's type and range when the file is read, and the model it describes
is laid out on PyTorch's ``meta`` device (shapes only, no memory) so that its parameter
count is held against :data:`MAX_PARAMETERS` and its tensors' names and shapes against
the safetensors header *before* anything real is allocated. Weights holding NaN or
infinity are refused at load, naming the tensor.

Errors name files relative to the folder holding the checkpoint
(``spa-eng-luong/model.safetensors: ...``), never by a server's absolute path;
``CheckpointError.path`` keeps the full path for programs.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from . import __version__
from .config_schema import MAX_CONFIG_BYTES, ConfigSchemaError, validate_config
from .decoding import Translator
from .model import AnyConfig, AnyModel, build_model, config_from_dict, is_transformer, tied_parameter_names
from .model.attention import ATTENTION_TYPES
from .text import SPECIAL_IDS, Tokenizer

FORMAT = "attention-explorer-checkpoint"
FORMAT_VERSION = 1
CONFIG, WEIGHTS, SRC_SPM, TGT_SPM, CARD = "config.json", "model.safetensors", "src.model", "tgt.model", "README.md"
PROBES = "probes.json"  # optional: the probe sentences' greedy traces after every training epoch
MAX_PROBES_BYTES = 2_000_000
# The most parameters a checkpoint may have: 10x the largest shipped model, 400 MB in fp32. A config.json
# describing more is refused before anything is built (its count comes from a shape-only "meta" model).
MAX_PARAMETERS = 100_000_000
FLOAT_DTYPES = ("F16", "BF16", "F32")  # safetensors' names of the dtypes weights may be stored in


class CheckpointError(Exception):
    """A checkpoint cannot be loaded; the message names the file and the problem.

    ``path`` is the file's full path; the message (``str()``) names it as ``shown``, relative to
    the folder that holds the checkpoint once the loader has said which that is (see :func:`_named_within`).
    """

    def __init__(self, path: Path | str, problem: str):
        self.path = str(path)
        self.problem = problem
        self.shown = str(path)
        super().__init__(f"{path}: {problem}")

    def within(self, root: Path | str) -> CheckpointError:
        """Name the file relative to ``root`` (and drop ``root`` from the problem's own text)."""
        root = os.path.abspath(root)
        full = os.path.abspath(self.path)
        self.shown = os.path.relpath(full, root) if full.startswith(root + os.sep) else Path(full).name
        self.problem = self.problem.replace(root + os.sep, "")
        self.args = (f"{self.shown}: {self.problem}",)
        return self

    @property
    def summary(self) -> str:
        """A few words for a label: the file's name and the first clause of the problem."""
        clause = re.split(r": |; | \(|\. ", self.problem, maxsplit=1)[0]
        text = f"{Path(self.path).name}: {clause}"
        return text if len(text) <= 70 else text[:69] + "…"


@contextmanager
def _named_within(folder: str | Path):
    """Errors raised inside name their file relative to the folder holding checkpoint ``folder``."""
    try:
        yield
    except CheckpointError as error:
        raise error.within(Path(os.path.abspath(folder)).parent) from None


def files_signature(folder: str | Path) -> tuple[tuple[str, int, int], ...]:
    """(name, size, mtime in ns) of every file in ``folder``: it changes whenever a file does."""
    try:
        entries = [(e.name, e.stat()) for e in os.scandir(folder) if e.is_file()]
    except OSError:
        return ()
    return tuple(sorted((name, stat.st_size, stat.st_mtime_ns) for name, stat in entries))


@dataclass
class Checkpoint:
    name: str
    folder: Path
    config: dict
    model: AnyModel
    src_tokenizer: Tokenizer
    tgt_tokenizer: Tokenizer
    signature: tuple = ()  # files_signature(folder) as it was just before loading: a cache compares it

    @property
    def translator(self) -> Translator:
        return Translator(self.model, self.src_tokenizer, self.tgt_tokenizer)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_for_saving(model: AnyModel, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    skip = tied_parameter_names(model.cfg)
    return {
        name: tensor.detach().to("cpu", dtype if tensor.is_floating_point() else tensor.dtype).contiguous()
        for name, tensor in model.state_dict().items()
        if name not in skip
    }


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file so an interrupted save never leaves a half file."""
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def save_checkpoint(
    folder: str | Path,
    model: AnyModel,
    src_tokenizer: Tokenizer,
    tgt_tokenizer: Tokenizer,
    metadata: dict | None = None,
    dtype: torch.dtype = torch.float16,
) -> Path:
    """Write a checkpoint folder; ``metadata`` (languages, data, history, metrics...) goes into config.json."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = weights_for_saving(model, dtype)
    _atomic_write(folder / WEIGHTS, lambda p: save_file(tensors, str(p), metadata={"format": FORMAT}))
    _atomic_write(folder / SRC_SPM, lambda p: p.write_bytes(src_tokenizer.model_proto))
    _atomic_write(folder / TGT_SPM, lambda p: p.write_bytes(tgt_tokenizer.model_proto))
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        **(metadata or {}),
        "model": model.cfg.to_dict(),
        "attention": model.cfg.attention,
        "weights_dtype": str(dtype).removeprefix("torch."),
        "parameters": model.parameter_count(),
        "special_ids": SPECIAL_IDS,
        "tokenizers": {
            "source": {"file": SRC_SPM, "vocab_size": src_tokenizer.vocab_size},
            "target": {"file": TGT_SPM, "vocab_size": tgt_tokenizer.vocab_size},
        },
        "sha256": {name: sha256(folder / name) for name in (WEIGHTS, SRC_SPM, TGT_SPM)},
    }
    _write_config_and_card(folder, config)
    return folder


def write_probes(folder: str | Path, probes: list[dict]) -> None:
    """Store the per-epoch probe traces (see train.probe_traces) beside the weights, as JSON."""
    path = Path(folder) / PROBES
    _atomic_write(path, lambda p: p.write_text(json.dumps({"format": "probe-traces", "epochs": probes},
                                                          separators=(",", ":"))))


def read_probes(folder: str | Path) -> list[dict]:
    """The probe traces recorded while training, oldest epoch first; [] when the checkpoint has none.

    Each entry: ``{"epoch": int, "dev_bleu": float, "traces": [{"source", "source_tokens",
    "target_tokens", "translation", "attention"}]}``. Raises CheckpointError for a malformed file.
    """
    path = Path(folder) / PROBES
    if not path.is_file():
        return []
    if path.stat().st_size > MAX_PROBES_BYTES:
        raise CheckpointError(path, f"larger than {MAX_PROBES_BYTES:,} bytes; probe traces are meant to be small")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise CheckpointError(path, f"not valid JSON ({error})") from None
    epochs = data.get("epochs") if isinstance(data, dict) else None
    if not isinstance(epochs, list) or not all(_valid_probe_epoch(e) for e in epochs):
        raise CheckpointError(path, "expected {'epochs': [{'epoch', 'dev_bleu', 'traces': [...]}, ...]}")
    return epochs


def _valid_probe_epoch(entry) -> bool:
    if not isinstance(entry, dict) or not isinstance(entry.get("epoch"), int):
        return False
    if not isinstance(entry.get("traces"), list):
        return False
    for trace in entry["traces"]:
        if not isinstance(trace, dict) or not isinstance(trace.get("source_tokens"), list):
            return False
        if not isinstance(trace.get("target_tokens"), list):
            return False
        attention = trace.get("attention")
        if attention is not None and not (
            isinstance(attention, list) and len(attention) == len(trace["target_tokens"])
            and all(isinstance(row, list) and len(row) == len(trace["source_tokens"]) for row in attention)
        ):
            return False
    return True


def _write_config_and_card(folder: Path, config: dict) -> None:
    text = json.dumps(config, indent=2, ensure_ascii=False) + "\n"
    _atomic_write(folder / CONFIG, lambda p: p.write_text(text, encoding="utf-8"))
    from .card import model_card  # local import: the card module only formats text

    _atomic_write(folder / CARD, lambda p: p.write_text(model_card(folder.name, config), encoding="utf-8"))


def add_metrics(folder: str | Path, metrics: dict) -> dict:
    """Merge ``metrics`` into a checkpoint's config.json ``metrics`` and rewrite its card.

    For scores measured after training on the checkpoint's own split (``evaluate --record``);
    the weights and tokenizers are untouched, so their checksums stay valid.
    """
    folder = Path(folder)
    config = read_config(folder)
    config["metrics"] = {**(config.get("metrics") or {}), **metrics}
    _write_config_and_card(folder, config)
    return config


def read_config(folder: str | Path) -> dict:
    """Parse ``config.json`` and check it against the schema (:mod:`nmt_core.config_schema`), without
    touching the weights. Raises :class:`CheckpointError` naming the file and the field."""
    with _named_within(folder):
        return _read_config(folder)


def _read_config(folder: str | Path) -> dict:
    path = Path(folder) / CONFIG
    config = _parse_json(path, _config_bytes(Path(folder), path))
    _check_header(path, config)
    try:
        validate_config(config)
    except ConfigSchemaError as error:
        raise CheckpointError(path, str(error)) from None
    return config


def _config_bytes(folder: Path, path: Path) -> bytes:
    """config.json's bytes, refusing a missing folder or file and anything over MAX_CONFIG_BYTES unread."""
    if folder.is_file():
        raise CheckpointError(folder, "is a file; give the checkpoint folder (the one holding config.json)")
    if not folder.is_dir():
        raise CheckpointError(folder, "no such checkpoint folder")
    if not path.is_file():
        raise CheckpointError(path, "missing; a checkpoint folder needs config.json")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise CheckpointError(path, f"unreadable ({error.strerror or error})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise CheckpointError(path, f"larger than {MAX_CONFIG_BYTES:,} bytes; a config.json is a few kB")
    return raw


def _parse_json(path: Path, raw: bytes):
    try:
        return json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise CheckpointError(path, "not valid JSON (nested too deeply)") from None
    except (UnicodeDecodeError, ValueError) as error:  # JSONDecodeError, and integers too long to read
        raise CheckpointError(path, f"not valid JSON ({error})") from None


def _check_header(path: Path, config) -> None:
    """What every reader relies on before the schema: our format, a version we read, the model and checksums
    entries, and an attention type this library knows."""
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(path, f"not an Attention Explorer checkpoint config (expected format {FORMAT!r})")
    version = config.get("format_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise CheckpointError(path, f"format_version must be a whole number, not {version!r}")
    if version > FORMAT_VERSION:
        raise CheckpointError(path, f"format version {version} is newer than this library reads")
    for key in ("model", "sha256"):
        if key not in config:
            raise CheckpointError(path, f"has no {key!r} entry")
    if not isinstance(config["sha256"], dict):
        raise CheckpointError(path, "the 'sha256' entry must map file names to checksums")
    if not isinstance(config["model"], dict):
        raise CheckpointError(path, "the 'model' entry must be an object of architecture arguments")
    attention = config["model"].get("attention", "luong-general")
    if not is_transformer(config["model"]) and attention not in ATTENTION_TYPES:
        raise CheckpointError(
            path, f"unknown attention type {attention!r}; this library knows {', '.join(ATTENTION_TYPES)}"
        )


# Pickle-based formats (torch.save, pickle, most PyTorch ``.bin``): unpickling runs whatever code the
# file names, so these are refused on sight, never opened.
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".bin")
# Larger than any model a laptop CPU app should build; a config beyond these is refused before
# anything is allocated (a stranger's config.json must not be able to exhaust memory).
SIZE_LIMITS = {"src_vocab_size": 10**6, "tgt_vocab_size": 10**6, "embedding_dim": 8192, "hidden_size": 8192,
               "attention_size": 8192, "output_size": 8192, "num_layers": 8,
               "d_model": 4096, "num_heads": 64, "encoder_layers": 24, "decoder_layers": 24, "ff_size": 16384,
               "max_positions": 4096}


def refuse_pickles(path: str | Path) -> None:
    """Raise CheckpointError when ``path`` is, or is a folder holding, a pickle file."""
    with _named_within(path):
        _refuse_pickles(Path(path))


def _refuse_pickles(path: Path) -> None:
    found = [path] if path.suffix.lower() in PICKLE_SUFFIXES else []
    if not found and path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
    if found:
        raise CheckpointError(
            found[0],
            "pickle files are refused, never loaded: unpickling can run any code the file's author chose. "
            "A checkpoint is config.json + model.safetensors + src.model + tgt.model; "
            "remove the pickle file (or convert it to safetensors where you trust it).",
        )


def model_config(folder: Path, config: dict) -> AnyConfig:
    """The architecture in config.json, checked before anything is built."""
    path = folder / CONFIG
    model = config["model"]
    if not isinstance(model, dict):
        raise CheckpointError(path, "the 'model' entry must be an object of architecture arguments")
    attention = model.get("attention", "luong-general")
    if not is_transformer(model) and attention not in ATTENTION_TYPES:
        raise CheckpointError(
            path, f"unknown attention type {attention!r}; this library knows {', '.join(ATTENTION_TYPES)}"
        )
    try:
        cfg = config_from_dict(model)
    except (TypeError, ValueError) as error:
        raise CheckpointError(path, f"bad model arguments: {error}") from None
    for name, high in SIZE_LIMITS.items():
        if not hasattr(cfg, name):
            continue
        value = getattr(cfg, name)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= high:
            raise CheckpointError(path, f"bad model arguments: {name} must be a whole number from 1 to {high}, "
                                        f"not {value!r}")
    return cfg


def _weights_header(folder: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """Tensor name -> (shape, dtype) from model.safetensors' header, without reading the tensors."""
    path = folder / WEIGHTS
    try:
        with safe_open(str(path), framework="pt") as handle:
            return {name: (tuple(handle.get_slice(name).get_shape()), handle.get_slice(name).get_dtype())
                    for name in handle.keys()}
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(path, f"unreadable, truncated or not a safetensors file ({error})") from None


class _ShapesOnly(torch.overrides.TorchFunctionMode):
    """Build a model with its parameters on the ``meta`` device: shapes and counts, no memory, no init.

    Parameters are made by ``torch.empty`` in every torch module; those go to ``meta``, and the in-place
    initialisers run on them (``normal_``, ``uniform_``, ``zero_``...) are skipped. Skipping them matters:
    on ``meta`` they run through PyTorch's decompositions, whose first use imports torch._dynamo (seconds
    to tens of seconds, in every CLI run). Anything else runs as usual on the CPU: only a Transformer's
    sinusoid table, at most max_positions x d_model (4096 x 4096 floats by the schema's limits).
    Torch function modes are per thread, so a model built for real in another thread is not affected.
    """

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.empty:
            return func(*args, **{**kwargs, "device": "meta"})
        name = getattr(func, "__name__", "")
        if name.endswith("_") and not name.startswith("__"):  # an in-place op, such as an initialiser
            target = next((v for v in (*args, *kwargs.values()) if isinstance(v, torch.Tensor)), None)
            if target is not None and target.is_meta:
                return target
        return func(*args, **kwargs)


class _WithoutRandomInit(torch.overrides.TorchFunctionMode):
    """Build a model whose every parameter is about to be loaded: its random initialisers are skipped.

    ``uniform_`` and ``normal_`` (what nn.Linear, nn.Embedding, the RNNs and nn.init's xavier/kaiming draw with)
    leave the freshly allocated tensor as it is; drawing ~7M random numbers was ~0.1-0.2 s of a model load on
    this CPU, on the way to a cold server's first translation. Everything else, the cheap ``zero_``/``fill_``
    included, runs as usual. :func:`_load_checkpoint` checks that the state dict then filled every parameter.
    Torch function modes are per thread, so a model built for training in another thread is not affected.
    """

    SKIPPED = frozenset({"uniform_", "normal_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                         "kaiming_normal_", "trunc_normal_", "orthogonal_"})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "__name__", "") in self.SKIPPED:
            target = next((v for v in (*args, *kwargs.values()) if isinstance(v, torch.Tensor)), None)
            if target is not None:
                return target
        return func(*args, **kwargs)


def _all_finite(weight: torch.Tensor) -> bool:
    """No NaN or infinity in ``weight`` (float32). A sum is finite exactly when every value is, unless finite
    values overflow it (float16-stored weights cannot: |sum| <= 65504 x MAX_PARAMETERS); the exact, ~5x slower
    test runs only then."""
    return bool(torch.isfinite(weight.sum())) or bool(torch.isfinite(weight).all())


def expected_weights(cfg: AnyConfig) -> tuple[dict[str, tuple[int, ...]], int]:
    """(tensor name -> shape of every weight a checkpoint of ``cfg`` stores, the model's parameter count).

    The model's parameters are laid out on the ``meta`` device (:class:`_ShapesOnly`): shapes without
    memory, so a config describing a model of any size costs next to nothing here.
    """
    with _ShapesOnly():
        model = build_model(cfg)
    tied = tied_parameter_names(cfg)
    shapes = {name: tuple(t.shape) for name, t in model.state_dict().items() if name not in tied}
    return shapes, model.parameter_count()


def _fit_problem(expected: dict[str, tuple[int, ...]], stored: dict[str, tuple[int, ...]]) -> str | None:
    """What differs between the tensors the architecture needs and those stored, or None."""
    missing = sorted(set(expected) - set(stored))
    unexpected = sorted(set(stored) - set(expected))
    wrong = sorted(n for n in set(expected) & set(stored) if tuple(stored[n]) != tuple(expected[n]))
    parts = [f"missing {missing[:3]}" if missing else "", f"unexpected {unexpected[:3]}" if unexpected else "",
             "wrong shape " + ", ".join(f"{n} {list(stored[n])} instead of {list(expected[n])}" for n in wrong[:3])
             if wrong else ""]
    details = "; ".join(part for part in parts if part)
    return f"weights do not fit the architecture in config.json ({details})" if details else None


def _inspect(folder: str | Path, verify_checksums: bool) -> tuple[dict, AnyConfig, list[Tokenizer]]:
    """Every check short of reading the weights: config, files, checksums (optional), tokenisers, header."""
    folder = Path(folder)
    refuse_pickles(folder)
    config = read_config(folder)
    cfg = model_config(folder, config)
    shapes, count = expected_weights(cfg)
    if count > MAX_PARAMETERS:
        megabytes = MAX_PARAMETERS * 4 // 10**6
        raise CheckpointError(folder / CONFIG, f"the model it describes has {count:,} parameters; this library "
                                               f"loads at most {MAX_PARAMETERS:,} (about {megabytes:,} MB in fp32), "
                                               "so it is refused before anything is built")
    _check_files(folder, config, verify_checksums)
    tokenizers = [_tokenizer(folder / name, vocab)
                  for name, vocab in ((SRC_SPM, cfg.src_vocab_size), (TGT_SPM, cfg.tgt_vocab_size))]
    _check_weights_header(folder, config, shapes)
    return config, cfg, tokenizers


def _check_files(folder: Path, config: dict, verify_checksums: bool) -> None:
    """The weights and both tokenisers present, not empty, and (``verify_checksums``) as config.json hashed them."""
    for name in (WEIGHTS, SRC_SPM, TGT_SPM):
        path = folder / name
        if not path.is_file():
            raise CheckpointError(path, "missing")
        if path.stat().st_size == 0:
            raise CheckpointError(path, "empty (0 bytes): the file is truncated")
        expected = config["sha256"].get(name)
        if verify_checksums and expected and sha256(path) != expected:
            raise CheckpointError(
                path, "does not match the checksum in config.json: the file is truncated, corrupt or from another model"
            )


def _tokenizer(path: Path, vocab: int) -> Tokenizer:
    """A SentencePiece model with the vocabulary size the model expects."""
    try:
        tokenizer = Tokenizer.from_file(path)
    except (RuntimeError, ValueError, OSError) as error:
        raise CheckpointError(path, f"not a usable SentencePiece model ({error})") from None
    if tokenizer.vocab_size != vocab:
        raise CheckpointError(
            path, f"has {tokenizer.vocab_size} pieces but the model expects {vocab} (wrong vocabulary)"
        )
    return tokenizer


def _check_weights_header(folder: Path, config: dict, shapes) -> None:
    """The safetensors header (no tensor read): the parameter count config.json declares, every shape the
    architecture expects, and float tensors only."""
    header = _weights_header(folder)
    stored = sum(math.prod(shape) for shape, _ in header.values())
    declared = config.get("parameters")
    if isinstance(declared, int) and not isinstance(declared, bool) and stored != declared:
        raise CheckpointError(
            folder / WEIGHTS,
            f"weights do not fit config.json: they hold {stored:,} parameters, config.json says {declared:,} "
            "(weights and config from different models)",
        )
    problem = _fit_problem(shapes, {name: shape for name, (shape, _) in header.items()})
    if problem:
        raise CheckpointError(folder / WEIGHTS, problem)
    odd = sorted(name for name, (_, dtype) in header.items() if dtype not in FLOAT_DTYPES)
    if odd:
        raise CheckpointError(folder / WEIGHTS, f"tensor {odd[0]!r} is stored as {header[odd[0]][1]}; weights "
                                                f"must be one of {', '.join(FLOAT_DTYPES)}")


def check_checkpoint(folder: str | Path) -> dict:
    """The cheap checks (no weights read, no checksums): what the app runs to list a model as unavailable.

    Returns config.json's contents; raises :class:`CheckpointError` naming the file and the problem.
    """
    with _named_within(folder):
        return _inspect(folder, verify_checksums=False)[0]


def load_checkpoint(folder: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint folder for inference (eval mode, fp32).

    Every check of :func:`check_checkpoint` runs first, the checksums too, so the model is built only once
    its size is known to be within :data:`MAX_PARAMETERS` and the stored tensors to fit it.
    """
    with _named_within(folder):
        return _load_checkpoint(Path(folder), device)


def _load_checkpoint(folder: Path, device: str | torch.device) -> Checkpoint:
    signature = files_signature(folder)
    config, cfg, tokenizers = _inspect(folder, verify_checksums=True)
    try:
        tensors = load_file(str(folder / WEIGHTS))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(folder / WEIGHTS, f"unreadable safetensors file ({error})") from None
    shapes, _ = expected_weights(cfg)  # the file may have changed since _inspect read its header
    problem = _fit_problem(shapes, {name: tuple(t.shape) for name, t in tensors.items()})
    if problem:
        raise CheckpointError(folder / WEIGHTS, problem)
    weights = {}
    for name in sorted(tensors):
        if not tensors[name].is_floating_point():
            raise CheckpointError(folder / WEIGHTS, f"tensor {name!r} is stored as {tensors[name].dtype}; "
                                                    "weights must be floating point")
        weights[name] = tensors[name].float()
        if not _all_finite(weights[name]):
            bad = int((~torch.isfinite(weights[name])).sum())
            raise CheckpointError(folder / WEIGHTS, f"tensor {name!r} holds {bad:,} NaN or infinite value"
                                                    f"{'s' if bad != 1 else ''}; the weights are corrupt")
    with _WithoutRandomInit():  # every parameter is overwritten just below: drawing random values first is waste
        model = build_model(cfg)
    missing = set(model.load_state_dict(weights, strict=False).missing_keys) - tied_parameter_names(cfg)
    if missing:  # cannot happen after _fit_problem; checked because the model would keep uninitialised memory
        raise CheckpointError(folder / WEIGHTS, f"missing tensors: {', '.join(sorted(missing))}")
    model.to(device).eval().freeze_for_inference()  # weights are final: lay them out for decoding
    return Checkpoint(folder.name, folder, config, model, *tokenizers, signature=signature)


def list_checkpoints(root: str | Path) -> list[Path]:
    """Checkpoint folders under ``root`` (those with a config.json), sorted by name."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / CONFIG).is_file())
