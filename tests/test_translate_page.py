"""The Translate page in AppTest: heatmap (pieces or words), probabilities, n-best, downloads, classroom mode."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from nmt_core.decoding import Trace
from nmt_core.figures.traces import label
from nmt_core.views.attention import attention_view
from tests.apphelpers import run_page

WORDS_KEY = "translate_words"
FORMAT_KEY = "translate_image_format"


def plotly_charts(app) -> list[tuple[dict, dict]]:
    """(figure spec, plotly config) of every plotly chart on the page."""
    return [(json.loads(e.proto.spec), json.loads(e.proto.config or "{}")) for e in app.get("plotly_chart")]


def array(value) -> np.ndarray:
    """A plotly JSON array: a plain list, or plotly's typed-array form {"dtype", "bdata" (base64), "shape"}."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = [int(n) for n in str(value.get("shape", len(flat))).split(",")]
        return flat.reshape(shape)
    return np.asarray(value, dtype=float)


def heatmap(app) -> dict:
    charts = [spec for spec, _ in plotly_charts(app) if spec["data"][0]["type"] == "heatmap"]
    assert len(charts) == 1
    return charts[0]


def expected_trace(translator, app, sentence: str) -> Trace:
    """What the page should show: the same model decoding with the sidebar's settings."""
    return translator.translate(sentence, app.session_state["settings"])


@pytest.fixture
def downloads(monkeypatch) -> list[tuple[bytes, str, str | None]]:
    """Every file the page hands to st.download_button: (data, mime type, file name)."""
    captured = []
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        captured.append((path_or_data, mimetype, filename))
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return captured


