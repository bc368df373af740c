"""Command line: ``python -m nmt_core {translate,evaluate,bench,train,align,evaluate-alignment} ...``.

Errors a user can fix (a bad checkpoint, an empty sentence, an out-of-range
setting) are printed as one ``error:`` line, never as a traceback.

Each subcommand imports what it needs when it runs, and the parser is built for
the subcommand asked for only: ``translate --help`` never imports torch's
training code, pandas or captum.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import MISSING, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .decoding import DecodeSettings

TRANSLATE_DESCRIPTION = (
    "Translate TEXT, or each line of standard input (one output line per input line, in order). Default decoding "
    "is the checkpoint's recommended beam search; --beam K sets the beam width, --temperature/--top-k/--top-p "
    "switch to sampling.")
BENCH_DESCRIPTION = (
    "Median and 90th-percentile latency of greedy, beam-5 and one decoder step per sentence, and beam 5 as a "
    "multiple of the hardware floor. The full benchmark (textbook ratio, batched evaluation, training, app "
    "timings) is benchmarks/bench.py.")
TRAIN_HELP = {
    "data": "anki zip (e.g. ../shared/data/tatoeba/spa-eng.zip) or TSV of source<TAB>target",
    "out": "final checkpoint folder to write (with --recipe: checkpoints/NAME)",
    "work_dir": "folder for resumable training state (default: OUT.work)",
    "source_language": "source language code (zip default: the non-English side)",
    "target_language": "target language code",
    "time_budget_minutes": "stop cleanly after this many minutes; run the same command again to resume",
}


def _add_dataclass_options(parser, cls, skip=(), prefix=""):
    """One --option per dataclass field, typed from its default."""
    for f in fields(cls):
        if f.name in skip:
            continue
        flag = "--" + prefix + f.name.replace("_", "-")
        default = None if f.default is MISSING else f.default
        help_text = TRAIN_HELP.get(f.name, f"default: {default}")
        if isinstance(default, bool):
            parser.add_argument(flag, dest=prefix + f.name, action=argparse.BooleanOptionalAction, default=None,
                                help=help_text)
        elif f.default is MISSING and f.default_factory is MISSING:
            parser.add_argument(flag, dest=f.name, help=help_text + " (required unless --recipe gives it)")
        elif f.default is not MISSING:
            kind = int if default is None else type(default)  # None defaults are counts (epochs)
            parser.add_argument(flag, dest=prefix + f.name, type=kind, default=None, help=help_text)


EXPLAIN_COMMANDS = ("align", "evaluate-alignment")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or (``only``) just one subcommand's: building a subcommand's options may import
    heavy modules (training's dataclasses, the explain package), which other subcommands must not pay for."""
    parser = argparse.ArgumentParser(prog="python -m nmt_core", description="Attention Explorer's NMT library.")
    commands = parser.add_subparsers(dest="command", required=True)
    builders = {"translate": _add_translate, "evaluate": _add_evaluate, "bench": _add_bench, "train": _add_train}
    for name, add in builders.items():
        if only in (None, name):
            add(commands)
    if only is None or only in EXPLAIN_COMMANDS:
        from .explain.align import add_parsers as add_explain_parsers  # align, evaluate-alignment (issue 15)

        add_explain_parsers(commands)
    return parser


def _add_translate(commands) -> None:
    translate = commands.add_parser("translate", help="translate TEXT, or stdin line by line",
                                    description=TRANSLATE_DESCRIPTION)
    translate.add_argument("-c", "--checkpoint", required=True,
                           help="checkpoint folder, e.g. checkpoints/spa-eng-luong")
    translate.add_argument("text", nargs="?", metavar="TEXT", help="sentence to translate (default: read stdin)")
    translate.add_argument("--beam", type=int, help="beam width K (1 behaves like greedy)")
    translate.add_argument("--greedy", action="store_true", help="greedy decoding")
    translate.add_argument("--temperature", type=float, help="sample with this temperature (0 = greedy)")
    translate.add_argument("--top-k", type=int, help="sample from the K most likely tokens")
    translate.add_argument("--top-p", type=float, help="nucleus sampling: smallest set with probability >= P")
    translate.add_argument("--seed", type=int, default=0, help="sampling seed; the same seed replays the same output")
    translate.add_argument("--length-penalty", type=float, help="beam length penalty alpha (GNMT)")
    translate.add_argument("--unk-penalty", type=float, default=0.0, help="subtract this from <unk>'s log-prob")
    translate.add_argument("--n-best", type=int, default=1, help="with --json and beam search: hypotheses to list")
    translate.add_argument("--json", action="store_true", help="one JSON object per line with tokens and attention")
    translate.add_argument("--trace", action="store_true", help="with --json: include the whole decode trace")


