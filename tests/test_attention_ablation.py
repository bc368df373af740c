"""Issue 16's ablation options of ModelConfig: ``decoder_init``, ``attention_bias``, ``attention_query``,
``attention_key_prior``, ``attention_score``.

Each is off by default (what every shipped checkpoint does, bit for bit), is refused when invalid (in
ModelConfig and in config.json's schema), and when on changes exactly what it says it changes.
"""

import pytest
import torch

from nmt_core.config_schema import RNN_MODEL, ConfigSchemaError
from nmt_core.model import ModelConfig, Seq2Seq, config_from_dict, source_batch
from nmt_core.model.attention import BahdanauAttention
from nmt_core.text import BOS_ID

BATCH = [[5, 6, 7, 8, 9], [10, 11], [12, 13, 14]]
TARGET = torch.tensor([[BOS_ID, 5, 6, 7], [BOS_ID, 8, 9, 10], [BOS_ID, 11, 12, 13]])
DEFAULTS = {"decoder_init": "encoder-final", "attention_bias": "key", "attention_query": "previous",
            "attention_key_prior": "keep", "attention_score": "additive"}
VARIANTS = [{"decoder_init": "zeros"}, {"decoder_init": "backward-first"}, {"attention_bias": "none"},
            {"attention_bias": "query"}, {"attention_query": "current"},
            {"attention_query": "current", "input_feeding": True}, {"attention_key_prior": "remove"},
            {"attention_key_prior": "remove", "attention_bias": "query"},
            {"attention_key_prior": "remove", "attention_query": "current"}, {"attention_score": "general"}]


def small_model(attention: str = "bahdanau", seed: int = 0, **kwargs) -> Seq2Seq:
    torch.manual_seed(seed)
    cfg = ModelConfig(src_vocab_size=30, tgt_vocab_size=25, embedding_dim=16, hidden_size=24, output_size=16,
                      attention_size=12, attention=attention, dropout=0.0, **kwargs)
    return Seq2Seq(cfg).eval()


def outputs(model: Seq2Seq):
    src, lengths = source_batch(BATCH)
    with torch.no_grad():
        return model(src, lengths, TARGET)


def test_the_defaults_are_todays_model_and_an_old_config_loads_unchanged():
    cfg = ModelConfig(src_vocab_size=8, tgt_vocab_size=8)
    every = DEFAULTS
    assert {name: getattr(cfg, name) for name in every} == every
    for attention in ("bahdanau", "luong-general", "luong-dot", "none"):
        model = small_model(attention, rnn_type="gru")
        old = {k: v for k, v in model.cfg.to_dict().items() if k not in every}  # a config.json from before
        rebuilt = config_from_dict(old)
        assert rebuilt == model.cfg
        torch.manual_seed(0)
        again = Seq2Seq(rebuilt).eval()
        assert again.state_dict().keys() == model.state_dict().keys()  # shipped weights load as they are
        again.load_state_dict(model.state_dict())
        for got, expected in zip(outputs(again), outputs(model), strict=True):
            assert (got is None) == (expected is None)
            if got is not None:
                assert torch.equal(got, expected)
    # The shipped Bahdanau parameterisation: the bias on W_k, none on W_q; no extra bridge layer.
    attention = small_model().decoder.attention
    assert attention.W_k.bias is not None and attention.W_q.bias is None
    assert not hasattr(small_model().decoder, "init_bridge")


@pytest.mark.parametrize("bad", [{"decoder_init": "final"}, {"attention_bias": "both"}, {"attention_query": "next"},
                                 {"decoder_init": "backward-first", "bidirectional": False},
                                 {"attention": "luong-general", "attention_query": "current"},
                                 {"attention": "luong-dot", "attention_bias": "none"},
                                 {"attention_key_prior": "none"}, {"attention_key_prior": True},
                                 {"attention": "luong-general", "attention_key_prior": "remove"},
                                 {"attention_score": "bilinear"},
                                 {"attention": "luong-dot", "attention_score": "general"},
                                 {"attention_score": "general", "attention_bias": "none"},
                                 {"attention_score": "general", "attention_key_prior": "remove"}])
def test_bad_values_are_refused(bad):
    with pytest.raises(ValueError):
        ModelConfig(src_vocab_size=8, tgt_vocab_size=8, **{"attention": "bahdanau", **bad})


def test_bahdanau_attention_refuses_an_unknown_key_prior():
    with pytest.raises(ValueError, match="key prior"):
        BahdanauAttention(6, 8, 5, key_prior="subtract")


