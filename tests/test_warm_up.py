"""A fresh server's warm-up (pages/lib/warm_up.py): what it imports and fills before the first script run."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from pages.lib import warm_up
from tests.test_layout import ROOT

# Each runs in a fresh interpreter, the start-up hook as the server runs it. Stage 2 (pages/lib/warm_up.py) is wrapped
# to note the modules loaded before and after it, in the warm-up thread itself.
NOTE_THE_STAGES = """
import asyncio, json, sys
from pages.lib import warm_up

stages = {}
real_rest = warm_up._import_rest

def noted_rest():
    stages["stage_1"] = set(sys.modules)
    real_rest()
    stages["stage_2"] = set(sys.modules) - stages["stage_1"]

warm_up._import_rest = noted_rest

async def serve():
    async with warm_up.warm_up(None):
        pass
"""

# No run waits: stage 2 follows stage 1 at once.
WARM_UP_ALONE = NOTE_THE_STAGES + """
asyncio.run(serve())
warm_up.wait_for_warm_up()
from streamlit import delta_generator
from pages.lib import common
print(json.dumps({"stage_1": sorted(stages["stage_1"]), "stage_2": sorted(stages["stage_2"]),
                  "warning_decided": delta_generator._use_warning_has_been_displayed,
                  "described": common._checkpoint_problem_cached.cache_info().currsize,
                  "frozen": __import__("gc").get_freeze_count(), "modules": len(sys.modules)}))
"""

# A first run waits for stage 1 (as a browser that connects before it ends): then the app's first run of Translate,
# through AppTest, which notes the modules loaded when the page first asks for stage 2 (below its heatmap).
WARM_UP_WITH_A_FIRST_RUN = NOTE_THE_STAGES + """
from streamlit.testing.v1 import AppTest

asked = {}
real_wait = warm_up.wait_for_warm_up

def noted_wait(*args, **kwargs):
    asked.setdefault("modules", set(sys.modules))
    asked.setdefault("stage_2_started", "stage_2" in stages or warm_up._rest_wanted.is_set())
    real_wait(*args, **kwargs)

warm_up.wait_for_warm_up = noted_wait
warm_up._waiting.set()  # a run waits for stage 1
asyncio.run(serve())
warm_up.wait_for_core()
at = AppTest.from_file("app.py", default_timeout=120).run()
print(json.dumps({"stage_1": sorted(stages["stage_1"]), "stage_2": sorted(stages["stage_2"]),
                  "before_heatmap": sorted(asked["modules"]), "stage_2_started": asked["stage_2_started"],
                  "after_run": sorted(sys.modules), "heatmaps": len(at.get("bidi_component")),
                  "tables": len(at.dataframe), "errors": [e.value for e in at.error], "exceptions": len(at.exception)}))