def _add_evaluate(commands) -> None:
    evaluate = commands.add_parser(
        "evaluate", help="BLEU and chrF on a TSV file, or on the checkpoint's own held-out split",
        description="Translate the sources of FILE (source<TAB>reference[<TAB>reference...]), or of the "
        "checkpoint's own dev or test split (--split), and print corpus BLEU and chrF (sacrebleu).",
    )
    evaluate.add_argument("-c", "--checkpoint", required=True)
    evaluate.add_argument("file", metavar="FILE.tsv", nargs="?", help="omit with --split")
    evaluate.add_argument("--split", choices=("dev", "test"),
                          help="rebuild the checkpoint's own held-out part from its recorded training options")
    evaluate.add_argument("--data", help="with --split: the training data file, if not where config.json says")
    evaluate.add_argument("--by-length", action="store_true", help="also score by source length (words)")
    evaluate.add_argument("--record", action="store_true",
                          help="with --split test --by-length: store the scores by length in the checkpoint's "
                          "config.json and card (only with the beam and length penalty of its recorded test scores)")
    evaluate.add_argument("--beam", type=int, help="beam width (default: the checkpoint's)")
    evaluate.add_argument("--length-penalty", type=float, help="beam length penalty alpha")
    evaluate.add_argument("--unk-penalty", type=float, default=0.0)
    evaluate.add_argument("--json", action="store_true", help="print the scores as JSON")
    evaluate.add_argument("--output", help="also write the translations here, one per line")


def _add_bench(commands) -> None:
    bench = commands.add_parser("bench", help="decoding speed of one checkpoint on this CPU",
                                description=BENCH_DESCRIPTION)
    bench.add_argument("-c", "--checkpoint", required=True)
    bench.add_argument("sentences", nargs="*", metavar="SENTENCE", help="default: a few sample sentences")
    bench.add_argument("--repeats", type=int, default=20)
    bench.add_argument("--threads", type=int, default=1, help="torch CPU threads (the app uses 1)")
    bench.add_argument("--json", action="store_true")


def _add_train(commands) -> None:
    from .model import ModelConfig, TransformerConfig

    train = commands.add_parser(
        "train", help="train a model (resumable)",
        description="Train a model into a checkpoint folder. Resumable: run the same command again after a stop.",
    )
    train.add_argument("--recipe", help="start from a shipped model's recipe (see nmt_core/recipes.py)")
    train.add_argument("--data-dir", default="../shared/data/tatoeba", help="where --recipe finds its data file")
    _add_dataclass_options(train, _train_config_class(), skip={"model"})
    _add_dataclass_options(train, ModelConfig, skip={"src_vocab_size", "tgt_vocab_size"}, prefix="")
    # The Transformer's own arguments (those an RNN shares, like --dropout, are added once above).
    rnn_fields = {f.name for f in fields(ModelConfig)}
    _add_dataclass_options(train, TransformerConfig, skip=rnn_fields, prefix="")


def _train_config_class():
    from .train import TrainConfig  # import torch-heavy training code only when needed

    return TrainConfig


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _decode_settings(args, checkpoint_config: dict) -> DecodeSettings:
    from .decoding import DecodeSettings, InputError

    defaults = checkpoint_config.get("decoding_defaults", {})
    sampling = args.temperature is not None or args.top_k is not None or args.top_p is not None
    length_penalty = args.length_penalty if args.length_penalty is not None else defaults.get("length_penalty", 1.0)
    if sampling and args.beam is not None:
        raise InputError("choose either beam search (--beam) or sampling (--temperature/--top-k/--top-p)")
    if getattr(args, "n_best", 1) != 1 and (args.greedy or sampling):
        raise InputError(f"--n-best lists beam search's hypotheses; greedy decoding and sampling give one, "
                         f"not {args.n_best}")
    if args.greedy or (args.temperature == 0 and args.top_k is None and args.top_p is None):
        return DecodeSettings(method="greedy", unk_penalty=args.unk_penalty).validate()
    if sampling:
        return DecodeSettings(
            method="sample", temperature=1.0 if args.temperature is None else args.temperature,
            top_k=args.top_k or 0, top_p=1.0 if args.top_p is None else args.top_p, seed=args.seed,
            unk_penalty=args.unk_penalty,
        ).validate()
    beam = args.beam if args.beam is not None else defaults.get("beam_size", 5)
    n_best = getattr(args, "n_best", 1)
    if not 1 <= n_best <= max(beam, 1):  # said, never clamped: the README promises an error line
        raise InputError(f"--n-best must be between 1 and the beam width ({beam}), not {n_best}")
    return DecodeSettings(method="beam", beam_size=beam, n_best=n_best, length_penalty=length_penalty,
                          unk_penalty=args.unk_penalty).validate()


