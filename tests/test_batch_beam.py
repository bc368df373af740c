"""Batched beam search (evaluation) against the traced beam search (the app), and the textbook reference."""

import pytest

from benchmarks.textbook_beam import textbook_beam_search
from nmt_core.decoding import DecodeSettings
from nmt_core.decoding.batch import beam_search_batch
from tests.conftest import WORDS

SENTENCES = [
    "alpha beta gamma", "mu", "kappa lambda mu eta theta iota zeta", "delta delta delta", "eta theta",
    "gamma alpha beta gamma alpha", "iota kappa", "zeta eta theta iota kappa lambda", "",
    " ".join(WORDS), "beta", "lambda mu alpha",
]


@pytest.mark.parametrize("width,alpha,unk", [(1, 0.0, 0.0), (3, 1.0, 0.0), (5, 0.0, 2.0), (8, 1.5, 0.0)])
def test_a_batch_gives_what_each_sentence_gets_alone(translator, width, alpha, unk):
    settings = DecodeSettings(method="beam", beam_size=width, n_best=width, length_penalty=alpha, unk_penalty=unk)
    batch = beam_search_batch(translator, SENTENCES, settings, batch_size=4)
    for sentence, result in zip(SENTENCES, batch, strict=True):
        if not sentence:
            assert result.translation == "" and result.token_ids == []
            continue
        alone = translator.translate(sentence, settings)
        best = alone.beam.hypotheses[0]
        assert result.translation == best.translation
        assert result.token_ids == best.token_ids
        assert result.score == pytest.approx(best.score, abs=1e-4)
        assert result.normalized_score == pytest.approx(best.normalized_score, abs=1e-4)
        assert result.finished == best.finished


def test_length_limits_apply_per_sentence(translator):
    settings = DecodeSettings(method="beam", beam_size=3, n_best=3, max_tokens=2)
    for result in beam_search_batch(translator, SENTENCES[:4], settings):
        assert len(result.token_ids) <= 2


def test_progress_is_reported_per_chunk(translator):
    seen = []
    beam_search_batch(translator, SENTENCES, DecodeSettings(method="beam", beam_size=2, n_best=2), batch_size=5,
                      on_progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (len(SENTENCES), len(SENTENCES))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen) and len(seen) == 3


def test_textbook_beam_of_width_one_is_greedy(translator):
    for sentence in SENTENCES[:6]:
        if not sentence:
            continue
        greedy = translator.translate(sentence, DecodeSettings(method="greedy"))
        limit = DecodeSettings().max_length(len(translator.prepare(sentence).tokens))
        assert textbook_beam_search(translator, sentence, 1, limit) == greedy.translation


def test_textbook_beam_translates_the_reverse_task(translator):
    assert textbook_beam_search(translator, "alpha beta gamma", 3, 20) == "gamma beta alpha"