def test_the_schema_knows_the_options():
    for name, value in DEFAULTS.items():
        RNN_MODEL("model", {"src_vocab_size": 8, "tgt_vocab_size": 8, name: value})
        with pytest.raises(ConfigSchemaError, match=f"model.{name}"):
            RNN_MODEL("model", {"src_vocab_size": 8, "tgt_vocab_size": 8, name: value + "x"})
    for variant in VARIANTS:
        RNN_MODEL("model", small_model(**variant).cfg.to_dict())


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("rnn_type", ["gru", "lstm"])
def test_each_variant_trains_steps_like_it_teacher_forces_and_keeps_attention_a_distribution(variant, rnn_type):
    model = small_model(rnn_type=rnn_type, **variant)
    logits, attention = outputs(model)
    src, lengths = source_batch(BATCH)
    assert torch.allclose(attention.sum(-1), torch.ones(3, 4), atol=1e-5)
    for row, length in enumerate(lengths.tolist()):
        assert torch.all(attention[row, :, length:] == 0)
    with torch.no_grad():
        memory, state = model.encode(src, lengths)
        frozen_state = state
        for t in range(TARGET.size(1)):
            log_probs, weights, state = model.step(TARGET[:, t], state, memory)
            assert torch.allclose(log_probs, torch.log_softmax(logits[:, t], -1), atol=1e-5)
            assert torch.allclose(weights, attention[:, t], atol=1e-6)
        model.freeze_for_inference()  # the inference layout computes the same
        for t in range(TARGET.size(1)):
            log_probs, _, frozen_state = model.step(TARGET[:, t], frozen_state, memory)
            assert torch.allclose(log_probs, torch.log_softmax(logits[:, t], -1), atol=1e-5)
    model.train()
    loss = torch.nn.functional.cross_entropy(model(src, lengths, TARGET)[0].flatten(0, 1), TARGET.flatten())
    loss.backward()
    assert all(p.grad is not None for name, p in model.named_parameters() if "attention" in name or "bridge" in name)


def test_decoder_init_zeros_starts_from_zeros_and_backward_first_reads_only_the_backward_state():
    src, lengths = source_batch(BATCH)
    with torch.no_grad():
        zeros = small_model(decoder_init="zeros", rnn_type="lstm")
        _, state = zeros.encode(src, lengths)
        assert torch.all(state.h == 0) and torch.all(state.c == 0)
        model = small_model(decoder_init="backward-first")
        _, final = model.encoder(src, lengths)
        _, state = model.encode(src, lengths)
        outputs_, _ = model.encoder(src, lengths)
        backward_first = outputs_[:, 0, 12:]  # the backward direction's output at the first position: h←_1
        assert torch.allclose(final.h[-1, :, 12:], backward_first, atol=1e-6)
        bridge = model.decoder.init_bridge
        assert torch.allclose(state.h[-1], torch.tanh(bridge(backward_first)), atol=1e-6)
        # The forward direction (which has read the whole sentence and its </s>) does not reach s_0.
        final.h[..., :12] = 123.0
        assert torch.equal(model.decoder.initial_state(final).h, state.h)


def test_attention_bias_none_has_no_bias_and_query_is_the_same_function_as_key():
    none = BahdanauAttention(6, 8, 5, bias="none")
    assert none.W_q.bias is None and none.W_k.bias is None
    key, query = BahdanauAttention(6, 8, 5, bias="key"), BahdanauAttention(6, 8, 5, bias="query")
    query.load_state_dict({"W_q.weight": key.W_q.weight, "W_q.bias": key.W_k.bias,
                           "W_k.weight": key.W_k.weight, "v.weight": key.v.weight})
    q, values = torch.randn(2, 3, 6), torch.randn(2, 4, 8)
    assert torch.allclose(key.score(q, key.prepare_keys(values)), query.score(q, query.prepare_keys(values)),
                          atol=1e-6)
    # Without a bias, a zero query scores every key by vᵀ tanh(W_k h) alone; a zero key and query score 0.
    assert torch.all(none.score(torch.zeros(1, 1, 6), none.prepare_keys(torch.zeros(1, 3, 8))) == 0)


