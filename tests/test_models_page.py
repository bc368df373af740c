"""The Models page through streamlit.testing: a card per checkpoint, broken ones included."""

import json
import shutil

import numpy as np
import pytest

from nmt_core.checkpoint import load_checkpoint, read_config, read_probes
from nmt_core.views.heatmap_data import DECIMALS
from nmt_core.views.probes import epoch_view_sizes, probe_view
from nmt_core.views.projection import frequent_pieces
from tests.apphelpers import run_page, vega_charts
from tests.test_translate_page import components, heatmaps


def charts(app, kind: str) -> list:
    return app.get(kind)


def plotly(app, key: str) -> dict:
    """The spec of the plotly chart the page gave ``key``."""
    return json.loads(next(c for c in charts(app, "plotly_chart") if c.key == key).proto.spec)


def open_tab(label: str, **params):
    """The Models page with its card's tab ``label`` open, as the link ``?tab=<label>`` opens it."""
    return run_page("models", tab=label, **params)


def test_card_of_the_sidebars_model(models_root):
    config = read_config(models_root / "tiny-luong")
    app = run_page("models")  # the first tab, Architecture
    assert not app.exception and not app.error
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Test BLEU"] == f"{config['metrics']['test_bleu']:.1f}"
    assert metrics["Test chrF"] == f"{config['metrics']['test_chrf']:.1f}"
    assert metrics["Parameters"] == f"{config['parameters']:,}"
    assert any(r"s_t^\top W h_i" in latex.value for latex in app.get("latex"))  # luong-general, written out
    architecture = app.dataframe[0].value
    assert "luong-general: score(s, h) = sᵀWh" in architecture["value"].tolist()
    shown = [c.value.replace("\\", "") for c in app.caption]  # captions are markdown-escaped
    assert any("Tatoeba" in c and "CC-BY 2.0" in c for c in shown)  # the data's licence credit
    # Only the open tab is built and sent: none of the other tabs' charts.
    assert not vega_charts(app) and not charts(app, "plotly_chart")
    assert [tab.label for tab in app.tabs] == ["Architecture", "Training", "Attention as it formed", "Embeddings",
                                               "Files"]

    # loss, accuracy, dev BLEU per epoch, and test BLEU by source length
    altair = vega_charts(open_tab("Training"))
    assert len(altair) == 4 and altair[3][0]["title"] == "Test BLEU by source length"
    lengths = altair[3][1]
    assert lengths["sentences"].sum() == config["metrics"]["test_sentences"]
    assert lengths["BLEU"].tolist() == [b["bleu"] for b in config["metrics"]["test_by_source_length"]]
    # the probe sentence's heatmap and the panel beside it, with its curve (training wrote probes.json; both are
    # the heatmap component's: no plotly figure), and the embedding projection
    formed = open_tab("Attention as it formed")
    assert sorted(heatmaps(formed)) == ["models_probe_heatmap_tiny-luong", "models_probe_panel_tiny-luong"]
    assert not charts(formed, "plotly_chart") and not formed.select_slider
    assert [c.key for c in charts(open_tab("Embeddings"), "plotly_chart")] == ["models_projection_tiny-luong"]
    files = next(d.value for d in open_tab("Files").dataframe if "file" in d.value.columns)
    assert (files.set_index("file").loc["model.safetensors", "bytes"]
            == (models_root / "tiny-luong" / "model.safetensors").stat().st_size)


def test_opening_a_tab_builds_it_and_a_link_to_a_missing_tab_opens_the_first(models_root):
    """A click on a tab (its state) builds that tab alone. Streamlit's binding writes ?tab= in the browser
    (tests/test_browser.py checks the address bar); a label the card lacks is ignored."""
    app = run_page("models")
    app.session_state["tab"] = "Embeddings"  # what a click on the tab does
    app.run()
    assert not app.exception
    assert [c.key for c in charts(app, "plotly_chart")] == ["models_projection_tiny-luong"] and not app.get("latex")
    unknown = open_tab("No such tab")
    assert not unknown.exception and unknown.dataframe[0].value is not None  # Architecture, the first tab
    assert not charts(unknown, "plotly_chart") and "tab" not in unknown.query_params


