"""Shared fixtures: tiny corpora the tests make themselves, and a tiny trained checkpoint."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
import torch

from nmt_core.checkpoint import load_checkpoint
from nmt_core.train import TrainConfig, train

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()

torch.set_num_threads(1)  # tiny models: threads only add overhead, and CI has 2 cores


def write_reverse_corpus(path: Path, pairs: int = 3000, seed: int = 0) -> Path:
    """``w1 w2 ... wn<TAB>wn ... w2 w1``: a task only attention solves easily."""
    rng = random.Random(seed)
    lines = []
    for _ in range(pairs):
        words = [rng.choice(WORDS) for _ in range(rng.randint(2, 7))]
        lines.append(" ".join(words) + "\t" + " ".join(reversed(words)) + "\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


def tiny_config(data: Path, out: Path, **overrides) -> TrainConfig:
    model = {"embedding_dim": 32, "hidden_size": 64, "output_size": 32, "attention_size": 32, "dropout": 0.1,
             "attention": "luong-general"}
    model.update(overrides.pop("model", {}))
    values = dict(data=str(data), out=str(out), src_vocab_size=40, tgt_vocab_size=40, epochs=3, batch_size=32,
                  lr=5e-3, warmup_steps=10, dev_fraction=0.05, test_fraction=0.05, progress=False,
                  dev_bleu_sentences=100, model=model)
    values.update(overrides)
    return TrainConfig(**values)


@pytest.fixture(scope="session")
def reverse_corpus(tmp_path_factory) -> Path:
    return write_reverse_corpus(tmp_path_factory.mktemp("corpus") / "reverse.tsv")


@pytest.fixture(scope="session")
def tiny_checkpoint_dir(tmp_path_factory, reverse_corpus) -> Path:
    """A Luong model trained on the reverse task through the real training code."""
    out = tmp_path_factory.mktemp("ckpt") / "tiny-luong"
    result = train(tiny_config(reverse_corpus, out, epochs=4))
    assert result["finished"]
    return out


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_checkpoint_dir):
    return load_checkpoint(tiny_checkpoint_dir)


@pytest.fixture(scope="session")
def translator(tiny_checkpoint):
    return tiny_checkpoint.translator


@pytest.fixture
def models_root(tmp_path, tiny_checkpoint_dir, monkeypatch):
    """A checkpoints folder holding the tiny Luong model as "tiny-luong", used by the app."""
    shutil.copytree(tiny_checkpoint_dir, tmp_path / "tiny-luong")
    monkeypatch.setenv("ATTENTION_EXPLORER_CHECKPOINTS", str(tmp_path))
    return tmp_path


TINY_TRANSFORMER = {"architecture": "transformer", "d_model": 32, "num_heads": 4, "encoder_layers": 2,
                    "decoder_layers": 2, "ff_size": 64, "dropout": 0.0}


@pytest.fixture(scope="session")
def tiny_transformer_dir(tmp_path_factory, reverse_corpus) -> Path:
    """A tiny Transformer (2 + 2 layers, 4 heads) trained on the reverse task through the real training code,
    with probe traces (probes.json) for each of its epochs."""
    out = tmp_path_factory.mktemp("transformer") / "tiny-transformer"
    cfg = tiny_config(reverse_corpus, out, epochs=3, lr=3e-3, warmup_steps=30, average_last=1, probe_sentences=3,
                      model=dict(TINY_TRANSFORMER))
    cfg.model.pop("attention", None), cfg.model.pop("embedding_dim", None)
    assert train(cfg)["finished"]
    return out
