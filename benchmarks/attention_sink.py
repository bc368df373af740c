"""How much attention a model sinks onto the source ``</s>``, with its alignment error and BLEU (issue 16).

    .venv/bin/python benchmarks/attention_sink.py spa-eng-bahdanau spa-eng-luong --sentences 300
    .venv/bin/python benchmarks/attention_sink.py /root/nmt_runs/final/spa-eng-bahdanau
    .venv/bin/python benchmarks/attention_sink.py spa-eng-bahdanau --mask-end   # </s> masked at inference only

For each checkpoint (a name in checkpoints/ or a folder), on the first N sources of its own dev
split (rebuilt from config.json; the Tatoeba corpus must be in ../shared/data/tatoeba or given with
--data-dir):

* ``</s>`` mass, greedy: the attention weight on the source ``</s>``, averaged over every step of the
  greedy translations (all steps pooled), and per sentence first (mean of each sentence's mean);
* ``</s>`` mass, forced: the same on the first reference, teacher-forced (what the alignment uses);
* dev-silver AER of the ``attention`` and ``shift`` alignments against eflomal silver links, computed
  by nmt_core.explain.silver exactly as ``python -m nmt_core.explain.silver`` does (same rows, same
  scoring; the silver links are cached in ~/.cache/attention-explorer/silver);
* greedy BLEU (batched greedy, all references), as the checkpoint's ``dev_bleu_greedy``.

``--mask-end`` serves the weights with ``attend_to_source_end`` off, i.e. ``</s>`` masked at inference
only: what a model trained with ``</s>`` attendable loses without it. ``--json FILE`` writes the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from nmt_core.checkpoint import load_checkpoint  # noqa: E402
from nmt_core.data import held_out_part  # noqa: E402
from nmt_core.decoding import DecodeSettings, greedy_batch  # noqa: E402
from nmt_core.evaluate import corpus_scores  # noqa: E402
from nmt_core.explain.align import prepare_pair  # noqa: E402
from nmt_core.explain.forced import attention_matrix  # noqa: E402
from nmt_core.explain.silver import dev_silver, score_methods  # noqa: E402


def end_mass(rows_per_sentence: list[np.ndarray]) -> dict:
    """Attention matrices (steps, S) with ``</s>`` last -> its mean mass, steps pooled and per sentence."""
    pooled = np.concatenate([rows[:, -1] for rows in rows_per_sentence])
    return {"pooled": round(float(pooled.mean()), 4),
            "per_sentence": round(float(np.mean([rows[:, -1].mean() for rows in rows_per_sentence])), 4),
            "steps": int(pooled.size)}


def measure(folder: Path, sentences: int, data: Path | None, mask_end: bool) -> dict:
    checkpoint = load_checkpoint(folder)
    config, translator = checkpoint.config, checkpoint.translator
    model = translator.model
    if mask_end:
        model.cfg.attend_to_source_end = False  # the decoder shares this config object
    src_lang, tgt_lang = config["source_language"], config["target_language"]
    started = time.perf_counter()
    dev = held_out_part(config["training"]["config"], "dev", src_lang, tgt_lang, data=data)[:sentences]
    sources, references = [source for source, _ in dev], [refs for _, refs in dev]
    bleu = corpus_scores(greedy_batch(translator, sources), references).bleu
    greedy = [np.asarray(translator.translate(source, DecodeSettings(method="greedy")).attention)
              for source in sources]
    rows = dev_silver(config, sentences, data)  # (source words, first reference words, silver links)
    forced = []
    for source_words, target_words, _ in rows:
        pair = prepare_pair(translator, source_words, target_words, src_lang, tgt_lang)
        forced.append(attention_matrix(model, pair.src_ids, pair.tgt_ids))
    aer = score_methods(checkpoint, rows, ["attention", "shift"])
    return {"checkpoint": str(folder), "attention": model.cfg.attention,
            # A Transformer has no such option: its source </s> is always attendable.
            "attend_to_source_end": getattr(model.cfg, "attend_to_source_end", True),
            "masked_at_inference_only": mask_end,
            "sentences": len(sources), "end_mass_greedy": end_mass([g for g in greedy if g.size]),
            "end_mass_forced": end_mass(forced),
            "aer": {method: scores["aer"] for method, scores in aer.items()},
            "greedy_bleu": round(bleu, 2), "seconds": round(time.perf_counter() - started, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", help="names in checkpoints/ or checkpoint folders")
    parser.add_argument("--sentences", type=int, default=300, help="first N dev sources (default 300)")
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "tatoeba"))
    parser.add_argument("--mask-end", action="store_true", help="mask </s> at inference (attend_to_source_end off)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    results = []
    for name in args.checkpoints:
        folder = Path(name) if Path(name).is_dir() else ROOT / "checkpoints" / name
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        data = Path(args.data_dir) / config["data"]["file"]
        with torch.inference_mode():
            result = measure(folder, args.sentences, data if data.is_file() else None, args.mask_end)
        results.append(result)
        greedy, forced = result["end_mass_greedy"], result["end_mass_forced"]
        print(f"{folder.name}{' (</s> masked at inference)' if args.mask_end else ''}: {result['sentences']} dev "
              f"sentences; </s> mass greedy {greedy['pooled']:.3f} (per sentence {greedy['per_sentence']:.3f}), "
              f"forced {forced['pooled']:.3f}; silver AER attention {result['aer']['attention']:.3f}, "
              f"shift {result['aer']['shift']:.3f}; greedy BLEU {result['greedy_bleu']:.2f} "
              f"({result['seconds']:.0f} s)", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