def test_projection_side_and_size(models_root):
    app = open_tab("Embeddings")
    ordinary = read_config(models_root / "tiny-luong")["model"]["src_vocab_size"] - 4
    side = app.radio(key="models_side_tiny-luong")
    side.set_value("source").run()
    assert not app.exception
    caption = next(c.value for c in app.caption if c.value.startswith("Each point"))
    # The tiny vocabulary has fewer pieces than asked for: all its ordinary pieces are shown.
    assert f"one of the {ordinary} most frequent source pieces" in caption
    hover = plotly(app, "models_projection_tiny-luong")["data"][0]["hovertext"]
    assert len(hover) == ordinary
    tokenizer = load_checkpoint(models_root / "tiny-luong").src_tokenizer
    assert hover[0].startswith(tokenizer.pieces([frequent_pieces(tokenizer, 1)[0]])[0] + "<br>rank 1 ")


def test_all_models_with_broken_ones(models_root):
    shutil.copytree(models_root / "tiny-luong", models_root / "broken-weights")
    (models_root / "broken-weights" / "model.safetensors").write_bytes(b"not a tensor file")
    (models_root / "unreadable").mkdir()
    (models_root / "unreadable" / "config.json").write_text("{ nope", encoding="utf-8")
    app = run_page("models", model="tiny-luong", show="all")
    assert not app.exception
    assert len(app.expander) == 3 + 1  # three cards (+ the sidebar's "More settings")
    # Only the sidebar's model's card is open and built; a folded card is built when opened.
    assert [m.label for m in app.metric].count("Parameters") == 1 and not app.error
    for name in ("broken-weights", "unreadable"):
        app.session_state[f"models_card_{name}"] = True  # what a click on its expander does
    app.run()
    assert not app.exception
    errors = [e.value.replace("\\", "") for e in app.error]  # messages are markdown-escaped
    assert any("weights of this checkpoint cannot be loaded" in e and "model.safetensors" in e for e in errors)
    assert any("cannot be read" in e and "config.json" in e for e in errors)
    # The healthy model's card is complete, and the broken one still shows what its config.json knows.
    assert [m.value for m in app.metric if m.label == "Parameters"].count("–") == 1
    # Tab by tab (each card keeps its own): the probe heatmap and curve of both (from probes.json alone), the
    # projection of the healthy model (the broken one has no Embeddings tab: that label is ignored), and the
    # training charts, four per card that has a config.json.
    def open_tabs(label: str):
        for name in ("tiny-luong", "broken-weights"):
            app.session_state[f"models_tab_{name}"] = label
        app.run()
        assert not app.exception
        return sorted([c.key for c in charts(app, "plotly_chart")] + list(heatmaps(app)))

    assert open_tabs("Attention as it formed") == sorted(
        f"models_probe_{kind}_{name}" for kind in ("heatmap", "panel") for name in ("tiny-luong", "broken-weights"))
    # Not the page's one card: the link's ?epoch= is the sidebar's model's alone.
    assert all(data["url"] is None for data in heatmaps(app).values() if data.get("panel"))
    assert open_tabs("Embeddings") == ["models_projection_tiny-luong"]
    assert open_tabs("Training") == [] and len(charts(app, "vega_lite_chart")) == 8
    overview = app.dataframe[0].value.set_index("model")
    assert list(overview.index) == ["broken-weights", "tiny-luong", "unreadable"]
    config = read_config(models_root / "tiny-luong")
    assert overview.loc["tiny-luong", "test BLEU"] == config["metrics"]["test_bleu"]
    assert overview.loc["tiny-luong", "parameters"] == config["parameters"]
    assert overview.loc["tiny-luong", "attention"] == "luong-general"
    assert overview.isna().loc["unreadable", "test BLEU"]  # what cannot be read stays empty


