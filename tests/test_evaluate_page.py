"""The Evaluate page through streamlit.testing: paste a batch, translate, score, curve, export."""

from urllib.parse import parse_qs, urlsplit

import pytest

from nmt_core.checkpoint import load_checkpoint
from nmt_core.evaluate import corpus_scores, scores_by_source_length, translate_many
from tests.apphelpers import run_page, vega_charts

BATCH = ("alpha beta gamma\tgamma beta alpha\n"
         "mu eta\tsomething else entirely\n"
         "\n"
         "kappa iota lambda\tlambda iota kappa\tanother reference\n")


def paste(app, text: str):
    app.text_area(key="evaluate_text").set_value(text).run()
    return app


def results(app):
    """The per-sentence table (the one with a translation column)."""
    return next(d.value for d in app.dataframe if "translation" in d.value.columns)


def buttons(app) -> set:
    return {b.key for b in app.button}


def test_batch_with_references_is_scored_worst_first(models_root):
    app = paste(run_page("evaluate"), BATCH)
    assert not app.exception and "evaluate_run" in buttons(app)
    app.button(key="evaluate_run").click().run()
    assert not app.exception
    settings = app.session_state["settings"]
    translator = load_checkpoint(models_root / "tiny-luong").translator
    sources = ["alpha beta gamma", "mu eta", "kappa iota lambda"]
    references = [["gamma beta alpha"], ["something else entirely"], ["lambda iota kappa", "another reference"]]
    hypotheses = translate_many(translator, sources, settings.beam_size, settings.length_penalty)
    expected = corpus_scores(hypotheses, references)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["BLEU"] == f"{expected.bleu:.1f}" and metrics["chrF"] == f"{expected.chrf:.1f}"
    assert metrics["Sentences"] == "3"
    table = results(app)
    assert table["line"].tolist()[0] == 2  # the sentence with the wrong reference comes first
    assert table["bleu"].tolist() == sorted(table["bleu"])
    assert sorted(table["translation"]) == sorted(hypotheses)
    link = table.loc[table.line == 4, "link"].item()
    assert link.startswith("./?")  # the Translate page is the app's root
    assert parse_qs(urlsplit(link).query)["text"] == ["kappa iota lambda"]
    assert parse_qs(urlsplit(link).query)["model"] == ["tiny-luong"]
    assert len(app.get("download_button")) == 1


def test_results_are_kept_for_the_same_batch_and_settings(models_root):
    app = paste(run_page("evaluate"), BATCH)
    app.button(key="evaluate_run").click().run()
    app.run()  # a plain rerun: no button to press again, the results are still there
    assert not app.exception
    assert "evaluate_run" not in buttons(app) and len(results(app)) == 3
    app.sidebar.slider[0].set_value(2).run()  # another beam width is another evaluation
    assert "evaluate_run" in buttons(app)


def test_translations_only_without_references(models_root):
    app = paste(run_page("evaluate"), "alpha beta\nmu eta iota\n")
    app.button(key="evaluate_run").click().run()
    assert not app.exception
    assert not app.metric
    table = results(app)
    assert table["line"].tolist() == [1, 2]  # input order when there is nothing to sort by
    assert table["translation"].tolist() == ["beta alpha", "iota eta mu"]
    assert "evaluate_curve" not in buttons(app)


@pytest.mark.parametrize("text, words", [("alpha beta\tbeta alpha\n\tbeta\n", "Line 2"),
                                         ("alpha\tbeta\ngamma\n", "line 1 has one")])
def test_malformed_lines_are_named(models_root, text, words):
    app = paste(run_page("evaluate"), text)
    assert not app.exception
    assert words in app.warning[0].value.replace("\\", "")
    assert "evaluate_run" not in buttons(app)


def test_greedy_from_the_sidebar(models_root):
    app = run_page("evaluate")
    app.sidebar.radio[0].set_value("greedy").run()
    paste(app, "alpha beta gamma\tgamma beta alpha\n")
    assert any("greedy decoding" in c.value for c in app.caption)
    app.button(key="evaluate_run").click().run()
    assert not app.exception
    assert results(app)["translation"].tolist() == ["gamma beta alpha"]
    assert results(app)["link"].item().endswith("&beam=1&lp=1.0")