@pytest.fixture
def deferred_downloads(monkeypatch) -> list[tuple[object, str | None, str | None]]:
    """Every deferred download (its data written on a click): (the callable, mime type, file name)."""
    captured = []
    original = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        captured.append((data_callable, mimetype, file_name))
        return original(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return captured


def test_heatmap_matches_the_decode_with_piece_labels(models_root, translator):
    app = run_page("translate", "alpha beta gamma mu")
    assert not app.exception
    trace = expected_trace(translator, app, "alpha beta gamma mu")
    assert app.text[0].value == trace.translation
    spec = heatmap(app)
    assert spec["layout"]["xaxis"]["ticktext"] == [label(t) for t in trace.source_tokens]
    assert spec["layout"]["yaxis"]["ticktext"] == [label(t) for t in trace.target_tokens]
    np.testing.assert_allclose(array(spec["data"][0]["z"]), trace.attention, atol=1e-6)
    assert "←" in spec["data"][0]["text"][0][0]  # hover: target ← source and the weight


def test_probabilities_candidates_and_trace_download(models_root, translator, downloads, deferred_downloads):
    app = run_page("translate", "alpha beta gamma")
    assert not app.exception
    trace = expected_trace(translator, app, "alpha beta gamma")
    assert len(app.get("vega_lite_chart")) == 1  # per-token probability chart
    nbest = app.dataframe[0].value
    assert nbest["translation"].tolist() == [h.translation for h in trace.beam.hypotheses]
    buttons = app.get("download_button")
    assert [b.label for b in buttons] == ["Trace (JSON)"]
    # The JSON is written on a click (a deferred download), not on every run.
    assert not [d for d in downloads if d[1] == "application/json"]
    write, mime, filename = [d for d in deferred_downloads if d[1] == "application/json"][-1]  # the last run's
    data = write()
    downloaded = Trace.from_json(data.decode() if isinstance(data, bytes) else data)
    assert downloaded.translation == trace.translation and downloaded.source_tokens == trace.source_tokens
    np.testing.assert_allclose(downloaded.attention, trace.attention, atol=1e-6)
    assert filename == "trace-tiny-luong.json"


def test_heatmap_can_be_saved_as_png_or_svg(models_root):
    app = run_page("translate", "alpha beta gamma")
    heatmap_config = [config for spec, config in plotly_charts(app) if spec["data"][0]["type"] == "heatmap"][0]
    assert heatmap_config["toImageButtonOptions"]["format"] == "png"
    app.radio(key=FORMAT_KEY).set_value("svg").run()
    assert not app.exception
    heatmap_config = [config for spec, config in plotly_charts(app) if spec["data"][0]["type"] == "heatmap"][0]
    assert heatmap_config["toImageButtonOptions"]["format"] == "svg"


def test_words_toggle_merges_pieces_and_goes_into_the_url(models_root, translator):
    sentence = "alphabeta gamma"  # an unseen word the tiny tokenizer cuts into several pieces
    app = run_page("translate", sentence)
    trace = expected_trace(translator, app, sentence)
    words = attention_view(trace.source_tokens, trace.target_tokens, trace.attention, merge_words=True)
    assert len(words.source) < len(trace.source_tokens)  # the sentence really has a multi-piece word
    assert app.toggle(key=WORDS_KEY).value is False
    app.toggle(key=WORDS_KEY).set_value(True).run()
    assert not app.exception
    spec = heatmap(app)
    assert spec["layout"]["xaxis"]["ticktext"] == [label(w) for w in words.source]
    assert spec["layout"]["yaxis"]["ticktext"] == [label(w) for w in words.target]
    np.testing.assert_allclose(array(spec["data"][0]["z"]).sum(axis=1), 1.0, atol=1e-5)
    assert any("sum" in c.value and "mean" in c.value for c in app.caption)  # the rule is stated
    assert app.query_params["words"] in ("1", ["1"])
    reopened = run_page("translate", sentence, words="1")
    assert reopened.toggle(key=WORDS_KEY).value is True
    assert heatmap(reopened)["layout"]["xaxis"]["ticktext"] == spec["layout"]["xaxis"]["ticktext"]


def test_classroom_mode_shows_only_translation_and_a_bigger_heatmap(models_root):
    normal = heatmap(run_page("translate", "alpha beta gamma"))
    app = run_page("translate", "alpha beta gamma", classroom="1")
    assert not app.exception
    assert app.text[0].value
    big = heatmap(app)
    rows = len(big["layout"]["yaxis"]["ticktext"])
    assert big["layout"]["font"]["size"] > normal["layout"]["font"]["size"]
    assert (big["layout"]["height"] - 120) / rows > (normal["layout"]["height"] - 120) / rows
    assert not app.dataframe and not app.get("download_button") and not app.get("vega_lite_chart")
    assert not app.subheader


def test_user_text_in_labels_is_escaped(models_root):
    app = run_page("translate", "<b>alpha</b> <i>beta")
    assert not app.exception
    spec = heatmap(app)
    labels = spec["layout"]["xaxis"]["ticktext"] + spec["layout"]["yaxis"]["ticktext"]
    assert all("<" not in text for text in labels)
    assert "<b>" not in json.dumps(spec["data"][0]["text"])


def test_a_rerun_that_changes_nothing_rebuilds_nothing(models_root, monkeypatch):
    """The heatmap and the probability chart are built once per decode; a rerun (a click elsewhere) reuses them."""
    from nmt_core.figures import traces  # the page imports these names afresh on every run

    built = []
    for function in ("attention_heatmap", "probability_chart"):
        original = getattr(traces, function)
        monkeypatch.setattr(traces, function, lambda *a, _f=original, _n=function, **k: built.append(_n) or _f(*a, **k))
    app = run_page("translate", "delta alpha mu beta")  # a sentence no other test decodes (the caches are shared)
    assert built[-2:] in (["attention_heatmap", "probability_chart"], ["probability_chart", "attention_heatmap"])
    spec = heatmap(app)
    built.clear()
    app.run()
    app.run()
    assert not app.exception
    assert built == []
    assert heatmap(app) == spec
    assert len(app.get("vega_lite_chart")) == 1
    app.sidebar.text_area[0].set_value("mu delta alpha beta").run()  # a new decode: built afresh
    assert sorted(built) == ["attention_heatmap", "probability_chart"]


def test_classroom_room_shrinks_by_a_line_for_each_line_a_long_text_wraps_onto():
    from pages.lib.style import classroom_extra_lines

    assert classroom_extra_lines("are you still at home?", 610) == 0  # one line: no room taken
    assert classroom_extra_lines("x" * 100, 610) == 2  # ~1,450 px of classroom type: three lines
    assert classroom_extra_lines("", 610) == 0
