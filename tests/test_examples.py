"""The sidebar's example sentences and how the sentence follows the model's language."""

from nmt_core.examples import DEFAULT_SENTENCE, EXAMPLES, examples_for, first_example, sentence_for_language


def test_every_language_has_examples_and_the_default_is_the_tutorial_sentence():
    assert set(EXAMPLES) == {"spa", "eng", "fra", "deu"}
    assert DEFAULT_SENTENCE == "¿Todavía están en casa?" == first_example("spa")
    assert first_example("fra") == EXAMPLES["fra"][0]
    assert first_example(None) == first_example("xxx") == DEFAULT_SENTENCE
    assert examples_for("deu") == EXAMPLES["deu"]
    assert len(examples_for(None)) == sum(len(v) for v in EXAMPLES.values())


def test_an_example_in_another_language_becomes_this_languages_first_example():
    assert sentence_for_language(EXAMPLES["spa"][2], "fra") == EXAMPLES["fra"][0]
    assert sentence_for_language(EXAMPLES["eng"][0] + "  ", "spa") == EXAMPLES["spa"][0]


def test_an_example_this_language_reads_is_kept():
    assert sentence_for_language(EXAMPLES["spa"][3], "spa") == EXAMPLES["spa"][3]


def test_a_written_sentence_an_empty_box_and_an_unknown_language_keep_the_sentence():
    assert sentence_for_language("Mi perro come pan.", "fra") == "Mi perro come pan."
    assert sentence_for_language("", "fra") == ""
    assert sentence_for_language(EXAMPLES["spa"][0], None) == EXAMPLES["spa"][0]
    assert sentence_for_language(EXAMPLES["spa"][0], "xxx") == EXAMPLES["spa"][0]
