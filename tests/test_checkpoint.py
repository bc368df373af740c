import json
import math
import shutil

import pytest
import torch

from nmt_core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from nmt_core.decoding import DecodeSettings


@pytest.fixture
def copy_of(tiny_checkpoint_dir, tmp_path):
    target = tmp_path / "model"
    shutil.copytree(tiny_checkpoint_dir, target)
    return target


def test_round_trip_gives_the_same_translations(tiny_checkpoint, tmp_path):
    folder = save_checkpoint(tmp_path / "again", tiny_checkpoint.model, tiny_checkpoint.src_tokenizer,
                             tiny_checkpoint.tgt_tokenizer, {"source_language": "src", "target_language": "tgt"})
    again = load_checkpoint(folder)
    for name, tensor in tiny_checkpoint.model.state_dict().items():
        assert torch.equal(tensor, again.model.state_dict()[name]), name  # fp16 -> fp16 is exact
    settings = DecodeSettings(method="beam", beam_size=3, n_best=3)
    text = "alpha beta gamma delta"
    assert again.translator.translate(text, settings).to_dict() == \
        tiny_checkpoint.translator.translate(text, settings).to_dict()


def test_config_holds_what_the_app_and_issue_need(tiny_checkpoint):
    config = tiny_checkpoint.config
    for key in ("model", "attention", "source_language", "target_language", "history", "metrics", "training",
                "data", "library_version", "tokenizers", "special_ids"):
        assert key in config, key
    assert config["special_ids"] == {"pad": 0, "unk": 1, "bos": 2, "eos": 3}
    assert "Tatoeba" in (tiny_checkpoint.folder / "README.md").read_text()
    assert config["weights_dtype"] == "float16"


def test_loading_never_unpickles(tiny_checkpoint_dir, monkeypatch):
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    load_checkpoint(tiny_checkpoint_dir)


@pytest.mark.parametrize("name", ["model.safetensors", "src.model", "tgt.model", "config.json"])
def test_missing_file_names_the_file(copy_of, name):
    (copy_of / name).unlink()
    with pytest.raises(CheckpointError, match=name.replace(".", r"\.")):
        load_checkpoint(copy_of)


def test_truncated_weights_name_the_file(copy_of):
    path = copy_of / "model.safetensors"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=r"model\.safetensors.*truncated"):
        load_checkpoint(copy_of)


def test_truncated_weights_without_checksum_still_a_clear_error(copy_of):
    config = json.loads((copy_of / "config.json").read_text())
    config["sha256"] = {}
    (copy_of / "config.json").write_text(json.dumps(config))
    path = copy_of / "model.safetensors"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=r"model\.safetensors: unreadable"):
        load_checkpoint(copy_of)


def test_mismatched_architecture_names_the_weights(copy_of):
    config = json.loads((copy_of / "config.json").read_text())
    config["model"]["hidden_size"] = 32
    config["sha256"] = {}
    (copy_of / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"model\.safetensors: weights do not fit"):
        load_checkpoint(copy_of)


def test_swapped_tokenizer_names_the_file(copy_of, tmp_path):
    config = json.loads((copy_of / "config.json").read_text())
    config["sha256"] = {}
    config["model"]["tgt_vocab_size"] += 1
    (copy_of / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"tgt\.model: has \d+ pieces"):
        load_checkpoint(copy_of)


@pytest.mark.parametrize("content", ["{not json", '{"format": "something-else"}', "[]", "\udcff"])
def test_bad_config_names_config_json(copy_of, content):
    (copy_of / "config.json").write_text(content, errors="surrogateescape")
    with pytest.raises(CheckpointError, match=r"config\.json"):
        load_checkpoint(copy_of)


def test_garbage_tokenizer_names_the_file(copy_of):
    config = json.loads((copy_of / "config.json").read_text())
    config["sha256"] = {}
    (copy_of / "config.json").write_text(json.dumps(config))
    (copy_of / "src.model").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match=r"src\.model"):
        load_checkpoint(copy_of)


def test_not_a_folder():
    with pytest.raises(CheckpointError, match="no such checkpoint folder"):
        load_checkpoint("/nonexistent/checkpoint")


def test_the_finiteness_check_is_exact_when_a_sum_of_finite_weights_overflows():
    from nmt_core.checkpoint import _all_finite

    huge = torch.full((4,), 3e38)  # finite float32 values whose sum is infinite
    assert _all_finite(huge)
    assert _all_finite(torch.randn(100).half().float())
    for bad in (math.nan, math.inf, -math.inf):
        weight = torch.zeros(10)
        weight[3] = bad
        assert not _all_finite(weight)
