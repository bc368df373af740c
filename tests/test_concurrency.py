"""Many users at once: one shared model, many threads (issue 7).

Streamlit runs every browser session's script in its own thread, and all of them share the models
that ``pages.lib.common.load`` caches. These tests check that concurrent decodes give exactly what
sequential ones give (no attention or trace leaking between users), that each checkpoint is loaded
once per process, and that every cache is capped so memory stays bounded.
"""

from __future__ import annotations

import ast
import hashlib
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import pages.lib.common as common
from nmt_core.checkpoint import load_checkpoint
from nmt_core.decoding import DecodeSettings
from tests.apphelpers import run_page
from tests.conftest import WORDS

ROOT = Path(__file__).resolve().parents[1]


def jobs(count: int = 30) -> list[tuple[str, DecodeSettings, list[int] | None]]:
    """``count`` different decodes: mixed sentences, greedy, beam of several widths, seeded sampling, prefixes."""
    result = []
    for i in range(count):
        words = [WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(2 + i % 6)]
        kind = i % 5
        if kind == 0:
            settings = DecodeSettings(method="greedy")
        elif kind == 1:
            settings = DecodeSettings(method="beam", beam_size=1 + i % 6, n_best=1 + i % 6, length_penalty=0.5)
        elif kind == 2:
            settings = DecodeSettings(method="sample", temperature=1.5, top_p=0.9, seed=i)
        elif kind == 3:
            settings = DecodeSettings(method="sample", temperature=0.8, top_k=5, seed=1000 + i)
        else:
            settings = DecodeSettings(method="beam", beam_size=4, n_best=2)
        prefix = [5] if i % 4 == 3 else None  # a forced first target token for some
        result.append((" ".join(words), settings, prefix))
    return result


def model_fingerprint(model) -> tuple:
    """Everything a decode could leave behind on the shared model: attributes and weights."""
    attributes = tuple(sorted((name, tuple(sorted(vars(module)))) for name, module in model.named_modules()))
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode() + tensor.numpy().tobytes())
    return attributes, digest.hexdigest()


def test_30_concurrent_decodes_equal_sequential_ones(translator):
    work = jobs(30)
    before = model_fingerprint(translator.model)
    sequential = [translator.translate(text, settings, prefix).to_dict() for text, settings, prefix in work]

    start = threading.Barrier(30)

    def decode(job):
        text, settings, prefix = job
        start.wait(timeout=120)  # all 30 threads decode at the same time
        return translator.translate(text, settings, prefix).to_dict()

    with ThreadPoolExecutor(max_workers=30) as pool:
        concurrent = list(pool.map(decode, work))

    assert len({trace["source_text"] for trace in sequential}) > 10  # really different jobs
    for index, (alone, together) in enumerate(zip(sequential, concurrent, strict=True)):
        assert together == alone, f"job {index} differs when run concurrently"
    assert model_fingerprint(translator.model) == before  # nothing stored on the shared model


def test_interleaved_steppers_do_not_share_state(translator):
    """Two sessions stepping through different sentences at once, one token at a time."""
    texts = ["alpha beta gamma delta", "mu lambda kappa"]
    expected = [translator.translate(t, DecodeSettings(method="greedy")).to_dict() for t in texts]
    steppers = [translator.stepper(t, DecodeSettings(method="greedy")) for t in texts]
    barrier = threading.Barrier(2)

    def walk(stepper):
        while not stepper.finished:
            barrier.wait(timeout=60)  # both advance in lockstep
            stepper.advance()
        barrier.abort()  # release the other thread if it has more steps to go
        return stepper.trace().to_dict()

    def safe_walk(stepper):
        try:
            return walk(stepper)
        except threading.BrokenBarrierError:  # the partner finished first: finish alone
            while not stepper.finished:
                stepper.advance()
            return stepper.trace().to_dict()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(safe_walk, steppers))
    assert results == expected


@pytest.fixture
def load_counter(monkeypatch):
    """Count real checkpoint loads behind pages.lib.common's cache (cleared first)."""
    loads: list[str] = []
    lock = threading.Lock()

    def counting_load(folder, *args, **kwargs):
        with lock:
            loads.append(str(folder))
        return load_checkpoint(folder, *args, **kwargs)

    monkeypatch.setattr(common, "load_checkpoint", counting_load)
    common.load_cached.clear()
    common.translate_cached.clear()
    yield loads
    common.load_cached.clear()
    common.translate_cached.clear()


def test_each_checkpoint_is_loaded_once_however_many_threads_ask(models_root, load_counter):
    with ThreadPoolExecutor(max_workers=30) as pool:
        loaded = list(pool.map(lambda _: common.load("tiny-luong"), range(30)))
    assert len({id(checkpoint) for checkpoint in loaded}) == 1
    for _ in range(20):
        assert common.load("tiny-luong") is loaded[0]
    assert load_counter == [str(models_root / "tiny-luong")]


def test_cached_translations_from_many_threads_match_and_load_once(models_root, load_counter, translator):
    work = jobs(30)
    expected = [translator.translate(text, settings, prefix).to_dict() for text, settings, prefix in work]
    with ThreadPoolExecutor(max_workers=30) as pool:
        # every job twice, so threads race on the same cache keys too
        results = list(pool.map(lambda job: common.translate("tiny-luong", *job).to_dict(), work + work))
    assert results == expected + expected
    assert len(load_counter) == 1


