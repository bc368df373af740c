"""Bad input and broken checkpoints, in the library, the app and the CLI (issue 7).

Every case gets a clear message or a sensible result, never a traceback: odd or huge sentences,
markup, settings out of range in a link, and checkpoint folders that are broken or hostile.
"""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import re
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nmt_core.__main__ import main as cli_main
from nmt_core.checkpoint import (
    PICKLE_SUFFIXES,
    CheckpointError,
    check_checkpoint,
    list_checkpoints,
    load_checkpoint,
    read_config,
)
from nmt_core.decoding import MAX_INPUT_CHARACTERS, MAX_SOURCE_PIECES, DecodeSettings, InputError
from nmt_core.evaluate import MAX_UPLOAD_BYTES
from nmt_core.text import normalize
from tests.apphelpers import run_page
from tests.conftest import WORDS
from tests.test_cli import cli, cli_process

ROOT = Path(__file__).resolve().parents[1]
# A sentence of the tiny model's own words, well over 5,000 characters and MAX_SOURCE_PIECES pieces.
LONG = " ".join(WORDS[i % len(WORDS)] for i in range(900))
ODD_SENTENCES = {
    "emoji": "alpha 😀🎉 beta 👩‍👩‍👧",
    "cjk": "alpha 日本語のテキスト beta 中文",
    "rtl": "alpha مرحبا بالعالم beta שלום",
    "control": "alpha\x00 beta\x07\x1b[31m gamma\r\n",
    "zero-width": "al\u200bpha be\u200dta\ufeff gamma\u2060",
}
MARKUP = "<script>alert(1)</script> **alpha** [beta](javascript:alert(1)) # gamma <img src=x onerror=alert(1)> `x`"


# -- the library: Translator.prepare -----------------------------------------------------------------------------


def test_a_long_sentence_is_cut_at_a_word_boundary_with_a_notice(translator):
    assert len(LONG) > 5000
    source = translator.prepare(LONG)
    assert len(source.ids) <= MAX_SOURCE_PIECES
    assert LONG.startswith(source.text) and LONG[len(source.text)] == " "  # whole words only
    assert len(translator.src_tokenizer.encode(LONG[: len(source.text) + 1 + LONG[len(source.text) + 1:].index(" ")])) \
        > MAX_SOURCE_PIECES  # and as many as fit: one word more would not
    assert len(source.warnings) == 1 and "too long" in source.warnings[0]
    assert f"{len(LONG):,}" in source.warnings[0] and f"{len(source.text):,}" in source.warnings[0]
    trace = translator.translate(LONG, DecodeSettings(method="greedy"))
    assert trace.warnings == source.warnings and trace.steps
    assert len(trace.steps[0].attention) == len(source.ids) + 1


def test_a_long_run_without_spaces_is_cut_inside_it(translator):
    text = "alphabeta" * 1000
    source = translator.prepare(text)
    assert 0 < len(source.ids) <= MAX_SOURCE_PIECES and text.startswith(source.text)
    assert "too long" in source.warnings[0]


