"""Shared page helpers: cached model loading and decoding, settings from the sidebar.

Models are loaded once per process (``st.cache_resource``) and shared by every
browser session; nmt_core keeps no per-decode state on them. Traces are cached
by (checkpoint, sentence, settings) as plain dicts.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st
import torch

from nmt_core.checkpoint import Checkpoint, CheckpointError, list_checkpoints, load_checkpoint, read_config
from nmt_core.decoding import DecodeSettings
from nmt_core.trace import Trace


def checkpoint_root() -> Path:
    """checkpoints/ beside app.py; ATTENTION_EXPLORER_CHECKPOINTS points elsewhere (tests, own models)."""
    default = Path(__file__).resolve().parents[1] / "checkpoints"
    return Path(os.environ.get("ATTENTION_EXPLORER_CHECKPOINTS", default))


@st.cache_resource(show_spinner="Loading model…", max_entries=16)
def load_cached(folder: str) -> Checkpoint:
    return load_checkpoint(folder)


def default_length_penalty(name: str) -> float:
    """The beam length penalty tuned for a model on its dev set (1.0 when it has none)."""
    try:
        return float(read_config(checkpoint_root() / name).get("decoding_defaults", {}).get("length_penalty", 1.0))
    except (CheckpointError, TypeError, ValueError):
        return 1.0


def available_checkpoints() -> list[str]:
    return [p.name for p in list_checkpoints(checkpoint_root())]


@st.cache_data(show_spinner=False, max_entries=512)
def translate_cached(folder: str, sentence: str, settings: tuple) -> dict:
    checkpoint = load_cached(folder)
    with torch.inference_mode():
        trace = checkpoint.translator.translate(sentence, DecodeSettings(*settings))
    return trace.to_dict()


def translate(name: str, sentence: str, settings: DecodeSettings) -> Trace:
    values = tuple(settings.to_dict().values())
    return Trace.from_dict(translate_cached(str(checkpoint_root() / name), sentence, values))


def escape_markdown(text: str) -> str:
    """For messages that go through st.warning/st.error (markdown): show text, not markup."""
    for char in "\\`*_{}[]()#+-.!<>|~":
        text = text.replace(char, "\\" + char)
    return text