def test_view_choice_goes_into_the_url(models_root):
    app = run_page("models")
    app.radio(key="models_view").set_value("all").run()
    assert not app.exception
    assert app.query_params["show"] in ("all", ["all"])


def test_classroom_mode_keeps_the_essentials(models_root):
    app = run_page("models", classroom="1")
    assert not app.exception
    labels = [tab.label for tab in app.tabs]
    assert labels == ["Architecture", "Training", "Attention as it formed", "Embeddings"]
    assert not any(c.value.startswith("BLEU signature") for c in app.caption)


def test_a_transformers_card_gives_its_architecture_and_the_multi_head_formula(models_root, tiny_transformer_dir):
    shutil.copytree(tiny_transformer_dir, models_root / "tiny-transformer")
    app = run_page("models", model="tiny-transformer")
    assert not app.exception and not app.error
    latex = [element.value for element in app.get("latex")]
    assert any(r"\frac{Q K^\top}{\sqrt{d}}" in value for value in latex)  # scaled dot-product
    assert any(r"\operatorname{MultiHead}" in value for value in latex)  # and its heads
    assert not any(r"a_{t,i}" in value for value in latex)  # not the RNNs' weights-and-context formula
    rows = dict(zip(app.dataframe[0].value[""], app.dataframe[0].value["value"], strict=True))
    assert rows["Encoder"].startswith("2 layers, pre-norm") and "causal self-attention" in rows["Decoder"]
    assert rows["Attention"].startswith("multi-head, 4 heads: Attention(Q, K, V) = softmax(QKᵀ / √d) V")
    assert rows["Model size d_model"] == "32 (8 per head)"
    assert "decoder layer 2" in rows["Heatmaps show"]
    parts = next(d.value for d in app.dataframe if "part" in d.value.columns)
    assert {"encoder self-attention", "decoder self-attention", "cross-attention", "encoder feed-forward",
            "source embeddings", "target embeddings", "layer norms"} <= set(parts["part"])
    assert parts["parameters"].sum() == read_config(models_root / "tiny-transformer")["parameters"]
    card = (models_root / "tiny-transformer" / "README.md").read_text(encoding="utf-8")
    assert "attention `multi-head`" in card and "`Attention(Q, K, V) = softmax(QKᵀ / √d) V`" in card
    assert "2 encoder layer(s), 2 decoder layer(s), model size 32, 4 heads (8 per head)" in card


def epoch_data(app, name: str) -> tuple[dict, dict]:
    """The probe heatmap's data and its panel's (payload and view fields merged), on card ``name``."""
    found = heatmaps(app)
    return found[f"models_probe_heatmap_{name}"], found[f"models_probe_panel_{name}"]


def test_every_epoch_of_the_probe_goes_to_the_browser_once(models_root, tiny_transformer_dir):
    """No epoch slider on the server: the heatmap gets every recorded epoch of the chosen probe (the browser scrubs
    them: tests/test_browser.py) and the panel dev BLEU, the translation and the entropy per epoch. Choosing
    another probe sentence is a server run, which sends that probe's epochs."""
    shutil.copytree(tiny_transformer_dir, models_root / "tiny-transformer")
    probes = read_probes(models_root / "tiny-transformer")
    assert [p["epoch"] for p in probes] == [1, 2, 3]
    app = open_tab("Attention as it formed", model="tiny-transformer")
    assert not app.exception and not app.select_slider and not charts(app, "plotly_chart")

    def shown(probe: int):
        heatmap, panel = epoch_data(app, "tiny-transformer")
        assert heatmap["link"] == panel["link"] == "models_probe_tiny-transformer"  # the pair, one per card
        assert heatmap["epoch"] == panel["epoch"] == 1 and panel["panel"] is True and panel["url"] == "epoch"
        assert heatmap["source"] == probes[0]["traces"][probe]["source_tokens"]
        epochs = heatmap["epochs"]
        assert epochs["epoch"] == panel["epochs"]["epoch"] == [1, 2, 3]
        for e, entry in enumerate(probes):
            recorded = entry["traces"][probe]
            assert epochs["target"][e] == recorded["target_tokens"]
            np.testing.assert_allclose(np.asarray(epochs["pieces"][e]) / 1000, recorded["attention"],
                                       atol=10**-DECIMALS)
            assert panel["epochs"]["dev_bleu"][e] == entry["dev_bleu"]
            assert panel["epochs"]["translation"][e] == recorded["translation"]
            for view in ("pieces", "words"):
                bits = probe_view(probes, entry["epoch"], probe, merge_words=view == "words").entropy
                assert panel["epochs"]["entropy"][view][e] == pytest.approx(bits, abs=1e-3)

    shown(0)
    probe = app.selectbox(key="models_probe_tiny-transformer")
    assert probe.options == [t["source"] for t in probes[-1]["traces"]]
    probe.set_value(2).run()
    assert not app.exception
    shown(2)


