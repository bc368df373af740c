"""The command line, on a tiny model the tests trained themselves.

Tests run ``main(argv)`` in this process (no interpreter start-up, torch import and checkpoint load each:
~3 s of CPU per process). Two tests in the suite run the real ``python -m nmt_core`` in a child process, end
to end, and are marked slow: test_translate_stdin_keeps_one_line_per_input here, and
test_robustness.py's test_the_cli_process_refuses_a_pickle (a non-zero exit status).
"""

import io
import json
import os
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import NamedTuple

import pytest

from nmt_core.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


class Result(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def cli(*args, stdin: str | bytes | None = None) -> Result:
    """``python -m nmt_core ARGS`` run in this process through ``main(argv)``, stdin/stdout/stderr captured.

    stdin is a UTF-8 text stream over bytes, made as Python makes a real one on POSIX (strict decoding, no
    newline translation); ``bytes`` are given to it unchanged, so input that is not UTF-8 reaches the CLI's
    own decoding."""
    out, err, saved_stdin = io.StringIO(), io.StringIO(), sys.stdin
    data = stdin if isinstance(stdin, bytes) else (stdin or "").encode("utf-8")
    sys.stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="strict", newline="\n")
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exit_:  # argparse: --help, or a usage error
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    finally:
        sys.stdin = saved_stdin
    return Result(code, out.getvalue(), err.getvalue())


