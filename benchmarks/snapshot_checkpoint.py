"""A loadable checkpoint folder from one epoch snapshot of a training run that is still going.

    .venv/bin/python benchmarks/snapshot_checkpoint.py --work-dir /root/nmt_runs/spa-eng-bahdanau \\
        --epoch 6 --out /tmp/bahdanau-ep6
    .venv/bin/python benchmarks/attention_sink.py /tmp/bahdanau-ep6 --sentences 500

A run's work folder (nmt_core/train.py) keeps ``run.json`` (its TrainConfig and per-epoch history), the
tokenisers (``src.model``, ``tgt.model``) and the best few ``epoch-N.safetensors`` weight snapshots; the
checkpoint folder is only written by ``Trainer.finish`` once training ends. This writes one for epoch N
now, with nmt_core's own code: the model config built from run.json as the Trainer builds it, the run's
tokenisers, ``save_checkpoint`` (fp16 weights, like a finished run) and the metadata ``Trainer.finish``
writes (languages, data file, max_words, split seed and split statistics, the training options, the
history up to epoch N, the probe traces), so ``held_out_part`` (attention_sink.py, ``evaluate --split``,
the app's Explain page) rebuilds exactly the run's dev and test parts.

It is marked as a mid-training snapshot: ``snapshot_of_epoch`` (top level and in ``training``), a
``snapshot`` record (work folder, file, epochs planned), empty ``metrics`` (no test scores) and no
``decoding_defaults`` (the length penalty is tuned only at the end), and the weights are that epoch's
alone (no averaging). The model card says so in its first lines.

The work folder is only read, never written: the training process owns it. The snapshot is read into
memory in one go (the Trainer deletes snapshots that drop out of its best few), and every file is copied.
The folder written is checked with ``nmt_core.checkpoint.load_checkpoint``, its weights against the
snapshot's.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from safetensors.torch import load as load_safetensors  # noqa: E402

from nmt_core.checkpoint import CARD, PROBES, load_checkpoint, save_checkpoint, write_probes  # noqa: E402
from nmt_core.model import build_model, config_fields, config_from_dict, tied_parameter_names  # noqa: E402
from nmt_core.text import Tokenizer  # noqa: E402
from nmt_core.train import TrainConfig, load_split  # noqa: E402

CREDIT = "Tatoeba Project via manythings.org/anki, CC-BY 2.0 FR"  # as Trainer.finish writes it
DTYPES = {"float16": torch.float16, "float32": torch.float32, "bfloat16": torch.bfloat16}


class SnapshotError(Exception):
    """The work folder has no usable snapshot for the epoch asked for."""


def stored_config(run: dict) -> TrainConfig:
    """run.json's TrainConfig, as a resume rebuilds it (options added or retired since fall back)."""
    known = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in run["config"].items() if k in known})


def available_epochs(work: Path) -> list[int]:
    found = []
    for path in work.glob("epoch-*.safetensors"):
        number = path.stem.removeprefix("epoch-")
        if number.isdigit():
            found.append(int(number))
    return sorted(found)


def snapshot_checkpoint(work_dir: str | Path, epoch: int | None, out: str | Path, data: str | Path | None = None,
                        dtype: torch.dtype = torch.float16, force: bool = False) -> Path:
    """Write checkpoint folder ``out`` from ``work_dir``'s ``epoch-<epoch>.safetensors`` (None: the newest);
    returns ``out``. Raises SnapshotError (or CheckpointError from the final load) when it cannot."""
    work, out = Path(work_dir).resolve(), Path(out).resolve()
    check_folders(work, out, force)
    epoch, snapshot, weights = read_snapshot(work, epoch)
    run = json.loads((work / "run.json").read_text(encoding="utf-8"))
    history = [h for h in run.get("history", []) if h.get("epoch", 0) <= epoch]
    if not history or history[-1].get("epoch") != epoch:
        raise SnapshotError(f"{work / 'run.json'}: no record of epoch {epoch} yet (its snapshot is written just "
                            "before run.json); try again in a moment")
    cfg = stored_config(run)
    src_tok, tgt_tok = Tokenizer.from_file(work / "src.model"), Tokenizer.from_file(work / "tgt.model")
    model = snapshot_model(cfg, weights, snapshot, src_tok.vocab_size, tgt_tok.vocab_size)
    metadata = snapshot_metadata(cfg, run, history, epoch, work, snapshot, data)
    save_checkpoint(out, model, src_tok, tgt_tok, metadata, dtype)
    write_probes_and_card(out, run, epoch, cfg.epochs, work / snapshot.name)
    verify(out, weights, dtype, snapshot.name)
    return out


def check_folders(work: Path, out: Path, force: bool) -> None:
    """A training work folder to read, and an output folder outside it that is empty (or ``force``)."""
    if not (work / "run.json").is_file():
        raise SnapshotError(f"{work}: no run.json; give a training work folder (train's --work-dir)")
    if out == work or work in out.parents:
        raise SnapshotError(f"{out}: inside the work folder; the training process owns it, write elsewhere")
    if out.exists() and any(out.iterdir()) and not force:
        raise SnapshotError(f"{out}: exists and is not empty (pass --force to overwrite)")