def test_a_link_opens_the_probe_at_its_epoch(models_root):
    """The browser keeps the epoch shown in the address bar (?epoch=); the link's epoch is the one both elements
    open on, clamped to the epochs recorded."""
    epochs = [p["epoch"] for p in read_probes(models_root / "tiny-luong")]
    assert epochs == [1, 2, 3, 4]
    for asked, opened in (("3", 3), ("99", 4), ("0", 1), ("nonsense", 1)):
        heatmap, panel = epoch_data(open_tab("Attention as it formed", epoch=asked), "tiny-luong")
        assert heatmap["epoch"] == panel["epoch"] == opened, asked
    # Another probe sentence keeps the link's epoch (a scrub's epoch is kept by the browser: Streamlit sends a rerun
    # the query string it last knew, not the address bar's; tests/test_browser.py).
    app = open_tab("Attention as it formed", epoch="3")
    app.selectbox(key="models_probe_tiny-luong").set_value(1).run()
    assert not app.exception
    heatmap, panel = epoch_data(app, "tiny-luong")
    assert heatmap["epoch"] == panel["epoch"] == 3 and heatmap["link"] == panel["link"] == "models_probe_tiny-luong"
    assert heatmap["source"] == read_probes(models_root / "tiny-luong")[0]["traces"][1]["source_tokens"]


def test_the_epoch_payload_is_smaller_than_every_epoch_sent_apart(models_root):
    """Every epoch at once, labels shared: less than the epochs' own payloads (both views each) would be."""
    from nmt_core.figures import payload_json
    from nmt_core.views.probes import probe_epochs, probe_payload

    probes = read_probes(models_root / "tiny-luong")
    app = open_tab("Attention as it formed")
    sent = sum(len(e.proto.bytes) for e in components(app))
    apart = sum(len(payload_json(probe_payload(probes, epoch, 0))) for epoch in probe_epochs(probes))
    assert sent < apart, (sent, apart)


def test_probe_traces_missing_or_broken(models_root):
    (models_root / "tiny-luong" / "probes.json").unlink()
    app = run_page("models")
    assert not app.exception and "Attention as it formed" not in [tab.label for tab in app.tabs]
    (models_root / "tiny-luong" / "probes.json").write_text('{"epochs": [{"epoch": "one"}]}', encoding="utf-8")
    app = open_tab("Attention as it formed")
    assert not app.exception
    assert any("probe traces cannot be read" in e.value and "probes.json" in e.value.replace("\\", "")
               for e in app.error)
    assert len(charts(open_tab("Training"), "vega_lite_chart")) == 4  # the rest of the card is whole


# --- issue 13: classroom mode at 1280x720, words by default there ---------------------------------------


