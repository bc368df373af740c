"""The speed benchmark: one command, every figure the speed issue asks for.

    .venv/bin/python benchmarks/bench.py            # everything (about 5 minutes)
    .venv/bin/python benchmarks/bench.py --quick    # fewer repeats and sentences (about 1 minute)

Runs on the shipped checkpoints and our own sentences (nmt_core/speed.py),
all in one process so ratios compare like with like on a noisy machine:

1. greedy / beam-5 / one-step latency per sentence, every shipped model;
2. the textbook beam search vs ours (ratio), on the flagship;
3. the hardware yardstick: beam-5 FLOPs / this machine's fp32 matmul rate;
4. batched beam-5 evaluation of 1,000 sentences (held-out test sources when
   ../shared/data is present, else our sentences repeated), 1 thread and all cores;
5. training throughput in target tokens/s; 5b. gradient attribution of one 15-word sentence (issue 15);
6. app server time (AppTest): a fresh decode, a cached rerun, a step click;
7. cold start to the first rendered translation in Chromium (skipped without it);
8. peak memory of this process and of the streamlit server.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks.textbook_beam import textbook_beam_search  # noqa: E402
from nmt_core import speed as bench  # noqa: E402
from nmt_core.checkpoint import CheckpointError, list_checkpoints, load_checkpoint  # noqa: E402

FLAGSHIP = "spa-eng-luong"


def textbook_ratio(checkpoint, sentences: list[str]) -> dict:
    """The textbook beam search vs ours, beam 5, one run each per sentence, side by side."""
    translator, beam = checkpoint.translator, bench.beam_settings(checkpoint)
    ratios, textbook_ms, ours_ms, same = [], [], [], 0
    for sentence in sentences:
        ours = statistics.median(bench.timed_ms(lambda s=sentence: translator.translate(s, beam), 5))
        limit = beam.max_length(len(translator.prepare(sentence).tokens))
        start = time.perf_counter()
        reference = textbook_beam_search(translator, sentence, 5, limit)
        slow = (time.perf_counter() - start) * 1000
        same += reference == translator.translate(sentence, beam).translation
        textbook_ms.append(slow)
        ours_ms.append(ours)
        ratios.append(slow / ours)
    return {"textbook_ms": bench.median_p90(textbook_ms), "ours_ms": bench.median_p90(ours_ms),
            "ratio": bench.median_p90(ratios), "same_translation": same, "sentences": len(sentences)}


def held_out_sources(checkpoint, data_dir: Path, count: int) -> tuple[list[str], str]:
    """Up to ``count`` distinct test-split sources of the checkpoint's own data, else our sentences repeated."""
    from nmt_core.data import clean_pairs, read_pairs, split_pairs

    data = checkpoint.config.get("data", {})
    path = data_dir / Path(str(data.get("file", ""))).name
    if path.is_file():
        src, tgt = checkpoint.config.get("source_language"), checkpoint.config.get("target_language")
        split = split_pairs(clean_pairs(read_pairs(path, src, tgt), max_words=data.get("max_words", 30)),
                            data.get("dev_fraction", 0.02), data.get("test_fraction", 0.02), data.get("split_seed", 0))
        sources = [source for source, _ in split.test][:count]  # test sources are grouped with their references
        if len(sources) >= count:
            return sources, f"held-out test sources of {path.name}"
    sentences = bench.sentences_for(checkpoint)
    return [sentences[i % len(sentences)] for i in range(count)], "our sentences, repeated"


def app_timings(model: str, sentences: list[str], repeats: int) -> dict:
    """Server time of app reruns through AppTest (in-process): fresh decode, cached rerun, step click."""
    from streamlit.testing.v1 import AppTest

    from pages.lib import common

    def open_app(sentence: str) -> AppTest:
        app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        app.query_params.update({"model": model, "text": sentence, "method": "beam", "beam": "5"})
        return app

    fresh, cached, step_click = [], [], []
    open_app(sentences[0]).run()  # warm-up: imports and model load happen once per process
    for i in range(repeats):
        sentence = sentences[i % len(sentences)]
        common.translate_cached.clear()
        app = open_app(sentence)
        start = time.perf_counter()
        app.run()
        fresh.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        app.run()
        cached.append((time.perf_counter() - start) * 1000)
        if app.exception:
            raise RuntimeError(f"app raised: {app.exception}")
    app = open_app(sentences[0])
    app.run()
    app.switch_page("pages/step.py").run()
    next_buttons = [b for b in app.button if "next" in str(b.label).lower()]
    for _ in range(repeats if next_buttons else 0):
        next_buttons = [b for b in app.button if "next" in str(b.label).lower()]
        start = time.perf_counter()
        next_buttons[0].click().run()
        step_click.append((time.perf_counter() - start) * 1000)
    result = {"fresh_decode_rerun_ms": bench.median_p90(fresh), "cached_rerun_ms": bench.median_p90(cached)}
    if step_click:
        result["step_click_ms"] = bench.median_p90(step_click)
    # A cached rerun of every page: open it once (its decodes fill the caches), then rerun.
    for script in sorted(p.stem for p in (ROOT / "pages").glob("*.py") if p.stem != "__init__"):
        app = open_app(sentences[0])
        app.run()
        app.switch_page(f"pages/{script}.py").run()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            app.run()
            times.append((time.perf_counter() - start) * 1000)
        if app.exception:
            raise RuntimeError(f"{script} raised: {app.exception}")
        result[f"cached_rerun_{script}_ms"] = bench.median_p90(times)
    return result


