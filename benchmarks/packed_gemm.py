"""Beam decoding with fbgemm's float16 GEMM for thin products, against the plain sgemm (issue 13).

    .venv/bin/python benchmarks/packed_gemm.py                      # spa-eng-luong, beams 1, 5, 12
    .venv/bin/python benchmarks/packed_gemm.py --model deu-eng-luong --repeats 7

One process, one thread (as the app decodes), both ways alternating on the same sentences, so a busy
machine slows both alike: compare the ratio. Also checks that both ways give the same translations.
See nmt_core/model/fast_step.py (``PACKED_ROWS``) for what is packed and why.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from nmt_core.checkpoint import load_checkpoint  # noqa: E402
from nmt_core.decoding import DecodeSettings, Translator  # noqa: E402
from nmt_core.model import fast_step  # noqa: E402

SENTENCES = ["¿Todavía están en casa?", "Hace mucho frío aquí.", "No sé lo que quieres decir.",
             "Mi hermano y yo fuimos al cine anoche.",
             "El perro que vimos ayer en el parque estaba jugando con una pelota roja muy grande."]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="spa-eng-luong", help="a name in checkpoints/ or a folder")
    parser.add_argument("--beams", default="1,5,12")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    folder = Path(args.model) if Path(args.model).is_dir() else ROOT / "checkpoints" / args.model
    checkpoint = load_checkpoint(folder)
    translator = Translator(checkpoint.model, checkpoint.src_tokenizer, checkpoint.tgt_tokenizer)
    packed_rows = fast_step.PACKED_ROWS
    for beam in (int(b) for b in args.beams.split(",")):
        settings = DecodeSettings(method="beam", beam_size=beam, n_best=min(5, beam)) if beam > 1 else DecodeSettings()
        times: dict[str, list[float]] = {"packed": [], "plain": []}
        outputs: dict[str, list[str]] = {}
        for _ in range(args.repeats):
            for way in times:
                fast_step.PACKED_ROWS = packed_rows if way == "packed" else range(0)
                started = time.perf_counter()
                outputs[way] = [translator.translate(s, settings).translation for s in SENTENCES]
                times[way].append((time.perf_counter() - started) * 1000 / len(SENTENCES))
        fast_step.PACKED_ROWS = packed_rows
        plain, packed = statistics.median(times["plain"]), statistics.median(times["packed"])
        print(f"{folder.name} beam {beam}: plain {plain:.1f} ms a sentence, packed {packed:.1f} ms "
              f"({packed / plain:.2f}x); same translations: {outputs['plain'] == outputs['packed']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
