"""benchmarks/snapshot_checkpoint.py: a loadable checkpoint from one epoch snapshot of a training work folder.

A tiny run (2 epochs of the reverse task, both snapshots kept) is trained through the real Trainer; the
snapshot of epoch 1 is turned into a checkpoint folder and must translate exactly as that snapshot's
weights do in the model run.json describes, carry what Trainer.finish records to rebuild the split, be
marked as a snapshot, and leave the work folder untouched.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from benchmarks.snapshot_checkpoint import SnapshotError, main, snapshot_checkpoint
from nmt_core.checkpoint import load_checkpoint, read_probes
from nmt_core.data import held_out_part
from nmt_core.decoding import DecodeSettings, Translator
from nmt_core.model import build_model, config_from_dict
from nmt_core.text import Tokenizer
from nmt_core.train import train

from .conftest import tiny_config, write_reverse_corpus

pytestmark = pytest.mark.slow  # it trains a run through the real Trainer, as tests/test_train.py's slow tests do


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, Path]:
    """(work folder, finished checkpoint) of a 2-epoch tiny run; the evaluation at the end is cut small."""
    root = tmp_path_factory.mktemp("snapshot")
    corpus = write_reverse_corpus(root / "reverse.tsv", pairs=400)
    cfg = tiny_config(corpus, root / "final", epochs=2, average_last=2, dev_bleu_sentences=10, tune_sentences=5,
                      length_penalties="1.0", test_beam=2, probe_sentences=2)
    assert train(cfg)["finished"]
    return root / "final.work", root / "final"


def folder_state(folder: Path) -> dict:
    return {p.name: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest()) for p in folder.iterdir()}


def snapshot_translator(work: Path, epoch: int, dtype: torch.dtype) -> Translator:
    """The model run.json describes, holding epoch ``epoch``'s weights (stored as ``dtype``), as loading does."""
    src, tgt = Tokenizer.from_file(work / "src.model"), Tokenizer.from_file(work / "tgt.model")
    stored = json.loads((work / "run.json").read_text())["config"]["model"]
    model = build_model(config_from_dict({"src_vocab_size": src.vocab_size, "tgt_vocab_size": tgt.vocab_size,
                                          **stored}))
    weights = load_file(str(work / f"epoch-{epoch}.safetensors"))
    model.load_state_dict({k: v.to(dtype).float() for k, v in weights.items()}, strict=False)
    model.eval().freeze_for_inference()
    return Translator(model, src, tgt)


def decodes(translator: Translator, sources: list[str]) -> list[tuple[str, list]]:
    greedy = DecodeSettings(method="greedy")
    return [(trace.translation, trace.attention) for trace in (translator.translate(s, greedy) for s in sources)]


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_the_checkpoint_translates_exactly_like_the_snapshot(run, tmp_path, dtype):
    work, final = run
    before = folder_state(work)
    out = tmp_path / "ep1"
    assert main(["--work-dir", str(work), "--epoch", "1", "--out", str(out), "--dtype", dtype]) == 0
    assert folder_state(work) == before  # read only: the training process owns the work folder

    checkpoint = load_checkpoint(out)
    config = checkpoint.config
    sources = [source for source, _ in held_out_part(config["training"]["config"], "dev",
                                                     config["source_language"], config["target_language"])][:12]
    assert len(sources) == 12
    expected = decodes(snapshot_translator(work, 1, getattr(torch, dtype)), sources)
    assert decodes(checkpoint.translator, sources) == expected
    if dtype == "float16":  # fp16 storage, as a finished run saves: the same words as the fp32 snapshot
        assert [t for t, _ in expected] == [t for t, _ in decodes(snapshot_translator(work, 1, torch.float32),
                                                                  sources)]

    # Marked as a mid-training snapshot, with what Trainer.finish records to rebuild the split.
    finished = json.loads((final / "config.json").read_text())
    for key in ("source_language", "target_language", "data", "model", "attention"):
        assert config[key] == finished[key], key
    assert config["training"]["config"] == finished["training"]["config"]
    assert config["snapshot_of_epoch"] == config["training"]["snapshot_of_epoch"] == 1
    assert config["snapshot"]["file"] == "epoch-1.safetensors"
    assert config["metrics"] == {} and "decoding_defaults" not in config
    assert config["training"]["averaged_epochs"] == [1] and config["training"]["epochs_completed"] == 1
    assert config["history"] == finished["history"][:1]
    assert [p["epoch"] for p in read_probes(out)] == [1]
    assert "Mid-training snapshot" in (out / "README.md").read_text()


def test_the_newest_snapshot_by_default_and_clear_refusals(run, tmp_path):
    work, _ = run
    out = snapshot_checkpoint(work, None, tmp_path / "newest")
    assert load_checkpoint(out).config["snapshot_of_epoch"] == 2
    with pytest.raises(SnapshotError, match="not empty"):
        snapshot_checkpoint(work, 2, out)
    with pytest.raises(SnapshotError, match="holds epochs"):
        snapshot_checkpoint(work, 7, tmp_path / "missing")
    with pytest.raises(SnapshotError, match="inside the work folder"):
        snapshot_checkpoint(work, 1, work / "ckpt")
    assert not (work / "ckpt").exists() and not (tmp_path / "missing").exists()