def test_probe_heatmap_sends_both_views_and_the_link_chooses(models_root):
    """The switch is the heatmap's (in the browser: the panel's entropy follows it there, and the server does not
    hear it); both views of every epoch are sent, ?words= opens one."""
    probes = read_probes(models_root / "tiny-luong")
    recorded = probes[0]["traces"][0]
    app = open_tab("Attention as it formed")
    assert not app.exception and app.title and not app.main.toggle
    heatmap, panel = epoch_data(app, "tiny-luong")
    assert heatmap["merge"] is panel["merge"] is False and not heatmap.get("sync_words")  # pieces first
    assert heatmap["source"] == recorded["source_tokens"]
    assert heatmap["epochs"]["source_groups"] == 0  # one piece per word in the tiny model: the words view's
    assert heatmap["epochs"]["target_groups"] == [0, 0, 0, 0]  # labels are spelled in the browser
    assert len(heatmap["epochs"]["words"]) == 4
    linked = open_tab("Attention as it formed", words="1")  # the link reopens words
    assert all(data["merge"] is True for data in epoch_data(linked, "tiny-luong"))





def test_classroom_models_opens_on_words_with_the_headline_in_the_first_tab(models_root):
    from nmt_core.figures.sizing import component_chrome
    from pages.models import CLASSROOM_HEATMAP_HEIGHT

    first = run_page("models", classroom="1")
    assert not first.exception
    assert not first.title  # the menu names the page; its height goes to the tabs
    assert [m.label for m in first.tabs[0].metric] == ["Test BLEU", "Test chrF", "Parameters", "Size on disk"]
    app = open_tab("Attention as it formed", classroom="1")
    assert not app.exception
    heatmap, panel = epoch_data(app, "tiny-luong")
    assert heatmap["merge"] is True and app.query_params["words"] in ("1", ["1"])
    assert panel["classroom"] is True and panel["font_size"] == heatmap["font_size"]
    for view, size in epoch_view_sizes(heatmap).items():  # every epoch whole under the tabs, one row height
        row, font = heatmap["fit"][view][:2]
        assert component_chrome(size.source_chars, heatmap["font_size"], font) + size.rows * (row + 1) \
            <= CLASSROOM_HEATMAP_HEIGHT
    pieces = open_tab("Attention as it formed", classroom="1", words="0")  # pieces one switch (or link) away
    assert epoch_data(pieces, "tiny-luong")[0]["merge"] is False


def test_a_model_without_attention_still_scrubs_its_translations(models_root):
    """No heatmap to draw: the panel alone scrubs the translation and dev BLEU per epoch, with no entropy."""
    path = models_root / "tiny-luong" / "probes.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for entry in data["epochs"]:
        for trace in entry["traces"]:
            trace["attention"] = None
    path.write_text(json.dumps(data), encoding="utf-8")
    app = open_tab("Attention as it formed")
    assert not app.exception
    assert any("no attention" in i.value for i in app.info)
    (panel,) = heatmaps(app).values()
    assert panel["panel"] is True and panel["epochs"]["entropy"] is None
    assert panel["epochs"]["translation"] == [e["traces"][0]["translation"] for e in data["epochs"]]
    assert panel["epochs"]["dev_bleu"] == [e["dev_bleu"] for e in data["epochs"]]


def test_a_chart_is_built_once_per_data_and_font_size():
    """pages/lib/charts.py: the same data and font size give the same chart object (built once, shared); other
    data or another size, another chart of that data."""
    import pandas as pd

    from pages.lib.charts import length_chart

    frame = pd.DataFrame({"model": ["a", "a"], "words": ["1-5", "6-10"], "low": [1, 6], "sentences": [9, 4],
                          "BLEU": [30.0, 20.0], "chrF": [50.0, 40.0]})
    first = length_chart(frame, 13)
    assert length_chart(frame.copy(), 13) is first  # keyed by content, not by the frame object
    assert length_chart(frame, 22) is not first
    changed = length_chart(frame.assign(BLEU=[31.0, 20.0]), 13)
    assert changed is not first and changed.data["BLEU"].tolist() == [31.0, 20.0]
