"""The Compare page in AppTest: the tiny Luong model, a copy of it, a tiny no-attention model (and a
less trained Luong model whose translations differ), side by side."""

from __future__ import annotations

import base64
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from nmt_core.checkpoint import load_checkpoint
from nmt_core.decoding import DecodeSettings
from nmt_core.figures.sizing import CLASSROOM_ROW_HEIGHT, MIN_CLASSROOM_ROW_HEIGHT
from nmt_core.figures.traces import label
from nmt_core.views.attention import attention_view, entropy
from nmt_core.views.heatmap_data import CONTEXT_ROW, DECIMALS
from tests.apphelpers import run_page, vega_charts
from tests.conftest import WORDS, tiny_config, trained
from tests.test_translate_page import heatmaps

SENTENCE = "alpha beta gamma delta"


@pytest.fixture(scope="session")
def no_attention_dir(tmp_path_factory, reverse_corpus):
    """A tiny model without attention (the encoder's final state is all the decoder sees)."""
    return trained(tmp_path_factory, "tiny-none", tiny_config(reverse_corpus, Path("unused"), epochs=2,
                                                               model={"attention": "none"}))


@pytest.fixture(scope="session")
def rough_dir(tmp_path_factory, reverse_corpus):
    """A Luong model trained for one epoch only: same tokenizers as tiny-luong, other translations."""
    return trained(tmp_path_factory, "tiny-rough", tiny_config(reverse_corpus, Path("unused"), epochs=1))


@pytest.fixture
def compare_root(models_root, tiny_checkpoint_dir, no_attention_dir):
    """tiny-luong, the same checkpoint copied as tiny-luong-copy, and tiny-none."""
    shutil.copytree(tiny_checkpoint_dir, models_root / "tiny-luong-copy")
    shutil.copytree(no_attention_dir, models_root / "tiny-none")
    return models_root


