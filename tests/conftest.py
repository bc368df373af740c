"""Shared fixtures: tiny corpora the tests make themselves, and a tiny trained checkpoint."""

from __future__ import annotations

import ast
import fcntl
import functools
import hashlib
import json
import os
import random
import shutil
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# The browser tests' server, Chromium and screenshots folder: shared, session-scoped fixtures.
pytest_plugins = ["tests.browserfixtures"]

# torch and nmt_core are imported inside the functions below, not here: pytest-xdist's controller process
# imports this file too, and importing torch there (~3 s of CPU) delayed the start of both workers.
if TYPE_CHECKING:
    from nmt_core.train import TrainConfig

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()


def cache_folder() -> Path | None:
    """Where trained tiny models and compiled bytecode are kept between runs; None when
    ATTENTION_EXPLORER_TEST_CACHE is "off"."""
    root = os.environ.get("ATTENTION_EXPLORER_TEST_CACHE", str(Path.home() / ".cache" / "attention-explorer"))
    return None if root == "off" else Path(root)


def _keep_bytecode_in_the_cache() -> None:
    """Let this test process keep compiled bytecode, in a cache folder outside the source tree.

    Where PYTHONDONTWRITEBYTECODE is set (as on the 2-core dev machine), pytest cannot keep the modules it
    rewrites for assertion introspection, so every process (the controller and each xdist worker) rewrote
    ~150 files on each run: all of hypothesis (pytest rewrites a plugin's whole distribution) and every test
    module, ~5 s of CPU per process. Writing them under a pycache prefix in the cache folder keeps the
    source tree and site-packages free of .pyc files, which is what that setting is usually for.
    ATTENTION_EXPLORER_TEST_CACHE=off leaves the interpreter's setting alone."""
    if cache_folder() is None or not sys.dont_write_bytecode:
        return
    sys.pycache_prefix = str(cache_folder() / "pycache")
    sys.dont_write_bytecode = False


_keep_bytecode_in_the_cache()


def pytest_collection_modifyitems(config, items):
    """The slow tests first, within each file. (Which file a worker takes next is pytest-xdist's choice: with
    --dist loadfile it hands out files by number of tests, most first. Idle, with the 21 browser tests in one
    file, the two workers end within 2 s of each other; --no-loadscope-reorder measured no better.)"""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Tiny models: threads only add overhead, and CI has 2 cores (a fixture, so that only the processes
    that run tests import torch)."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(autouse=True, scope="session")
def scan_installed_components_once():
    """Every AppTest scans the metadata of every installed package for st.components.v2 manifests (~300
    packages here: 90% of a page test's time, measured with cProfile). The installed packages do not change
    during a test session, so scan once per process and hand each AppTest the same answer. (The app's own
    components are declared inline, not in package manifests.)"""
    from streamlit.components.v2 import manifest_scanner

    real = manifest_scanner.scan_component_manifests
    found = real()
    manifest_scanner.scan_component_manifests = lambda *args, **kwargs: list(found)
    yield
    manifest_scanner.scan_component_manifests = real


@pytest.fixture(autouse=True, scope="session")
def compile_each_page_script_once():
    """AppTest gives every run a new, empty ScriptCache, so each run compiled app.py and its page again
    (Streamlit's "magic" pass and compile(): ~8% of a page test's CPU, measured with py-spy). A code object
    does not change when it runs, so keep one per script and version of its file for the whole process: a
    file changed on disk (its size or mtime) is compiled afresh."""
    from streamlit import config
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache

    real = ScriptCache.get_bytecode
    compiled: dict[tuple, object] = {}

    def get_bytecode(self, script_path: str):
        path = os.path.abspath(script_path)
        status = os.stat(path)
        key = (path, status.st_mtime_ns, status.st_size, config.get_option("runner.magicEnabled"))
        if key not in compiled:
            compiled[key] = real(self, script_path)
        return compiled[key]

    ScriptCache.get_bytecode = get_bytecode
    yield
    ScriptCache.get_bytecode = real


