"""Restoring the capitals of a sentence typed all in lower case, from the tokenizer's own piece scores."""

import pytest

from nmt_core.casing import capitalised, restore_case
from nmt_core.decoding import Translator
from nmt_core.text import train_tokenizer

# Cased like Tatoeba: every sentence starts with a capital, names and "I" always have one.
CASED = [
    "Where is Tom?", "Tom is at home.", "I like cats.", "Mary and Tom like dogs.", "I think Tom is here.",
    "Is Mary still at home?", "The cat is sleeping.", "Where are the dogs?", "I know where Mary is.",
    "¿Dónde está Tom?", "Tom está en casa.", "No sé dónde está Mary.", "Hace frío.", "Tom and I are here.",
]


@pytest.fixture(scope="module")
def cased_tokenizer():
    return train_tokenizer(CASED * 40, vocab_size=90)


@pytest.fixture(scope="module")
def lowercase_tokenizer():
    return train_tokenizer([s.lower() for s in CASED] * 40, vocab_size=90)


def test_a_sentence_typed_in_lower_case_gets_its_capitals_back(cased_tokenizer):
    assert restore_case("where is tom?", cased_tokenizer) == "Where is Tom?"
    assert restore_case("i think mary is here.", cased_tokenizer) == "I think Mary is here."
    assert restore_case("¿dónde está tom?", cased_tokenizer) == "¿Dónde está Tom?"


def test_only_a_clearly_more_familiar_form_is_capitalised_inside_a_sentence(cased_tokenizer):
    # "the", "is" and "where" are common in lower case: they stay as typed.
    assert restore_case("i know where the cat is.", cased_tokenizer) == "I know where the cat is."


def test_a_word_after_a_full_stop_starts_a_sentence(cased_tokenizer):
    assert restore_case("tom is at home. mary is here.", cased_tokenizer) == "Tom is at home. Mary is here."


def test_typed_capitals_are_the_users_choice(cased_tokenizer):
    assert restore_case("where is TOM?", cased_tokenizer) is None
    assert restore_case("Where is tom?", cased_tokenizer) is None


def test_nothing_to_restore_is_none(cased_tokenizer, lowercase_tokenizer):
    assert restore_case("123 456", cased_tokenizer) is None
    assert restore_case("猫が好きです", cased_tokenizer) is None
    # A tokenizer that never saw a capital would read one as <unk>: nothing is capitalised.
    assert restore_case("where is tom?", lowercase_tokenizer) is None


def test_capitalised_keeps_leading_punctuation_and_two_letter_capitals():
    assert capitalised("¿dónde") == "¿Dónde"
    assert capitalised("«oui»") == "«Oui»"
    assert capitalised("ßtraße") == "ßtraße"  # "ß".upper() is "SS": left alone
    assert capitalised("42") == "42"


def test_translator_reads_the_restored_sentence_and_says_so(tiny_checkpoint, cased_tokenizer):
    translator = Translator(tiny_checkpoint.model, cased_tokenizer, tiny_checkpoint.translator.tgt_tokenizer)
    source = translator.prepare("where is tom?")
    assert source.text == "Where is Tom?"
    assert source.ids == cased_tokenizer.encode("Where is Tom?")
    assert source.warnings == ["The sentence has no capital letters and this model learned from cased text, "
                               "so it reads “Where is Tom?”."]
    assert translator.prepare("Where is tom?").warnings == []
    long = translator.prepare(" ".join(["tom is at home."] * 20)).warnings[0]
    assert long.endswith("…”.") and len(long) < 200


def test_the_tiny_lowercase_models_input_is_left_alone(translator):
    source = translator.prepare("alpha beta gamma")
    assert source.text == "alpha beta gamma" and source.warnings == []
