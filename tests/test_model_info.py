"""What the Models page reads from a checkpoint: architecture, parameters, files, history."""

import pandas as pd
import pytest

from nmt_core.card import CREDIT
from nmt_core.model import ModelConfig, Seq2Seq, TransformerConfig, TransformerSeq2Seq
from nmt_core.model.attention import ATTENTION_TYPES
from nmt_core.model.transformer import ATTENTION_NAME
from nmt_core.views import models as model_info


def test_parameter_count_is_the_sum_of_every_tensor_counted_once(tiny_checkpoint):
    model = tiny_checkpoint.model
    state = model.state_dict()
    tied = {"decoder.out.weight"} if model.cfg.tie_embeddings else set()
    assert model.cfg.tie_embeddings  # the fixture's model shares its target embeddings with the output layer
    expected = sum(t.numel() for name, t in state.items() if name not in tied)
    assert model_info.parameter_count(model) == expected == tiny_checkpoint.config["parameters"]
    assert model_info.parameter_frame(model)["parameters"].sum() == expected


@pytest.mark.parametrize("attention", ATTENTION_TYPES)
def test_parameter_frame_splits_every_architecture(attention):
    cfg = ModelConfig(src_vocab_size=30, tgt_vocab_size=40, embedding_dim=8, hidden_size=16, output_size=12,
                      attention_size=6, attention=attention, tie_embeddings=False)
    model = Seq2Seq(cfg)
    frame = model_info.parameter_frame(model)
    assert frame["parameters"].sum() == model_info.parameter_count(model) == sum(
        t.numel() for t in model.state_dict().values())
    parts = dict(zip(frame["part"], frame["parameters"], strict=True))
    assert parts["source embeddings"] == 30 * 8 and parts["target embeddings"] == 40 * 8
    assert parts["output layer"] == 40 * 12 + 40
    assert ("attention" in parts) == (attention in ("bahdanau", "luong-general"))
    assert frame["share"].sum() == pytest.approx(1.0)
    assert frame["parameters"].is_monotonic_decreasing


@pytest.mark.parametrize("attention, formula", [("bahdanau", "score(s, h) = vᵀ tanh(W₁s + W₂h)"),
                                                ("luong-general", "score(s, h) = sᵀWh"),
                                                ("luong-dot", "score(s, h) = sᵀh"), ("none", "none")])
def test_architecture_names_the_attention_formula(attention, formula):
    config = {"model": {**ModelConfig(8, 8, attention=attention).to_dict()}, "weights_dtype": "float16"}
    frame = model_info.architecture_frame(config)
    rows = dict(zip(frame[""], frame["value"], strict=True))
    assert formula in rows["Attention"]
    assert rows["Encoder"].startswith("bidirectional GRU, 1 layer, 512 units (256 per direction)")
    assert ("Attention layer size" in rows) == (attention == "bahdanau")
    assert model_info.attention_info(config).latex.count("{") == model_info.attention_info(config).latex.count("}")


def test_every_attention_type_has_a_formula():
    assert set(model_info.ATTENTION_INFO) == set(ATTENTION_TYPES) | {ATTENTION_NAME}
    assert model_info.attention_info({"model": {"attention": "quantum"}}) is None


def test_file_frame_lists_sizes(tiny_checkpoint_dir):
    frame = model_info.file_frame(tiny_checkpoint_dir)
    sizes = dict(zip(frame["file"], frame["bytes"], strict=True))
    assert {"config.json", "model.safetensors", "src.model", "tgt.model"} <= set(sizes)
    assert sizes["model.safetensors"] == (tiny_checkpoint_dir / "model.safetensors").stat().st_size
    assert frame["file"].tolist() == sorted(frame["file"])


@pytest.mark.parametrize("size, text", [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (13_203_280, "12.6 MiB"),
                                        (5 * 2**40, "5120.0 GiB")])
def test_human_size(size, text):
    assert model_info.human_size(size) == text


