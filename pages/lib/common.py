"""Shared page helpers: cached model loading and decoding, URL state, classroom mode.

Models are loaded once per process (``st.cache_resource``) and shared by every
browser session; nmt_core keeps no per-decode state on them. Traces are cached
by (checkpoint, sentence, settings, forced prefix), so a rerun that only
moves a slider does no model work. Both caches follow the checkpoint's files:
a loaded model is dropped once any file of its folder changes size or
modification time, and traces are keyed on the same state, so a checkpoint
replaced or truncated on disk never keeps serving from memory.

What every page can read from ``st.session_state`` (set by app.py's sidebar):
``checkpoint`` (folder name or None), ``sentence`` (str), ``settings``
(:class:`DecodeSettings`), ``classroom`` (bool).
"""

from __future__ import annotations

import copy
import functools
import math
import os
import runpy
import threading
from contextlib import contextmanager
from pathlib import Path

import streamlit as st
import torch
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from nmt_core.card import language_name
from nmt_core.checkpoint import (
    Checkpoint,
    CheckpointError,
    check_checkpoint,
    files_signature,
    list_checkpoints,
    load_checkpoint,
    read_config,
)
from nmt_core.decoding import AttentionMaps, DecodeSettings, InputError, attention_maps
from nmt_core.decoding.trace import Trace
from nmt_core.views.compare import attention_type

# Resolved once: the sidebar asks for the root once per model on every run, and resolve() is a system call each.
DEFAULT_CHECKPOINT_ROOT = Path(__file__).resolve().parents[2] / "checkpoints"


def checkpoint_root() -> Path:
    """checkpoints/ beside app.py; ATTENTION_EXPLORER_CHECKPOINTS points elsewhere (tests, own models)."""
    return Path(os.environ.get("ATTENTION_EXPLORER_CHECKPOINTS", DEFAULT_CHECKPOINT_ROOT))


def _files_unchanged(checkpoint: Checkpoint) -> bool:
    """The cache's check on every hit: a checkpoint whose files changed on disk is loaded again."""
    return files_signature(checkpoint.folder) == checkpoint.signature


@st.cache_resource(show_spinner="Loading model…", max_entries=16, validate=_files_unchanged)
def load_cached(folder: str) -> Checkpoint:
    return _take_preloaded(folder) or load_checkpoint(folder)


# --- A fresh server loads the model its first link names while the first run goes on --------------------------
# Loading a checkpoint is mostly waiting on its files (~0.9 s, of which ~0.2 s CPU here); a fresh server's first
# run has seconds of imports and page work to do meanwhile, so a thread started when this module is first
# imported loads it, and load_cached takes it over (or waits for it) instead of loading it a second time.
PRELOAD_MODEL = "spa-eng-luong"  # app.py's default model, for a first link without ?model=
_preload_lock = threading.Lock()  # held by the preload thread while it loads
_preloaded: dict[str, Checkpoint] = {}


def _take_preloaded(folder: str) -> Checkpoint | None:
    with _preload_lock:  # waits for a load in flight
        checkpoint = _preloaded.pop(folder, None)
    return checkpoint if checkpoint is not None and _files_unchanged(checkpoint) else None


def _preload(folder: str) -> None:
    try:  # the lock was taken for this thread by start_preload, so no run can miss the load in flight
        _preloaded[folder] = load_checkpoint(folder)
    except Exception:  # noqa: BLE001 - the page loads it again and shows the error
        pass
    finally:
        _preload_lock.release()


def start_preload() -> None:
    """Under ``streamlit run`` only, once per process: load the first link's model (?model=, else the default)."""
    if os.environ.get("ATTENTION_EXPLORER_CHECKPOINTS") or not runtime.exists():
        return  # tests and AppTest: nothing in the background
    # Imported by the server's start-up warm-up (pages/lib/warm_up.py) there is no script run, hence no link to
    # read: st.query_params would log a "missing ScriptRunContext" warning on every start, so ask first.
    wanted = PRELOAD_MODEL
    if get_script_run_ctx(suppress_warning=True) is not None:
        wanted = str(st.query_params.get("model") or PRELOAD_MODEL)
    folder = checkpoint_root() / wanted
    if "/" in wanted or not (folder / "config.json").is_file():
        return
    _preload_lock.acquire()
    threading.Thread(target=_preload, args=(str(folder),), name="preload-model", daemon=True).start()


def load(name: str) -> Checkpoint:
    """The shared, loaded checkpoint ``name``; raises CheckpointError (never caches a failure)."""
    return load_cached(str(checkpoint_root() / name))


def config_of(name: str) -> dict | None:
    """A checkpoint's config.json, or None when it cannot be read.

    Read once per version of the file: the model picker asks for every model's
    config on every rerun, and parsing JSON there each time is wasted work.
    """
    return copy.deepcopy(_config_shared(name))