def test_many_app_sessions_share_one_loaded_model(models_root, load_counter, translator):
    sentences = ["alpha beta", "gamma delta epsilon", "mu eta", "kappa lambda iota", "zeta theta"]
    for index, sentence in enumerate(sentences):  # each AppTest is a new browser session in the same process
        method = "greedy" if index % 2 else "beam"
        app = run_page(None, sentence, method=method, beam="3", lp="1.0")
        assert not app.exception
        settings = app.session_state["settings"]
        assert app.text[0].value == translator.translate(sentence, settings).translation
    assert load_counter == [str(models_root / "tiny-luong")]


def test_a_preloaded_model_is_handed_over_not_loaded_twice(models_root, load_counter):
    """A fresh server loads its first link's model in a thread (common.start_preload); a run that asks for it
    meanwhile waits for that load and takes it over, and every later run gets the same object."""
    folder = str(models_root / "tiny-luong")
    common._preload_lock.acquire()  # as start_preload does, before the thread starts
    thread = threading.Thread(target=common._preload, args=(folder,))
    thread.start()
    with ThreadPoolExecutor(max_workers=8) as pool:
        loaded = list(pool.map(lambda _: common.load("tiny-luong"), range(8)))
    thread.join()
    assert len({id(checkpoint) for checkpoint in loaded}) == 1
    assert load_counter == [folder]
    assert not common._preloaded  # handed over, not kept twice


def test_a_preloaded_model_whose_files_changed_is_loaded_again(models_root, load_counter):
    folder = models_root / "tiny-luong"
    common._preload_lock.acquire()
    common._preload(str(folder))
    (folder / "config.json").write_text((folder / "config.json").read_text() + "\n")
    common.load("tiny-luong")
    assert load_counter == [str(folder), str(folder)]


def test_the_preload_stays_off_outside_streamlit_run(models_root, monkeypatch):
    started = []
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self))
    common.start_preload()  # tests point ATTENTION_EXPLORER_CHECKPOINTS elsewhere, and no runtime exists
    assert not started


# -- memory stays bounded ----------------------------------------------------------------------------------------

MAX_CACHE_ENTRIES = 1024


def cache_decorators() -> list[tuple[str, str, ast.Call | None, ast.FunctionDef]]:
    """(file, function, decorator call or None when bare) for every st.cache_data/st.cache_resource."""
    found = []
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(target, ast.Attribute) and target.attr in ("cache_data", "cache_resource"):
                    found.append((path.name, node.name, decorator if isinstance(decorator, ast.Call) else None, node))
    return found


def test_every_streamlit_cache_is_capped():
    caches = cache_decorators()
    assert {"load_cached", "translate_cached"} <= {name for _, name, _, _ in caches}
    for file, name, call, function in caches:
        takes_arguments = bool(function.args.args or function.args.kwonlyargs or function.args.vararg)
        if not takes_arguments:
            continue  # a cache without arguments holds one value
        keywords = {k.arg: k.value for k in (call.keywords if call else [])}
        assert "max_entries" in keywords, f"{file}: {name} caches without max_entries (unbounded memory)"
        limit = ast.literal_eval(keywords["max_entries"])
        assert isinstance(limit, int) and 1 <= limit <= MAX_CACHE_ENTRIES, f"{file}: {name} max_entries={limit}"


def test_loaded_models_cache_is_small():
    assert common.load_cached._info.max_entries <= 16  # a model is ~50 MB in fp32: at most ~1 GB


def test_the_trace_cache_evicts_beyond_its_cap(models_root, monkeypatch, load_counter):
    """Fill translate_cached past max_entries: the oldest trace is dropped, the newest kept."""
    from nmt_core.decoding import Translator

    decodes: list[str] = []

    def counting_translate(self, text, *args, **kwargs):
        decodes.append(text)
        return f"trace of {text}"  # the cache is what is tested: a stand-in for the trace, no decode

    monkeypatch.setattr(Translator, "translate", counting_translate)
    cap = common.translate_cached._info.max_entries
    assert cap <= MAX_CACHE_ENTRIES
    one_token = DecodeSettings(method="greedy", max_tokens=1)
    sentences = [f"{WORDS[i % 12]} {WORDS[(i // 12) % 12]} {WORDS[(i // 144) % 12]}" for i in range(cap + 1)]
    for sentence in sentences:
        common.translate("tiny-luong", sentence, one_token)
    assert len(decodes) == cap + 1
    assert common.translate("tiny-luong", sentences[-1], one_token) == f"trace of {sentences[-1]}"  # newest: cached
    assert len(decodes) == cap + 1
    common.translate("tiny-luong", sentences[0], one_token)  # oldest: evicted, decoded again
    assert len(decodes) == cap + 2


def test_the_loaded_model_cache_evicts_beyond_its_cap(models_root, load_counter):
    cap = common.load_cached._info.max_entries
    names = [f"copy-{i:02d}" for i in range(cap + 1)]
    for name in names:
        shutil.copytree(models_root / "tiny-luong", models_root / name)
        common.load(name)
    assert len(load_counter) == cap + 1
    common.load(names[-1])
    assert len(load_counter) == cap + 1
    common.load(names[0])  # the oldest model was dropped to stay within the cap
    assert len(load_counter) == cap + 2

