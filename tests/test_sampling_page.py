"""The Sampling page (AppTest): temperature panels, replayable samples, the sample and beam trees."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from nmt_core.decoding import DecodeSettings
from nmt_core.views.beam import beam_settings
from nmt_core.views.sampling import sample_settings
from pages.lib import common
from pages.lib.style import CLASSROOM_FONT_SIZE
from tests.apphelpers import ROOT
from tests.test_beam_page import plotly_array

SENTENCE = "alpha beta gamma delta"


def page(**params) -> AppTest:
    """The page opened from a link (sentence and settings in the URL)."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in {"text": SENTENCE, **params}.items():
        app.query_params[key] = value
    app.run()
    return app.switch_page("pages/sampling.py").run()


def sample_rows(app) -> dict[int, str]:
    """seed -> the translation shown in its row (the texts after the prefix line)."""
    texts = [t.value for t in app.text][1:]
    seeds = [int(m.value.strip("*").split()[1]) for m in app.markdown if m.value.strip("*").startswith("seed ")]
    return dict(zip(seeds, texts, strict=True))


def test_page_shows_temperatures_samples_and_trees(models_root, translator):
    app = page(method="sample", temperature="2.0", top_k="4")
    assert not app.exception
    charts = app.get("vega_lite_chart")
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.spec)
    # One panel per temperature: the demo's three and the sidebar's, in order.
    assert spec["facet"]["column"]["sort"] == ["T = 0.01", "T = 1", "T = 2", "T = 100"]
    rows = sample_rows(app)
    assert sorted(rows) == list(range(8))
    for seed in (0, 5):
        expected = translator.translate(SENTENCE, sample_settings(DecodeSettings(), 2.0, 4, 1.0, seed))
        assert rows[seed] == (expected.translation or "(empty)")
    sample_tree, beam_tree = app.get("plotly_chart")
    nodes = next(t for t in json.loads(sample_tree.proto.spec)["data"] if t.get("name") == "nodes")
    assert nodes["text"][0] == "×8"  # every sample starts at the root
    beam = translator.translate(SENTENCE, beam_settings(DecodeSettings(), app.session_state["beam"],
                                                        app.session_state["lp"]))
    drawn = next(t for t in json.loads(beam_tree.proto.spec)["data"] if t.get("name") == "nodes")
    assert len(plotly_array(drawn["customdata"])) == sum(not n.pruned for n in beam.beam.nodes)


def test_sample_count_changes_the_rows(models_root):
    app = page()
    app.number_input(key="sampling_page_count").set_value(3).run()
    assert not app.exception
    assert sorted(sample_rows(app)) == [0, 1, 2]


def test_step_slider_moves_along_the_greedy_prefix(models_root, translator):
    greedy = translator.translate(SENTENCE, DecodeSettings(method="greedy"))
    app = page()
    assert app.text[0].value.startswith("(nothing yet")
    app.slider(key="sampling_page_step").set_value(2).run()
    assert not app.exception
    assert app.text[0].value == "".join(greedy.target_tokens[:2]).replace("▁", " ").strip()
    assert app.query_params["step"] in ("2", ["2"])


def test_replay_sets_the_sidebar_and_gives_the_same_text(models_root):
    app = page(method="greedy", temperature="2.5")
    rows = sample_rows(app)
    app.button(key="sampling_replay_3").click().run()
    assert not app.exception
    settings = app.session_state["settings"]
    assert settings.method == "sample" and settings.seed == 3 and settings.temperature == 2.5
    assert app.sidebar.radio[0].value == "sample"
    assert app.button(key="sampling_replay_3").disabled  # the row the sidebar now samples
    # Decode again from scratch (no cached trace): the Translate page shows the same sample.
    common.translate_cached.clear()
    app.switch_page("pages/translate.py").run()
    assert not app.exception
    assert app.text[0].value == rows[3]
    assert app.query_params["seed"] in ("3", ["3"]) and app.query_params["method"] in ("sample", ["sample"])


def test_classroom_mode(models_root):
    app = page(classroom="1")
    assert not app.exception
    for chart in app.get("plotly_chart"):
        assert json.loads(chart.proto.spec)["layout"]["font"]["size"] == CLASSROOM_FONT_SIZE
    assert not any("softmax" in c.value for c in app.caption)  # essentials only


def test_empty_sentence_is_a_message(models_root):
    app = page(text=" ")
    assert not app.exception
    assert "empty" in app.warning[0].value


# --- issue 13: words by default on a projector, pieces one toggle away ------------------------------------


def temperature_labels(app) -> list[str]:
    (chart,) = app.get("vega_lite_chart")
    return json.loads(chart.proto.spec)["spec"]["encoding"]["y"]["sort"]


def tree_labels(app, key: str) -> list[str]:
    spec = json.loads(next(c for c in app.get("plotly_chart") if c.proto.id.endswith(key)).proto.spec)
    return [t for t in next(t for t in spec["data"] if t.get("name") == "nodes")["text"] if t]


def marked(text: str) -> bool:
    """A piece with SentencePiece's word marker (the bare marker, a piece of its own, reads as itself)."""
    return "\u2581" in text and text != "\u2581"


def test_words_toggle_pieces_in_normal_mode_words_in_classroom(models_root):
    app = page()
    assert not app.exception and app.title  # normal mode: the title, and pieces first
    assert app.toggle(key="sampling_page_words").value is False
    assert app.query_params["words"] in ("0", ["0"])
    assert any(marked(t) for t in temperature_labels(app))
    assert any(marked(t) for t in tree_labels(app, "sampling_page_samples"))
    app = page(classroom="1")
    assert not app.exception and not app.title  # the menu names the page on a projector
    assert app.toggle(key="sampling_page_words").value is True
    assert app.query_params["words"] in ("1", ["1"])
    for labels in (temperature_labels(app), tree_labels(app, "sampling_page_samples"),
                   tree_labels(app, "sampling_page_beam")):
        assert labels and not any(marked(t) for t in labels), [t for t in labels if marked(t)]
    app.toggle(key="sampling_page_words").set_value(False).run()  # pieces one toggle away, in the link too
    assert not app.exception and app.query_params["words"] in ("0", ["0"])
    assert any(marked(t) for t in temperature_labels(app))


def test_a_link_with_words_reopens_words(models_root):
    app = page(words="1")
    assert app.toggle(key="sampling_page_words").value is True
    assert not any(marked(t) for t in temperature_labels(app))
    app = page(classroom="1", words="0")
    assert app.toggle(key="sampling_page_words").value is False


def test_word_labels_and_the_word_tree():
    from nmt_core.text import EOS_ID
    from nmt_core.views.sampling import prefix_tree, word_label

    assert [word_label(p) for p in ("\u2581gamma", "ma", ".", "</s>", "<unk>", "(all other tokens)")] == \
        ["gamma", "+ma", ".", "</s>", "<unk>", "(all other tokens)"]
    # two samples that wrote "gamma" with the same pieces share its node; one cut otherwise does not
    words = [[((5, 6), "gamma"), ((EOS_ID,), "</s>")], [((5, 6), "gamma"), ((7,), "delta")],
             [((5, 8, 9), "gamma")]]
    nodes = prefix_tree(words)
    assert [(n.token, n.count) for n in nodes] == [("<s>", 3), ("gamma", 2), ("</s>", 1), ("delta", 1), ("gamma", 1)]
    assert nodes[2].token_id == EOS_ID