def test_bleu_against_beam_width(models_root):
    app = paste(run_page("evaluate"), BATCH)
    app.button(key="evaluate_run").click().run()
    app.button(key="evaluate_curve").click().run()
    assert not app.exception
    curve = next(d.value for d in app.dataframe if "beam" in d.value.columns)
    assert curve["beam"].tolist() == [1, 2, 4, 8]
    assert curve["bleu"].between(0, 100).all()
    assert len(app.get("vega_lite_chart")) == 1
    app.run()  # the curve is kept too
    assert "evaluate_curve" not in buttons(app) and len(app.get("vega_lite_chart")) == 1


def test_no_text_yet_explains_the_format(models_root):
    app = run_page("evaluate")
    assert not app.exception
    assert "one per line" in app.info[0].value


def test_corrupt_checkpoint_is_an_error_message(models_root):
    (models_root / "tiny-luong" / "model.safetensors").write_bytes(b"broken")
    app = paste(run_page("evaluate"), "alpha beta\tbeta alpha\n")
    app.button(key="evaluate_run").click().run()
    assert not app.exception
    assert "cannot be loaded" in app.error[0].value


def test_bleu_by_source_length_when_the_batch_spans_several_lengths(models_root):
    lines = ["alpha beta\tbeta alpha", "mu eta iota\tiota eta mu",
             "alpha beta gamma delta epsilon zeta\tzeta epsilon delta gamma beta alpha"]
    app = paste(run_page("evaluate"), "\n".join(lines) + "\n")
    app.button(key="evaluate_run").click().run()
    assert not app.exception
    (data,) = [frame for spec, frame in vega_charts(app) if spec.get("title") == "BLEU by source length"]
    settings = app.session_state["settings"]
    translator = load_checkpoint(models_root / "tiny-luong").translator
    sources = [line.split("\t")[0] for line in lines]
    hypotheses = translate_many(translator, sources, settings.beam_size, settings.length_penalty)
    expected = scores_by_source_length(sources, hypotheses, [[line.split("\t")[1]] for line in lines])
    assert data["words"].tolist() == ["1-4", "5-8"] and data["sentences"].tolist() == [2, 1]
    assert data["BLEU"].tolist() == pytest.approx([round(b.bleu, 2) for b in expected])


def test_one_length_group_draws_no_length_chart(models_root):
    app = paste(run_page("evaluate"), BATCH)
    app.button(key="evaluate_run").click().run()
    assert not [spec for spec, _ in vega_charts(app) if spec.get("title") == "BLEU by source length"]


def test_rank_by_coverage_flags_shows_the_flagged_words(models_root):
    """Thresholds that flag every content word as under-translated (its peak attention is below 2): the
    sentences with the most source words come first, each with its flagged words."""
    import json

    config_path = models_root / "tiny-luong" / "config.json"
    config = json.loads(config_path.read_text())
    config.setdefault("metrics", {})["coverage_thresholds"] = {"under": 2.0, "over": 100.0, "content": 100.0}
    config_path.write_text(json.dumps(config))
    app = paste(run_page("evaluate"), BATCH)
    app.button(key="evaluate_run").click().run()
    assert results(app)["line"].tolist()[0] == 2  # worst score first by default
    assert "flags" not in results(app).columns
    app.radio(key="evaluate_order").set_value("coverage flags first").run()
    assert not app.exception
    table = results(app)
    assert table["flags"].tolist() == [3, 3, 2]  # three words, three words, then "mu eta"
    assert table["line"].tolist()[-1] == 2
    assert table.loc[table.line == 2, "flagged"].item() == "“mu” under, “eta” under"
    assert table["flag_strength"].tolist()[0] >= table["flag_strength"].tolist()[1]
    assert any("Sentences, most coverage flags first" == s.value for s in app.subheader)
    app.run()  # kept: no recomputation, same table
    assert results(app)["line"].tolist() == table["line"].tolist()
