"""The Transformer: incremental decoding equals the full pass, it learns a copy task through the real
training code, and it works behind every decoder, the checkpoint format and the probe traces."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from nmt_core.checkpoint import load_checkpoint, read_probes
from nmt_core.decoding import DecodeSettings
from nmt_core.model import TransformerConfig, TransformerSeq2Seq, source_batch

from .conftest import WORDS, tiny_config, trained

TINY = {"architecture": "transformer", "d_model": 32, "num_heads": 4, "encoder_layers": 2, "decoder_layers": 2,
        "ff_size": 64, "dropout": 0.0}


def tiny_model(seed: int = 0, **overrides) -> TransformerSeq2Seq:
    torch.manual_seed(seed)
    args = {k: v for k, v in TINY.items() if k != "architecture"}
    return TransformerSeq2Seq(TransformerConfig(src_vocab_size=30, tgt_vocab_size=25, **{**args, **overrides})).eval()


def test_incremental_steps_equal_the_full_teacher_forced_pass():
    model = tiny_model()
    src, lengths = source_batch([[5, 6, 7, 8, 9], [10, 11]])
    tgt_in = torch.tensor([[2, 5, 6, 7, 8], [2, 9, 10, 0, 0]])
    with torch.no_grad():
        logits, attention = model(src, lengths, tgt_in, need_weights=True)
        memory, state = model.encode(src, lengths)
        for t in range(tgt_in.size(1)):
            step_logits, step_attention, state = model.step_logits(tgt_in[:, t], state, memory)
            torch.testing.assert_close(step_logits, logits[:, t], atol=1e-5, rtol=1e-4)
            torch.testing.assert_close(step_attention, attention[:, t], atol=1e-6, rtol=1e-5)
            assert state.cross_attention.shape == (2, 2, 4, src.size(1))  # (L, B, h, S)
    assert state.length == tgt_in.size(1)


def test_attention_rows_sum_to_one_and_padding_gets_nothing():
    model = tiny_model()
    src, lengths = source_batch([[5, 6, 7, 8, 9], [10, 11]])
    with torch.no_grad():
        memory, state = model.encode(src, lengths)
        _, attention, state = model.step_logits(torch.tensor([2, 2]), state, memory)
    torch.testing.assert_close(attention.sum(-1), torch.ones(2))
    assert torch.all(attention[1, 3:] == 0)  # the second sentence is 2 pieces + </s>
    torch.testing.assert_close(state.cross_attention.sum(-1), torch.ones(2, 2, 4))


def test_the_state_follows_beam_parents():
    """index_select on the cache == decoding the selected rows from the start."""
    model = tiny_model()
    src, lengths = source_batch([[5, 6, 7], [8, 9, 10]])
    with torch.no_grad():
        memory, state = model.encode(src, lengths)
        _, _, state = model.step_logits(torch.tensor([2, 2]), state, memory)
        swap = torch.tensor([1, 0])
        reordered, reordered_memory = state.index_select(swap), memory.index_select(swap)
        a, _, _ = model.step_logits(torch.tensor([7, 7]), reordered, reordered_memory)
        m2, s2 = model.encode(src[swap], lengths[swap])
        _, _, s2 = model.step_logits(torch.tensor([2, 2]), s2, m2)
        b, _, _ = model.step_logits(torch.tensor([7, 7]), s2, m2)
    torch.testing.assert_close(a, b)


def test_attention_maps_have_every_layer_and_head_and_a_causal_decoder():
    model = tiny_model()
    src, lengths = source_batch([[5, 6, 7, 8]])
    maps = model.attention_maps(src, lengths, torch.tensor([[2, 5, 6]]))
    assert maps.encoder_self.shape == (2, 4, 5, 5)
    assert maps.decoder_self.shape == (2, 4, 3, 3)
    assert maps.cross.shape == (2, 4, 3, 5)
    upper = torch.ones(3, 3, dtype=torch.bool).triu(1)
    assert torch.all(maps.decoder_self[..., upper] == 0)  # no peeking at later target tokens
    torch.testing.assert_close(maps.decoder_self.sum(-1), torch.ones(2, 4, 3))


def test_the_display_layer_chooses_the_default_row():
    first, last = tiny_model(display_layer=0), tiny_model(display_layer=-1)
    src, lengths = source_batch([[5, 6, 7, 8]])
    with torch.no_grad():
        _, a, state = first.step_logits(torch.tensor([2]), *reversed(first.encode(src, lengths)))
        _, b, _ = last.step_logits(torch.tensor([2]), *reversed(last.encode(src, lengths)))
    torch.testing.assert_close(a, state.cross_attention[0].mean(dim=1))
    torch.testing.assert_close(b, state.cross_attention[-1].mean(dim=1))


def test_config_checks():
    with pytest.raises(ValueError, match="multiple of num_heads"):
        TransformerConfig(10, 10, d_model=30, num_heads=4)
    with pytest.raises(ValueError, match="display_layer"):
        TransformerConfig(10, 10, decoder_layers=2, display_layer=2)
    with pytest.raises(ValueError, match="unknown model arguments"):
        TransformerConfig.from_dict({"src_vocab_size": 10, "tgt_vocab_size": 10, "hidden_size": 5})


def write_copy_corpus(path: Path, pairs: int = 2000, seed: int = 0) -> Path:
    rng = random.Random(seed)
    lines = []
    for _ in range(pairs):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6)))
        lines.append(f"{words}\t{words}\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def copy_checkpoint(tmp_path_factory) -> Path:
    """A tiny Transformer trained on the copy task through the real training code (cached across runs like
    the other tiny models: training it took ~50 s of the fast loop, every run)."""
    corpus = write_copy_corpus(tmp_path_factory.mktemp("copy-corpus") / "copy.tsv")
    cfg = tiny_config(corpus, Path("unused"), epochs=4, lr=3e-3, warmup_steps=30, average_last=1,
                      probe_sentences=3, model=dict(TINY))
    cfg.model.pop("attention", None), cfg.model.pop("embedding_dim", None)
    return trained(tmp_path_factory, "tiny-transformer-copy", cfg)


@pytest.mark.slow
def test_a_tiny_transformer_learns_the_copy_task(copy_checkpoint):
    checkpoint = load_checkpoint(copy_checkpoint)
    history = checkpoint.config["history"]
    assert history[-1]["dev_loss"] < history[0]["dev_loss"]
    assert checkpoint.config["metrics"]["test_bleu"] > 80, checkpoint.config["metrics"]
    assert checkpoint.config["model"]["architecture"] == "transformer"
    assert checkpoint.config["attention"] == "multi-head"
    trace = checkpoint.translator.translate("beta gamma delta")
    assert trace.translation == "beta gamma delta"


def test_beam_1_equals_greedy_and_every_decoder_runs(copy_checkpoint):
    translator = load_checkpoint(copy_checkpoint).translator
    sentence = "alpha kappa mu iota"
    greedy = translator.translate(sentence, DecodeSettings(method="greedy"))
    beam1 = translator.translate(sentence, DecodeSettings(method="beam", beam_size=1, n_best=1))
    assert beam1.target_ids == greedy.target_ids
    beam = translator.translate(sentence, DecodeSettings(method="beam", beam_size=4, n_best=2))
    assert beam.beam is not None and beam.translation
    sampled = translator.translate(sentence, DecodeSettings(method="sample", temperature=0.7, seed=3))
    assert sampled.steps
    forced = translator.translate(sentence, DecodeSettings(method="greedy"), prefix="kappa")
    assert forced.target_tokens[0].strip("▁") == "kappa"
    stepper = translator.stepper(sentence, DecodeSettings(method="greedy"))
    stepper.advance()
    assert stepper.trace().steps[0].attention is not None


def test_probe_traces_round_trip_through_the_checkpoint(copy_checkpoint):
    probes = read_probes(copy_checkpoint)
    assert [p["epoch"] for p in probes] == [1, 2, 3, 4]
    first = probes[-1]["traces"][0]
    assert len(probes[-1]["traces"]) == 3
    assert len(first["attention"]) == len(first["target_tokens"])
    assert all(len(row) == len(first["source_tokens"]) for row in first["attention"])
    assert all(abs(sum(row) - 1) < 0.01 for row in first["attention"])
