"""The Streamlit app through streamlit.testing (no browser)."""


import pytest

from nmt_core.decoding import MAX_INPUT_CHARACTERS
from tests.apphelpers import ROOT, app_pages, run_page


def run_app(text: str | None = None, **params):
    return run_page(None, text, **params)


def test_translate_page_shows_translation_and_heatmap(models_root):
    app = run_app("alpha beta gamma")
    assert not app.exception
    assert app.text[0].value == "gamma beta alpha"
    assert [e.proto.component_name for e in app.main if e.type == "bidi_component"] == ["attention_explorer.heatmap"]
    assert app.query_params["text"] in ("alpha beta gamma", ["alpha beta gamma"])


def test_url_state_selects_model_and_sentence(models_root):
    app = run_app(model="tiny-luong", text="mu eta")
    assert not app.exception
    assert app.sidebar.selectbox[0].value == "tiny-luong"
    assert app.text[0].value == "eta mu"


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_sentence_is_a_message_not_a_traceback(models_root, text):
    app = run_app(text)
    assert not app.exception
    assert "empty" in app.warning[0].value


def test_user_html_is_shown_as_text(models_root):
    app = run_app("<b>alpha</b> <script>x</script>")
    assert not app.exception
    assert not any("<script>" in m.value for m in app.markdown)


def test_greedy_and_sampling_settings(models_root):
    app = run_app("alpha beta gamma")
    app.sidebar.radio[0].set_value("Sampling").run()
    assert not app.exception
    app.sidebar.radio[0].set_value("Greedy").run()
    assert not app.exception and app.text[0].value == "gamma beta alpha"


def test_no_checkpoints_explains_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTENTION_EXPLORER_CHECKPOINTS", str(tmp_path))
    app = run_app()
    assert not app.exception
    assert "No checkpoint found" in app.info[0].value


def test_corrupt_checkpoint_is_an_error_message(models_root):
    (models_root / "tiny-luong" / "model.safetensors").write_bytes(b"broken")
    app = run_app("alpha beta")
    assert not app.exception
    assert "cannot be loaded" in app.error[0].value


def test_every_setting_round_trips_through_the_url(models_root):
    app = run_app(model="tiny-luong", text="alpha beta", method="sample", temperature="0.5", top_k="3",
                  top_p="0.9", seed="11", unk="1.5")
    assert not app.exception
    assert app.sidebar.radio[0].value == "sample"
    assert app.session_state["settings"].temperature == 0.5 and app.session_state["settings"].seed == 11
    assert app.session_state["settings"].top_k == 3 and app.session_state["settings"].unk_penalty == 1.5
    assert app.query_params["seed"] in ("11", ["11"])


@pytest.mark.parametrize("params", [{"beam": "abc"}, {"beam": "999"}, {"method": "<script>"}, {"lp": "-4"},
                                    {"model": "../../etc"}, {"text": "x" * 5000}])
def test_malformed_urls_fall_back_to_safe_values(models_root, params):
    app = run_app(**params)
    assert not app.exception
    settings = app.session_state["settings"]
    assert 1 <= settings.beam_size <= 20 and 0 <= settings.length_penalty <= 2
    assert app.session_state["checkpoint"] == "tiny-luong"
    assert len(app.session_state["sentence"]) <= MAX_INPUT_CHARACTERS


def test_length_penalty_opens_at_the_models_tuned_value(models_root):
    import json

    config_path = models_root / "tiny-luong" / "config.json"
    config = json.loads(config_path.read_text())
    config["decoding_defaults"]["length_penalty"] = 0.5
    config_path.write_text(json.dumps(config))
    assert run_app("alpha beta").session_state["settings"].length_penalty == 0.5
    assert run_app("alpha beta", lp="1.5").session_state["settings"].length_penalty == 1.5


def test_every_page_is_named_by_its_url_and_hands_over_a_legacy_deep_link():
    """pages/<URL path>.py is the page itself, and it hands a fresh server's first deep link to app.py
    (pages/lib/common.py:leave_legacy_mode); nothing else sits directly in pages/, where Streamlit's
    legacy discovery would make it a page."""
    pages = app_pages()
    scripts = {p.stem for p in (ROOT / "pages").glob("*.py")} - {"__init__"}
    assert scripts == {url_path for _title, url_path in pages}
    for _title, url_path in pages:
        assert "leave_legacy_mode()" in (ROOT / "pages" / f"{url_path}.py").read_text(encoding="utf-8")


def languages_models(models_root, **languages):
    """Copies of the tiny model named after ``languages`` (name -> source language code)."""
    import json
    import shutil

    for name, language in languages.items():
        shutil.copytree(models_root / "tiny-luong", models_root / name)
        config_path = models_root / name / "config.json"
        config = json.loads(config_path.read_text())
        config["source_language"], config["target_language"] = language, "eng"
        config_path.write_text(json.dumps(config))


def test_a_link_without_text_opens_with_an_example_the_model_reads(models_root):
    from nmt_core.examples import EXAMPLES

    languages_models(models_root, french="fra")
    assert run_app(model="french").sidebar.text_area[0].value == EXAMPLES["fra"][0]
    assert run_app(model="french", text="bonjour").sidebar.text_area[0].value == "bonjour"


def test_changing_model_swaps_an_example_but_keeps_a_written_sentence(models_root):
    from nmt_core.examples import EXAMPLES

    languages_models(models_root, spanish="spa", french="fra", german="deu")
    app = run_app(model="spanish")
    assert app.sidebar.text_area[0].value == EXAMPLES["spa"][0]
    app.sidebar.selectbox[0].select("french").run()
    assert not app.exception
    assert app.sidebar.text_area[0].value == EXAMPLES["fra"][0]
    assert app.query_params["text"] in (EXAMPLES["fra"][0], [EXAMPLES["fra"][0]])
    app.sidebar.text_area[0].set_value("alpha beta gamma").run()
    app.sidebar.selectbox[0].select("german").run()
    assert app.sidebar.text_area[0].value == "alpha beta gamma"
