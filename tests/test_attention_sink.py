"""``attend_to_source_end=False`` (issue 16): the source ``</s>`` gets exactly 0 attention on every path.

The shipped spa-eng-bahdanau put 0.74 of its attention mass on the source ``</s>``; its recipe now
trains with the ``</s>`` position outside the attention mask. These tests check that every decoder
(greedy, traced and batched beam, forced decoding, the gradient path) honours the option, that the
attention row keeps its S columns, that stepping equals teacher forcing, and that the default (and so
every shipped checkpoint) is unchanged. Untrained tiny models: the property holds for any weights.
"""

from __future__ import annotations

import random

import pytest
import torch

from nmt_core.config_schema import ConfigSchemaError, validate_config
from nmt_core.decoding import DecodeSettings, Translator, beam_search_batch
from nmt_core.explain.forced import attention_matrix, decoder_features, encode_embedded, source_embeddings
from nmt_core.model import ModelConfig, Seq2Seq, config_from_dict, source_batch
from nmt_core.model.rnn import without_source_end
from nmt_core.recipes import RECIPES
from nmt_core.text import BOS_ID, train_tokenizer

from .conftest import WORDS

ATTENTIONS = ("bahdanau", "luong-general", "luong-dot")
OPTIONS = ({}, {"rnn_type": "lstm", "num_layers": 2}, {"input_feeding": True},
           {"bidirectional": False, "reverse_source": True})
BATCH = [[5, 6, 7, 8, 9], [10, 11], [12, 13, 14]]
TARGET = torch.tensor([[BOS_ID, 5, 6, 7], [BOS_ID, 8, 9, 10], [BOS_ID, 11, 12, 13]])


def small_model(attention: str, attend_to_source_end: bool = False, seed: int = 0, vocab: int = 30,
                **options) -> Seq2Seq:
    torch.manual_seed(seed)
    cfg = ModelConfig(src_vocab_size=vocab, tgt_vocab_size=vocab, embedding_dim=16, hidden_size=24, output_size=16,
                      attention_size=12, attention=attention, dropout=0.0, attend_to_source_end=attend_to_source_end,
                      **options)
    return Seq2Seq(cfg).eval()


@pytest.fixture(scope="module")
def tokenizer():
    rng = random.Random(0)
    sentences = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 7))) for _ in range(300)]
    return train_tokenizer(sentences, 40)


def sink_translator(tokenizer, attention: str, frozen: bool = True, **options) -> Translator:
    model = small_model(attention, vocab=tokenizer.vocab_size, **options)
    if frozen:
        model.freeze_for_inference()  # as load_checkpoint serves it
    return Translator(model, tokenizer, tokenizer)


SOURCES = ["alpha beta gamma", "delta", "epsilon zeta eta theta iota kappa"]


def assert_no_end_attention(rows, columns: int):
    """rows: attention rows over the source pieces and </s>: S columns, </s> exactly 0, summing to 1."""
    rows = torch.as_tensor(rows, dtype=torch.float32)
    assert rows.ndim == 2 and rows.size(1) == columns and rows.size(0) > 0
    assert torch.all(rows[:, -1] == 0)
    assert torch.allclose(rows.sum(-1), torch.ones(rows.size(0)), atol=1e-5)


def test_without_source_end_drops_each_rows_last_real_position():
    mask = torch.tensor([[True, True, True, False], [True, True, True, True], [True, False, False, False]])
    assert without_source_end(mask).tolist() == [[True, True, False, False], [True, True, True, False],
                                                 [True, False, False, False]]  # an empty source keeps its </s>