def test_a_pasted_book_is_bounded_before_tokenising(translator):
    text = "alpha " * (MAX_INPUT_CHARACTERS // 2)  # 3 × the character bound
    started = time.perf_counter()
    source = translator.prepare(text)
    assert time.perf_counter() - started < 5
    assert len(source.ids) <= MAX_SOURCE_PIECES and "too long" in source.warnings[0]
    assert f"{len(text):,}" in source.warnings[0]


@pytest.mark.parametrize("kind", ODD_SENTENCES)
def test_odd_characters_translate(translator, kind):
    text = ODD_SENTENCES[kind]
    trace = translator.translate(text, DecodeSettings(method="beam", beam_size=3, n_best=3))
    assert isinstance(trace.translation, str) and trace.steps
    assert trace.source_text == normalize(text)
    assert not any(ch in trace.source_text for ch in "\x00\x07\x1b\r\n\u200b\u200d\ufeff\u2060")
    assert "alpha" in trace.source_text


@pytest.mark.parametrize("text", ["", " ", "\n\t ", "\u200b\u200c\u200d", "\x00\x07", "\ufeff\u2060 \u00ad"])
def test_nothing_to_translate_is_an_input_error(translator, text):
    with pytest.raises(InputError, match="empty"):
        translator.prepare(text)


def test_a_sentence_in_the_wrong_language_still_translates_and_says_why_it_may_be_odd(translator):
    trace = translator.translate("Привет, как дела? Это по-русски.", DecodeSettings(method="greedy"))
    assert trace.steps  # a (meaningless) translation, not an error
    assert any("source language" in w for w in trace.warnings)


@pytest.mark.parametrize("temperature", [1e-320, 1e-40])
def test_a_vanishing_temperature_samples_like_greedy(translator, temperature):
    text = "alpha beta gamma"
    trace = translator.translate(text, DecodeSettings(method="sample", temperature=temperature, seed=3))
    assert trace.target_ids == translator.translate(text, DecodeSettings(method="greedy")).target_ids


# -- the app -----------------------------------------------------------------------------------------------------


def shown_as_markdown(app) -> list[str]:
    """The source of every element Streamlit renders as Markdown."""
    kinds = ("markdown", "caption", "warning", "error", "info", "success", "title", "header", "subheader")
    return [element.value for kind in kinds for element in getattr(app, kind)]


def plain(markdown: str) -> str:
    """What an escaped Markdown string reads as (backslash escapes removed)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def run_with_url(**params) -> AppTest:
    """The app opened from a link with ``params`` (run_page's own ``text`` argument types into the box)."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in params.items():
        app.query_params[key] = value
    return app.run()


@pytest.mark.parametrize("via", ["box", "url"])
def test_app_cuts_a_long_sentence_with_a_visible_notice(models_root, via):
    app = run_page(None, LONG, method="greedy") if via == "box" else run_with_url(text=LONG, method="greedy")
    assert not app.exception
    assert app.session_state["sentence"] == LONG  # neither the box nor the link cut it silently
    assert any("too long" in w.value for w in app.warning)
    assert app.text[0].value.strip()  # and it still translates the part that fits


@pytest.mark.parametrize("kind", ODD_SENTENCES)
def test_app_translates_odd_characters(models_root, kind):
    app = run_page(None, ODD_SENTENCES[kind], method="greedy")
    assert not app.exception
    assert not app.error
    assert isinstance(app.text[0].value, str)


@pytest.mark.parametrize("text", ["\u200b\u200d", "\x00\x07 \t"])
def test_app_says_when_there_is_nothing_to_translate(models_root, text):
    app = run_page(None, text)
    assert not app.exception
    assert "empty" in app.warning[0].value


def test_app_shows_markup_as_literal_text(models_root):
    # Enough markup to be cut by the length limit, so the notice quotes (escaped) user text.
    app = run_page(None, " ".join([MARKUP] * 60), method="greedy")
    assert not app.exception
    notice = next(w.value for w in app.warning if "too long" in w.value)
    assert re.search(r"(?<!\\)[<>\[\]*`#]", notice) is None, notice  # every markup character is escaped
    assert any(ch in plain(notice) for ch in "<>[]*`")  # ... and it did quote some
    for source in shown_as_markdown(app):
        assert "<script" not in source and "<img" not in source and "](javascript" not in source
    for chart in app.get("plotly_chart"):
        assert "<script" not in chart.proto.spec and "<img" not in chart.proto.spec


URL_VALUES = ["nan", "NaN", "inf", "-inf", "1e309", "-1e309", "99999999999999999999999", "-5", "1e-320", "0x10", ""]
NUMERIC_PARAMS = ("beam", "lp", "temperature", "top_k", "top_p", "seed", "unk", "max", "classroom")


@pytest.mark.parametrize("value", URL_VALUES)
def test_link_settings_out_of_range_or_nan_fall_back_to_safe_values(models_root, value):
    app = run_page(None, "alpha beta", method="sample", **{name: value for name in NUMERIC_PARAMS})
    assert not app.exception
    widgets = [*app.sidebar.slider, *app.sidebar.number_input]
    assert len(widgets) >= 5  # temperature, top-p, UNK penalty; top-k, seed, maximum length
    for widget in widgets:
        assert math.isfinite(widget.value) and widget.min <= widget.value <= widget.max, (widget.label, widget.value)
    settings = app.session_state["settings"].validate()
    assert 0 <= settings.temperature <= 3 and 0 < settings.top_p <= 1 and settings.top_k >= 0
    assert app.session_state["classroom"] in (True, False)
    assert app.text[0].value  # it translated with the fallback settings


@pytest.mark.parametrize("value", ["nan", "inf", "-1e309", "-3"])
def test_link_beam_settings_out_of_range_fall_back(models_root, value):
    app = run_page(None, "alpha beta gamma", method="beam", beam=value, lp=value, max=value)
    assert not app.exception
    settings = app.session_state["settings"].validate()
    assert 1 <= settings.beam_size <= 16 and 0 <= settings.length_penalty <= 2
    assert app.text[0].value == "gamma beta alpha"


# -- broken checkpoints ------------------------------------------------------------------------------------------


class WritesMarker:
    """A pickle payload: unpickling it runs ``exec``, which writes a marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('pickle payload ran')",)


def edit_config(folder: Path, change) -> None:
    config = json.loads((folder / "config.json").read_text())
    change(config)
    (folder / "config.json").write_text(json.dumps(config))


def break_copy(root: Path, name: str, how: str, marker: Path | None = None) -> Path:
    """A copy of tiny-luong broken in one way."""
    folder = root / name
    shutil.copytree(root / "tiny-luong", folder)
    if how == "missing":
        (folder / "tgt.model").unlink()
    elif how == "truncated":
        weights = folder / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif how == "vocab":
        edit_config(folder, lambda c: c["model"].update(src_vocab_size=c["model"]["src_vocab_size"] + 3))
    elif how == "attention":
        edit_config(folder, lambda c: c["model"].update(attention="transformer"))
    elif how == "mismatch":  # the safetensors header's shapes differ from the config's (caught without loading)
        edit_config(folder, lambda c: (c["model"].update(hidden_size=32), c.update(sha256={})))
    elif how == "pickle":
        (folder / "model.pt").write_bytes(pickle.dumps(WritesMarker(marker)))
    return folder


BROKEN = {  # folder name -> (how, the file its error names)
    "a-missing": ("missing", "tgt.model"),
    "b-truncated": ("truncated", "model.safetensors"),
    "c-vocab": ("vocab", "src.model"),
    "d-attention": ("attention", "config.json"),
    "e-pickle": ("pickle", "model.pt"),
}


@pytest.fixture
def zoo(models_root, tmp_path_factory):
    """models_root with tiny-luong, one copy per way of breaking it, and the pickle payload's marker path."""
    marker = tmp_path_factory.mktemp("marker") / "pwned"
    for name, (how, _) in BROKEN.items():
        break_copy(models_root, name, how, marker)
    break_copy(models_root, "f-mismatch", "mismatch")
    return models_root, marker


def test_picker_lists_broken_models_as_unavailable_and_the_others_keep_working(zoo):
    root, marker = zoo
    app = run_page(None, "alpha beta gamma", model="tiny-luong", method="greedy")
    assert not app.exception
    labels = dict(zip(sorted(p.name for p in list_checkpoints(root)), app.sidebar.selectbox[0].options, strict=True))
    for name, (_, file) in BROKEN.items():
        assert labels[name].startswith(f"{name} · unavailable: {file}"), labels[name]
    assert "unavailable" not in labels["tiny-luong"]
    assert labels["f-mismatch"].startswith("f-mismatch · unavailable: model.safetensors: weights do not fit")
    assert app.text[0].value == "gamma beta alpha"

    for name, file in [*((n, f) for n, (_, f) in BROKEN.items()), ("f-mismatch", "model.safetensors")]:
        app.sidebar.selectbox[0].set_value(name).run()
        assert not app.exception, name
        message = plain(app.error[0].value)
        # the full error, naming the file relative to the checkpoints folder (never the server's path)
        assert f"{name}/{file}" in message and str(root) not in message, message
        app.sidebar.selectbox[0].set_value("tiny-luong").run()
        assert not app.exception and not app.error
        assert app.text[0].value == "gamma beta alpha"
    assert not marker.exists()


def test_picker_notices_a_repaired_checkpoint(models_root):
    from pages.lib.common import checkpoint_problem, describe_checkpoint

    folder = models_root / "tiny-luong"
    weights = (folder / "model.safetensors").read_bytes()
    assert checkpoint_problem("tiny-luong") is None
    (folder / "model.safetensors").write_bytes(weights[:100])
    assert "unavailable: model.safetensors" in describe_checkpoint("tiny-luong")
    (folder / "model.safetensors").write_bytes(weights)
    assert checkpoint_problem("tiny-luong") is None  # cached per file size/mtime: the fix shows at once


@pytest.mark.parametrize("how, file, words", [
    ("missing", "tgt.model", "missing"),
    ("truncated", "model.safetensors", "truncated"),
    ("vocab", "src.model", "pieces but the model expects"),
    ("attention", "config.json", "unknown attention type 'transformer'"),
    ("mismatch", "model.safetensors", "weights do not fit"),
])
def test_each_broken_checkpoint_is_one_clear_error_naming_the_file(models_root, how, file, words):
    folder = break_copy(models_root, "broken", how)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(folder)
    assert caught.value.path == str(folder / file) and words in str(caught.value)
    assert caught.value.summary.startswith(file) and len(caught.value.summary) <= 70
    with pytest.raises(CheckpointError, match=re.escape(file)):  # the cheap check (no weights read) too
        check_checkpoint(folder)


def test_weights_from_another_model_are_caught_cheaply(models_root):
    folder = break_copy(models_root, "other", "none")
    edit_config(folder, lambda c: c.update(parameters=c["parameters"] + 1))
    with pytest.raises(CheckpointError, match=r"model\.safetensors: weights do not fit config\.json"):
        check_checkpoint(folder)


@pytest.mark.parametrize("change, words", [
    (lambda c: c["model"].update(hidden_size=10**7), "hidden_size must be a whole number from 1 to 8192"),
    (lambda c: c["model"].update(num_layers=10**4), "num_layers must be a whole number from 1 to 8"),
    (lambda c: c["model"].update(embedding_dim=-1), "embedding_dim"),
    (lambda c: c.update(model=[1, 2]), "'model' entry must be an object"),
    (lambda c: c.update(sha256="abc"), "'sha256' entry"),
    (lambda c: c.update(format_version="1"), "format_version must be a whole number"),
])
def test_a_hostile_config_is_refused_before_anything_is_built(models_root, change, words):
    folder = break_copy(models_root, "hostile", "none")
    edit_config(folder, change)
    started = time.perf_counter()
    with pytest.raises(CheckpointError, match=re.escape(words)) as caught:
        load_checkpoint(folder)
    assert caught.value.path == str(folder / "config.json")
    assert time.perf_counter() - started < 10  # refused, not allocated


def test_a_file_instead_of_a_folder_is_a_clear_error(models_root):
    with pytest.raises(CheckpointError, match="is a file; give the checkpoint folder"):
        load_checkpoint(models_root / "tiny-luong" / "model.safetensors")


@pytest.mark.parametrize("suffix", PICKLE_SUFFIXES)
def test_pickle_files_are_refused_in_a_folder_or_as_a_path(models_root, tmp_path, suffix):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(WritesMarker(marker))
    folder = break_copy(models_root, "with-pickle", "none")
    (folder / f"weights{suffix}").write_bytes(payload)
    for path in (folder, folder / f"weights{suffix}"):
        for loader in (load_checkpoint, check_checkpoint):
            with pytest.raises(CheckpointError, match="pickle files are refused") as caught:
                loader(path)
            assert caught.value.path == str(folder / f"weights{suffix}")
    assert not marker.exists()


def payload_runs_when_unpickled(payload: bytes, marker: Path) -> bool:
    """Sanity check of the test itself, in a child process: the payload really is live."""
    code = "import pickle, sys; pickle.loads(sys.stdin.buffer.read())"
    subprocess.run([sys.executable, "-c", code], input=payload, check=True, timeout=60)
    return marker.exists()


def test_a_malicious_pickle_is_never_executed(models_root, tmp_path, capsys):
    probe = tmp_path / "probe"
    assert payload_runs_when_unpickled(pickle.dumps(WritesMarker(probe)), probe)

    marker = tmp_path / "pwned"
    payload = pickle.dumps(WritesMarker(marker))
    hostile = {  # every place a stranger's checkpoint could hide it
        "as-model-pt": ("model.pt", False),
        "as-pytorch-bin": ("pytorch_model.bin", False),
        "as-safetensors": ("model.safetensors", True),
        "as-tokenizer": ("src.model", True),
        "as-config": ("config.json", True),
    }
    for name, (file, replace) in hostile.items():
        folder = break_copy(models_root, name, "none")
        if replace:
            edit_config(folder, lambda c: c.update(sha256={}))
        (folder / file).write_bytes(payload)

    # The library...
    for name in hostile:
        for loader in (load_checkpoint, check_checkpoint, read_config):
            try:
                loader(models_root / name)
            except CheckpointError:
                pass
    # ... the command line (in this process; test_the_cli_process_refuses_a_pickle runs a real one) ...
    for name, (file, _) in hostile.items():
        for target in (models_root / name, models_root / name / file):
            assert cli_main(["translate", "-c", str(target), "alpha beta"]) == 2
    capsys.readouterr()
    assert cli_main(["translate", "-c", str(models_root / "as-model-pt" / "model.pt"), "alpha beta"]) == 2
    assert "pickle files are refused" in capsys.readouterr().err
    # ... and the app, picking each one.
    app = run_page(None, "alpha beta", method="greedy")
    for name in [p.name for p in list_checkpoints(models_root)]:
        app.sidebar.selectbox[0].set_value(name).run()
        assert not app.exception
    assert not marker.exists()


@pytest.mark.slow
def test_the_cli_process_refuses_a_pickle(models_root, tmp_path):
    """The same refusal from a real ``python -m nmt_core`` child process (an interpreter start-up: slow)."""
    marker = tmp_path / "pwned"
    folder = break_copy(models_root, "as-model-pt", "none")
    (folder / "model.pt").write_bytes(pickle.dumps(WritesMarker(marker)))
    result = cli_process("translate", "-c", folder / "model.pt", "alpha beta")
    assert result.returncode == 2 and "pickle files are refused" in result.stderr, result.stderr
    assert not marker.exists()


# -- the command line --------------------------------------------------------------------------------------------
# cli() runs main(argv) in this process with a real (UTF-8, bytes-backed) stdin; the one real child process
# of this file is test_the_cli_process_refuses_a_pickle's (and test_cli.py has the other, a translation).


def test_cli_odd_lines_each_get_one_output_line(tiny_checkpoint_dir):
    lines = ["alpha beta", "", "\u200b\u200c", LONG, *ODD_SENTENCES.values(), MARKUP, "gamma delta"]
    lines = [line.replace("\n", " ").replace("\r", " ") for line in lines]  # one sentence per line
    result = cli("translate", "-c", tiny_checkpoint_dir, "--greedy", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout.split("\n")
    assert len(out) == len(lines) + 1 and out[-1] == ""
    assert out[0] == "beta alpha" and out[-2] == "delta gamma"
    assert out[1] == "" and out[2] == ""  # blank and zero-width-only lines stay blank
    assert out[3].strip()  # the long line is translated (its first 200 pieces) ...
    assert "warning: line 4: The sentence is too long" in result.stderr  # ... and says so


def test_cli_json_carries_the_notice(tiny_checkpoint_dir):
    result = cli("translate", "-c", tiny_checkpoint_dir, "--json", "--greedy", LONG)
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)
    assert "too long" in row["warnings"][0] and len(row["source_tokens"]) <= MAX_SOURCE_PIECES + 1


def test_cli_survives_bytes_that_are_not_utf8(tiny_checkpoint_dir):
    result = cli("translate", "-c", tiny_checkpoint_dir, "--greedy", stdin=b"alpha \xff\xfe beta\n\xc3\x28 gamma\n")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stdout.split("\n")) == 3


@pytest.mark.parametrize("text", ["", "   ", "\u200b", "\x00"])
def test_cli_empty_text_is_an_error_line(tiny_checkpoint, capsys, text, monkeypatch):
    monkeypatch.setattr("nmt_core.checkpoint.load_checkpoint", lambda _: tiny_checkpoint)
    assert cli_main(["translate", "-c", "tiny", text]) == 1
    assert "error: The sentence is empty" in capsys.readouterr().err


@pytest.mark.parametrize("args, words", [
    (["--temperature", "nan"], "temperature must be between 0 and 100, not nan"),
    (["--temperature", "inf"], "temperature must be between 0 and 100, not inf"),
    (["--temperature", "-1"], "temperature must be between 0 and 100"),
    (["--top-p", "nan"], "top-p must be in (0, 1]"),
    (["--top-p", "0"], "top-p must be in (0, 1]"),
    (["--top-k", "-5"], "top-k must be 0 (off) or positive"),
    (["--length-penalty", "nan"], "length penalty must be between 0 and 5"),
    (["--length-penalty", "1e309"], "length penalty must be between 0 and 5"),
    (["--beam", "99999999999"], "beam size must be between 1 and 50"),
    (["--beam", "-2"], "beam size must be between 1 and 50"),
    (["--unk-penalty", "-1"], "UNK penalty must be 0 or more"),
    (["--unk-penalty", "nan"], "UNK penalty must be 0 or more"),
    (["--temperature", "1", "--seed", str(2**70)], "seed must fit in 64 bits"),
])
def test_cli_settings_out_of_range_are_one_error_line(tiny_checkpoint, capsys, monkeypatch, args, words):
    monkeypatch.setattr("nmt_core.checkpoint.load_checkpoint", lambda _: tiny_checkpoint)
    assert cli_main(["translate", "-c", "tiny", *args, "alpha"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err and "Traceback" not in err


@pytest.mark.parametrize("args", [["--beam", "1e9"], ["--temperature", "warm"], ["--seed", "0.5"]])
def test_cli_malformed_numbers_are_usage_errors(args, capsys):
    with pytest.raises(SystemExit) as exited:
        cli_main(["translate", "-c", "tiny", *args, "alpha"])
    assert exited.value.code == 2 and "invalid" in capsys.readouterr().err


def test_cli_stops_quietly_when_the_reader_goes_away(tiny_checkpoint_dir):
    """``... | head -1``, in this process: stdout is a real pipe, opened as Python opens a process's stdout
    (a buffered text stream over the file descriptor), whose reader closes after the first line."""
    reader_fd, writer_fd = os.pipe()
    stdout = open(writer_fd, "w", encoding="utf-8")  # closed below, as the interpreter would
    stdin = io.TextIOWrapper(io.BytesIO(b"alpha beta\n" * 3000), encoding="utf-8", newline="\n")
    err, done = io.StringIO(), {}
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = stdin, stdout, err
    try:
        worker = threading.Thread(target=lambda: done.update(code=cli_main(["translate", "-c",
                                                                            str(tiny_checkpoint_dir), "--greedy"])))
        worker.start()
        with open(reader_fd, "rb") as reader:
            assert reader.readline() == b"beta alpha\n"
        # reader closed: the next line the CLI writes meets a broken pipe
        worker.join(timeout=300)
        assert not worker.is_alive()
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    assert done["code"] in (0, 141)
    # What the interpreter does at exit: flush and close stdout. A write still pending for the closed pipe
    # would raise here (a process prints "Exception ignored ... BrokenPipeError" at exit instead).
    stdout.close()
    assert "Traceback" not in err.getvalue() and "Exception ignored" not in err.getvalue(), err.getvalue()


# -- server settings ---------------------------------------------------------------------------------------------


def test_streamlit_server_settings():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["enableCORS"] is True
    assert config["server"]["headless"] is True
    assert config["server"]["maxUploadSize"] * 1_000_000 == MAX_UPLOAD_BYTES  # Streamlit MB; one limit
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] in ("type", "none")  # never a traceback in the browser