def cli_process(*args, stdin: str | None = None):
    """The real thing: a fresh ``python -m nmt_core`` process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "nmt_core", *map(str, args)], input=stdin, capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300)


def test_translate_text(tiny_checkpoint_dir):
    result = cli("translate", "-c", tiny_checkpoint_dir, "alpha beta gamma")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "gamma beta alpha\n"


@pytest.mark.slow
def test_translate_stdin_keeps_one_line_per_input(tiny_checkpoint_dir):
    """The real process, end to end: its own stdin, stdout and exit status."""
    result = cli_process("translate", "-c", tiny_checkpoint_dir, "--beam", "3", stdin="mu eta\n\niota kappa lambda\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n") == ["eta mu", "", "lambda kappa iota", ""]


def test_translate_json(tiny_checkpoint_dir):
    result = cli("translate", "-c", tiny_checkpoint_dir, "--json", "--beam", "2", stdin="alpha beta\ndelta mu\n")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["translation"] for r in rows] == ["beta alpha", "mu delta"]
    for row in rows:
        assert len(row["attention"]) == len(row["target_tokens"])
        assert all(len(a) == len(row["source_tokens"]) for a in row["attention"])
        assert row["source_tokens"][-1] == "</s>"


def test_sampling_with_seed_replays(tiny_checkpoint_dir):
    args = ("translate", "-c", tiny_checkpoint_dir, "--temperature", "2.0", "--top-p", "0.9", "--seed", "5")
    first = cli(*args, stdin="alpha beta gamma delta\n" * 3)
    assert first.returncode == 0, first.stderr
    assert first.stdout == cli(*args, stdin="alpha beta gamma delta\n" * 3).stdout


def test_bad_input_gives_clear_errors(tiny_checkpoint_dir, tmp_path):
    result = cli("translate", "-c", tiny_checkpoint_dir, "")
    assert result.returncode == 1 and "error: The sentence is empty" in result.stderr
    assert "Traceback" not in result.stderr
    result = cli("translate", "-c", tiny_checkpoint_dir, "--beam", "0", "hi")
    assert result.returncode == 2 and "beam size must be between 1 and 50" in result.stderr
    result = cli("translate", "-c", tmp_path, "hi")
    assert result.returncode == 2 and "config.json: missing" in result.stderr
    long_line = "alpha " * 1000
    result = cli("translate", "-c", tiny_checkpoint_dir, stdin=f"alpha beta\n{long_line}\ngamma delta\n")
    assert result.returncode == 0 and "warning: line 2: The sentence is too long" in result.stderr
    out = result.stdout.split("\n")
    assert out[0] == "beta alpha" and out[1] and out[2:] == ["delta gamma", ""]
    assert "Traceback" not in result.stderr


def test_evaluate(tiny_checkpoint_dir, tmp_path):
    tsv = tmp_path / "eval.tsv"
    tsv.write_text("alpha beta gamma delta\tdelta gamma beta alpha\n"
                   "mu eta iota kappa\tsomething else\tkappa iota eta mu\n", encoding="utf-8")
    result = cli("evaluate", "-c", tiny_checkpoint_dir, tsv, "--json")
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    assert scores["bleu"] == pytest.approx(100.0) and scores["sentences"] == 2
    plain = cli("evaluate", "-c", tiny_checkpoint_dir, tsv)
    assert plain.stdout.startswith("BLEU = 100.00")
    assert "chrF = " in plain.stdout


@pytest.mark.parametrize("command", ["translate", "evaluate", "train", "bench"])
def test_every_subcommand_has_help(command):
    result = cli(command, "--help")
    assert result.returncode == 0 and "usage:" in result.stdout


@pytest.mark.slow
def test_train_cli_end_to_end(tmp_path):
    from .conftest import write_reverse_corpus

    data = write_reverse_corpus(tmp_path / "data.tsv", pairs=600)
    out = tmp_path / "cli-model"
    result = cli("train", "--data", data, "--out", out, "--src-vocab-size", 40, "--tgt-vocab-size", 40,
                 "--embedding-dim", 16, "--hidden-size", 32, "--output-size", 16, "--epochs", 1,
                 "--batch-size", 32, "--no-progress", "--attention", "bahdanau", "--dev-fraction", 0.05,
                 "--test-fraction", 0.05)
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["attention"] == "bahdanau" and config["model"]["hidden_size"] == 32
    assert cli("translate", "-c", out, "alpha").returncode == 0
    bad = cli("train", "--data", tmp_path / "missing.tsv", "--out", tmp_path / "other")
    assert bad.returncode == 2 and "no such data file" in bad.stderr


@pytest.mark.slow
def test_bench_reports_medians_and_the_hardware_floor(tiny_checkpoint_dir):
    result = cli("bench", "-c", tiny_checkpoint_dir, "--repeats", 2, "--json", "alpha beta gamma", "delta eta")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    latency, yardstick = report["latency"], report["yardstick"]
    assert latency["sentences"] == 2
    for key in ("greedy_ms", "beam5_ms", "step_ms"):
        median, p90 = latency[key]
        assert 0 < median <= p90
    assert yardstick["matmul_gflops"] > 0 and yardstick["beam5_mflop"][0] > 0
    # the floor is FLOPs / rate, and our time is a multiple of it
    assert yardstick["multiple_of_floor"][0] > 0


def test_evaluate_on_the_checkpoints_own_test_split_reproduces_its_reported_score(tiny_checkpoint_dir):
    """--split test rebuilds the held-out part from config.json: the same sentences, the same BLEU."""
    config = json.loads((tiny_checkpoint_dir / "config.json").read_text())
    result = cli("evaluate", "-c", tiny_checkpoint_dir, "--split", "test", "--by-length", "--json")
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    assert scores["sentences"] == config["metrics"]["test_sentences"]
    assert scores["bleu"] == pytest.approx(config["metrics"]["test_bleu"], abs=0.01)
    assert scores["chrf"] == pytest.approx(config["metrics"]["test_chrf"], abs=0.01)
    assert sum(bucket["sentences"] for bucket in scores["by_source_length"]) == scores["sentences"]
    table = cli("evaluate", "-c", tiny_checkpoint_dir, "--split", "test", "--by-length")
    assert "source words" in table.stdout and "1-4" in table.stdout


def test_evaluate_explains_a_wrong_choice_of_input(tiny_checkpoint_dir, tmp_path):
    neither = cli("evaluate", "-c", tiny_checkpoint_dir)
    assert neither.returncode == 2 and "either FILE.tsv or --split" in neither.stderr
    missing = cli("evaluate", "-c", tiny_checkpoint_dir, "--split", "dev", "--data", tmp_path / "gone.tsv")
    assert missing.returncode == 2 and "--data" in missing.stderr and "Traceback" not in missing.stderr


def test_evaluate_record_stores_scores_by_length_only_when_they_match_the_recorded_ones(tiny_checkpoint_dir,
                                                                                       tmp_path):
    folder = tmp_path / "tiny"
    shutil.copytree(tiny_checkpoint_dir, folder)
    result = cli("evaluate", "-c", folder, "--split", "test", "--by-length", "--record")
    assert result.returncode == 0, result.stderr
    config = json.loads((folder / "config.json").read_text())
    records = config["metrics"]["test_by_source_length"]
    assert sum(r["sentences"] for r in records) == config["metrics"]["test_sentences"]
    assert "| words | sentences | BLEU | chrF |" in (folder / "README.md").read_text()
    assert cli("translate", "-c", folder, "alpha beta").returncode == 0  # checksums still hold

    refused = cli("evaluate", "-c", folder, "--split", "test", "--by-length", "--record", "--beam", 2)
    assert refused.returncode == 2 and "not recorded" in refused.stderr and "test_beam 2 vs 5" in refused.stderr
    assert cli("evaluate", "-c", folder, "--split", "test", "--record").returncode == 2  # needs --by-length
