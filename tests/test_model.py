import pytest
import torch

from nmt_core.model import ModelConfig, Seq2Seq, source_batch
from nmt_core.model.attention import ATTENTION_TYPES, masked_softmax
from nmt_core.model.fast_step import PACKED_ROWS, Affine, PackedAffine, output_layer
from nmt_core.model.rnn import reverse_padded
from nmt_core.text import BOS_ID


def small_model(attention: str, **kwargs) -> Seq2Seq:
    torch.manual_seed(0)
    cfg = ModelConfig(src_vocab_size=30, tgt_vocab_size=25, embedding_dim=16, hidden_size=24, output_size=16,
                      attention_size=12, attention=attention, dropout=0.0, **kwargs)
    return Seq2Seq(cfg).eval()


BATCH = [[5, 6, 7, 8, 9], [10, 11], [12, 13, 14]]
TARGET = torch.tensor([[BOS_ID, 5, 6, 7], [BOS_ID, 8, 9, 10], [BOS_ID, 11, 12, 13]])


def test_masked_softmax_rows_sum_to_one_and_padding_gets_zero():
    scores = torch.randn(2, 3, 5)
    mask = torch.tensor([[True, True, True, False, False], [True] * 5])
    weights = masked_softmax(scores, mask)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 3))
    assert torch.all(weights[0, :, 3:] == 0)


@pytest.mark.parametrize("attention", [a for a in ATTENTION_TYPES if a != "none"])
@pytest.mark.parametrize("rnn_type", ["gru", "lstm"])
def test_attention_rows_sum_to_one_padding_zero(attention, rnn_type):
    model = small_model(attention, rnn_type=rnn_type)
    src, lengths = source_batch(BATCH)
    with torch.no_grad():
        _, attn = model(src, lengths, TARGET)
    assert attn.shape == (3, 4, src.size(1))
    assert torch.allclose(attn.sum(-1), torch.ones(3, 4), atol=1e-5)
    for row, length in enumerate(lengths.tolist()):
        assert torch.all(attn[row, :, length:] == 0)


@pytest.mark.parametrize("attention", ATTENTION_TYPES)
@pytest.mark.parametrize("options", [{}, {"input_feeding": True}, {"rnn_type": "lstm", "num_layers": 2},
                                     {"num_layers": 2}, {"rnn_type": "lstm", "input_feeding": True}])
def test_the_frozen_inference_step_equals_the_module_step(attention, options):
    """freeze_for_inference only changes how weights are laid out, never what a step computes."""
    model = small_model(attention, **options)
    src, lengths = source_batch(BATCH)
    with torch.no_grad():
        memory, start = model.encode(src, lengths)
        plain, plain_state = [], start
        for t in range(TARGET.size(1)):
            log_probs, weights, plain_state = model.step(TARGET[:, t], plain_state, memory)
            plain.append((log_probs, weights, plain_state))
        model.freeze_for_inference()
        state = start
        for t in range(TARGET.size(1)):
            log_probs, weights, state = model.step(TARGET[:, t], state, memory)
            expected_log_probs, expected_weights, expected_state = plain[t]
            assert torch.allclose(log_probs, expected_log_probs, atol=1e-5)
            assert (weights is None) == (expected_weights is None)
            if weights is not None:
                assert torch.allclose(weights, expected_weights, atol=1e-6)
            for part, expected in zip(state, expected_state, strict=True):
                assert (part is None) == (expected is None)
                if part is not None:
                    assert torch.allclose(part, expected, atol=1e-5)
        # Training reads the live weights, never the frozen copies: a changed live bias shows.
        model.train()
        model.decoder.out.bias.add_(torch.randn_like(model.decoder.out.bias))
        assert not torch.allclose(model.step(TARGET[:, 0], start, memory)[0], plain[0][0], atol=1e-3)


@pytest.mark.parametrize("attention", ATTENTION_TYPES)
@pytest.mark.parametrize("options", [{}, {"input_feeding": True}, {"rnn_type": "lstm", "num_layers": 2},
                                     {"bidirectional": False, "reverse_source": True}])
def test_teacher_forcing_equals_stepping(attention, options):
    """The fast whole-sequence path and Seq2Seq.step must compute the same thing."""
    model = small_model(attention, **options)
    src, lengths = source_batch(BATCH)
    with torch.no_grad():
        logits, attn = model(src, lengths, TARGET)
        memory, state = model.encode(src, lengths)
        for t in range(TARGET.size(1)):
            log_probs, step_attn, state = model.step(TARGET[:, t], state, memory)
            assert torch.allclose(log_probs, torch.log_softmax(logits[:, t], -1), atol=1e-5)
            if attention == "none":
                assert step_attn is None and attn is None
            else:
                assert torch.allclose(step_attn, attn[:, t], atol=1e-6)