def array(value) -> np.ndarray:
    """A plotly JSON array: a plain list, or plotly's typed-array form {"dtype", "bdata" (base64), "shape"}."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return flat.reshape([int(n) for n in str(value.get("shape", len(flat))).split(",")])
    return np.asarray(value, dtype=float)


def charts(app) -> dict[str, dict]:
    """Plotly figures by the key the page gave them (compare_heatmap_NAME, compare_entropy...)."""
    return {e.proto.id.split("-", 2)[2]: json.loads(e.proto.spec) for e in app.get("plotly_chart")}


def decode(root, name: str, sentence: str, settings: DecodeSettings, prefix=None):
    """What the page should show for ``name``: the same checkpoint decoding directly."""
    return load_checkpoint(root / name).translator.translate(sentence, settings, prefix)


def captions(app) -> list[str]:
    return [c.value.replace("\\", "") for c in app.caption]  # captions are markdown-escaped


def test_default_selection_puts_models_side_by_side(compare_root):
    app = run_page("compare", SENTENCE)
    assert not app.exception and not app.error
    chosen = app.multiselect[0].value
    # The sidebar's model, a new attention type, then the rest; laid out in the order of the idea's history
    # (no attention before Luong), the sidebar's model first among equals.
    assert chosen == ["tiny-none", "tiny-luong", "tiny-luong-copy"]
    assert app.query_params["models"] in (",".join(chosen), [",".join(chosen)])
    settings = app.session_state["settings"]
    expected = [decode(compare_root, name, SENTENCE, settings).translation for name in chosen]
    assert [t.value for t in app.text] == expected
    shown = heatmaps(app)
    luong, copy, bar = (shown[f"compare_{kind}_{name}"] for kind, name in (
        ("heatmap", "tiny-luong"), ("heatmap", "tiny-luong-copy"), ("context", "tiny-none")))
    # Same source axis, same rows, one group: the component lines their rows up across columns.
    assert luong["pieces"]["source"] == copy["pieces"]["source"]
    assert luong["row_height"] == copy["row_height"] == bar["row_height"] and luong["fit"] is None
    assert luong["group"] == copy["group"] == bar["group"] == "compare"
    assert [bar["switch"], luong["switch"], copy["switch"]] == [True, False, False]  # one switch, the first column's
    assert luong["scale"] == {"show": False} and luong["y_title"] == ""  # narrow columns: no scale, no row title
    assert not charts(app).keys() & {"compare_heatmap_tiny-luong", "compare_context_tiny-none"}  # no plotly heatmap


def test_no_attention_model_gets_a_uniform_context_bar_and_a_note(compare_root):
    app = run_page("compare", SENTENCE)
    trace = decode(compare_root, "tiny-none", SENTENCE, app.session_state["settings"])
    bar = heatmaps(app)["compare_context_tiny-none"]
    assert bar["pieces"]["target"] == [CONTEXT_ROW] and bar["pieces"]["source"] == trace.source_tokens
    z = np.asarray(bar["pieces"]["matrix"])
    assert z.shape == (1, len(trace.source_tokens)) and np.allclose(z, z[0, 0])
    assert bar["scale"]["colors"] == "grey" and "final state" in bar["hover_note"]
    assert any("final state" in c for c in captions(app))
    assert "compare_alignment_tiny-none" not in charts(app)
    assert any("No attention, so no alignment" in c for c in captions(app))


def test_entropy_per_step_in_bits_for_models_with_attention(compare_root):
    app = run_page("compare", SENTENCE)
    figure = charts(app)["compare_entropy"]
    lines = [d for d in figure["data"] if d.get("mode") == "lines+markers"]
    assert [d["name"] for d in lines] == ["tiny-luong", "tiny-luong-copy"]  # no line for tiny-none
    trace = decode(compare_root, "tiny-luong", SENTENCE, app.session_state["settings"])
    np.testing.assert_allclose(array(lines[0]["y"]), entropy(trace.attention, base=2), atol=1e-6)
    uniform = figure["layout"]["shapes"][0]["y0"]
    assert uniform == pytest.approx(math.log2(len(trace.source_tokens)))
    assert "bits" in figure["layout"]["yaxis"]["title"]["text"]
    assert any("bits" in c for c in captions(app))


def test_difference_of_a_model_and_its_copy_is_zero(compare_root):
    app = run_page("compare", SENTENCE)
    assert app.selectbox(key="compare_pair").options == ["tiny-luong − tiny-luong-copy"]  # tiny-none has none
    difference = heatmaps(app)["compare_difference"]
    assert np.allclose(difference["pieces"]["matrix"], 0.0) and np.allclose(difference["words"]["matrix"], 0.0)
    assert difference["scale"] == {"colors": "diverging", "range": "symmetric", "label": "A − B"}  # centred at 0
    assert difference["group"] == "compare" and difference["switch"] is False
    assert any("same translation" in c for c in captions(app))
    assert app.query_params["pair"] in ("tiny-luong,tiny-luong-copy", ["tiny-luong,tiny-luong-copy"])


def test_difference_forces_b_to_write_as_translation_when_they_differ(models_root, rough_dir):
    shutil.copytree(rough_dir, models_root / "tiny-rough")
    settings = DecodeSettings(method="greedy")
    # A sentence on which the two models disagree (the rough model has seen one epoch).
    sentences = [" ".join(WORDS[i:i + n]) for n in (7, 6, 5) for i in range(0, len(WORDS) - n + 1)]
    sentence = next(s for s in sentences if decode(models_root, "tiny-luong", s, settings).target_ids
                    != decode(models_root, "tiny-rough", s, settings).target_ids)
    app = run_page("compare", sentence, models="tiny-luong,tiny-rough", method="greedy")
    assert not app.exception
    a = decode(models_root, "tiny-luong", sentence, settings)
    forced = decode(models_root, "tiny-rough", sentence, settings, prefix=a.target_ids)
    assert forced.target_ids[:len(a.target_ids)] == a.target_ids
    assert any("forced to write" in c for c in captions(app))
    difference = heatmaps(app)["compare_difference"]["pieces"]
    assert difference["target"] == a.target_tokens
    expected = np.array(a.attention) - np.array(forced.attention[:len(a.target_ids)])
    np.testing.assert_allclose(difference["matrix"], expected, atol=10**-DECIMALS)


def test_word_alignment_links_every_target_word(compare_root):
    app = run_page("compare", SENTENCE)
    trace = decode(compare_root, "tiny-luong", SENTENCE, app.session_state["settings"])
    words = attention_view(trace.source_tokens, trace.target_tokens, trace.attention, merge_words=True)
    figure = charts(app)["compare_alignment_tiny-luong"]
    lines = [d for d in figure["data"] if d.get("mode") == "lines"]
    assert len(lines) == len(words.target)
    labels = [a["text"] for a in figure["layout"]["annotations"]]
    assert labels == [label(w) for w in words.source] + [label(w) for w in words.target]


def test_models_come_from_the_url_and_unknown_names_are_dropped(compare_root):
    app = run_page("compare", SENTENCE, models="tiny-none,../../etc,tiny-luong-copy,<b>")
    assert not app.exception
    assert app.multiselect[0].value == ["tiny-none", "tiny-luong-copy"]
    assert set(heatmaps(app)) >= {"compare_context_tiny-none", "compare_heatmap_tiny-luong-copy"}


def test_one_model_asks_for_another(compare_root):
    app = run_page("compare", SENTENCE, models="tiny-luong")
    assert not app.exception
    assert "at least two" in app.info[0].value
    assert not app.get("plotly_chart") and not heatmaps(app)


def test_every_heatmap_sends_words_and_pieces_and_the_link_chooses(compare_root):
    """The words/pieces switch is the heatmaps' own, in the browser (tests/test_browser.py): every heatmap of the
    page carries both views, and ?words= names the one they open on."""
    sentence = "alphabeta gamma"  # an unseen word cut into several pieces
    app = run_page("compare", sentence)
    assert not app.exception and not app.main.toggle  # no server-side toggle
    trace = decode(compare_root, "tiny-luong", sentence, app.session_state["settings"])
    words = attention_view(trace.source_tokens, trace.target_tokens, trace.attention, merge_words=True)
    assert len(words.source) < len(trace.source_tokens)
    shown = heatmaps(app)
    for key in ("compare_heatmap_tiny-luong", "compare_context_tiny-none", "compare_difference"):
        assert shown[key]["words"]["source"] == words.source and shown[key]["pieces"]["source"] == trace.source_tokens
        assert shown[key]["merge"] is False
    np.testing.assert_allclose(shown["compare_heatmap_tiny-luong"]["words"]["matrix"], words.matrix,
                               atol=10**-DECIMALS)
    assert app.query_params["words"] in ("0", ["0"])
    linked = run_page("compare", sentence, words="1")
    assert all(data["merge"] is True for data in heatmaps(linked).values())


def test_classroom_mode_keeps_translations_heatmaps_and_alignment(compare_root):
    app = run_page("compare", SENTENCE, classroom="1")
    assert not app.exception
    # The model picker is folded away, named by its models, so the heatmaps open above the fold.
    (picker,) = [e for e in app.expander if e.label.replace("\\", "").startswith("Models: tiny-")]
    assert picker.multiselect(key="compare_models").value == app.session_state["compare_models"]
    figures = charts(app)
    assert "compare_entropy" not in figures and "compare_difference" not in heatmaps(app)
    assert "compare_alignment_tiny-luong" in figures
    assert heatmaps(app)["compare_heatmap_tiny-luong"]["font_size"] == 22
    assert len(app.text) == 2  # two models by default on a projector


def test_a_broken_checkpoint_is_an_error_in_its_own_column(compare_root):
    (compare_root / "tiny-luong-copy" / "model.safetensors").write_bytes(b"broken")
    app = run_page("compare", SENTENCE)
    assert not app.exception
    assert len(app.error) == 1 and "cannot be loaded" in app.error[0].value
    assert "compare_heatmap_tiny-luong" in heatmaps(app) and len(app.text) == 2


def test_an_empty_sentence_is_a_warning_not_a_traceback(compare_root):
    app = run_page("compare", " ")
    assert not app.exception
    assert app.warning and all("empty" in w.value for w in app.warning)


def test_test_bleu_by_source_length_from_every_model_card(compare_root):
    app = run_page("compare", SENTENCE)
    assert not app.exception
    (rows,) = [data for spec, data in vega_charts(app) if spec.get("title") == "Test BLEU by source length"]
    assert set(rows["model"]) == {"tiny-luong", "tiny-luong-copy", "tiny-none"}
    for name in ("tiny-luong", "tiny-none"):
        recorded = load_checkpoint(compare_root / name).config["metrics"]["test_by_source_length"]
        shown = rows[rows["model"] == name]
        assert list(zip(shown["words"], shown["BLEU"], strict=True)) == [(b["words"], b["bleu"]) for b in recorded]


def set_source_language(folder, language: str):
    config = json.loads((folder / "config.json").read_text())
    config["source_language"] = language
    (folder / "config.json").write_text(json.dumps(config))


def test_a_column_reading_another_language_than_the_sentence_is_flagged(compare_root):
    """The sentence is in the sidebar model's language; a column trained on another language says so."""
    set_source_language(compare_root / "tiny-luong", "fra")
    set_source_language(compare_root / "tiny-luong-copy", "fra")
    set_source_language(compare_root / "tiny-none", "spa")
    app = run_page("compare", SENTENCE, models="tiny-luong,tiny-luong-copy,tiny-none")
    assert not app.exception
    warnings = [w.value for w in app.warning]
    assert warnings == ["This model reads Spanish, and the sentence is in French: its translation and attention "
                        "show what it makes of unknown words."]
    set_source_language(compare_root / "tiny-none", "fra")
    assert not run_page("compare", SENTENCE, models="tiny-luong,tiny-luong-copy,tiny-none").warning


