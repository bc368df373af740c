"""A fresh server's warm-up (pages/lib/warm_up.py): what it imports and fills before the first script run."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from pages.lib import warm_up
from tests.test_layout import ROOT

# Run in a fresh interpreter: the start-up hook as the server runs it, then pages/translate.py's own imports
# (its import statements only, not the page), noting what each step loaded.
WARM_UP_THEN_TRANSLATE_IMPORTS = """
import ast, asyncio, json, sys
from pages.lib import warm_up

async def serve():
    async with warm_up.warm_up(None):
        pass

asyncio.run(serve())
warm_up.wait_for_warm_up()
from streamlit import delta_generator
from pages.lib import common
warmed = set(sys.modules)
for node in ast.parse(open("pages/translate.py", encoding="utf-8").read()).body:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        exec(compile(ast.Module([node], []), "pages/translate.py", "exec"), {})
print(json.dumps({"warmed": sorted(warmed), "added": sorted(set(sys.modules) - warmed),
                  "warning_decided": delta_generator._use_warning_has_been_displayed,
                  "described": common._checkpoint_problem_cached.cache_info().currsize}))
"""


@pytest.fixture(scope="module")
def warmed(tmp_path_factory, tiny_checkpoint_dir) -> dict:
    import shutil

    root = tmp_path_factory.mktemp("warm-up-models")
    shutil.copytree(tiny_checkpoint_dir, root / "tiny-luong")
    env = {"PATH": "/usr/bin:/bin", "ATTENTION_EXPLORER_CHECKPOINTS": str(root), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", WARM_UP_THEN_TRANSLATE_IMPORTS], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def top_level(modules: list[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


@pytest.mark.slow
def test_the_warm_up_imports_every_library_the_translate_page_imports(warmed):
    # The first run of Translate finds every third-party library it needs already imported; a new heavy import
    # in pages/translate.py fails here until the warm-up imports it too.
    assert {"torch", "pandas", "pyarrow", "plotly", "sentencepiece"} <= top_level(warmed["warmed"])
    assert top_level(warmed["added"]) <= top_level(warmed["warmed"])


@pytest.mark.slow
def test_the_warm_up_leaves_out_what_the_first_page_does_not_need(warmed):
    # Training, evaluation and attribution are other pages' (and the CLI's): each costs CPU at every start.
    loaded = set(warmed["warmed"])
    assert not {"captum", "sacrebleu", "altair"} & top_level(warmed["warmed"])
    assert not {"nmt_core.train", "nmt_core.evaluate", "nmt_core.explain.attribution", "nmt_core.data"} & loaded


@pytest.mark.slow
def test_the_warm_up_fills_the_sidebars_caches_and_streamlits_run_check(warmed):
    assert warmed["described"] == 1  # the one checkpoint of the folder, described for the model picker
    assert warmed["warning_decided"] is True  # no inspect.stack() on the first run's first element


def test_the_component_scan_is_skipped_and_finds_nothing_the_app_needs(monkeypatch):
    from streamlit.components.v2 import manifest_scanner
    from streamlit.components.v2.component_manager import BidiComponentManager

    monkeypatch.setattr(manifest_scanner, "scan_component_manifests", manifest_scanner.scan_component_manifests)
    warm_up.skip_component_scan()
    assert manifest_scanner.scan_component_manifests() == []
    manager = BidiComponentManager()
    manager.discover_and_register_components(start_file_watching=False)  # what Runtime() does when it starts
    assert manager.get_metadata("attention_explorer.heatmap") is None  # inline components need no manifest


def test_no_warm_up_means_no_wait_and_no_marks(capsys, monkeypatch):
    # AppTest and a warm server: nothing was started, so a run never waits; marks print only when asked.
    monkeypatch.setattr(warm_up, "TIMING", False)
    started = time.perf_counter()
    warm_up.wait_for_warm_up()
    assert time.perf_counter() - started < 1.0
    warm_up.mark("run_start")
    monkeypatch.setattr(warm_up, "TIMING", True)
    warm_up.mark("run_end")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("attention-explorer-timing run_end ")
    assert float(err[0].split()[-1]) > 0