# The most one --trace line may hold. A trace grows with beam width x output length x source length: beam 50
# on a 140-word sentence expands some 100,000 nodes with an attention row each (469 MB of JSON).
MAX_TRACE_BYTES = 20_000_000


def _bounded_trace_json(trace, limit: int = MAX_TRACE_BYTES) -> tuple[str, str | None]:
    """``trace.to_json()``, or, past ``limit`` bytes, the trace with only the first beam nodes that fit in it.

    The beam nodes are what grows without bound; everything else (steps, beams, n-best) is bounded by the
    output length (about 1 MB at most, well under MAX_TRACE_BYTES). Returns (the JSON line, the notice
    when it was cut, else None). Nodes are serialised one by one, so a huge trace never becomes one huge
    string in memory.
    """
    import uuid
    from dataclasses import asdict, replace

    nodes = trace.beam.nodes if trace.beam is not None else []
    if not nodes:
        return trace.to_json(), None

    def notice(kept: int) -> str:
        return (f"trace cut to fit {limit:,} bytes: it keeps the first {kept:,} of {len(nodes):,} beam nodes "
                "(every step, the beams and the n-best list are whole); decode with a smaller --beam or a "
                "shorter sentence for all of them")

    head = replace(trace, beam=replace(trace.beam, nodes=[])).to_dict()
    head["trace_cut"] = notice(len(nodes))  # the longest the notice can be: its count has the most digits
    head["beam"]["nodes_total"] = len(nodes)
    placeholder = uuid.uuid4().hex  # stands where the kept nodes go, then is replaced by them
    head["beam"]["nodes"] = placeholder
    # The line is the head with '"<placeholder>"' replaced by "[" + ",".join(kept) + "]".
    budget = limit - (len(json.dumps(head, ensure_ascii=False).encode()) - len(placeholder) - 2 + 2)
    kept, size = [], -1  # n nodes take their lengths plus n - 1 commas
    for node in nodes:
        text = json.dumps(asdict(node), ensure_ascii=False)
        size += len(text.encode()) + 1
        if size > budget:
            break
        kept.append(text)
    if len(kept) == len(nodes):
        return trace.to_json(), None
    head["trace_cut"] = notice(len(kept))
    text = json.dumps(head, ensure_ascii=False)
    return text.replace(f'"{placeholder}"', "[" + ",".join(kept) + "]", 1), head["trace_cut"]


def _result_json(trace, args) -> str:
    if args.trace:
        text, notice = _bounded_trace_json(trace, MAX_TRACE_BYTES)
        if notice:
            print(f"warning: {notice}", file=sys.stderr)
        return text
    result = {
        "source": trace.source_text,
        "translation": trace.translation,
        "source_tokens": trace.source_tokens,
        "target_tokens": trace.target_tokens,
        "attention": trace.attention,
        "score": trace.score,
        "method": trace.method,
    }
    if trace.beam is not None:
        result["n_best"] = [{"translation": h.translation, "score": h.score, "normalized_score": h.normalized_score}
                            for h in trace.beam.hypotheses]
    if trace.warnings:
        result["warnings"] = trace.warnings
    return json.dumps(result, ensure_ascii=False)


def run_translate(args) -> int:
    from .checkpoint import CheckpointError, load_checkpoint
    from .decoding import InputError
    from .text import normalize

    try:
        checkpoint = load_checkpoint(args.checkpoint)
        settings = _decode_settings(args, checkpoint.config)
    except (CheckpointError, InputError) as error:
        return _fail(str(error))
    translator = checkpoint.translator
    if args.text is None and hasattr(sys.stdin, "reconfigure"):
        # Bytes that are not UTF-8 become U+FFFD (then <unk>) instead of a UnicodeDecodeError traceback.
        sys.stdin.reconfigure(errors="replace")
    lines = [args.text] if args.text is not None else (line.rstrip("\r\n") for line in sys.stdin)
    failures = 0
    for number, line in enumerate(lines, start=1):
        where = "" if args.text is not None else f"line {number}: "
        if args.text is None and not normalize(line):
            # Blank (or only control / zero-width characters): keep one output line per input line.
            print("{}" if args.json else "", flush=True)
            continue
        try:
            trace = translator.translate(line, settings)
        except InputError as error:
            failures += 1
            print(f"error: {where}{error}", file=sys.stderr)
            print(json.dumps({"error": str(error)}) if args.json else "", flush=True)
            continue
        if not args.json:  # JSON output carries them in "warnings"
            for message in trace.warnings:  # e.g. a too-long sentence was cut: say so, on stderr
                print(f"warning: {where}{message}", file=sys.stderr)
        print(_result_json(trace, args) if args.json else trace.translation, flush=True)
    return 1 if failures else 0


