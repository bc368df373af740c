"""The layout's promises, checked in fresh interpreters: the core never imports the page-side libraries,
and a subcommand's parser never imports what only another subcommand needs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The core: the model, decoding, training, data, checkpoints, evaluation and explanation. Only
# nmt_core.views (pandas) and nmt_core.figures (plotly, altair) may import the page-side libraries.
CORE_PACKAGES = ["nmt_core.model", "nmt_core.decoding", "nmt_core.explain"]
CORE_MODULES = ["nmt_core.checkpoint", "nmt_core.config_schema", "nmt_core.text", "nmt_core.casing", "nmt_core.data",
                "nmt_core.train", "nmt_core.recipes", "nmt_core.evaluate", "nmt_core.card", "nmt_core.examples",
                "nmt_core.speed"]
PAGE_SIDE = ["pandas", "plotly", "altair", "streamlit"]


def loaded_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.slow
def test_the_core_never_imports_page_side_libraries():
    # Every module of the core packages, found on disk, so a module added later is checked too.
    code = ("import importlib, pkgutil\n"
            f"for name in {CORE_PACKAGES!r}:\n"
            "    package = importlib.import_module(name)\n"
            "    for info in pkgutil.iter_modules(package.__path__, name + '.'):\n"
            "        importlib.import_module(info.name)\n"
            f"for name in {CORE_MODULES!r}:\n"
            "    importlib.import_module(name)")
    assert not loaded_after(code) & set(PAGE_SIDE)


def test_views_and_figures_are_the_only_page_side_packages():
    # nmt_core's top level holds only core modules and the sub-packages by job.
    top = {p.stem for p in (ROOT / "nmt_core").glob("*.py")} - {"__init__", "__main__"}
    packages = {p.name for p in (ROOT / "nmt_core").iterdir() if (p / "__init__.py").exists()}
    assert top == {m.rsplit(".", 1)[1] for m in CORE_MODULES}
    assert packages == {"model", "decoding", "explain", "views", "figures"}


@pytest.mark.slow
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