def test_history_frame_follows_the_config(tiny_checkpoint):
    config = tiny_checkpoint.config
    frame = model_info.history_frame(config)
    epochs = [record["epoch"] for record in config["history"]]
    assert sorted(frame["epoch"].unique()) == epochs
    assert set(frame["quantity"]) == {"loss", "token accuracy", "BLEU"}
    last = config["history"][-1]
    dev_loss = frame[(frame.epoch == last["epoch"]) & (frame.quantity == "loss") & (frame.split == "dev")]
    assert dev_loss["value"].tolist() == [last["dev_loss"]]
    assert len(frame[frame.quantity == "BLEU"]) == len(epochs)  # BLEU is measured on dev only


@pytest.mark.parametrize("history", [None, "lots", [None, {"epoch": "one"}, {"epoch": 1, "dev_loss": "low"}], []])
def test_history_frame_tolerates_odd_configs(history):
    frame = model_info.history_frame({"history": history})
    assert frame.empty and list(frame.columns) == ["epoch", "quantity", "split", "value"]


def test_summaries_of_the_shipped_style_config(tiny_checkpoint):
    config = tiny_checkpoint.config
    data = dict(zip(*model_info.data_frame(config).to_dict("list").values(), strict=True))
    assert data["Sentence pairs"] == f"{config['data']['pairs']:,}"
    training = dict(zip(*model_info.training_frame(config).to_dict("list").values(), strict=True))
    assert training["Epochs"] == str(config["training"]["epochs_completed"])
    assert training["Hardware"] == config["training"]["hardware"]
    summary = model_info.metrics_summary(config)
    assert summary["bleu"] == config["metrics"]["test_bleu"] and summary["chrf"] == config["metrics"]["test_chrf"]
    assert model_info.credit(config) == CREDIT  # Tatoeba-derived data gets the full licence credit


def test_summaries_of_a_bare_config():
    assert model_info.data_frame({}).empty and model_info.training_frame({"training": "?"}).empty
    assert model_info.metrics_summary({"metrics": {"test_bleu": "high"}}) == {}
    assert model_info.credit({"data": {"credit": "My own corpus, CC0"}}) == "My own corpus, CC0"
    assert model_info.credit({}) == CREDIT
    assert "?" in model_info.architecture_frame({})["value"].iloc[0]


def test_length_frame_reads_every_models_record_and_skips_malformed_ones():
    good = {"metrics": {"test_by_source_length": [
        {"words": "1-4", "low": 1, "high": 4, "sentences": 10, "bleu": 50.0, "chrf": 60.0},
        {"words": "5-8", "low": 5, "high": 8, "sentences": 3, "bleu": 40.0, "chrf": 55.5},
        {"words": "9-12", "low": 9, "sentences": "many", "bleu": 1.0, "chrf": 2.0},  # malformed: left out
    ]}}
    frame = model_info.length_frame({"a": good, "b": {"metrics": {"test_by_source_length": "junk"}}, "c": {}})
    assert frame.to_dict("records") == [
        {"model": "a", "words": "1-4", "low": 1, "sentences": 10, "BLEU": 50.0, "chrF": 60.0},
        {"model": "a", "words": "5-8", "low": 5, "sentences": 3, "BLEU": 40.0, "chrF": 55.5},
    ]


def test_overview_frame_has_a_row_per_checkpoint_and_leaves_unknowns_empty():
    config = {"source_language": "spa", "target_language": "eng", "model": {"attention": "bahdanau"},
              "parameters": 1234, "metrics": {"test_bleu": 50.5, "test_chrf": "n/a"},
              "training": {"epochs_completed": 3, "train_minutes": 12.5}}
    frame = model_info.overview_frame({"a": config, "broken": None}, {"a": 3 * 2**20, "broken": 10})
    first = frame.iloc[0].to_dict()
    assert first["direction"] == "Spanish → English" and first["attention"] == "bahdanau"
    assert (first["parameters"], first["test BLEU"], first["epochs"], first["size MiB"]) == (1234, 50.5, 3, 3.0)
    assert pd.isna(first["test chrF"])  # not a number: left empty, not shown as text
    assert frame.iloc[1]["model"] == "broken" and pd.isna(frame.iloc[1]["direction"])