@pytest.mark.parametrize("attention", ATTENTION_TYPES)
def test_padding_does_not_change_results(attention):
    """A sentence alone and inside a padded batch gets the same outputs."""
    model = small_model(attention, rnn_type="lstm", reverse_source=attention == "none")
    src, lengths = source_batch(BATCH)
    alone_src, alone_len = source_batch([BATCH[1]])
    with torch.no_grad():
        batch_logits, _ = model(src, lengths, TARGET)
        alone_logits, _ = model(alone_src, alone_len, TARGET[1:2])
    assert torch.allclose(batch_logits[1], alone_logits[0], atol=1e-5)


def test_reverse_padded_is_an_involution_and_keeps_padding():
    src, lengths = source_batch(BATCH)
    reversed_src = reverse_padded(src, lengths)
    assert reversed_src[1].tolist()[:3] == [3, 11, 10]  # EOS, then the words backwards
    assert reversed_src[1].tolist()[3:] == src[1].tolist()[3:]
    assert torch.equal(reverse_padded(reversed_src, lengths), src)


def test_state_is_never_stored_on_the_module():
    model = small_model("luong-general")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    attributes = set(vars(model.decoder))
    src, lengths = source_batch(BATCH)
    with torch.no_grad():
        model(src, lengths, TARGET)
    assert set(vars(model.decoder)) == attributes
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_config_rejects_bad_arguments():
    with pytest.raises(ValueError, match="attention"):
        ModelConfig(src_vocab_size=5, tgt_vocab_size=5, attention="cosine")
    with pytest.raises(ValueError, match="rnn_type"):
        ModelConfig(src_vocab_size=5, tgt_vocab_size=5, rnn_type="transformer")
    with pytest.raises(ValueError, match="even"):
        ModelConfig(src_vocab_size=5, tgt_vocab_size=5, hidden_size=7, bidirectional=True)
    with pytest.raises(ValueError, match="tie_embeddings"):
        ModelConfig(src_vocab_size=5, tgt_vocab_size=5, embedding_dim=8, output_size=16)


# --- the output layer's float16 GEMM (nmt_core/model/fast_step.py: output_layer) -------------------------------

needs_fbgemm = pytest.mark.skipif("fbgemm" not in torch.backends.quantized.supported_engines,
                                  reason="this torch build or CPU has no fbgemm")


def as_stored(model: torch.nn.Module) -> torch.nn.Module:
    """Every weight rounded to float16, as a checkpoint stores it (and load_checkpoint serves it)."""
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(parameter.half().float())
    return model


@needs_fbgemm
@pytest.mark.parametrize("rows", [1, 5, PACKED_ROWS[-1], PACKED_ROWS[-1] + 8])
def test_the_packed_output_layer_computes_what_the_plain_one_does(rows):
    torch.manual_seed(rows)
    linear = as_stored(torch.nn.Linear(16, 300))
    layer = output_layer(linear)
    assert isinstance(layer, PackedAffine)
    x = torch.randn(rows, 16) * 3
    with torch.no_grad():
        torch.testing.assert_close(layer(x), linear(x), rtol=1e-5, atol=1e-5)


def test_weights_that_are_not_float16_values_are_never_packed():
    """Packing would round them: a model still training, or built in memory, keeps the plain product."""
    torch.manual_seed(0)
    assert isinstance(output_layer(torch.nn.Linear(16, 300)), Affine)


@needs_fbgemm
def test_a_stored_models_beam_step_takes_the_packed_layer_and_computes_the_same():
    model = as_stored(small_model("luong-general"))
    src, lengths = source_batch(BATCH)
    with torch.no_grad():
        memory, start = model.encode(src, lengths)
        plain = model.step(TARGET[:, 0], start, memory)[0]
        model.freeze_for_inference()
        frozen = model.decoder.frozen
        assert all(isinstance(part, PackedAffine) for part in (frozen.out, frozen.combine, *frozen.cells[0]))
        torch.testing.assert_close(model.step(TARGET[:, 0], start, memory)[0], plain, rtol=1e-5, atol=1e-5)


@needs_fbgemm
def test_a_stored_transformers_step_takes_the_packed_layer_and_computes_the_same():
    from tests.test_transformer import tiny_model

    model = as_stored(tiny_model())
    src, lengths = source_batch(BATCH)
    with torch.no_grad():
        memory, start = model.encode(src, lengths)
        plain = model.step(TARGET[:, 0], start, memory)[0]
        model.freeze_for_inference()
        assert isinstance(model.frozen_out, PackedAffine)
        torch.testing.assert_close(model.step(TARGET[:, 0], start, memory)[0], plain, rtol=1e-5, atol=1e-5)
        model.train()  # training reads the live weights, never the frozen copy: a changed live bias shows
        model.out.bias.add_(torch.randn_like(model.out.bias))
        assert not torch.allclose(model.step(TARGET[:, 0], start, memory)[0], plain, atol=1e-3)
