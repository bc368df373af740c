"""The checkpoints shipped in checkpoints/: they load, describe themselves, and translate."""

from pathlib import Path

import pytest

from nmt_core.card import model_card
from nmt_core.checkpoint import list_checkpoints, load_checkpoint, read_config
from nmt_core.decoding import DecodeSettings

SHIPPED = list_checkpoints(Path(__file__).resolve().parents[1] / "checkpoints")
LANGUAGES = {"spa", "eng", "fra", "deu"}

# Loading seven models takes seconds: every test here is in the slow set, and collection reads
# only config.json (no weights at import time).
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_shipped_checkpoint_is_complete(folder):
    checkpoint = load_checkpoint(folder)
    config = checkpoint.config
    assert {config["source_language"], config["target_language"]} <= LANGUAGES
    assert config["attention"] == checkpoint.model.cfg.attention
    assert config["history"] and all("dev_bleu" in h for h in config["history"])
    assert config["metrics"]["test_bleu"] > 0 and config["metrics"]["test_chrf"] > 0
    by_length = config["metrics"]["test_by_source_length"]
    assert sum(b["sentences"] for b in by_length) == config["metrics"]["test_sentences"]
    assert config["training"]["train_minutes"] > 0 and config["training"]["hardware"]
    assert (folder / "model.safetensors").stat().st_size < 25 * 2**20
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "Tatoeba" in card and "manythings.org" in card
    assert card == model_card(folder.name, config)  # the card says what config.json says


def test_shipped_set_stays_under_150_mib():
    total = sum(f.stat().st_size for folder in SHIPPED for f in folder.iterdir())
    assert total < 150 * 2**20


# TensorFlow's NMT tutorial translates "¿todavía están en casa?" as "are you still at home?";
# the same question in each source language we ship an into-English model for.
STILL_AT_HOME = {
    "spa": "¿todavía están en casa?",
    "fra": "êtes-vous toujours à la maison ?",
    "deu": "seid ihr noch zu hause?",  # read as "Seid ihr noch zu Hause?" (nmt_core.casing)
}
INTO_ENGLISH_WITH_ATTENTION = [
    p for p in SHIPPED
    if (config := read_config(p)).get("target_language") == "eng"
    and config.get("source_language") in STILL_AT_HOME and config.get("attention") != "none"
]


@pytest.mark.skipif(not any(p.name == "spa-eng-luong" for p in SHIPPED), reason="flagship not shipped yet")
def test_the_flagship_is_shipped():
    assert "spa-eng-luong" in {p.name for p in INTO_ENGLISH_WITH_ATTENTION}


@pytest.mark.parametrize("folder", INTO_ENGLISH_WITH_ATTENTION, ids=lambda p: p.name)
def test_models_into_english_translate_the_tutorial_sentence(folder):
    """TensorFlow's NMT tutorial: "¿todavía están en casa?" -> "are you still at home?" (and its French/German)."""
    checkpoint = load_checkpoint(folder)
    sentence = STILL_AT_HOME[checkpoint.config["source_language"]]
    for settings in (DecodeSettings(method="greedy"), DecodeSettings(method="beam", beam_size=5)):
        trace = checkpoint.translator.translate(sentence, settings)
        assert trace.translation.lower() == "are you still at home?"
        assert len(trace.attention) == len(trace.target_tokens)


# Hands-On ML's beam search example, "I like soccer", in each target language we ship an
# English-to-X model for.
I_LIKE_SOCCER = {"spa": "Me gusta el fútbol.", "fra": "J'aime le football."}
FROM_ENGLISH = [p for p in SHIPPED if (config := read_config(p)).get("source_language") == "eng"
                and config.get("target_language") in I_LIKE_SOCCER]


@pytest.mark.parametrize("folder", FROM_ENGLISH, ids=lambda p: p.name)
def test_models_from_english_translate_the_textbook_sentence(folder):
    """Hands-On ML: "I like soccer" -> "Me gusta el fútbol." (and its French)."""
    checkpoint = load_checkpoint(folder)
    # The checkpoint's tuned length penalty, as the CLI and the app's sidebar use by default.
    alpha = checkpoint.config["decoding_defaults"]["length_penalty"]
    trace = checkpoint.translator.translate("I like soccer", DecodeSettings(method="beam", beam_size=5,
                                                                            length_penalty=alpha))
    assert trace.translation == I_LIKE_SOCCER[checkpoint.config["target_language"]]


@pytest.mark.skipif(not any(p.name == "spa-eng-luong" for p in SHIPPED), reason="flagship not shipped yet")
def test_translate_says_which_word_the_flagship_drops():
    """Issue 15's sentence: the flagship leaves out "el hermano de"; Translate's coverage notice names it."""
    from tests.apphelpers import run_page

    sentence = "El hombre que vi ayer en el parque era el hermano de mi mejor amiga."
    app = run_page(model="spa-eng-luong", text=sentence)
    assert not app.exception
    notices = [info.value for info in app.info if info.value.startswith("Coverage")]
    assert notices and "hermano" in notices[0], [i.value for i in app.info]
