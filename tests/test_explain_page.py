"""The Explain page in streamlit.testing's AppTest, on the tiny reverse-task model."""

from __future__ import annotations

from tests.apphelpers import run_page


def test_explain_page_shows_attribution_inside_attention_and_intervention(models_root):
    app = run_page("explain", text="alpha beta gamma delta", attribution="saliency", step="1",
                   word="0", mode="focus")
    assert not app.exception
    titles = [s.value for s in app.subheader]
    assert any("Inside attention at step 1" in t for t in titles)
    assert any("Intervention" in t for t in titles)
    # the intervention moved step 1's attention to "alpha": the reversing model now starts with it
    assert app.text[-1].value.startswith("alpha")
    assert app.text[-2].value == "delta gamma beta alpha"
    assert app.query_params["attribution"] in ("saliency", ["saliency"])


def test_the_attribution_method_and_the_sidebars_decoding_method_are_separate_in_a_link(models_root):
    app = run_page("explain", text="alpha beta gamma", method="greedy", attribution="integrated-gradients")
    assert not app.exception
    assert app.session_state["settings"].method == "greedy"
    assert app.query_params["method"] in ("greedy", ["greedy"])
    assert app.query_params["attribution"] in ("integrated-gradients", ["integrated-gradients"])


def test_explain_page_other_method_and_bad_url(models_root):
    app = run_page("explain", text="alpha beta", attribution="integrated-gradients", step="99",
                   word="-5", mode="nonsense")
    assert not app.exception
    app = run_page("explain", text="   ")
    assert not app.exception


def test_explain_page_on_a_transformer_layer_heads_and_intervention(tmp_path, tiny_transformer_dir, monkeypatch):
    import shutil

    shutil.copytree(tiny_transformer_dir, tmp_path / "tiny-transformer")
    monkeypatch.setenv("ATTENTION_EXPLORER_CHECKPOINTS", str(tmp_path))
    app = run_page("explain", text="alpha beta gamma delta", model="tiny-transformer", attribution="saliency", step="2",
                   word="0", mode="focus")
    assert not app.exception
    titles = [s.value for s in app.subheader]
    assert any("Inside attention at step 2" in t for t in titles)
    assert any("Intervention" in t for t in titles)
    assert app.selectbox[0].label.startswith("Decoder layer") and app.selectbox[0].value == 1  # the display layer
    assert "e_h(t,i) = q_hᵀ k_h,ᵢ / √d" in app.code[0].value
    heads = app.dataframe[-1].value
    assert list(heads.columns)[:3] == ["source piece", "e h1", "α h1"] and "α h4" in heads.columns
    assert app.text[-2].value == "delta gamma beta alpha"
    assert app.text[-1].value.startswith("delta alpha")  # step 2's attention, every head of layer 2, on "alpha"
    assert app.query_params["layer"] in ("2", ["2"])
    app.selectbox[0].set_value(0).run()  # the first layer: the record and the URL follow
    assert not app.exception
    assert app.query_params["layer"] in ("1", ["1"])


# --- issue 13: classroom mode at 1280x720, words by default there ---------------------------------------


def heatmap_ticks(app, key: str) -> list[str]:
    import json

    spec = json.loads(next(c for c in app.get("plotly_chart") if c.proto.id.endswith(key)).proto.spec)
    return spec["layout"]["xaxis"]["ticktext"]


def test_words_toggle_merges_both_heatmaps_and_goes_into_the_link(models_root):
    app = run_page("explain", text="alphabeta gamma", attribution="saliency")  # an unseen word: several pieces
    assert not app.exception and app.title
    assert app.toggle(key="explain_words").value is False  # pieces first in normal mode
    pieces = heatmap_ticks(app, "explain_attention")
    assert heatmap_ticks(app, "explain_attribution") == pieces
    app.toggle(key="explain_words").set_value(True).run()
    assert not app.exception and app.query_params["words"] in ("1", ["1"])
    words = heatmap_ticks(app, "explain_attention")
    assert words == ["alphabeta", "gamma", "&lt;/s&gt;"] and len(words) < len(pieces)
    assert heatmap_ticks(app, "explain_attribution") == words
    rho = app.dataframe[0].value  # one rank correlation per row shown, the rows in words too
    assert not any("\u2581" in t for t in rho["target"])


def test_classroom_explain_opens_on_words_without_a_title(models_root):
    app = run_page("explain", text="alpha beta gamma", classroom="1")
    assert not app.exception
    assert not app.title
    assert app.toggle(key="explain_words").value is True
    assert app.query_params["words"] in ("1", ["1"])
    assert not any("\u2581" in t for t in heatmap_ticks(app, "explain_attention"))
    app = run_page("explain", text="alpha beta gamma", classroom="1", words="0")  # a link to pieces
    assert app.toggle(key="explain_words").value is False
