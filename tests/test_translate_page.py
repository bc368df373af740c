"""The Translate page in AppTest: heatmap (pieces and words), probabilities, n-best, downloads, classroom mode.

The heatmap is drawn in the browser (nmt_core/figures/components/heatmap.js; tests/test_browser.py drives it):
here the page must hand its component both views of the decode, the view the link asks for, the sizes that fit
a projector, and the image settings.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import re

import numpy as np
import plotly.colors
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from nmt_core.decoding import Trace
from nmt_core.figures.sizing import CLASSROOM_ROW_HEIGHT, ROW_HEIGHT
from nmt_core.views.attention import attention_view
from nmt_core.views.heatmap_data import DECIMALS, heatmap_payload
from tests.apphelpers import component_js, run_page

FORMAT_KEY = "translate_image_format"
COMPONENT = "attention_explorer.heatmap"


def array(value) -> np.ndarray:
    """A plotly JSON array: a plain list, or plotly's typed-array form {"dtype", "bdata" (base64), "shape"}."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = [int(n) for n in str(value.get("shape", len(flat))).split(",")]
        return flat.reshape(shape)
    return np.asarray(value, dtype=float)


def components(app) -> list:
    return [e for e in app.main if e.type == "bidi_component" and e.proto.component_name == COMPONENT]


def heatmap(app) -> dict:
    """The heatmap component's data: JSON bytes ``{"view": ..., "payload": ...}``, merged here as the
    component's shared.js merges them."""
    (element,) = components(app)
    message = json.loads(element.proto.bytes)
    return {**message["payload"], **message["view"]}


def heatmaps(app) -> dict[str, dict]:
    """Every heatmap component of the page by its key (compare_heatmap_NAME...), its data merged as in heatmap()."""
    found = {}
    for element in components(app):
        message = json.loads(element.proto.bytes)
        found[element.proto.id.split("-", 2)[2]] = {**message["payload"], **message["view"]}
    return found


def shown(data: dict) -> dict:
    """The view the component opens on: words or pieces, as the page says (``merge``)."""
    return data["words" if data["merge"] else "pieces"]


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


def test_heatmap_sends_both_views_of_the_decode_once(models_root, translator):
    app = run_page("translate", "alpha beta gamma mu")
    assert not app.exception
    trace = expected_trace(translator, app, "alpha beta gamma mu")
    assert app.text[0].value == trace.translation
    (element,) = components(app)
    assert not element.proto.isolate_styles  # in the page's DOM: the browser tests and the benchmark read it
    assert not app.get("plotly_chart")  # the heatmap is the component; an RNN has no other figure
    data = heatmap(app)
    assert data["merge"] is False and app.query_params["words"] in ("0", ["0"])  # pieces by default
    pieces = data["pieces"]
    assert pieces["source"] == trace.source_tokens and pieces["target"] == trace.target_tokens  # raw text
    np.testing.assert_allclose(pieces["matrix"], trace.attention, atol=0.5 * 10**-DECIMALS)
    words = attention_view(trace.source_tokens, trace.target_tokens, trace.attention, merge_words=True)
    assert data["words"]["source"] == words.source and data["words"]["target"] == words.target
    np.testing.assert_allclose(data["words"]["matrix"], words.matrix, atol=0.5 * 10**-DECIMALS)
    assert data["font_size"] == 13 and data["row_height"] == ROW_HEIGHT and data["fit"] is None
    assert data["y_title"] == "translation"
    assert len(element.proto.bytes) < 5_000  # both views of a 4-word sentence: a few kB


def test_probabilities_candidates_and_trace_download(models_root, translator, downloads, deferred_downloads):
    app = run_page("translate", "alpha beta gamma")
    assert not app.exception
    trace = expected_trace(translator, app, "alpha beta gamma")
    assert not app.get("vega_lite_chart")  # each token's probability is drawn beside its heatmap row
    data = heatmap(app)
    assert data["show_probability"] is True
    np.testing.assert_allclose(data["pieces"]["probability"], [math.exp(s.logprob) for s in trace.output_steps],
                               atol=1e-3)
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
    """The component's Download button saves the view shown (tests/test_browser.py clicks it); the radio below
    chooses the format."""
    app = run_page("translate", "alpha beta gamma")
    assert heatmap(app)["image"] == {"format": "png", "filename": "attention-tiny-luong", "scale": 2}
    app.radio(key=FORMAT_KEY).set_value("svg").run()
    assert not app.exception
    assert heatmap(app)["image"]["format"] == "svg"
    js = component_js("heatmap.js")
    assert "image/svg+xml" in js and '"image/png"' in js  # both drawn in the browser


