"""The layout's promises, checked in fresh interpreters: the core never imports the page-side libraries,
and a subcommand's parser never imports what only another subcommand needs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ["nmt_core.model", "nmt_core.decoding", "nmt_core.beam_rule", "nmt_core.batch_beam", "nmt_core.trace",
        "nmt_core.checkpoint", "nmt_core.text", "nmt_core.data", "nmt_core.train", "nmt_core.evaluate",
        "nmt_core.explain"]
PAGE_SIDE = ["pandas", "plotly", "altair", "streamlit"]


def loaded_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.slow  # a fresh interpreter per module
@pytest.mark.parametrize("module", CORE)
def test_the_core_never_imports_page_side_libraries(module):
    assert not loaded_after(f"import {module}") & set(PAGE_SIDE), module


def test_translate_help_builds_without_torch():
    loaded = loaded_after("from nmt_core.__main__ import build_parser\nbuild_parser('translate')")
    assert "torch" not in loaded and "pandas" not in loaded


def test_the_whole_parser_still_lists_every_subcommand(capsys):
    from nmt_core.__main__ import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    for command in ("translate", "evaluate", "bench", "train", "align", "evaluate-alignment"):
        assert command in out
