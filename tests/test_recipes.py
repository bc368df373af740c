from dataclasses import fields

import pytest

from nmt_core.model import build_model, config_fields, config_from_dict
from nmt_core.recipes import RECIPES
from nmt_core.train import TrainConfig

TRAIN_FIELDS = {f.name for f in fields(TrainConfig)}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_recipe_is_a_valid_configuration(name):
    recipe = RECIPES[name]
    model_fields = config_fields(recipe) - {"src_vocab_size", "tgt_vocab_size"}
    assert set(recipe) <= model_fields | TRAIN_FIELDS, set(recipe) - model_fields - TRAIN_FIELDS
    model_args = {k: v for k, v in recipe.items() if k in model_fields}
    cfg = config_from_dict({"src_vocab_size": recipe["src_vocab_size"], "tgt_vocab_size": recipe["tgt_vocab_size"],
                            **model_args})
    parameters = build_model(cfg).parameter_count()
    assert parameters * 2 < 25 * 2**20  # fp16 weights stay under the 25 MiB per-checkpoint limit
    assert recipe["data"].endswith("-eng.zip")


def test_the_no_key_prior_bahdanau_recipe_differs_from_spa_eng_bahdanau_in_the_score_alone():
    """Issue 16's candidate: the same model as the shipped Bahdanau but the score's key prior removed and the
    source </s> attendable (the shipped recipe's mask treated the symptom)."""
    candidate, shipped = RECIPES["spa-eng-bahdanau-no-key-prior"], RECIPES["spa-eng-bahdanau"]
    assert {k: v for k, v in candidate.items() if k != "attention_key_prior"} == {
        k: v for k, v in shipped.items() if k != "attend_to_source_end"}
    assert candidate["attention_key_prior"] == "remove" and "attend_to_source_end" not in candidate