def test_each_column_says_how_its_model_read_the_sentence(compare_root):
    """A notice from reading the sentence (here: cut to the encoder's limit) shows in that model's column."""
    long_sentence = " ".join(WORDS * 40)
    app = run_page("compare", long_sentence, models="tiny-luong,tiny-none")
    assert not app.exception
    notices = [c for c in captions(app) if c.startswith("The sentence is too long")]
    assert len(notices) == 2


# --- a Transformer beside the RNNs ----------------------------------------------------------------------


@pytest.fixture
def history_root(compare_root, tiny_transformer_dir):
    """tiny-luong, tiny-luong-copy, tiny-none and tiny-transformer."""
    shutil.copytree(tiny_transformer_dir, compare_root / "tiny-transformer")
    return compare_root


def test_compare_opens_on_no_attention_luong_and_the_transformer_in_historys_order(history_root):
    app = run_page("compare", SENTENCE)
    assert not app.exception and not app.error
    # Every attention type once, oldest first; the sidebar's Luong model before its copy.
    assert app.multiselect[0].value == ["tiny-none", "tiny-luong", "tiny-luong-copy", "tiny-transformer"]
    assert any("multi-head" in c for c in captions(app))
    # Only the Transformer column has a layer and head choice.
    assert [s.key for s in app.selectbox if s.key and s.key.startswith("compare_heads_")] == \
        ["compare_heads_tiny-transformer"]


