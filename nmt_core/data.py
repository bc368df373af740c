"""Reading sentence pairs and splitting them into train/dev/test.

Two input formats:

* the manythings.org / Tatoeba anki zips exactly as published: one member
  ``<lang>-eng/<lang>.txt`` (or ``<lang>.txt``) with lines
  ``English<TAB>Other[<TAB>attribution]``; ``_about.txt`` and ``__MACOSX/``
  entries are ignored;
* plain TSV files: ``source<TAB>target`` in the direction you train.

The split is a pure function of each normalised source sentence (a hash
bucket), so it is deterministic, independent of file order, and every pair
that shares a source lands in the same part: no dev or test source ever
appears in training, and a test source keeps all its references together
(multi-reference BLEU for free).

Training checks its inputs before anything heavy (:func:`check_training_paths`, then
:func:`check_split` on the split it read): a directory given as data, a corrupt zip,
an empty or non-UTF-8 file, an output path that is a file, or a corpus too small to
leave dev and test sentences each give one ``ValueError`` naming the file, in seconds.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from .text import normalize

ENGLISH = "eng"


@dataclass(frozen=True)
class Pair:
    source: str
    target: str


@dataclass
class Split:
    """Train pairs plus dev/test grouped as (source, [references...])."""

    train: list[Pair]
    dev: list[tuple[str, list[str]]]
    test: list[tuple[str, list[str]]]
    stats: dict = field(default_factory=dict)


def zip_language(path: str | Path) -> str:
    """``spa-eng.zip`` -> ``'spa'``: the non-English language of an anki zip."""
    match = re.match(r"([a-z]{3})-eng", Path(path).name)
    if not match:
        raise ValueError(f"{path}: expected a manythings zip named like 'spa-eng.zip'")
    return match.group(1)


def _utf8(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ValueError(f"{where}: not valid UTF-8 (line {line}, byte {error.start + 1}); "
                         "save it as UTF-8") from None


def _read_anki_zip(path: Path) -> list[tuple[str, str]]:
    """Return (english, other) pairs from a manythings anki zip."""
    lang = zip_language(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = [
                name
                for name in archive.namelist()
                if not name.startswith("__MACOSX/")
                and Path(name).name == f"{lang}.txt"
            ]
            if not members:
                raise ValueError(f"{path}: no '{lang}-eng/{lang}.txt' member in the zip")
            raw = _utf8(archive.read(members[0]), f"{path} ({members[0]})")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as error:
        raise ValueError(f"{path}: not a readable zip file ({error})") from None
    pairs = []
    for line in raw.splitlines():
        columns = line.split("\t")
        if len(columns) >= 2:
            pairs.append((columns[0], columns[1]))
    return pairs


def require_data_file(path: str | Path) -> Path:
    """``path`` as a Path if it names a regular file; else FileNotFoundError or ValueError saying what it is."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such data file")
    if path.is_dir():
        raise ValueError(f"{path}: is a directory; give an anki zip (spa-eng.zip) or a TSV file of source<TAB>target")
    if not path.is_file():
        raise ValueError(f"{path}: not a regular file; give an anki zip or a TSV file")
    return path


def read_pairs(path: str | Path, source_language: str | None = None, target_language: str | None = None) -> list[Pair]:
    """Read raw (un-normalised) pairs in the requested direction.

    For an anki zip the direction is given by the languages: ``spa->eng``
    keeps the file's columns swapped to (spa, eng), ``eng->spa`` keeps them.
    A TSV is read as ``source<TAB>target`` and the languages are just labels.
    """
    path = require_data_file(path)
    try:
        pairs = _read_pairs(path, source_language, target_language)
    except OSError as error:
        raise ValueError(f"{path}: unreadable ({error.strerror or error})") from None
    if not pairs:
        raise ValueError(f"{path}: no sentence pairs in it (expected lines of source<TAB>target)")
    return pairs


