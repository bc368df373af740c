"""The server keeps its threads on one core (pages/lib/cores.py), in a process of its own here: pinning the test
worker itself would slow the rest of the suite."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []

pytestmark = pytest.mark.skipif(len(CORES) < 2, reason="needs Linux and two usable cores")

# Confine, then start a thread, and report the cores each thread (the main one, the old one, the new one) may use.
PROBE = """
import json, os, threading
from pages.lib.cores import confine_to_one_core
seen, go = {}, threading.Event()
def note(name):
    go.wait()
    seen[name] = sorted(os.sched_getaffinity(0))
old = threading.Thread(target=note, args=("old",)); old.start()
core = confine_to_one_core()
go.set()
new = threading.Thread(target=note, args=("new",)); new.start(); old.join(); new.join()
print(json.dumps({"core": core, "main": sorted(os.sched_getaffinity(0)), **seen}))
"""


def run_python(code: str, setting: str | None = None) -> tuple[dict, str]:
    """Run ``code`` in a fresh interpreter in the checkout (``setting``: ATTENTION_EXPLORER_SERVER_CORES, None for
    unset): the JSON its last line prints, and its stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ATTENTION_EXPLORER_SERVER_CORES", None)
    if setting is not None:
        env["ATTENTION_EXPLORER_SERVER_CORES"] = setting
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout.splitlines()[-1]), done.stderr


def test_every_thread_then_and_after_keeps_to_one_usable_core():
    report, stderr = run_python(PROBE)
    assert report["core"] in CORES
    assert report["main"] == report["old"] == report["new"] == [report["core"]]
    assert stderr == ""


def test_all_leaves_the_server_on_every_core():
    report, _ = run_python(PROBE, "all")
    assert report["core"] is None
    assert report["main"] == report["old"] == report["new"] == CORES


def test_an_unknown_setting_is_named_and_one_core_is_kept():
    report, stderr = run_python(PROBE, "two")
    assert report["main"] == [report["core"]]
    assert "ATTENTION_EXPLORER_SERVER_CORES='two' is not one of one, all" in stderr


def test_importing_app_py_pins_nothing():
    """Only the served app keeps to one core (st.App's start-up hook): a test that imports app.py for its PAGES,
    run in a pytest worker, pinned that worker and every process it started after it."""
    cores, _ = run_python("import os, app; print(sorted(os.sched_getaffinity(0)))")
    assert cores == CORES