@pytest.fixture(autouse=True, scope="session")
def wait_for_app_runs_without_polling():
    """AppTest waits for each script run by polling every millisecond (Streamlit's require_widgets_deltas),
    so the waiting thread kept taking the GIL from the script thread it waits for (~5% of a page test's CPU
    in a py-spy profile). The run ends with its thread, so joining the thread returns at the same moment
    without polling; a run still going at the timeout is stopped and reported by Streamlit's own code."""
    from streamlit.testing.v1 import local_script_runner

    real = local_script_runner.require_widgets_deltas

    def require_widgets_deltas(runner, timeout: float = 3) -> None:
        thread = getattr(runner, "_script_thread", None)
        if thread is not None:
            thread.join(timeout)
        if not runner.script_stopped():
            real(runner, 0 if thread is not None else timeout)  # stops the run and raises the timeout error

    local_script_runner.require_widgets_deltas = require_widgets_deltas
    yield
    local_script_runner.require_widgets_deltas = real


def write_reverse_corpus(path: Path, pairs: int = 3000, seed: int = 0) -> Path:
    """``w1 w2 ... wn<TAB>wn ... w2 w1``: a task only attention solves easily."""
    rng = random.Random(seed)
    lines = []
    for _ in range(pairs):
        words = [rng.choice(WORDS) for _ in range(rng.randint(2, 7))]
        lines.append(" ".join(words) + "\t" + " ".join(reversed(words)) + "\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


def tiny_config(data: Path, out: Path, **overrides) -> TrainConfig:
    from nmt_core.train import TrainConfig

    model = {"embedding_dim": 32, "hidden_size": 64, "output_size": 32, "attention_size": 32, "dropout": 0.1,
             "attention": "luong-general"}
    model.update(overrides.pop("model", {}))
    values = dict(data=str(data), out=str(out), src_vocab_size=40, tgt_vocab_size=40, epochs=3, batch_size=32,
                  lr=5e-3, warmup_steps=10, dev_fraction=0.05, test_fraction=0.05, progress=False,
                  dev_bleu_sentences=100, model=model)
    values.update(overrides)
    return TrainConfig(**values)


@pytest.fixture(scope="session")
def reverse_corpus(tmp_path_factory) -> Path:
    return write_reverse_corpus(tmp_path_factory.mktemp("corpus") / "reverse.tsv")


ROOT = Path(__file__).resolve().parents[1]


def _module_file(dotted: str) -> Path | None:
    path = ROOT.joinpath(*dotted.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports_of(file: Path) -> list[str]:
    """Every module ``file`` imports, at the top or inside a function, as a dotted name (relative imports
    resolved; for ``from m import n`` both m and m.n, since n may be a submodule)."""
    parts = file.relative_to(ROOT).with_suffix("").parts
    package = ".".join(parts[:-1])  # a module's package; for a package's __init__, the package itself
    names = []
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            module = ".".join(part for part in (base if node.level else "", node.module or "") if part)
            names += [module] + [f"{module}.{alias.name}" for alias in node.names]
    return names


@functools.cache
def training_sources() -> list[Path]:
    """The source files of nmt_core.train and of every nmt_core module it can import, transitively.

    Read from the import statements rather than from sys.modules so that imports inside functions count
    (checkpoint imports card only when it saves). Keying the model cache on these alone means an edit to a
    figure or a page, which cannot change what training writes, keeps the cached models."""
    found: dict[str, Path] = {}
    pending = ["nmt_core.train"]
    while pending:
        name = pending.pop()
        if name != "nmt_core" and not name.startswith("nmt_core."):
            continue
        pieces = name.split(".")
        for end in range(1, len(pieces) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ too
            prefix = ".".join(pieces[:end])
            file = _module_file(prefix)
            if file is not None and prefix not in found:
                found[prefix] = file
                pending += _imports_of(file)
    return sorted(found.values())


def trained(tmp_path_factory, name: str, cfg: TrainConfig) -> Path:
    """``cfg`` trained to a checkpoint folder ``name`` (a fresh copy for this session).

    Training is deterministic, so the result is kept in a cache folder keyed by the training config, the
    corpus and the source of every nmt_core module training can run (training_sources()): a later run (or
    another pytest-xdist worker) with the same code copies it in a second instead of training again; a change
    to any of those modules trains afresh, while one to the figures, views, explain or the CLI does not.
    ATTENTION_EXPLORER_TEST_CACHE moves the cache; set it to "off" to always train.
    """
    import torch

    from nmt_core.train import TrainConfig, train

    out = tmp_path_factory.mktemp(name) / name
    cache_root = cache_folder()
    if cache_root is None:
        assert train(TrainConfig(**{**vars(cfg), "out": str(out)}))["finished"]
        return out
    digest = hashlib.sha256(repr(sorted((k, v) for k, v in vars(cfg).items() if k not in ("data", "out", "work_dir")))
                            .encode())
    digest.update(Path(cfg.data).read_bytes())
    digest.update(torch.__version__.encode())
    for source in training_sources():
        digest.update(source.relative_to(ROOT).as_posix().encode() + source.read_bytes())
    cached = cache_root / f"{name}-{digest.hexdigest()[:16]}"
    cached.parent.mkdir(parents=True, exist_ok=True)
    with open(cached.with_name(cached.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another pytest-xdist worker training the same model: wait for it
        if not (cached / "config.json").exists():
            scratch = cached.with_name(f"{cached.name}.{uuid.uuid4().hex}")
            config = TrainConfig(**{**vars(cfg), "out": str(scratch), "work_dir": str(scratch) + ".work"})
            assert train(config)["finished"]
            shutil.rmtree(str(scratch) + ".work", ignore_errors=True)
            scratch.rename(cached)
    shutil.copytree(cached, out)
    # The cached run read an identical corpus at another path: point the copy at this session's, so that
    # what rebuilds the split from config.json (evaluate --split) finds it.
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    config["training"]["config"]["data"] = str(cfg.data)
    (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def tiny_checkpoint_dir(tmp_path_factory, reverse_corpus) -> Path:
    """A Luong model trained on the reverse task through the real training code."""
    return trained(tmp_path_factory, "tiny-luong", tiny_config(reverse_corpus, Path("unused"), epochs=4))


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_checkpoint_dir):
    from nmt_core.checkpoint import load_checkpoint

    return load_checkpoint(tiny_checkpoint_dir)


@pytest.fixture(scope="session")
def translator(tiny_checkpoint):
    return tiny_checkpoint.translator


@pytest.fixture
def models_root(tmp_path, tiny_checkpoint_dir, monkeypatch):
    """A checkpoints folder holding the tiny Luong model as "tiny-luong", used by the app."""
    shutil.copytree(tiny_checkpoint_dir, tmp_path / "tiny-luong")
    monkeypatch.setenv("ATTENTION_EXPLORER_CHECKPOINTS", str(tmp_path))
    return tmp_path


TINY_TRANSFORMER = {"architecture": "transformer", "d_model": 32, "num_heads": 4, "encoder_layers": 2,
                    "decoder_layers": 2, "ff_size": 64, "dropout": 0.0}


@pytest.fixture(scope="session")
def tiny_transformer_dir(tmp_path_factory, reverse_corpus) -> Path:
    """A tiny Transformer (2 + 2 layers, 4 heads) trained on the reverse task through the real training code,
    with probe traces (probes.json) for each of its epochs."""
    cfg = tiny_config(reverse_corpus, Path("unused"), epochs=3, lr=3e-3, warmup_steps=30, average_last=1,
                      probe_sentences=3, model=dict(TINY_TRANSFORMER))
    cfg.model.pop("attention", None), cfg.model.pop("embedding_dim", None)
    return trained(tmp_path_factory, "tiny-transformer", cfg)
