from dataclasses import fields

import pytest

from nmt_core.model import ModelConfig, Seq2Seq
from nmt_core.recipes import RECIPES
from nmt_core.train import TrainConfig

MODEL_FIELDS = {f.name for f in fields(ModelConfig)} - {"src_vocab_size", "tgt_vocab_size"}
TRAIN_FIELDS = {f.name for f in fields(TrainConfig)}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_recipe_is_a_valid_configuration(name):
    recipe = RECIPES[name]
    assert set(recipe) <= MODEL_FIELDS | TRAIN_FIELDS, set(recipe) - MODEL_FIELDS - TRAIN_FIELDS
    model_args = {k: v for k, v in recipe.items() if k in MODEL_FIELDS}
    cfg = ModelConfig(src_vocab_size=recipe["src_vocab_size"], tgt_vocab_size=recipe["tgt_vocab_size"], **model_args)
    parameters = Seq2Seq(cfg).parameter_count()
    assert parameters * 2 < 25 * 2**20  # fp16 weights stay under the 25 MiB per-checkpoint limit
    assert recipe["data"].endswith("-eng.zip")