def test_attention_query_current_attends_with_the_steps_own_output():
    """Luong's flow with the additive score: no context in the RNN input, the query is h_t."""
    model = small_model(attention_query="current")
    assert model.decoder.parallel_teacher_forcing
    assert model.decoder.rnn.input_size == 16  # E only (today's Bahdanau: E + H)
    assert small_model().decoder.rnn.input_size == 16 + 24
    src, lengths = source_batch(BATCH)
    with torch.no_grad():
        memory, state = model.encode(src, lengths)
        _, weights, after = model.step(TARGET[:, 0], state, memory)
        expected = model.decoder.attention(after.h[-1].unsqueeze(1), memory.keys, memory.values, memory.mask)[1]
        assert torch.allclose(weights, expected[:, 0], atol=1e-6)
        # Today's Bahdanau asks with the state before the step.
        today = small_model()
        memory, state = today.encode(src, lengths)
        _, weights, _ = today.step(TARGET[:, 0], state, memory)
        expected = today.decoder.attention(state.h[-1].unsqueeze(1), memory.keys, memory.values, memory.mask)[1]
        assert torch.allclose(weights, expected[:, 0], atol=1e-6)


@pytest.mark.parametrize("bias", ["key", "query", "none"])
def test_attention_key_prior_remove_takes_off_exactly_what_a_zero_query_scores(bias):
    torch.manual_seed(0)
    keep = BahdanauAttention(6, 8, 5, bias=bias)
    remove = BahdanauAttention(6, 8, 5, bias=bias, key_prior="remove")
    remove.load_state_dict(keep.state_dict())  # the same parameters: the option adds none
    values = torch.randn(2, 4, 8)
    keys = keep.prepare_keys(values)
    assert torch.equal(remove.prepare_keys(values), keys)
    query, zero = torch.randn(2, 3, 6), torch.zeros(2, 1, 6)
    # A zero query scores every key 0: no position is preferred before the query says anything ...
    assert torch.allclose(remove.score(zero, keys), torch.zeros(2, 1, 4), atol=1e-6)
    mask = torch.tensor([[True] * 4, [True, True, True, False]])
    weights = remove(zero, keys, values, mask)[1]
    assert torch.allclose(weights[0], torch.full((1, 4), 0.25))
    assert torch.allclose(weights[1, :, :3], torch.full((1, 3), 1 / 3)) and weights[1, 0, 3] == 0
    # ... and every query's score is today's less that zero-query score, the same for each query.
    prior = keep.score(zero, keys)  # (2, 1, 4)
    assert torch.allclose(remove.score(query, keys), keep.score(query, keys) - prior, atol=1e-6)
    assert not torch.allclose(prior, prior.mean(-1, keepdim=True))  # (today's score does have a key prior)


def test_attention_score_general_is_luongs_score_asked_with_the_state_before_the_step():
    """Bahdanau's flow (s_{t-1} query, context into the RNN input) with Luong's bilinear score."""
    model = small_model(attention_score="general")
    luong = small_model("luong-general")
    assert type(model.decoder.attention) is type(luong.decoder.attention)
    assert model.decoder.attends_before_step and not model.decoder.parallel_teacher_forcing
    assert model.decoder.rnn.input_size == 16 + 24  # E + H, as today's Bahdanau
    src, lengths = source_batch(BATCH)
    with torch.no_grad():
        memory, state = model.encode(src, lengths)
        _, weights, _ = model.step(TARGET[:, 0], state, memory)
        keys = model.decoder.attention.W_a(memory.values)
        expected = torch.softmax(torch.einsum("bh,bsh->bs", state.h[-1], keys).masked_fill(~memory.mask, -1e30), -1)
        assert torch.allclose(weights, expected, atol=1e-6)
    # With the current query it is Luong's general attention: the same parameters compute the same outputs.
    current = small_model(attention_score="general", attention_query="current")
    luong.load_state_dict(current.state_dict())
    for got, expected in zip(outputs(current), outputs(luong), strict=True):
        assert torch.allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("variant", VARIANTS)
def test_explains_teacher_forced_decoder_reads_each_variant_as_the_model_runs(variant):
    """nmt_core.explain re-states the decoder (attribution, attention sink figures): for every variant, including a
    Bahdanau model that queries with h_t, its features give the model's own logits."""
    from nmt_core.explain.forced import decoder_features

    model = small_model(**variant).eval()
    src, lengths = source_batch(BATCH)
    with torch.no_grad():
        memory, state = model.encode(src, lengths)
        features = decoder_features(model, memory, state, TARGET)
        logits, _ = model(src, lengths, TARGET)
    assert torch.allclose(model.decoder.out(features), logits, atol=1e-5)