def _config_shared(name: str) -> dict | None:
    """:func:`config_of` without the copy, for this module's read-only uses on every run (the sidebar)."""
    folder = checkpoint_root() / name
    try:
        stat = (folder / "config.json").stat()
    except OSError:
        return None
    return _config_cached(str(folder), (stat.st_mtime_ns, stat.st_size))


# A plain LRU cache, not st.cache_data: the sidebar asks for every model's config and status on every
# run, and st.cache_data's hashing and unpickling of each answer cost ~13 ms a run for 7 models.
@functools.lru_cache(maxsize=64)
def _config_cached(folder: str, stamp: tuple) -> dict | None:
    # ``stamp`` (the file's modification time and size) is only part of the cache key.
    try:
        return read_config(folder)
    except CheckpointError:
        return None


def sidebar_choices() -> tuple[str | None, str, DecodeSettings | None]:
    """What the shared sidebar (app.py) chose on this run: checkpoint name, sentence, decode settings."""
    return (st.session_state.get("checkpoint"), st.session_state.get("sentence", ""),
            st.session_state.get("settings"))


def source_language_of(name: str | None) -> str | None:
    """The language code a checkpoint reads ("spa"...), or None when unknown or unreadable."""
    return (_config_shared(name) or {}).get("source_language") if name else None


def default_length_penalty(name: str) -> float:
    """The beam length penalty tuned for a model on its dev set (1.0 when it has none)."""
    try:
        return float((_config_shared(name) or {}).get("decoding_defaults", {}).get("length_penalty", 1.0))
    except (AttributeError, TypeError, ValueError):
        return 1.0


def available_checkpoints() -> list[str]:
    return [p.name for p in list_checkpoints(checkpoint_root())]


def describe_checkpoint(name: str) -> str:
    """One line for the model picker: "spa-eng-luong · Spanish→English · luong-general · BLEU 51.4".

    A checkpoint that fails the cheap checks reads "name · unavailable: <short reason>"; picking it
    shows the full error on the page, and every other model keeps working.
    """
    problem = checkpoint_problem(name)
    if problem is not None:
        return f"{name} · unavailable: {problem}"
    config = _config_shared(name) or {}
    parts = [name]
    src, tgt = config.get("source_language"), config.get("target_language")
    if src and tgt:
        parts.append(f"{language_name(src)}→{language_name(tgt)}")
    if isinstance(config.get("model", {}), dict):
        parts.append(attention_type(config))  # "multi-head" for a Transformer
    bleu = (config.get("metrics") or {}).get("test_bleu")
    if isinstance(bleu, int | float):
        parts.append(f"BLEU {bleu:.1f}")
    return " · ".join(parts)


@st.cache_resource(show_spinner=False, max_entries=512)
def translate_cached(folder: str, sentence: str, settings: tuple, prefix: tuple[int, ...] = (),
                     signature: tuple = ()) -> Trace:
    """One decode per (checkpoint and its files' state, sentence, settings, prefix), shared by every session.

    A resource cache, not a data cache: a hit hands back the same Trace object
    instead of unpickling a copy (a width-16 beam trace holds thousands of nodes,
    and copying it cost up to ~180 ms per rerun). Pages only read traces.
    """
    checkpoint = load_cached(folder)
    with torch.inference_mode():
        return checkpoint.translator.translate(sentence, DecodeSettings(*settings), list(prefix) or None)


def translate(name: str, sentence: str, settings: DecodeSettings, prefix: list[int] | None = None) -> Trace:
    """Decode (or fetch the cached trace). ``prefix``: target token ids to force first.

    The trace is shared with other sessions: read it, never change it.
    Raises InputError (bad sentence or settings) and CheckpointError.
    """
    return trace_of(trace_key(name, sentence, settings, prefix))


def trace_key(name: str, sentence: str, settings: DecodeSettings, prefix: list[int] | None = None) -> tuple:
    """What names one decode: (folder, sentence, settings values, forced prefix, the folder's files' state).

    A page caches what it builds from a trace (a figure, a component's JSON) under this key, so the
    build runs once per decode, for every session, and a checkpoint changed on disk is a new key.
    """
    folder = checkpoint_root() / name
    return (str(folder), sentence, settings_values(settings), tuple(int(i) for i in prefix or ()),
            folder_signature(folder))


def trace_of(key: tuple) -> Trace:
    """The trace :func:`trace_key` names (decoded once, then cached and shared)."""
    return translate_cached(*key)


@st.cache_resource(show_spinner=False, max_entries=64)
def _attention_maps_cached(key: tuple) -> AttentionMaps | None:
    return attention_maps(load_cached(key[0]).translator, trace_of(key))