def test_other_language_note_names_both_languages_and_is_silent_when_unknown_or_equal():
    other_language_note = model_info.other_language_note
    note = other_language_note({"source_language": "spa"}, "deu")
    assert note is not None and "reads Spanish" in note and "in German" in note
    assert other_language_note({"source_language": "spa"}, "spa") is None
    assert other_language_note({"source_language": "spa"}, None) is None
    assert other_language_note({}, "spa") is None
    assert other_language_note(None, "spa") is None


def transformer_config(**overrides) -> dict:
    """config.json of a Transformer as training writes it: "multi-head" beside ``model``."""
    model = TransformerConfig(100, 120, d_model=64, num_heads=4, encoder_layers=3, decoder_layers=2, ff_size=128,
                              **overrides).to_dict()
    return {"model": model, "attention": ATTENTION_NAME, "weights_dtype": "float16"}


def test_a_transformers_architecture_names_its_layers_heads_and_formula():
    config = transformer_config()
    rows = dict(zip(*model_info.architecture_frame(config).to_dict("list").values(), strict=True))
    assert rows["Encoder"].startswith("3 layers, pre-norm")
    assert rows["Decoder"].startswith("2 layers, pre-norm: causal self-attention, cross-attention")
    assert rows["Attention"] == "multi-head, 4 heads: " + model_info.ATTENTION_INFO["multi-head"].formula
    assert rows["Model size d_model"] == "64 (16 per head)" and rows["Feed-forward size"] == "128"
    assert rows["Positions"] == "sinusoidal, up to 512 pieces"
    assert "decoder layer 2's heads" in rows["Heatmaps show"]
    assert "decoder layer 1's heads" in dict(zip(*model_info.architecture_frame(
        transformer_config(display_layer=0)).to_dict("list").values(), strict=True))["Heatmaps show"]
    info = model_info.attention_info(config)
    assert r"\sqrt{d}" in info.latex and info.latex.count("{") == info.latex.count("}")
    (multi_head,) = model_info.formula_latex(config)
    assert "MultiHead" in multi_head and multi_head.count("{") == multi_head.count("}")


def test_formula_latex_per_architecture():
    luong = {"model": ModelConfig(8, 8, attention="luong-general").to_dict()}
    assert model_info.formula_latex(luong) == [model_info.WEIGHTS_LATEX]
    assert model_info.formula_latex({"model": ModelConfig(8, 8, attention="none").to_dict()}) == []
    assert model_info.formula_latex({"model": {"attention": "quantum"}}) == []
    assert model_info.formula_latex(transformer_config()) == [model_info.MULTI_HEAD_LATEX]


def test_parameter_frame_splits_a_transformer_into_its_sublayers():
    model = TransformerSeq2Seq(TransformerConfig(30, 40, d_model=16, num_heads=2, encoder_layers=2, decoder_layers=1,
                                                 ff_size=32))
    frame = model_info.parameter_frame(model)
    parts = dict(zip(frame["part"], frame["parameters"], strict=True))
    assert frame["parameters"].sum() == model_info.parameter_count(model)
    attention = 4 * (16 * 16 + 16)  # query, key, value and output projections
    assert parts["encoder self-attention"] == 2 * attention
    assert parts["decoder self-attention"] == parts["cross-attention"] == attention
    assert parts["encoder feed-forward"] == 2 * (16 * 32 + 32 + 32 * 16 + 16)
    assert parts["source embeddings"] == 30 * 16 and parts["target embeddings"] == 40 * 16
    assert parts["output layer"] == 40  # tied: only its bias is its own
    assert parts["layer norms"] == (2 * 2 + 1 * 3 + 2) * 2 * 16