def _read_pairs(path: Path, source_language: str | None, target_language: str | None) -> list[Pair]:
    if path.suffix == ".zip":
        other = zip_language(path)
        source_language = source_language or other
        target_language = target_language or (ENGLISH if source_language == other else other)
        if {source_language, target_language} != {other, ENGLISH}:
            raise ValueError(f"{path} holds {other}<->eng, not {source_language}->{target_language}")
        english_first = _read_anki_zip(path)
        if source_language == ENGLISH:
            return [Pair(eng, oth) for eng, oth in english_first]
        return [Pair(oth, eng) for eng, oth in english_first]
    pairs = []
    for line in _utf8(path.read_bytes(), str(path)).splitlines():
        columns = line.split("\t")
        if len(columns) >= 2 and columns[0].strip() and columns[1].strip():
            pairs.append(Pair(columns[0], columns[1]))
    return pairs


def clean_pairs(pairs: list[Pair], max_words: int = 30) -> list[Pair]:
    """Normalise, drop empty/over-long pairs and exact duplicates (order kept)."""
    seen: OrderedDict[Pair, None] = OrderedDict()
    for pair in pairs:
        cleaned = Pair(normalize(pair.source), normalize(pair.target))
        if not cleaned.source or not cleaned.target:
            continue
        if len(cleaned.source.split()) > max_words or len(cleaned.target.split()) > max_words:
            continue
        seen.setdefault(cleaned, None)
    return list(seen)


def split_key(source: str) -> str:
    """Grouping key for the split: sources differing only in case share a part."""
    return source.casefold()


def bucket(source: str, seed: int = 0) -> float:
    """A stable pseudo-random number in [0, 1) for a source sentence."""
    digest = hashlib.sha1(f"{seed}:{split_key(source)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_pairs(pairs: list[Pair], dev_fraction: float = 0.02, test_fraction: float = 0.02, seed: int = 0) -> Split:
    """Deterministic hash split by source sentence (see module docstring)."""
    train: list[Pair] = []
    dev: OrderedDict[str, list[str]] = OrderedDict()
    test: OrderedDict[str, list[str]] = OrderedDict()
    for pair in pairs:
        b = bucket(pair.source, seed)
        if b < test_fraction:
            test.setdefault(pair.source, []).append(pair.target)
        elif b < test_fraction + dev_fraction:
            dev.setdefault(pair.source, []).append(pair.target)
        else:
            train.append(pair)
    stats = {
        "pairs": len(pairs),
        "train_pairs": len(train),
        "dev_sources": len(dev),
        "test_sources": len(test),
        "dev_fraction": dev_fraction,
        "test_fraction": test_fraction,
        "split_seed": seed,
    }
    return Split(train=train, dev=list(dev.items()), test=list(test.items()), stats=stats)


def read_split(path: str | Path, source_language: str | None, target_language: str | None, max_words: int = 30,
               dev_fraction: float = 0.02, test_fraction: float = 0.02, seed: int = 0) -> Split:
    """Read, clean and split a corpus: what training does, and what rebuilds a checkpoint's split."""
    pairs = clean_pairs(read_pairs(path, source_language, target_language), max_words=max_words)
    return split_pairs(pairs, dev_fraction, test_fraction, seed)


def check_training_paths(data: str | Path, out: str | Path, work_dir: str | Path | None = None) -> None:
    """What training can check before reading anything: raise ValueError (or FileNotFoundError) naming the path.

    ``data`` must be a file; ``out`` (the checkpoint folder written at the end) and ``work_dir`` must not
    be existing files, and must be creatable where they do not exist yet. Without this an ``--out`` that
    names a file would fail only after the whole run.
    """
    data = require_data_file(data)
    if data.suffix == ".zip" and not zipfile.is_zipfile(data):
        raise ValueError(f"{data}: not a readable zip file (corrupt or truncated)")
    for option, folder in (("--out", out), ("--work-dir", work_dir)):
        if folder is None or str(folder) == "":
            continue
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"{folder}: already exists and is not a folder; {option} names a folder to write")
        parent = folder
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if parent.exists() and not parent.is_dir():
            raise ValueError(f"{parent}: is a file, so {option} {folder} cannot be created")
        if parent.exists() and not os.access(parent, os.W_OK | os.X_OK):
            raise ValueError(f"{parent}: not writable, so {option} {folder} cannot be written")


