"""Issue 14 in the app (AppTest): broken checkpoints beside good ones leave every other model and page working.

The checkpoints folder holds tiny-luong and a copy of it (good), and one copy broken per case of the issue:
a mistyped config, a config nested 100,000 deep, a config describing a 30 GiB model, values that used to
crash later (dropout 1.5, beam "5", an infinite score bucket) and NaN weights.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from nmt_core.checkpoint import CheckpointError
from nmt_core.decoding import DecodeSettings
from pages.lib import common
from tests.apphelpers import open_link

PAGES = ["translate", "step", "beam", "sampling", "compare", "models", "evaluate"]
SENTENCE = "alpha beta gamma"


def edit_config(folder: Path, change) -> None:
    config = json.loads((folder / "config.json").read_text())
    change(config)
    (folder / "config.json").write_text(json.dumps(config))


def deepen(folder: Path) -> None:
    text = (folder / "config.json").read_text().rstrip()
    (folder / "config.json").write_text(text[:-1] + ', "extra": ' + "[" * 100_000 + "]" * 100_000 + "}")


def poison(folder: Path) -> None:
    tensors = load_file(str(folder / "model.safetensors"))
    for tensor in tensors.values():
        tensor.view(-1)[0] = math.nan
    save_file(tensors, str(folder / "model.safetensors"))
    edit_config(folder, lambda c: c.update(sha256={}))


BROKEN = {  # name -> (how to break a copy of tiny-luong, the file its error names)
    "bad-language": (lambda f: edit_config(f, lambda c: c.update(source_language=["spa"])), "config.json"),
    "deep": (deepen, "config.json"),
    "huge": (lambda f: edit_config(f, lambda c: c["model"].update(
        embedding_dim=8192, hidden_size=8192, attention_size=8192, output_size=8192, num_layers=8,
        rnn_type="lstm", attention="bahdanau")), "config.json"),
    "dropout": (lambda f: edit_config(f, lambda c: c["model"].update(dropout=1.5)), "config.json"),
    "beam-text": (lambda f: edit_config(f, lambda c: c["decoding_defaults"].update(beam_size="5")), "config.json"),
    "low-inf": (lambda f: edit_config(f, lambda c: c["metrics"]["test_by_source_length"][0].update(low=math.inf)),
                "config.json"),
    "nan-weights": (poison, "model.safetensors"),
}


@pytest.fixture
def zoo(models_root):
    shutil.copytree(models_root / "tiny-luong", models_root / "tiny-copy")
    for name, (breaks, _) in BROKEN.items():
        shutil.copytree(models_root / "tiny-luong", models_root / name)
        breaks(models_root / name)
    return models_root


def error_texts(app) -> list[str]:
    return [e.value.replace("\\", "") for e in app.error]  # errors are markdown-escaped


def test_every_page_and_good_model_keeps_working_beside_broken_checkpoints(zoo):
    # Compare opens on two good and two broken models; Models shows every card.
    app = open_link(None, text=SENTENCE, model="tiny-luong", method="greedy", show="all",
                   models="tiny-luong,tiny-copy,low-inf,nan-weights")
    assert not app.exception
    by_name = {label.split(" · ")[0]: label for label in app.sidebar.selectbox[0].options}
    for name, (_, file) in BROKEN.items():
        if name != "nan-weights":  # NaN weights pass the cheap check; loading refuses them
            assert by_name[name].startswith(f"{name} · unavailable: {file}"), by_name[name]
    assert "unavailable" not in by_name["tiny-luong"] and "unavailable" not in by_name["tiny-copy"]
    assert app.text[0].value == "gamma beta alpha"

    for page in PAGES:  # a good model picked: every page works, Compare and Models with broken ones on them
        app.switch_page(f"pages/{page}.py").run()
        assert not app.exception, (page, [e.value for e in app.exception])
    app.switch_page("pages/translate.py").run()

    for name, (_, file) in BROKEN.items():  # each broken one picked: a clear error naming its file, no traceback
        app.sidebar.selectbox[0].set_value(name).run()
        assert not app.exception, name
        message = error_texts(app)[0]
        assert f"{name}/{file}" in message and str(zoo) not in message, message
        app.sidebar.selectbox[0].set_value("tiny-luong").run()
        assert not app.exception and not app.error
        assert app.text[0].value == "gamma beta alpha"


@pytest.mark.parametrize("name", ["low-inf", "nan-weights", "bad-language"])
def test_every_page_shows_an_error_not_a_traceback_for_a_broken_pick(zoo, name):
    app = open_link(None, text=SENTENCE, model=name, method="greedy")
    for page in PAGES:
        app.switch_page(f"pages/{page}.py").run()
        assert not app.exception, (page, [e.value for e in app.exception])
        for text in error_texts(app):
            assert str(zoo) not in text, text  # file names relative to the checkpoints folder


# -- 9. a checkpoint changed on disk must not keep serving from memory ---------------------------------------------


@pytest.fixture
def fresh_caches():
    common.load_cached.clear()
    common.translate_cached.clear()
    yield
    common.load_cached.clear()
    common.translate_cached.clear()


def test_a_checkpoint_changed_on_disk_is_not_served_from_the_cache(models_root, fresh_caches):
    settings = DecodeSettings(method="greedy")
    folder = models_root / "tiny-luong"
    weights = (folder / "model.safetensors").read_bytes()
    loaded = common.load("tiny-luong")
    assert common.translate("tiny-luong", SENTENCE, settings).translation == "gamma beta alpha"

    (folder / "model.safetensors").write_bytes(weights[: len(weights) // 2])  # truncated on disk
    with pytest.raises(CheckpointError, match="tiny-luong/model.safetensors"):
        common.load("tiny-luong")
    with pytest.raises(CheckpointError, match="tiny-luong/model.safetensors"):  # no stale trace either
        common.translate("tiny-luong", SENTENCE, settings)

    (folder / "model.safetensors").write_bytes(weights)  # repaired: loaded again, from the new files
    again = common.load("tiny-luong")
    assert again is not loaded and common.load("tiny-luong") is again  # and cached once more
    assert common.translate("tiny-luong", SENTENCE, settings).translation == "gamma beta alpha"

    poison(folder)  # same size, other contents (and a new config): the change is still seen
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        common.load("tiny-luong")


def test_the_app_stops_translating_with_a_checkpoint_truncated_under_it(models_root, fresh_caches):
    """The caches are the process's: a session opened after the weights were truncated must not be served the
    model (or the trace) an earlier session left in memory."""
    app = open_link(None, text=SENTENCE, model="tiny-luong", method="greedy")
    assert app.text[0].value == "gamma beta alpha"
    weights = models_root / "tiny-luong" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    app = open_link(None, text=SENTENCE, model="tiny-luong", method="greedy")
    assert not app.exception
    label = next(o for o in app.sidebar.selectbox[0].options if o.startswith("tiny-luong"))
    assert "unavailable: model.safetensors" in label
    assert any("tiny-luong/model.safetensors" in text for text in error_texts(app)), error_texts(app)
    assert not any(t.value == "gamma beta alpha" for t in app.text)  # nothing served from memory


# -- 8. one upload limit, said in the refusal ---------------------------------------------------------------------


def test_the_evaluate_page_says_one_upload_limit(models_root):
    app = open_link("evaluate", text=SENTENCE, model="tiny-luong")
    app.radio(key="evaluate_input").set_value("Upload a TSV file").run()
    uploader = app.get("file_uploader")[0].proto
    assert "2 MB (2,000,000 bytes)" in uploader.label and uploader.max_upload_size_mb == 2
    app.radio(key="evaluate_input").set_value("Paste").run()
    app.text_area(key="evaluate_text").set_value("€" * 700_000).run()  # 700,000 characters, 2,100,000 bytes
    assert not app.exception
    warnings = [w.value.replace("\\", "") for w in app.warning]
    assert any("2,100,000 bytes; the limit is 2 MB (2,000,000 bytes)" in w for w in warnings), warnings