def test_the_component_code_is_sent_as_files_not_text(models_root):
    """Streamlit would write inline JS and CSS into every element message (each new decode): the element names
    heatmap.js and heatmap.css instead, which the browser fetches once per page (and heatmap.js imports shared.js)."""
    (element,) = components(run_page("translate", "alpha beta gamma"))
    assert not element.proto.js_content and not element.proto.css_content
    assert element.proto.js_source_path.endswith("heatmap.js") and element.proto.css_source_path.endswith("heatmap.css")
    assert 'from "./shared.js"' in component_js("heatmap.js")


def test_the_js_puts_text_in_the_page_only_as_text():
    js = component_js("heatmap.js")
    for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "createContextualFragment",
                 "DOMParser"):
        assert sink not in js, sink
    assert "textContent" in js


@pytest.mark.parametrize(("name", "plotly_name"), [("BLUES", "Blues"), ("RDBU_R", "RdBu_r")])
def test_the_js_colours_are_plotly_scales(name, plotly_name):
    """The component's scales are plotly.py's Blues (attention) and RdBu_r (Compare's A − B, centred at 0), the
    scales the app's plotly heatmaps had."""
    js = component_js("heatmap.js")
    start = js.index(f"const {name} = [")
    drawn = [tuple(int(v) for v in found) for found in re.findall(r"\[(\d+), (\d+), (\d+)\]",
                                                                    js[start:js.index("];", start)])]
    scale = plotly.colors.get_colorscale(plotly_name)
    expected = [tuple(int(v) for v in re.findall(r"\d+", colour)) for _, colour in scale]
    assert drawn == expected


def test_words_view_merges_pieces_and_the_link_chooses_the_view(models_root, translator):
    sentence = "alphabeta gamma"  # an unseen word the tiny tokenizer cuts into several pieces
    app = run_page("translate", sentence)
    trace = expected_trace(translator, app, sentence)
    data = heatmap(app)
    words = data["words"]
    assert len(words["source"]) < len(trace.source_tokens)  # the sentence really has a multi-piece word
    merged = attention_view(trace.source_tokens, trace.target_tokens, trace.attention, merge_words=True)
    # the hover names a word's pieces where it has several (0 for a word of one piece)
    assert words["source_pieces"] == [p if len(p) > 1 else 0 for p in merged.source_pieces]
    assert any(p for p in words["source_pieces"])
    np.testing.assert_allclose(np.asarray(words["matrix"]).sum(axis=1), 1.0, atol=1e-2)
    assert "sum" in data["rule"] and "mean" in data["rule"] and "*" not in data["rule"]  # the rule, as text
    assert data["merge"] is False and shown(data) is data["pieces"]
    reopened = run_page("translate", sentence, words="1")  # a link with ?words=1 opens on words
    assert not reopened.exception
    assert heatmap(reopened)["merge"] is True and reopened.query_params["words"] in ("1", ["1"])
    assert heatmap(reopened)["words"] == words  # the same payload: only the view fields differ
    assert heatmap(run_page("translate", sentence, words="7"))["merge"] is True  # clamped, not an error