"""

# What the heatmap does without, and stage 2 imports (with the figures: plotly.graph_objects is Streamlit's own,
# loaded with it before the warm-up starts).
HEAVY = {"pandas", "pyarrow"}


def run_fresh(script: str, root, timeout: int = 300) -> dict:
    env = {"PATH": "/usr/bin:/bin", "ATTENTION_EXPLORER_CHECKPOINTS": str(root), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def models_root(tmp_path_factory, tiny_checkpoint_dir):
    import shutil

    root = tmp_path_factory.mktemp("warm-up-models")
    shutil.copytree(tiny_checkpoint_dir, root / "tiny-luong")
    return root


@pytest.fixture(scope="module")
def warmed(models_root) -> dict:
    return run_fresh(WARM_UP_ALONE, models_root)


@pytest.fixture(scope="module")
def first_run(models_root) -> dict:
    return run_fresh(WARM_UP_WITH_A_FIRST_RUN, models_root)


def top_level(modules) -> set[str]:
    return {name.split(".")[0] for name in modules}


@pytest.mark.slow
def test_stage_1_imports_what_the_heatmap_needs_and_stage_2_the_figure_libraries(warmed):
    assert {"torch", "sentencepiece", "numpy"} <= top_level(warmed["stage_1"])
    assert "nmt_core.views.heatmap_data" in warmed["stage_1"] and "pages.lib.sidebar" in warmed["stage_1"]
    assert not HEAVY & set(warmed["stage_1"])  # the first run's heatmap does not wait for them
    assert HEAVY <= set(warmed["stage_2"])
    assert {"nmt_core.figures.traces", "nmt_core.figures.attention_heads"} <= set(warmed["stage_2"])


@pytest.mark.slow
def test_the_first_run_imports_nothing_of_its_own_up_to_its_heatmap(first_run, warmed):
    # The first run of Translate (sidebar, page, heatmap) finds what it imports loaded by stage 1, and asks for
    # stage 2 only below its heatmap. So it cannot import what stage 2 imports side by side with it, even when
    # stage 2 runs at once (no run waited): none of the modules the run loaded itself is one of stage 2's.
    assert not first_run["stage_2_started"]  # the run went first: stage 2 waited for it to ask
    assert first_run["heatmaps"] == 1 and first_run["tables"] == 1  # the heatmap, then the n-best table
    assert not first_run["errors"] and not first_run["exceptions"]
    own = set(first_run["before_heatmap"]) - set(first_run["stage_1"])
    assert not HEAVY & set(first_run["before_heatmap"])
    assert not own & set(warmed["stage_2"]), sorted(own & set(warmed["stage_2"]))
    assert top_level(own) <= {"app", "pages", "nmt_core", "streamlit"}, sorted(own)
    # Below the heatmap it adds no third-party library that the warm-up did not import.
    warm = top_level(first_run["stage_1"]) | top_level(first_run["stage_2"])
    assert top_level(set(first_run["after_run"]) - set(first_run["before_heatmap"])) - warm <= {"pages", "nmt_core"}


@pytest.mark.slow
def test_the_warm_up_leaves_out_what_the_first_page_does_not_need(warmed):
    # Training, evaluation and attribution are other pages' (and the CLI's): each costs CPU at every start.
    loaded = set(warmed["stage_1"]) | set(warmed["stage_2"])
    assert not {"captum", "sacrebleu", "altair"} & top_level(loaded)
    assert not {"nmt_core.train", "nmt_core.evaluate", "nmt_core.explain.attribution", "nmt_core.data"} & loaded


@pytest.mark.slow
def test_the_warm_up_fills_the_sidebars_caches_and_streamlits_run_check(warmed):
    assert warmed["described"] == 1  # the one checkpoint of the folder, described for the model picker
    assert warmed["warning_decided"] is True  # no inspect.stack() on the first run's first element


@pytest.mark.slow
def test_the_warm_up_freezes_what_it_imported_out_of_the_garbage_collectors_view(warmed):
    # gc.freeze at its end: a full collection no longer walks torch, pandas, plotly and Streamlit (~280k objects).
    assert warmed["modules"] > 1000 and warmed["frozen"] > 100 * warmed["modules"]


def test_a_run_waits_for_stage_1_only_and_stage_2_waits_for_the_runs_ask(monkeypatch):
    # The events alone, with the stages replaced by stand-ins: a run released after stage 1 while stage 2 has not
    # begun; stage 2 begins when the run asks for it, and wait_for_warm_up returns once it is over.
    import threading

    for name in ("_started", "_core", "_waiting", "_rest_wanted", "_done"):
        monkeypatch.setattr(warm_up, name, threading.Event())
    order = []
    release_core = threading.Event()
    monkeypatch.setattr(warm_up, "_skip_the_direct_run_warning", lambda: None)
    monkeypatch.setattr(warm_up, "_import_core", lambda: release_core.wait(10))
    monkeypatch.setattr(warm_up, "_import_first_run", lambda: order.append("stage 1"))
    monkeypatch.setattr(warm_up, "_describe_checkpoints", lambda: None)
    monkeypatch.setattr(warm_up, "_import_rest", lambda: order.append("stage 2"))
    monkeypatch.setitem(sys.modules, "pages.lib.common", sys.modules.get("pages.lib.common") or object())
    warm_up._started.set()
    thread = threading.Thread(target=warm_up._warm_up, daemon=True)
    thread.start()
    waiter = threading.Thread(target=warm_up.wait_for_core, daemon=True)
    waiter.start()
    time.sleep(0.2)
    assert waiter.is_alive() and order == []  # the run waits for stage 1
    release_core.set()
    waiter.join(10)
    assert not waiter.is_alive() and order == ["stage 1"]
    time.sleep(0.2)
    assert order == ["stage 1"] and not warm_up._done.is_set()  # stage 2 waits for the run
    warm_up.wait_for_warm_up(10)
    assert order == ["stage 1", "stage 2"] and warm_up._done.is_set()
    thread.join(10)


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


def test_stage_2_lets_the_browser_fetch_the_heatmaps_files_first(monkeypatch):
    # The middleware notes the components' file requests while the warm-up is not done; stage 2 starts once the
    # heatmap's files and the modules they import were served, or after COMPONENT_WAIT_S when they were not.
    import asyncio
    import concurrent.futures
    import threading

    monkeypatch.setattr(warm_up, "_done", threading.Event())
    monkeypatch.setattr(warm_up, "_component_files", {"in_flight": 0, "served": set()})
    monkeypatch.setattr(warm_up, "COMPONENT_WAIT_S", 0.6)
    needed = warm_up.module_graph(warm_up.HEATMAP_FILES)
    assert {"heatmap.js", "heatmap.css", "shared.js"} <= needed  # heatmap.js imports shared.js
    seen = []

    async def app(scope, receive, send):
        seen.append((scope["path"], warm_up._component_files["in_flight"]))

    middleware = warm_up.ComponentFiles(app)

    def serve(path):
        # In a thread of its own: a browser test earlier in this process leaves Playwright's event loop
        # running in the main thread, where asyncio.run() refuses to start another.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, middleware({"type": "http", "path": path}, None, None)).result()

    serve("/static/js/index.js")
    assert not warm_up._component_files["served"]  # not a component's file
    for name in sorted(needed - {"shared.js"}):
        serve(f"/_stcore/bidi-components/attention_explorer.heatmap/{name}")
    assert seen[-1][1] == 1 and warm_up._component_files["in_flight"] == 0  # counted while it was served

    started = time.monotonic()
    warm_up._let_the_browser_fetch_the_component()  # shared.js is missing: waits it out
    assert 0.5 < time.monotonic() - started < 1.5
    serve("/_stcore/bidi-components/attention_explorer.heatmap/shared.js")
    started = time.monotonic()
    warm_up._let_the_browser_fetch_the_component()
    assert time.monotonic() - started < 0.3  # every file served: at once

    warm_up._done.set()  # afterwards the middleware only passes requests on
    warm_up._component_files["served"].clear()
    serve("/_stcore/bidi-components/attention_explorer.heatmap/heatmap.js")
    assert not warm_up._component_files["served"] and seen[-1][0].endswith("heatmap.js")


def test_the_module_graph_follows_static_imports(tmp_path, monkeypatch):
    import nmt_core.figures

    (tmp_path / "a.js").write_text('import { x } from "./b.js";\nimport "./c.js";\n', encoding="utf-8")
    (tmp_path / "b.js").write_text("import { y } from './c.js';\nexport const x = 1;\n", encoding="utf-8")
    (tmp_path / "c.js").write_text('import { x } from "./a.js";\n', encoding="utf-8")  # a cycle ends
    monkeypatch.setattr(nmt_core.figures, "COMPONENTS", tmp_path)
    assert warm_up.module_graph(("a.js", "a.css")) == {"a.js", "a.css", "b.js", "c.js"}
