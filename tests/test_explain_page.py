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


def test_both_heatmaps_send_words_and_pieces_with_each_rows_correlation(models_root):
    """Attention and attribution are heatmap components of one group: one words/pieces switch (the attention's, in
    the browser: tests/test_browser.py), each attribution row noting its rank correlation, in both views."""
    import numpy as np

    from tests.test_translate_page import heatmaps

    app = run_page("explain", text="alphabeta gamma", attribution="saliency")  # an unseen word: several pieces
    assert not app.exception and app.title and not app.main.toggle
    shown = heatmaps(app)
    attention, attribution = shown["explain_attention"], shown["explain_attribution"]
    assert attention["merge"] is False and app.query_params["words"] in ("0", ["0"])  # pieces first in normal mode
    assert attention["group"] == attribution["group"] and attention["switch"] and not attribution["switch"]
    assert attention["title"] == "Attention α(t, i)" and attribution["title"].startswith("saliency")
    pieces = attention["pieces"]["source"]
    assert attribution["pieces"]["source"] == pieces and "</s>" in pieces
    words = attention["words"]["source"]
    assert words == ["alphabeta", "gamma", "</s>"] and len(words) < len(pieces)
    assert attribution["words"]["source"] == words
    assert attribution["scale"]["range"] == "auto"  # rows normalised: the palest to the darkest of the map
    for view in ("pieces", "words"):  # a rank correlation per row shown (its values: the test below)
        notes = attribution[view]["notes"]
        assert len(notes) == len(attribution[view]["target"]) and attribution["notes_title"] == "Spearman ρ"
        assert all(note == "–" or -1 <= float(note) <= 1 for note in notes), notes
        np.testing.assert_allclose(np.asarray(attribution[view]["matrix"]).sum(axis=1), 1.0, atol=1e-2)
    assert all(d["merge"] is True for d in heatmaps(run_page("explain", text="alphabeta gamma", words="1")).values())


def test_each_attribution_row_notes_its_rank_correlation_with_the_attention_row():
    """Over pieces, and over words (both merged first); a constant row has none ("–"). Scores drawn as |score|,
    rows normalised."""
    import numpy as np

    from nmt_core.explain.attribution import rank_correlation
    from nmt_core.figures.explain import explain_payloads
    from nmt_core.views.attention import attention_view

    source, target = ["\u2581al", "pha", "\u2581be", "</s>"], ["\u2581x", "\u2581y", "</s>"]
    attention = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.2, 0.6, 0.1], [0.25, 0.25, 0.25, 0.25]])
    scores = np.array([[-3.0, 1.0, 0.5, 0.2], [0.1, -0.2, 0.3, 0.4], [1.0, 2.0, 3.0, 4.0]])
    plain, scored = explain_payloads(source, target, attention, scores)
    assert plain["pieces"]["matrix"] == attention.round(3).tolist() and "notes" not in plain["pieces"]
    normalised = np.abs(scores) / np.abs(scores).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(scored["pieces"]["matrix"], normalised, atol=1e-3)
    assert scored["pieces"]["notes"] == [f"{rank_correlation(a, b):.2f}" for a, b in zip(attention[:2], normalised[:2],
                                                                                          strict=True)] + ["–"]
    words_a = attention_view(source, target, attention, True).matrix
    words_s = attention_view(source, target, normalised, True).matrix
    assert scored["words"]["notes"][:2] == [f"{rank_correlation(a, b):.2f}" for a, b in zip(words_a[:2], words_s[:2],
                                                                                           strict=True)]
    none, alone = explain_payloads(source, target, None, scores)  # no attention: the attribution alone, no notes
    assert none is None and "notes" not in alone["words"]


def test_classroom_explain_opens_on_words_without_a_title(models_root):
    from tests.test_translate_page import heatmaps

    app = run_page("explain", text="alpha beta gamma", classroom="1")
    assert not app.exception
    assert not app.title
    shown = heatmaps(app)
    assert all(d["merge"] is True for d in shown.values())
    assert app.query_params["words"] in ("1", ["1"])
    assert not any("\u2581" in t for t in shown["explain_attention"]["words"]["source"])
    assert all(d["fit"] == shown["explain_attention"]["fit"] for d in shown.values())  # row for row
    app = run_page("explain", text="alpha beta gamma", classroom="1", words="0")  # a link to pieces
    assert all(d["merge"] is False for d in heatmaps(app).values())