def test_a_transformer_columns_head_choice_drives_its_heatmap_entropy_and_alignment(history_root):
    app = run_page("compare", SENTENCE, models="tiny-luong,tiny-transformer")
    settings = app.session_state["settings"]
    trace = decode(history_root, "tiny-transformer", SENTENCE, settings)
    picker = app.selectbox(key="compare_heads_tiny-transformer")
    assert picker.value == "L2"  # the model's own default row
    np.testing.assert_allclose(heatmaps(app)["compare_heatmap_tiny-transformer"]["pieces"]["matrix"],
                               trace.attention, atol=10**-DECIMALS)
    per_head = np.asarray(trace.layer_attention).transpose(1, 2, 0, 3)  # (L, h, T, S)
    picker.set_value("L1H4").run()
    assert not app.exception
    figures = charts(app)
    np.testing.assert_allclose(heatmaps(app)["compare_heatmap_tiny-transformer"]["pieces"]["matrix"],
                               per_head[0, 3], atol=10**-DECIMALS)
    line = next(d for d in figures["compare_entropy"]["data"] if d.get("name") == "tiny-transformer")
    np.testing.assert_allclose(array(line["y"]), entropy(per_head[0, 3], base=2), atol=1e-6)
    words = attention_view(trace.source_tokens, trace.target_tokens, per_head[0, 3], merge_words=True)
    shown = [a for a in figures["compare_alignment_tiny-transformer"]["data"] if a.get("mode") == "lines"]
    assert len(shown) == len(words.target)
    assert app.query_params["column_heads"] in ("tiny-transformer:L1H4", ["tiny-transformer:L1H4"])
    reopened = run_page("compare", SENTENCE, models="tiny-luong,tiny-transformer",
                        column_heads="tiny-transformer:all")
    np.testing.assert_allclose(heatmaps(reopened)["compare_heatmap_tiny-transformer"]["pieces"]["matrix"],
                               per_head.mean(axis=(0, 1)), atol=10**-DECIMALS)


# --- issue 13: classroom mode at 1280x720 ---------------------------------------------------------------


def test_classroom_compare_has_no_title_and_opens_on_words_sized_to_the_projector(compare_root):
    app = run_page("compare", SENTENCE, classroom="1")
    assert not app.exception
    assert not app.title  # the menu names the page; its height goes to the heatmaps
    shown = heatmaps(app)
    assert all(data["merge"] is True for data in shown.values())  # words first on a projector
    assert app.query_params["words"] in ("1", ["1"])
    (picker,) = [e for e in app.expander if e.label.replace("\\", "").startswith("Models: tiny-")]
    assert not app.main.toggle  # pieces one click away, in the first heatmap (its switch)
    # names (one line each) above the heatmaps; the translations below them
    names = [m.value.replace("\\", "") for m in app.markdown if " · " in m.value]
    assert "**tiny-luong** · luong-general" in names and "**tiny-none** · none" in names
    fits = [data["fit"] for data in shown.values()]
    assert all(fit == fits[0] for fit in fits)  # one row height for every column: rows line up
    for view in ("pieces", "words"):
        row, font, label_font = fits[0][view]
        assert MIN_CLASSROOM_ROW_HEIGHT <= row <= CLASSROOM_ROW_HEIGHT and label_font <= font <= row - 2
    assert shown["compare_heatmap_tiny-luong"]["x_title"] == ""  # the upright words say it


