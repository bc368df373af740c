"""What typing in lower case costs, and how much restoring the capitals wins back.

    .venv/bin/python benchmarks/casing.py                       # every shipped model
    .venv/bin/python benchmarks/casing.py spa-eng-luong --sentences 500

For each checkpoint: its own dev sources (rebuilt from config.json, so the Tatoeba
corpus must be in ../shared/data/tatoeba or given with --data-dir), then

* how many words nmt_core.casing.restore_case gets back exactly as cased in the corpus,
  for the sources typed all in lower case;
* greedy dev BLEU for the sources as cased, all in lower case, and restored.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from nmt_core.casing import restore_case  # noqa: E402
from nmt_core.checkpoint import list_checkpoints, load_checkpoint  # noqa: E402
from nmt_core.data import held_out_part  # noqa: E402
from nmt_core.decoding import greedy_batch  # noqa: E402
from nmt_core.evaluate import corpus_scores  # noqa: E402
from nmt_core.text import normalize  # noqa: E402


def same_words(a: list[str], b: list[str]) -> int:
    return sum(x == y for sa, sb in zip(a, b, strict=True) for x, y in zip(sa.split(), sb.split(), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="checkpoint names (default: every one in checkpoints/)")
    parser.add_argument("--sentences", type=int, default=1000, help="dev sources per model")
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "tatoeba"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = args.names or [folder.name for folder in list_checkpoints(ROOT / "checkpoints")]
    for name in names:
        checkpoint = load_checkpoint(ROOT / "checkpoints" / name)
        config = checkpoint.config
        dev = held_out_part(config["training"]["config"], "dev", config["source_language"],
                            config["target_language"], data=Path(args.data_dir) / config["data"]["file"])
        dev = dev[: args.sentences]
        cased = [normalize(source) for source, _ in dev]
        references = [refs for _, refs in dev]
        lower = [source.lower() for source in cased]
        start = time.perf_counter()
        restored = [restore_case(source, checkpoint.translator.src_tokenizer) or source for source in lower]
        per_sentence_ms = (time.perf_counter() - start) / len(lower) * 1000
        words = sum(len(source.split()) for source in cased)
        bleu = {label: corpus_scores(greedy_batch(checkpoint.translator, sources), references).bleu
                for label, sources in (("cased", cased), ("lower case", lower), ("restored", restored))}
        print(f"{name}: {len(cased)} dev sources, {words} words; words cased as in the corpus: lower case "
              f"{same_words(cased, lower) / words:.1%}, restored {same_words(cased, restored) / words:.1%} "
              f"({per_sentence_ms:.2f} ms a sentence); greedy dev BLEU "
              + ", ".join(f"{label} {score:.2f}" for label, score in bleu.items()), flush=True)


if __name__ == "__main__":
    main()