def browser_cold_start(model: str) -> dict | None:
    """Seconds from `streamlit run` to the first translation rendered in Chromium; server peak memory."""
    import socket
    import subprocess
    import urllib.request

    if not Path("/usr/bin/chromium").exists():
        return None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                if time.perf_counter() - start > 120:
                    raise RuntimeError("streamlit did not start within 120 s") from None
                time.sleep(0.05)
        server_up = time.perf_counter() - start
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(f"{url}/?model={model}")
            page.wait_for_selector('[data-testid="stText"]', timeout=120_000)
            rendered = time.perf_counter() - start
            browser.close()
        peak_kib = next(int(line.split()[1]) for line in Path(f"/proc/{server.pid}/status").read_text().splitlines()
                        if line.startswith("VmHWM"))
        return {"server_up_s": server_up, "first_translation_s": rendered, "server_peak_mib": peak_kib / 1024}
    finally:
        server.terminate()
        server.wait(timeout=30)


ATTRIBUTION_SENTENCE = "El hombre que vi ayer en el parque era el hermano de mi mejor amiga."  # 15 words (issue 15)


def attribution_speed(checkpoint, sentence: str = ATTRIBUTION_SENTENCE, repeats: int = 3) -> dict:
    """Issue 15's target: attribution of every target word of one 15-word sentence in under 2 s on one core.

    Greedy-translates ``sentence``, then times :func:`nmt_core.explain.attribution.trace_attribution` (every
    target step, the closing </s> included) per gradient method on 1 thread: median wall and CPU seconds
    of ``repeats`` runs (CPU time is what one core spends, less sensitive to a shared machine). For
    integrated gradients, also the completeness error: max over rows of |Σ_s attribution - (f(x) - f(x′))|,
    relative to the largest |f(x) - f(x′)| (0 for exact integration).
    """
    from nmt_core.decoding import DecodeSettings
    from nmt_core.explain.attribution import GRADIENT_METHODS, IG_STEPS, trace_attribution

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        translator = checkpoint.translator
        trace = translator.translate(sentence, DecodeSettings(method="greedy"))
        row = {"sentence": sentence, "source_words": len(sentence.split()), "target_steps": len(trace.steps),
               "source_pieces": len(trace.source_tokens), "ig_steps": IG_STEPS, "threads": 1}
        trace_attribution(translator, trace, "saliency")  # warm-up
        for method in GRADIENT_METHODS:
            wall, cpu = [], []
            for _ in range(repeats):
                started, started_cpu = time.perf_counter(), time.process_time()
                result = trace_attribution(translator, trace, method)
                wall.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
            row[method] = {"wall_s": round(statistics.median(wall), 3), "cpu_s": round(statistics.median(cpu), 3)}
            if method == "integrated-gradients":
                difference = result.output - result.baseline_output
                error = abs(result.source.sum(axis=1) - difference).max() / max(abs(difference).max(), 1e-12)
                row["ig_completeness_error"] = round(float(error), 5)
        return row
    finally:
        torch.set_num_threads(threads)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", default=str(ROOT / "checkpoints"))
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "tatoeba"))
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--eval-sentences", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="3 repeats, 4 sentences, 200 evaluation sentences")
    parser.add_argument("--skip-app", action="store_true")
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--json", help="also write every figure to this JSON file")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.eval_sentences = 3, min(args.eval_sentences, 200)

    torch.set_num_threads(1)  # as the app: one request, one core
    cores = len(os.sched_getaffinity(0))  # the cores this process may use (taskset)
    report: dict = {"threads": 1, "cores": cores, "torch": torch.__version__, "latency": {}}
    print(f"torch {torch.__version__}, {cores} cores; decoding on 1 thread (as the app) unless stated")

    checkpoints = {}
    for folder in list_checkpoints(args.checkpoints):
        try:
            checkpoints[folder.name] = load_checkpoint(folder)
        except CheckpointError as error:
            print(f"skipping {folder.name}: {error}")
    if not checkpoints:
        print(f"no loadable checkpoint under {args.checkpoints}")
        return 2
    flagship_name = FLAGSHIP if FLAGSHIP in checkpoints else next(iter(checkpoints))
    flagship = checkpoints[flagship_name]
    limit = 4 if args.quick else None

    print("\n1. Latency per sentence (ms; median and p90 across sentences of per-sentence medians)")
    print(f"   {'model':<20} {'greedy':>15} {'beam 5':>15} {'one step':>15}")
    for name, checkpoint in checkpoints.items():
        row = bench.decode_latency(checkpoint, bench.sentences_for(checkpoint)[:limit], args.repeats)
        report["latency"][name] = row
        print(f"   {name:<20} " + " ".join(f"{row[k][0]:>7.1f} /{row[k][1]:>6.1f}"
                                          for k in ("greedy_ms", "beam5_ms", "step_ms")))

    sentences = bench.sentences_for(flagship)[:limit]
    print(f"\n2. Textbook beam search vs ours ({flagship_name}, beam 5, {len(sentences)} sentences)")
    row = report["textbook"] = textbook_ratio(flagship, sentences)
    print(f"   textbook {row['textbook_ms'][0]:.0f} ms, ours {row['ours_ms'][0]:.1f} ms (medians); "
          f"ratio median {row['ratio'][0]:.0f}x (p90 {row['ratio'][1]:.0f}x); "
          f"same translation for {row['same_translation']}/{row['sentences']}")

    print("\n3. Hardware yardstick (beam 5, fp32, 1 thread)")
    row = report["yardstick"] = bench.hardware_yardstick(flagship, sentences, args.repeats)
    print(f"   compute: a decode needs {row['beam5_mflop'][0]:.0f} MFLOP (median); at {row['matmul_gflops']:.0f} "
          f"GFLOP/s (1024x1024 fp32 matmul) the floor is {row['floor_ms'][0]:.2f} ms; "
          f"ours is {row['multiple_of_floor'][0]:.1f}x it (p90 {row['multiple_of_floor'][1]:.1f}x)")
    print(f"   memory: streaming the weights each step at {row['memory_gbs']:.0f} GB/s takes "
          f"{row['memory_floor_ms'][0]:.2f} ms; ours is {row['multiple_of_roofline'][0]:.1f}x the larger of the two "
          f"floors (p90 {row['multiple_of_roofline'][1]:.1f}x)")

    sources, origin = held_out_sources(flagship, Path(args.data_dir), args.eval_sentences)
    print(f"\n4. Batched beam-5 evaluation, {len(sources)} sentences ({origin})")
    for threads in sorted({1, cores}):
        torch.set_num_threads(threads)
        row = report[f"batch_{threads}_threads"] = bench.batch_throughput(flagship, sources)
        print(f"   {threads} thread(s): {row['seconds']:.1f} s, {row['sentences_per_s']:.0f} sentences/s")
    if cores > 1:
        row = report[f"latency_{cores}_threads"] = bench.decode_latency(flagship, sentences, args.repeats)
        print(f"   for comparison, one sentence on {cores} threads: greedy {row['greedy_ms'][0]:.1f} ms, "
              f"beam 5 {row['beam5_ms'][0]:.1f} ms (medians)")
    torch.set_num_threads(1)

    print("\n5. Training throughput (batch 64, forward + backward + Adam, 1 thread)")
    row = report["training"] = bench.training_throughput(flagship, bench.sentences_for(flagship))
    print(f"   {row['target_tokens_per_s']:.0f} target tokens/s (step median {row['step_ms'][0]:.0f} ms, "
          f"{row['target_tokens_per_batch']} target tokens per batch)")

    print(f"\n5b. Attribution, every target word of one 15-word sentence ({flagship_name}, 1 thread; target < 2 s)")
    row = report["attribution"] = attribution_speed(flagship, repeats=min(args.repeats, 3))
    for method in ("saliency", "input-x-gradient", "integrated-gradients"):
        print(f"   {method:<22} {row[method]['wall_s']:.2f} s wall, {row[method]['cpu_s']:.2f} s CPU "
              f"({row['target_steps']} target steps)")
    print(f"   integrated gradients: {row['ig_steps']} steps, completeness error {row['ig_completeness_error']:.2%} "
          "of the largest f(x) - f(x')")

    if not args.skip_app:
        print(f"\n6. App server time (AppTest, {args.repeats} runs)")
        row = report["app"] = app_timings(flagship_name, bench.sentences_for(flagship), args.repeats)
        for key, (median, p90) in row.items():
            print(f"   {key.replace('_ms', ''):<22} median {median:7.1f} ms, p90 {p90:7.1f} ms")

    if not args.skip_browser:
        print("\n7. Cold start in a browser (streamlit run -> first translation in Chromium)")
        row = report["browser"] = browser_cold_start(flagship_name)
        if row is None:
            print("   skipped: needs /usr/bin/chromium and playwright")
        else:
            print(f"   server answering after {row['server_up_s']:.1f} s; first translation rendered after "
                  f"{row['first_translation_s']:.1f} s; server peak memory {row['server_peak_mib']:.0f} MiB")

    report["peak_memory_mib"] = bench.peak_memory_mib()
    print(f"\n8. Peak memory of this benchmark process: {report['peak_memory_mib']:.0f} MiB")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=statistics.median))
    return 0


if __name__ == "__main__":
    sys.exit(main())
