"""The Models page through streamlit.testing: a card per checkpoint, broken ones included."""

import json
import shutil

from nmt_core.checkpoint import load_checkpoint, read_config
from nmt_core.projection import frequent_pieces
from tests.apphelpers import run_page, vega_charts


def charts(app, kind: str) -> list:
    return app.get(kind)


def test_card_of_the_sidebars_model(models_root):
    config = read_config(models_root / "tiny-luong")
    app = run_page("models_page")
    assert not app.exception and not app.error
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Test BLEU"] == f"{config['metrics']['test_bleu']:.1f}"
    assert metrics["Test chrF"] == f"{config['metrics']['test_chrf']:.1f}"
    assert metrics["Parameters"] == f"{config['parameters']:,}"
    assert any(r"s_t^\top W h_i" in latex.value for latex in app.get("latex"))  # luong-general, written out
    architecture = app.dataframe[0].value
    assert "luong-general: score(s, h) = sᵀWh" in architecture["value"].tolist()
    # loss, accuracy, dev BLEU per epoch, and test BLEU by source length
    altair = vega_charts(app)
    assert len(altair) == 4 and altair[3][0]["title"] == "Test BLEU by source length"
    lengths = altair[3][1]
    assert lengths["sentences"].sum() == config["metrics"]["test_sentences"]
    assert lengths["BLEU"].tolist() == [b["bleu"] for b in config["metrics"]["test_by_source_length"]]
    assert len(charts(app, "plotly_chart")) == 1  # the embedding projection
    shown = [c.value.replace("\\", "") for c in app.caption]  # captions are markdown-escaped
    assert any("Tatoeba" in c and "CC-BY 2.0" in c for c in shown)  # the data's licence credit
    files = next(d.value for d in app.dataframe if "file" in d.value.columns)
    assert (files.set_index("file").loc["model.safetensors", "bytes"]
            == (models_root / "tiny-luong" / "model.safetensors").stat().st_size)


def test_projection_side_and_size(models_root):
    app = run_page("models_page")
    ordinary = read_config(models_root / "tiny-luong")["model"]["src_vocab_size"] - 4
    side = app.radio(key="models_side_tiny-luong")
    side.set_value("source").run()
    assert not app.exception
    caption = next(c.value for c in app.caption if c.value.startswith("Each point"))
    # The tiny vocabulary has fewer pieces than asked for: all its ordinary pieces are shown.
    assert f"one of the {ordinary} most frequent source pieces" in caption
    hover = json.loads(charts(app, "plotly_chart")[0].proto.spec)["data"][0]["hovertext"]
    assert len(hover) == ordinary
    tokenizer = load_checkpoint(models_root / "tiny-luong").src_tokenizer
    assert hover[0].startswith(tokenizer.pieces([frequent_pieces(tokenizer, 1)[0]])[0] + "<br>rank 1 ")


def test_all_models_with_broken_ones(models_root):
    shutil.copytree(models_root / "tiny-luong", models_root / "broken-weights")
    (models_root / "broken-weights" / "model.safetensors").write_bytes(b"not a tensor file")
    (models_root / "unreadable").mkdir()
    (models_root / "unreadable" / "config.json").write_text("{ nope", encoding="utf-8")
    app = run_page("models_page", model="tiny-luong", show="all")
    assert not app.exception
    assert len(app.expander) == 3 + 1  # three cards (+ the sidebar's "More settings")
    errors = [e.value.replace("\\", "") for e in app.error]  # messages are markdown-escaped
    assert any("weights of this checkpoint cannot be loaded" in e and "model.safetensors" in e for e in errors)
    assert any("cannot be read" in e and "config.json" in e for e in errors)
    # The healthy model's card is complete, and the broken one still shows what its config.json knows.
    assert [m.value for m in app.metric if m.label == "Parameters"].count("–") == 1
    assert len(charts(app, "plotly_chart")) == 1
    assert len(charts(app, "vega_lite_chart")) == 8  # four per card that has a config.json
    overview = app.dataframe[0].value.set_index("model")
    assert list(overview.index) == ["broken-weights", "tiny-luong", "unreadable"]
    config = read_config(models_root / "tiny-luong")
    assert overview.loc["tiny-luong", "test BLEU"] == config["metrics"]["test_bleu"]
    assert overview.loc["tiny-luong", "parameters"] == config["parameters"]
    assert overview.loc["tiny-luong", "attention"] == "luong-general"
    assert overview.isna().loc["unreadable", "test BLEU"]  # what cannot be read stays empty


def test_view_choice_goes_into_the_url(models_root):
    app = run_page("models_page")
    app.radio(key="models_view").set_value("all").run()
    assert not app.exception
    assert app.query_params["show"] in ("all", ["all"])


def test_classroom_mode_keeps_the_essentials(models_root):
    app = run_page("models_page", classroom="1")
    assert not app.exception
    labels = [tab.label for tab in app.tabs]
    assert labels == ["Architecture", "Training", "Embeddings"]
    assert not any(c.value.startswith("BLEU signature") for c in app.caption)