def transformer_maps(name: str, sentence: str, settings: DecodeSettings) -> AttentionMaps | None:
    """A Transformer's encoder and decoder self-attention (and cross-attention) for the trace
    :func:`translate` gives, every layer and head; None for an RNN. One forced pass, cached and shared
    like the trace (the same decode, not a second one). Raises what :func:`translate` raises."""
    return _attention_maps_cached(trace_key(name, sentence, settings))


def settings_values(settings: DecodeSettings) -> tuple:
    """Validated settings as a plain tuple: a cache key (``DecodeSettings(*values)`` rebuilds them)."""
    return tuple(settings.validate().to_dict().values())


NO_CHECKPOINT = "No checkpoint found in `checkpoints/`. Train one with `python -m nmt_core train` (see README)."


def decode_or_explain(name: str, sentence: str, settings: DecodeSettings, prefix: list[int] | None = None
                      ) -> Trace | None:
    """:func:`translate`, or show why it cannot (a warning for bad input, an error for a
    broken checkpoint) and return None: the page then stops, the app keeps working."""
    try:
        return translate(name, sentence, settings, prefix)
    except InputError as error:
        st.warning(escape_markdown(str(error)))
    except CheckpointError as error:
        st.error(f"This checkpoint cannot be loaded: {escape_markdown(str(error))}")
    return None


def escape_markdown(text: str) -> str:
    """For messages that go through st.warning/st.error (markdown): show text, not markup."""
    for char in "\\`*_{}[]()#+-.!<>|~":
        text = text.replace(char, "\\" + char)
    return text


def url_int(name: str, default: int, low: int, high: int) -> int:
    """A page's own integer URL parameter (e.g. ``step``), clamped; default when absent or malformed."""
    try:
        value = float(st.query_params.get(name, default))
    except (TypeError, ValueError):
        return default
    if math.isnan(value):
        return default
    return int(min(max(value, low), high))


def set_url(**params) -> None:
    """Write URL parameters, only those that changed (so the URL does not churn), in one write: Streamlit sends the
    browser the whole query string, and pushes a history entry, on every write."""
    changed = {name: str(value) for name, value in params.items() if st.query_params.get(name) != str(value)}
    if changed:
        st.query_params.update(changed)


def classroom() -> bool:
    """True when the sidebar's classroom toggle is on: large type, essentials only."""
    return bool(st.session_state.get("classroom", False))


def checkpoint_problem(name: str) -> str | None:
    """Why checkpoint ``name`` cannot be used, in a few words; None when the cheap checks pass.

    Cheap: config.json, file presence, the safetensors header and sizes, the tokenisers' vocabularies
    (no weights read, no checksums). Cached per folder *and* its files' sizes and modification times,
    so a fixed or replaced file is noticed on the next rerun.
    """
    folder = checkpoint_root() / name
    return _checkpoint_problem_cached(str(folder), folder_signature(folder))


def folder_signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """(name, size, mtime) of every file in ``folder``: changes whenever a file does."""
    return files_signature(folder)


@functools.lru_cache(maxsize=64)  # not st.cache_data: see _config_cached
def _checkpoint_problem_cached(folder: str, signature: tuple) -> str | None:
    # ``signature`` is only part of the cache key.
    try:
        check_checkpoint(folder)
    except CheckpointError as error:
        return error.summary
    return None


# Set while app.py's st.navigation runs a page. Each session's script runs on a thread of its own,
# so this says whether *this* run came through app.py, whatever other sessions are doing.
_ROUTED = threading.local()


@contextmanager
def routed():
    """Mark the page that app.py runs as served by its st.navigation (see :func:`leave_legacy_mode`)."""
    _ROUTED.active = True
    try:
        yield
    finally:
        _ROUTED.active = False


def leave_legacy_mode() -> None:
    """Hand a fresh server's first deep link from Streamlit's legacy multipage mode over to app.py.

    Because this app has a ``pages/`` folder, the first script run of a fresh server goes
    through Streamlit's legacy mode (see app.py), which knows only ``app.py`` and the
    files directly in ``pages/``. Each page is named by its URL path (``pages/step.py``
    is ``/step``), so the legacy mode finds the page a link names, but would run it
    alone, without app.py's sidebar. Every page therefore calls this first: run by
    anything but app.py, it runs app.py in the page's place (app.py's st.navigation
    switches the mode off and serves the same page, URL intact, since a page's identity
    is its URL path in both modes), then stops this run. Running app.py here rather than
    rerunning keeps this run's widget events, such as a click. Whether app.py ran the
    page is asked of this thread (:func:`routed`), not of Streamlit's process-wide mode
    flag, which another session may switch off in the middle of this run. Helpers live
    in ``pages/lib/``, which the legacy glob does not enter, so they never become pages.
    """
    if not getattr(_ROUTED, "active", False):
        runpy.run_path(str(Path(__file__).resolve().parents[2] / "app.py"), run_name="__main__")
        st.stop()


start_preload()  # this module is imported once per process, by app.py's first run
