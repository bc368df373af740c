"""Self-describing checkpoint folders, saved and loaded without pickle.

A checkpoint is a folder::

    config.json        architecture, tokenisers, data and split, history, metrics, checksums
    model.safetensors  weights (fp16 by default; loaded back as fp32 for CPU maths)
    src.model          source SentencePiece model
    tgt.model          target SentencePiece model
    README.md          the model card, written from config.json

Loading reads JSON, safetensors and SentencePiece protobufs only: a checkpoint
from a stranger cannot run code. Anything missing, truncated or mismatched
raises :class:`CheckpointError` naming the file and what is wrong with it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from . import __version__
from .decoding import Translator
from .model import ModelConfig, Seq2Seq
from .text import SPECIAL_IDS, Tokenizer

FORMAT = "attention-explorer-checkpoint"
FORMAT_VERSION = 1
CONFIG, WEIGHTS, SRC_SPM, TGT_SPM, CARD = "config.json", "model.safetensors", "src.model", "tgt.model", "README.md"


class CheckpointError(Exception):
    """A checkpoint cannot be loaded; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str):
        self.path = str(path)
        super().__init__(f"{path}: {problem}")


@dataclass
class Checkpoint:
    name: str
    folder: Path
    config: dict
    model: Seq2Seq
    src_tokenizer: Tokenizer
    tgt_tokenizer: Tokenizer

    @property
    def translator(self) -> Translator:
        return Translator(self.model, self.src_tokenizer, self.tgt_tokenizer)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tied_keys(cfg: ModelConfig) -> set[str]:
    """Parameters that are the same tensor as another one and so are not stored twice."""
    return {"decoder.out.weight"} if cfg.tie_embeddings else set()


def weights_for_saving(model: Seq2Seq, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    skip = tied_keys(model.cfg)
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
    model: Seq2Seq,
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
    text = json.dumps(config, indent=2, ensure_ascii=False) + "\n"
    _atomic_write(folder / CONFIG, lambda p: p.write_text(text, encoding="utf-8"))
    from .card import model_card  # local import: the card module only formats text

    _atomic_write(folder / CARD, lambda p: p.write_text(model_card(folder.name, config), encoding="utf-8"))
    return folder


def read_config(folder: str | Path) -> dict:
    """Parse and sanity-check ``config.json`` without touching the weights."""
    path = Path(folder) / CONFIG
    if not Path(folder).is_dir():
        raise CheckpointError(folder, "no such checkpoint folder")
    if not path.is_file():
        raise CheckpointError(path, "missing; a checkpoint folder needs config.json")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(path, f"not valid JSON ({error})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(path, f"not an Attention Explorer checkpoint config (expected format {FORMAT!r})")
    if config.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(path, f"format version {config.get('format_version')} is newer than this library reads")
    for key in ("model", "sha256"):
        if key not in config:
            raise CheckpointError(path, f"has no {key!r} entry")
    return config


def load_checkpoint(folder: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint folder for inference (eval mode, fp32)."""
    folder = Path(folder)
    config = read_config(folder)
    try:
        cfg = ModelConfig.from_dict(config["model"])
    except (TypeError, ValueError) as error:
        raise CheckpointError(folder / CONFIG, f"bad model arguments: {error}") from None

    for name in (WEIGHTS, SRC_SPM, TGT_SPM):
        path = folder / name
        if not path.is_file():
            raise CheckpointError(path, "missing")
        expected = config["sha256"].get(name)
        if expected and sha256(path) != expected:
            raise CheckpointError(
                path, "does not match the checksum in config.json: the file is truncated, corrupt or from another model"
            )

    tokenizers = []
    for name, vocab in ((SRC_SPM, cfg.src_vocab_size), (TGT_SPM, cfg.tgt_vocab_size)):
        try:
            tokenizer = Tokenizer.from_file(folder / name)
        except (RuntimeError, ValueError, OSError) as error:
            raise CheckpointError(folder / name, f"not a usable SentencePiece model ({error})") from None
        if tokenizer.vocab_size != vocab:
            raise CheckpointError(
                folder / name, f"has {tokenizer.vocab_size} pieces but the model expects {vocab}"
            )
        tokenizers.append(tokenizer)

    model = Seq2Seq(cfg)
    try:
        tensors = load_file(str(folder / WEIGHTS))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(folder / WEIGHTS, f"unreadable safetensors file ({error})") from None
    expected = {name: t.shape for name, t in model.state_dict().items() if name not in tied_keys(cfg)}
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = sorted(n for n in set(expected) & set(tensors) if tensors[n].shape != expected[n])
    if missing or unexpected or wrong:
        details = "; ".join(
            part
            for part in (
                f"missing {missing[:3]}" if missing else "",
                f"unexpected {unexpected[:3]}" if unexpected else "",
                f"wrong shape {wrong[:3]}" if wrong else "",
            )
            if part
        )
        raise CheckpointError(folder / WEIGHTS, f"weights do not fit the architecture in config.json ({details})")
    model.load_state_dict({n: t.float() for n, t in tensors.items()}, strict=False)
    model.to(device).eval()
    return Checkpoint(folder.name, folder, config, model, *tokenizers)


def list_checkpoints(root: str | Path) -> list[Path]:
    """Checkpoint folders under ``root`` (those with a config.json), sorted by name."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / CONFIG).is_file())