def run_evaluate(args) -> int:
    from .checkpoint import CheckpointError
    from .decoding import InputError
    from .decoding.batch import beam_search_batch
    from .evaluate import corpus_scores, scores_by_source_length

    if (args.file is None) == (args.split is None):
        return _fail("give either FILE.tsv or --split dev|test")
    if args.record and not (args.split == "test" and args.by_length):
        return _fail("--record needs --split test --by-length")
    try:
        checkpoint, rows, settings = _evaluation_input(args)
    except (CheckpointError, InputError, ValueError, OSError) as error:
        return _fail(str(error))
    sources, references = [source for source, _ in rows], [refs for _, refs in rows]
    # Batched beam search: the same translations as one sentence at a time, several times faster.
    hypotheses = [h.translation for h in beam_search_batch(checkpoint.translator, sources, settings)]
    scores = corpus_scores(hypotheses, references)
    by_length = scores_by_source_length(sources, hypotheses, references) if args.by_length else []
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.writelines(h + "\n" for h in hypotheses)
    if args.record and (problem := _record_by_length(args.checkpoint, checkpoint.config, scores, settings,
                                                     by_length)):
        return _fail(problem)
    _print_scores(scores, settings, by_length, as_json=args.json)
    return 0


def _evaluation_input(args):
    """The checkpoint, the (source, references) rows (a TSV, or the checkpoint's own dev/test split rebuilt
    from config.json) and the beam settings to score them with."""
    from .checkpoint import load_checkpoint
    from .data import held_out_part
    from .evaluate import read_eval_tsv

    checkpoint = load_checkpoint(args.checkpoint)
    if args.split:
        config = checkpoint.config
        rows = held_out_part(config.get("training", {}).get("config", {}), args.split,
                             config.get("source_language"), config.get("target_language"), args.data)
    else:
        rows = read_eval_tsv(args.file)
    args.temperature = args.top_k = args.top_p = None
    args.greedy, args.n_best = False, 1
    return checkpoint, rows, _decode_settings(args, checkpoint.config)


def _record_by_length(folder, config: dict, scores, settings, by_length) -> str | None:
    """Add the scores by source length to config.json and the card; a reason when they may not join it."""
    from .checkpoint import CheckpointError, add_metrics
    from .evaluate import length_records

    recorded = config.get("metrics", {})
    measured = {"test_sentences": scores.sentences, "test_beam": settings.beam_size,
                "test_length_penalty": settings.length_penalty}
    # Only scores measured the way the recorded ones were (same split, beam and length penalty, no UNK
    # penalty) may join them. The BLEU itself may differ in the second decimal: training scored its
    # fp32 weights, the checkpoint holds them in fp16.
    differing = [key for key, value in measured.items() if recorded.get(key) != value]
    if differing or settings.unk_penalty:
        return ("not recorded: measured with other settings than config.json's metrics ("
                + ", ".join(f"{key} {measured[key]} vs {recorded.get(key)}" for key in differing)
                + (", an UNK penalty" if settings.unk_penalty else "") + ")")
    try:
        add_metrics(folder, {"test_by_source_length": length_records(by_length)})
    except (CheckpointError, OSError) as error:
        return f"not recorded: {error}"
    print(f"recorded the scores by source length in {folder}/config.json and its card", file=sys.stderr)
    return None


def _print_scores(scores, settings, by_length, as_json: bool) -> None:
    """Corpus BLEU and chrF with their sacrebleu signatures (and per source length), as text or one JSON line."""
    from .evaluate import length_records

    if as_json:
        result = {"bleu": round(scores.bleu, 2), "chrf": round(scores.chrf, 2),
                  "sentences": scores.sentences, "beam": settings.beam_size,
                  "length_penalty": settings.length_penalty,
                  "bleu_signature": scores.bleu_signature, "chrf_signature": scores.chrf_signature}
        if by_length:
            result["by_source_length"] = length_records(by_length)
        print(json.dumps(result))
        return
    print(f"BLEU = {scores.bleu:.2f}  ({scores.bleu_signature})")
    print(f"chrF = {scores.chrf:.2f}  ({scores.chrf_signature})")
    print(f"{scores.sentences} sentences, beam {settings.beam_size}, length penalty {settings.length_penalty:g}")
    if by_length:
        print("source words  sentences   BLEU   chrF")
        for b in by_length:
            print(f"{b.label:>12}  {b.sentences:>9}  {b.bleu:5.2f}  {b.chrf:5.2f}")