def _fraction_for(buckets: list[float], start: float, count: int = 3) -> float:
    """The smallest fraction (rounded up to 2 decimals) whose bucket range from ``start`` holds ``count`` sources."""
    above = sorted(b for b in buckets if b >= start)
    if len(above) < count:
        return math.inf
    return math.ceil((above[count - 1] - start) * 100 + 1e-9) / 100


def check_split(split: Split, path: str | Path, seed: int = 0) -> None:
    """Refuse a split training cannot finish with (ValueError naming the data file): no training pairs, or no
    dev or test sentences, which would end the run after its last epoch with nothing to score and no checkpoint.

    The message says which ``--dev-fraction`` / ``--test-fraction`` would leave three sentences in the empty part.
    """
    stats = split.stats
    pairs = stats.get("pairs", len(split.train))
    dev_fraction, test_fraction = stats.get("dev_fraction", 0.02), stats.get("test_fraction", 0.02)
    if not split.train:
        raise ValueError(f"{path}: no training pairs are left of its {pairs:,} pairs after cleaning and splitting "
                         "(sentences longer than --max-words are dropped)")
    sources = {pair.source for pair in split.train} | {s for s, _ in split.dev} | {s for s, _ in split.test}
    buckets = [bucket(source, seed) for source in sources]
    if not split.test:
        need = _fraction_for(buckets, 0.0)
        hint = f"a --test-fraction of at least {need:g}" if need < 0.5 else "a larger corpus"
        raise ValueError(f"{path}: its {pairs:,} pairs leave no test sentences at --test-fraction {test_fraction:g} "
                         f"(test BLEU needs some); use {hint}")
    if not split.dev:
        need = _fraction_for(buckets, test_fraction)
        hint = f"a --dev-fraction of at least {need:g}" if need < 0.5 else "a larger corpus"
        raise ValueError(f"{path}: its {pairs:,} pairs leave no dev sentences at --dev-fraction {dev_fraction:g} "
                         f"(dev BLEU picks the best epoch); use {hint}")


def held_out_part(training: dict, part: str, source_language: str, target_language: str,
                  data: str | Path | None = None) -> list[tuple[str, list[str]]]:
    """A checkpoint's own dev or test part, rebuilt from its recorded training options.

    ``training`` is ``config.json``'s ``training.config`` (the ``train`` options);
    ``part`` is ``"dev"`` or ``"test"``. The split is a pure function of the
    cleaned pairs and these options, so this gives back exactly the sources and
    references the reported scores were computed on. ``data`` overrides the
    recorded data path (the recorded one is often another machine's); when it
    is None and the recorded path is missing, ``../shared/data/tatoeba/<file>``
    is tried before giving up with a FileNotFoundError that says what to pass.
    """
    if part not in ("dev", "test"):
        raise ValueError(f"part must be 'dev' or 'test', not {part!r}")
    recorded = Path(training.get("data", ""))
    candidates = [Path(data)] if data else [recorded, Path("../shared/data/tatoeba") / recorded.name]
    found = next((path for path in candidates if path.name and path.is_file()), None)
    if found is None:
        raise FileNotFoundError(f"the training data {recorded.name or '(not recorded)'} is not at "
                                f"{' or '.join(map(str, candidates))}: pass its path with --data")
    split = read_split(found, source_language, target_language, training.get("max_words", 30),
                       training.get("dev_fraction", 0.02), training.get("test_fraction", 0.02),
                       training.get("split_seed", 0))
    return split.dev if part == "dev" else split.test
