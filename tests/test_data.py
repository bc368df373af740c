import zipfile

import pytest

from nmt_core.data import Pair, clean_pairs, held_out_part, read_pairs, split_pairs, zip_language
from nmt_core.train import load_split

from .conftest import tiny_config, write_reverse_corpus


def make_anki_zip(path, lang="spa", lines=("Go.\tVe.\tCC-BY 2.0 (France) Attribution: x", "Hi.\tHola.")):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{lang}-eng/{lang}.txt", "\n".join(lines) + "\n")
        archive.writestr(f"{lang}-eng/_about.txt", "about this file\tnot a pair\n")
        archive.writestr(f"__MACOSX/{lang}-eng/._{lang}.txt", "junk\tjunk\n")
    return path


def test_reads_anki_zip_in_both_directions(tmp_path):
    path = make_anki_zip(tmp_path / "spa-eng.zip")
    assert zip_language(path) == "spa"
    assert read_pairs(path) == [Pair("Ve.", "Go."), Pair("Hola.", "Hi.")]  # default: X -> English
    assert read_pairs(path, "eng", "spa") == [Pair("Go.", "Ve."), Pair("Hi.", "Hola.")]
    with pytest.raises(ValueError, match="fra"):
        read_pairs(path, "fra", "eng")


def test_reads_tsv(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("hola\thello\n\nmalformed line\nadiós\tbye\textra column\n", encoding="utf-8")
    assert read_pairs(path) == [Pair("hola", "hello"), Pair("adiós", "bye")]


def test_clean_dedupes_normalises_and_filters_length():
    pairs = [Pair("Hola.", "Hello."), Pair("Hola. ", " Hello."), Pair("", "x"), Pair("a " * 40, "long"),
             Pair("Bonjour\u202f!", "Hello!")]
    assert clean_pairs(pairs, max_words=30) == [Pair("Hola.", "Hello."), Pair("Bonjour !", "Hello!")]


def test_split_is_deterministic_and_sources_never_leak():
    pairs = [Pair(f"sentence {i % 700}", f"target {i}") for i in range(2000)]
    pairs += [Pair("Sentence 5", "case variant")]  # must follow "sentence 5" into the same part
    first = split_pairs(pairs, 0.1, 0.1, seed=3)
    second = split_pairs(list(reversed(pairs)), 0.1, 0.1, seed=3)
    train_sources = {p.source.casefold() for p in first.train}
    held_out = {s.casefold() for s, _ in first.dev + first.test}
    assert first.dev and first.test and first.train
    assert not train_sources & held_out
    assert {s for s, _ in first.test} == {s for s, _ in second.test}
    assert sorted(p.source for p in first.train) == sorted(p.source for p in second.train)
    # every reference of a held-out source is kept together (multi-reference test set)
    refs = dict(first.test)
    some_source = next(iter(refs))
    expected = [p.target for p in pairs if p.source == some_source]
    assert refs[some_source] == expected
    total = len(first.train) + sum(len(r) for _, r in first.dev + first.test)
    assert total == len(pairs)


def test_held_out_part_rebuilds_the_split_training_used(tmp_path):
    data = write_reverse_corpus(tmp_path / "pairs.tsv", pairs=800)
    cfg = tiny_config(data, tmp_path / "out", dev_fraction=0.1, test_fraction=0.1, split_seed=3)
    split, src, tgt = load_split(cfg)
    recorded = {"data": str(data), "max_words": cfg.max_words, "dev_fraction": 0.1, "test_fraction": 0.1,
                "split_seed": 3}
    assert held_out_part(recorded, "test", src, tgt) == split.test
    assert held_out_part(recorded, "dev", src, tgt) == split.dev
    moved = data.rename(tmp_path / "moved.tsv")
    assert held_out_part(recorded, "test", src, tgt, data=moved) == split.test
    with pytest.raises(FileNotFoundError, match="--data"):
        held_out_part(recorded, "test", src, tgt)
    with pytest.raises(ValueError, match="'dev' or 'test'"):
        held_out_part(recorded, "train", src, tgt)