def run_bench(args) -> int:
    import torch

    from . import speed as bench
    from .checkpoint import CheckpointError, load_checkpoint
    from .decoding import InputError

    torch.set_num_threads(max(args.threads, 1))
    try:
        checkpoint = load_checkpoint(args.checkpoint)
        sentences = args.sentences or bench.sentences_for(checkpoint)
        report = {"latency": bench.decode_latency(checkpoint, sentences, max(args.repeats, 1)),
                  "yardstick": bench.hardware_yardstick(checkpoint, sentences, max(args.repeats, 1))}
    except (CheckpointError, InputError) as error:
        return _fail(str(error))
    if args.json:
        print(json.dumps(report))
        return 0
    latency, yardstick = report["latency"], report["yardstick"]
    print(f"{len(sentences)} sentences x {latency['repeats']} repeats, {max(args.threads, 1)} thread(s); "
          "ms, median / p90 across sentences")
    for key, label in (("greedy_ms", "greedy"), ("beam5_ms", "beam 5"), ("step_ms", "one step")):
        print(f"  {label:<9} {latency[key][0]:8.1f} / {latency[key][1]:.1f}")
    print(f"  beam 5 needs {yardstick['beam5_mflop'][0]:.0f} MFLOP; at {yardstick['matmul_gflops']:.0f} GFLOP/s "
          f"the compute floor is {yardstick['floor_ms'][0]:.2f} ms (ours: {yardstick['multiple_of_floor'][0]:.1f}x); "
          f"streaming the weights at {yardstick['memory_gbs']:.0f} GB/s takes {yardstick['memory_floor_ms'][0]:.2f} ms "
          f"(ours: {yardstick['multiple_of_roofline'][0]:.1f}x the larger floor)")
    return 0


def run_train(args) -> int:
    from pathlib import Path

    from .model import config_fields, config_from_dict
    from .recipes import RECIPES
    from .train import TrainConfig, train

    values = vars(args)
    if args.recipe:
        if args.recipe not in RECIPES:
            return _fail(f"unknown recipe {args.recipe!r}; choose one of {', '.join(RECIPES)}")
        recipe = dict(RECIPES[args.recipe])
        recipe["data"] = str(Path(args.data_dir) / recipe["data"])
        recipe["out"] = f"checkpoints/{args.recipe}"
        values = {**recipe, **{k: v for k, v in values.items() if v is not None}}
    missing = [name for name in ("data", "out") if not values.get(name)]
    if missing:
        return _fail(f"--{missing[0]} is required (or use --recipe)")
    config_kwargs = {f.name: values[f.name] for f in fields(TrainConfig) if values.get(f.name) is not None}
    # The architecture (RNN unless --architecture transformer) decides which model options apply.
    model_kwargs = {name: values[name] for name in config_fields({"architecture": values.get("architecture")})
                    if name not in ("src_vocab_size", "tgt_vocab_size") and values.get(name) is not None}
    try:
        config_from_dict({"src_vocab_size": 8, "tgt_vocab_size": 8, **model_kwargs})  # validate early, clear message
        result = train(TrainConfig(**config_kwargs, model=model_kwargs))
    except (ValueError, OSError) as error:  # the data and paths are checked before the first batch
        return _fail(str(error))
    return 0 if result["finished"] else 3


def main(argv=None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    known = ("translate", "evaluate", "bench", "train", *EXPLAIN_COMMANDS)
    args = build_parser(words[0] if words and words[0] in known else None).parse_args(words)
    handler = {"translate": run_translate, "evaluate": run_evaluate, "bench": run_bench, "train": run_train}
    if args.command in EXPLAIN_COMMANDS:
        from .explain.align import HANDLERS as EXPLAIN_HANDLERS

        handler.update(EXPLAIN_HANDLERS)
    try:
        return handler[args.command](args)
    except BrokenPipeError:
        # The reader went away (`... | head -1`): stop quietly, as Unix tools do. Point stdout at
        # /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