def test_a_classroom_link_with_words_0_opens_pieces(compare_root):
    app = run_page("compare", SENTENCE, classroom="1", words="0")
    assert not app.exception
    assert all(data["merge"] is False for data in heatmaps(app).values())
    app = run_page("compare", SENTENCE, words="1")  # and a normal-mode link with words=1, words
    assert all(data["merge"] is True for data in heatmaps(app).values())


def test_classroom_heatmap_rows_fit_the_projector():
    """A 15-word sentence's heatmaps (16 rows: its words and </s>) fit the height left under the names on a
    1280x720 screen; rows shrink, and their labels with them, only as far as needed."""
    from nmt_core.figures.compare import controls_lines, fitted_aligned_rows
    from nmt_core.figures.sizing import component_chrome
    from pages.compare import CLASSROOM_HEATMAP_HEIGHT

    for columns in (2, 4):
        for rows in (3, 7, 16, 22):
            row_height, font = fitted_aligned_rows(rows, 7, CLASSROOM_HEATMAP_HEIGHT, 22, columns)
            assert MIN_CLASSROOM_ROW_HEIGHT <= row_height <= CLASSROOM_ROW_HEIGHT and font <= min(22, row_height - 2)
            if rows <= 16 and columns == 2:  # the projector's default; four columns take a line more (the readout)
                chrome = component_chrome(7, 22, font, controls_lines(columns))
                assert chrome + rows * (row_height + 1) <= CLASSROOM_HEATMAP_HEIGHT, (columns, rows)
    assert fitted_aligned_rows(3, 7, CLASSROOM_HEATMAP_HEIGHT, 22, 2) == (CLASSROOM_ROW_HEIGHT, 22)


def test_classroom_keeps_a_transformer_columns_head_choice_below_its_heatmap(history_root):
    """On a projector the head picker moves under the heatmap; it still drives the heatmap, and a link's
    ?column_heads= still opens the head it names."""
    app = run_page("compare", SENTENCE, classroom="1", models="tiny-luong,tiny-transformer",
                   column_heads="tiny-transformer:L1H4")
    assert not app.exception
    trace = decode(history_root, "tiny-transformer", SENTENCE, app.session_state["settings"])
    per_head = np.asarray(trace.layer_attention).transpose(1, 2, 0, 3)  # (L, h, T, S)
    words = attention_view(trace.source_tokens, trace.target_tokens, per_head[0, 3], merge_words=True)
    assert app.selectbox(key="compare_heads_tiny-transformer").value == "L1H4"
    shown = heatmaps(app)["compare_heatmap_tiny-transformer"]
    assert shown["merge"] is True  # words by default on a projector
    np.testing.assert_allclose(shown["words"]["matrix"], words.matrix, atol=10**-DECIMALS)


def test_narrow_columns_shrink_the_upright_labels_until_they_stand_apart():
    """Three or four models side by side on a projector: each source label gets its share of the column's
    width (LABEL_SPACING font sizes, centre to centre) or a smaller font; two columns keep the full size."""
    from nmt_core.figures.compare import LABEL_SPACING, SMALLEST_LABEL, upright_label_font

    rows = ["yesterday", "market"]
    assert upright_label_font(519, 12, ["lambda", "</s>"], 22) == 22  # two columns at 1280 px: room enough
    font = upright_label_font(338, 16, rows, 22)  # three columns
    assert font < 22 and (338 - (0.62 * 22 * len("yesterday") + 14) - 4) / 16 >= LABEL_SPACING * font
    assert upright_label_font(249, 16, rows, 22) == SMALLEST_LABEL  # four: as small as it goes (not enough)


def test_classroom_opens_on_two_models_and_a_link_keeps_its_own(compare_root):
    app = run_page("compare", SENTENCE, classroom="1")
    assert len(app.session_state["compare_models"]) == 2  # four columns would be too narrow to read
    app = run_page("compare", SENTENCE, classroom="1", models="tiny-luong,tiny-luong-copy,tiny-none")
    assert app.session_state["compare_models"] == ["tiny-luong", "tiny-luong-copy", "tiny-none"]
    assert len(run_page("compare", SENTENCE).session_state["compare_models"]) == 3  # normal mode: all it has