def read_snapshot(work: Path, epoch: int | None) -> tuple[int, Path, dict[str, torch.Tensor]]:
    """(epoch, its snapshot file, its weights): ``epoch`` None means the newest snapshot in ``work``."""
    if epoch is None:
        epochs = available_epochs(work)
        if not epochs:
            raise SnapshotError(f"{work}: no epoch-N.safetensors snapshot yet")
        epoch = epochs[-1]
    snapshot = work / f"epoch-{epoch}.safetensors"
    try:  # all of it in one read: the Trainer may delete a snapshot that leaves its best few
        return epoch, snapshot, load_safetensors(snapshot.read_bytes())
    except FileNotFoundError:
        raise SnapshotError(f"{snapshot}: missing; the work folder holds epochs "
                            f"{available_epochs(work) or 'none'} (the Trainer keeps only its best few)") from None


def snapshot_model(cfg: TrainConfig, weights: dict, snapshot: Path, src_vocab: int, tgt_vocab: int):
    """The model as Trainer._build_model builds it, holding the snapshot's weights, in eval mode."""
    known = config_fields(cfg.model) - {"src_vocab_size", "tgt_vocab_size"}
    model_cfg = config_from_dict({"src_vocab_size": src_vocab, "tgt_vocab_size": tgt_vocab,
                                  **{k: v for k, v in cfg.model.items() if k in known}})
    model = build_model(model_cfg)
    result = model.load_state_dict(weights, strict=False)  # tied parameters are stored once (as finish loads)
    missing = set(result.missing_keys) - tied_parameter_names(model_cfg)
    if result.unexpected_keys or missing:
        raise SnapshotError(f"{snapshot}: does not fit the model in run.json (missing {sorted(missing)[:3]}, "
                            f"unexpected {result.unexpected_keys[:3]})")
    return model.eval()


def snapshot_metadata(cfg: TrainConfig, run: dict, history: list[dict], epoch: int, work: Path, snapshot: Path,
                      data: str | Path | None) -> dict:
    """What Trainer.finish records (languages, data and split statistics, training, history), marked as a
    snapshot, with no scores. Rebuilding the split also checks the data is where run.json says (or ``data``)."""
    split_cfg = TrainConfig(**{**asdict(cfg), "data": str(data)}) if data else cfg
    split, src_lang, tgt_lang = load_split(split_cfg)
    best = max(history, key=lambda h: (h.get("dev_bleu", -1.0), -h["epoch"]))  # the first best, as the Trainer
    return {
        "source_language": src_lang,
        "target_language": tgt_lang,
        "data": {"file": Path(cfg.data).name, "credit": CREDIT, "max_words": cfg.max_words, **split.stats},
        "training": {"config": asdict(cfg), "epochs_completed": epoch, "best_epoch": best["epoch"],
                     "averaged_epochs": [epoch], "train_minutes": history[-1].get("minutes", 0.0),
                     "torch": torch.__version__, "snapshot_of_epoch": epoch},
        "snapshot_of_epoch": epoch,
        "snapshot": {"note": f"mid-training snapshot: epoch {epoch}'s weights of a run planned for {cfg.epochs} "
                             "epochs; not a finished checkpoint (no test scores, no weight averaging, length "
                             "penalty not tuned)",
                     "work_dir": str(work), "file": snapshot.name, "epochs_planned": cfg.epochs,
                     "epochs_in_run_json": run.get("epoch"), "dev_bleu": history[-1].get("dev_bleu")},
        "history": history,
        "metrics": {},
    }


def write_probes_and_card(out: Path, run: dict, epoch: int, planned: int, source: Path) -> None:
    """The probe traces up to ``epoch`` (none left from an older folder), and the card's snapshot line."""
    probes = [p for p in run.get("probes") or [] if p.get("epoch", 0) <= epoch]
    if probes:
        write_probes(out, probes)
    elif (out / PROBES).is_file():  # --force over an older folder: no stale traces
        (out / PROBES).unlink()
    card = out / CARD  # not checksummed; rewritten from config.json by add_metrics, which keeps the fields above
    title, _, rest = card.read_text(encoding="utf-8").partition("\n")
    card.write_text(f"{title}\n\n> **Mid-training snapshot** of epoch {epoch} (of {planned} planned), written "
                    f"from {source}; not a finished checkpoint.\n{rest}", encoding="utf-8")


def verify(out: Path, weights: dict, dtype: torch.dtype, snapshot_name: str) -> None:
    """Load ``out`` as the app does (checksums, schema, shapes) and compare every weight with the snapshot's."""
    stored = load_checkpoint(out).model.state_dict()
    for name, tensor in weights.items():
        if not torch.equal(stored[name], tensor.to(dtype).float()):
            raise SnapshotError(f"{out}: weight {name} differs from {snapshot_name} after loading")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work-dir", required=True, help="the training work folder (holds run.json)")
    parser.add_argument("--epoch", type=int, help="the snapshot epoch (default: the newest snapshot there)")
    parser.add_argument("--out", required=True, help="the checkpoint folder to write (outside the work folder)")
    parser.add_argument("--data", help="the training data, when not at the path run.json records")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float16",
                        help="weights' storage type (default float16, as a finished run saves)")
    parser.add_argument("--force", action="store_true", help="write into --out even when it is not empty")
    args = parser.parse_args(argv)
    try:
        out = snapshot_checkpoint(args.work_dir, args.epoch, args.out, args.data, DTYPES[args.dtype], args.force)
    except SnapshotError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    print(f"{out}: epoch {config['snapshot_of_epoch']} snapshot ({config['attention']}, "
          f"{config['parameters']:,} parameters, dev BLEU {config['snapshot']['dev_bleu']}); "
          "loads with load_checkpoint")
    return 0


if __name__ == "__main__":
    sys.exit(main())