@pytest.mark.parametrize("attention", ATTENTIONS)
@pytest.mark.parametrize("options", OPTIONS)
def test_teacher_forcing_gives_the_end_nothing_and_equals_stepping(attention, options):
    model = small_model(attention, **options)
    src, lengths = source_batch(BATCH)
    with torch.no_grad():
        logits, attn = model(src, lengths, TARGET)
        assert attn.shape == (3, 4, src.size(1))  # the row keeps its S columns
        for row, length in enumerate(lengths.tolist()):
            assert torch.all(attn[row, :, length - 1 :] == 0)  # </s> and padding
        assert torch.allclose(attn.sum(-1), torch.ones(3, 4), atol=1e-5)
        memory, state = model.encode(src, lengths)
        for frozen in (False, True):
            if frozen:
                model.freeze_for_inference()
            step_state = state
            for t in range(TARGET.size(1)):
                log_probs, step_attn, step_state = model.step(TARGET[:, t], step_state, memory)
                assert torch.allclose(log_probs, torch.log_softmax(logits[:, t], -1), atol=1e-5)
                assert torch.allclose(step_attn, attn[:, t], atol=1e-6)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_greedy_and_traced_beam_never_attend_to_the_end(tokenizer, attention):
    translator = sink_translator(tokenizer, attention)
    for text in SOURCES:
        greedy = translator.translate(text, DecodeSettings(method="greedy"))
        assert_no_end_attention(greedy.attention, len(greedy.source_tokens))
        beam = translator.translate(text, DecodeSettings(method="beam", beam_size=3, n_best=3))
        assert_no_end_attention(beam.attention, len(beam.source_tokens))
        nodes = [n.attention for n in beam.beam.nodes if n.attention is not None]
        if nodes:
            assert_no_end_attention(nodes, len(beam.source_tokens))
        prefixed = translator.translate(text, DecodeSettings(method="greedy"), prefix=tokenizer.encode("alpha"))
        assert_no_end_attention(prefixed.attention, len(prefixed.source_tokens))


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_batched_beam_never_attends_to_the_end(tokenizer, attention):
    translator = sink_translator(tokenizer, attention)
    model, seen = translator.model, []
    original = model.step_logits

    def recording(prev_tokens, state, memory, attention_override=None):
        logits, weights, new_state = original(prev_tokens, state, memory, attention_override)
        seen.append((weights.clone(), memory.mask.clone()))
        return logits, weights, new_state

    model.step_logits = recording  # this test's own model, not a shared one
    batched = beam_search_batch(translator, SOURCES, DecodeSettings(method="beam", beam_size=3, n_best=3))
    assert len(batched) == len(SOURCES) and seen
    for weights, mask in seen:
        ends = mask.sum(-1) - 1
        assert torch.all(weights[torch.arange(weights.size(0)), ends] == 0)
        assert torch.all(weights[~mask] == 0)
        assert torch.allclose(weights.sum(-1), torch.ones(weights.size(0)), atol=1e-5)
    model.step_logits = original
    for text, hypothesis in zip(SOURCES, batched, strict=True):  # same search, one sentence at a time
        alone = translator.translate(text, DecodeSettings(method="beam", beam_size=3, n_best=3))
        assert hypothesis.translation == alone.translation


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_forced_decoding_and_the_gradient_path_never_attend_to_the_end(attention):
    model = small_model(attention)
    src_ids, tgt_ids = BATCH[0], [5, 6, 7]
    matrix = attention_matrix(model, src_ids, tgt_ids)
    assert_no_end_attention(matrix, len(src_ids) + 1)
    src, lengths = source_batch([src_ids])
    with torch.no_grad():
        memory, state = encode_embedded(model, source_embeddings(model, src), lengths)
        assert torch.equal(memory.mask, model.encode(src, lengths)[0].mask)
        tgt_in = torch.tensor([[BOS_ID, *tgt_ids]])
        features = decoder_features(model, memory, state, tgt_in)
        logits, _ = model(src, lengths, tgt_in)
        assert torch.allclose(model.decoder.out(features), logits, atol=1e-5)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_an_override_cannot_put_mass_on_the_end(attention):
    model = small_model(attention)
    src, lengths = source_batch([BATCH[0]])
    prev = torch.tensor([BOS_ID])
    with torch.no_grad():
        memory, state = model.encode(src, lengths)
        override = torch.tensor([[0.25, 0.25, 0.0, 0.0, 0.0, 0.5]])  # half of it on </s>
        _, weights, _ = model.step_logits(prev, state, memory, override)
        assert weights.tolist() == [[0.5, 0.5, 0.0, 0.0, 0.0, 0.0]]
        with pytest.raises(ValueError, match="source </s>"):
            model.step_logits(prev, state, memory, torch.tensor([[0.0] * 5 + [1.0]]))
        # The default model takes an override as it is.
        default = small_model(attention, attend_to_source_end=True)
        memory, state = default.encode(src, lengths)
        _, weights, _ = default.step_logits(prev, state, memory, override)
        assert torch.equal(weights, override)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_the_default_is_unchanged(attention):
    """Shipped checkpoints have no such key: they attend to </s> exactly as before."""
    assert ModelConfig(src_vocab_size=8, tgt_vocab_size=8).attend_to_source_end is True
    cfg = small_model(attention, attend_to_source_end=True).cfg.to_dict()
    del cfg["attend_to_source_end"]
    assert config_from_dict(cfg).attend_to_source_end is True
    default, sinkless = small_model(attention, attend_to_source_end=True), small_model(attention)
    assert default.state_dict().keys() == sinkless.state_dict().keys()  # same weights, only the mask differs
    src, lengths = source_batch(BATCH)
    with torch.no_grad():
        memory, _ = default.encode(src, lengths)
        assert torch.equal(default.decoder.attention_mask(memory), memory.mask)
        _, attn = default(src, lengths, TARGET)
    ends = lengths - 1
    assert torch.all(attn[torch.arange(3), :, ends] > 0)
    assert all("attend_to_source_end" not in recipe for name, recipe in RECIPES.items() if name != "spa-eng-bahdanau")
    assert RECIPES["spa-eng-bahdanau"]["attend_to_source_end"] is False


@pytest.mark.parametrize("value", ["false", 0, 1, None])
def test_a_non_boolean_is_refused(value):
    model = {"src_vocab_size": 8, "tgt_vocab_size": 8, "attention": "bahdanau", "attend_to_source_end": value}
    with pytest.raises(ConfigSchemaError, match="model.attend_to_source_end"):
        validate_config({"model": model, "sha256": {}})
    with pytest.raises(ValueError, match="attend_to_source_end"):
        config_from_dict(model)
    validate_config({"model": {**model, "attend_to_source_end": False}, "sha256": {}})