def test_classroom_mode_shows_only_translation_and_a_bigger_heatmap(models_root):
    from pages.translate import CLASSROOM_HEATMAP_HEIGHT, heatmap_chrome

    normal = heatmap(run_page("translate", "alpha beta gamma"))
    app = run_page("translate", "alpha beta gamma", classroom="1")
    assert not app.exception
    assert app.text[0].value
    big = heatmap(app)
    assert big["classroom"] and big["font_size"] > normal["font_size"]
    assert big["merge"] is True and app.query_params["words"] in ("1", ["1"])  # words first on a projector
    for view in ("pieces", "words"):  # a short sentence: projector-sized rows, and both views fit the screen
        row, font = big["fit"][view]
        assert row == CLASSROOM_ROW_HEIGHT > ROW_HEIGHT and font == big["font_size"]
        longest = max(len(s) for s in big[view]["source"])
        assert heatmap_chrome(longest, font) + row * len(big[view]["target"]) <= CLASSROOM_HEATMAP_HEIGHT
    assert heatmap(run_page("translate", "alpha beta gamma", classroom="1", words="0"))["merge"] is False
    assert not app.dataframe and not app.get("download_button") and not app.get("vega_lite_chart")
    assert not app.subheader and big["show_probability"] is False  # the essentials only


def test_classroom_rows_shrink_to_fit_a_long_sentence(models_root):
    from pages.translate import CLASSROOM_HEATMAP_HEIGHT, heatmap_chrome

    long = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu alpha beta gamma delta epsilon"
    data = heatmap(run_page("translate", long, classroom="1", method="greedy", max="40"))
    for view in ("pieces", "words"):
        row, font = data["fit"][view]
        rows = len(data[view]["target"])
        longest = max(len(s) for s in data[view]["source"])
        assert row * rows + heatmap_chrome(longest, data["font_size"]) <= CLASSROOM_HEATMAP_HEIGHT or row == 20
        assert font <= row - 2


def test_user_text_is_sent_as_data_not_markup(models_root):
    app = run_page("translate", "<b>alpha</b> <i>beta")
    assert not app.exception
    assert not any("<b>" in m.value for m in app.markdown)
    data = heatmap(app)
    # raw text, written by the component with textContent (test_the_js_puts_text_in_the_page_only_as_text)
    assert any("<" in piece for piece in data["pieces"]["source"] if piece != "</s>")


def test_a_rerun_that_changes_nothing_rebuilds_nothing(models_root, monkeypatch):
    """The heatmap's data (its probabilities included) is built once per decode; a rerun (a click elsewhere) reuses
    it, and sends the heatmap's same bytes."""
    from nmt_core.views import heatmap_data  # the page imports these names afresh on every run

    built = []
    for module, function in ((heatmap_data, "heatmap_payload"), (heatmap_data, "with_probabilities")):
        original = getattr(module, function)
        monkeypatch.setattr(module, function, lambda *a, _f=original, _n=function, **k: built.append(_n) or _f(*a, **k))
    app = run_page("translate", "delta alpha mu beta")  # a sentence no other test decodes (the caches are shared)
    assert sorted(built[-2:]) == ["heatmap_payload", "with_probabilities"]
    (element,) = components(app)
    sent = element.proto.bytes
    built.clear()
    app.run()
    app.run()
    assert not app.exception
    assert built == []
    assert components(app)[0].proto.bytes == sent
    app.sidebar.text_area[0].set_value("mu delta alpha beta").run()  # a new decode: built afresh
    assert sorted(built) == ["heatmap_payload", "with_probabilities"]


def test_payload_without_attention_is_refused(translator):
    from nmt_core.decoding import DecodeSettings

    trace = translator.translate("alpha beta", DecodeSettings(method="greedy"))
    payload = heatmap_payload(trace)
    assert json.loads(json.dumps(payload)) == payload  # plain JSON
    assert payload["id"] != heatmap_payload(translator.translate("beta alpha", DecodeSettings(method="greedy")))["id"]
    without = dataclasses.replace(trace, steps=[dataclasses.replace(s, attention=None) for s in trace.steps])
    with pytest.raises(ValueError, match="no attention"):
        heatmap_payload(without)


def test_classroom_room_shrinks_by_a_line_for_each_line_a_long_text_wraps_onto():
    from pages.lib.style import classroom_extra_lines

    assert classroom_extra_lines("are you still at home?", 610) == 0  # one line: no room taken
    assert classroom_extra_lines("x" * 100, 610) == 2  # ~1,450 px of classroom type: three lines
    assert classroom_extra_lines("", 610) == 0
