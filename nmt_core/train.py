"""Training: teacher forcing, per-epoch metrics, exact resume, wall-clock budget.

A run keeps its resumable state in a *work folder* (default ``<out>.work``)::

    run.json             the TrainConfig, split statistics, history, progress
    state.safetensors    model + optimizer tensors + RNG state (no pickle)
    src.model, tgt.model the tokenisers trained for this run
    epoch-N.safetensors  the last few epochs' weights, for checkpoint averaging

Run the same command again and it picks up at the exact batch where it
stopped (the epoch's batch order is a function of seed and epoch, and RNG
states are restored). When training ends (epochs done, early stopping, or
``--until-done`` not set and the budget spent) the final checkpoint folder is
written to ``out`` with test BLEU/chrF.

Several processes: ``torchrun --nproc-per-node N -m nmt_core train ...``
(gloo on CPU, nccl on GPU). Each rank takes every N-th batch, gradients are
averaged by DistributedDataParallel, rank 0 evaluates and saves.
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm import tqdm

from .checkpoint import load_checkpoint, read_probes, save_checkpoint, weights_for_saving, write_probes
from .data import ENGLISH, Split, check_split, check_training_paths, read_split, zip_language
from .decoding import DecodeSettings, Translator, greedy_batch
from .decoding.batch import beam_search_batch
from .evaluate import corpus_scores, length_records, scores_by_source_length
from .model import AnyModel, build_model, config_fields, config_from_dict, source_batch
from .text import BOS_ID, EOS_ID, PAD_ID, Tokenizer, train_tokenizer

DEFAULT_EPOCHS = 10


@dataclass
class TrainConfig:
    """Everything a run needs; stored in run.json so a resume rebuilds the same run."""

    data: str  # anki zip (spa-eng.zip...) or TSV of source<TAB>target
    out: str  # final checkpoint folder
    work_dir: str = ""  # resumable state; default <out>.work
    source_language: str = ""  # three-letter code; for a zip, default: the non-English side
    target_language: str = ""
    src_vocab_size: int = 8000
    tgt_vocab_size: int = 8000
    max_words: int = 30  # drop pairs with a longer side
    max_train_pairs: int = 0  # 0 = all; for quick experiments
    dev_fraction: float = 0.02
    test_fraction: float = 0.02
    split_seed: int = 0
    model: dict = field(default_factory=dict)  # ModelConfig arguments
    epochs: int | None = None  # None: DEFAULT_EPOCHS for a new run; a resumed run keeps its own number
    batch_size: int = 64  # sentences per batch (per process)
    lr: float = 1e-3  # Adam
    lr_decay: float = 0.5  # multiply the LR when dev BLEU does not improve
    min_lr: float = 5e-5
    warmup_steps: int = 500  # linear warm-up from 0 (smooths early Adam steps)
    label_smoothing: float = 0.1
    clip_norm: float = 1.0
    patience: int = 3  # stop after this many epochs without a better dev BLEU
    average_last: int = 3  # average the weights of up to this many best epochs at the end (1 = off)
    dev_bleu_sentences: int = 1000  # dev sources translated (greedy) for the per-epoch BLEU
    test_beam: int = 5
    length_penalties: str = "0.0,0.5,1.0,1.5"  # tried on dev with the test beam; the best becomes the default
    tune_sentences: int = 600  # dev sources used to pick the length penalty
    time_budget_minutes: float = 0.0  # 0 = none; stop cleanly (resumable) when spent
    save_every_minutes: float = 10.0  # mid-epoch resumable saves
    seed: int = 1
    threads: int = 0  # torch CPU threads; 0 = torch's default
    device: str = "auto"  # auto, cpu, cuda
    progress: bool = True
    init_from: str = ""  # a checkpoint folder to go on training: its tokenisers, architecture, weights, history
    probe_sentences: int = 8  # dev sources decoded (greedy) after every epoch; their traces go in probes.json

    def resolved_work_dir(self) -> Path:
        return Path(self.work_dir or f"{self.out}.work")


def resolve_languages(cfg: TrainConfig) -> tuple[str, str]:
    if cfg.data.endswith(".zip"):
        other = zip_language(cfg.data)
        src = cfg.source_language or other
        tgt = cfg.target_language or (ENGLISH if src == other else other)
        return src, tgt
    return cfg.source_language or "src", cfg.target_language or "tgt"


def load_split(cfg: TrainConfig) -> tuple[Split, str, str]:
    src_lang, tgt_lang = resolve_languages(cfg)
    split = read_split(cfg.data, src_lang, tgt_lang, cfg.max_words, cfg.dev_fraction, cfg.test_fraction,
                       cfg.split_seed)
    if cfg.max_train_pairs:
        # A seeded subsample keeps quick experiments comparable run to run.
        random.Random(cfg.seed).shuffle(split.train)
        split.train = split.train[: cfg.max_train_pairs]
        split.stats["train_pairs"] = len(split.train)
    return split, src_lang, tgt_lang


# ---------------------------------------------------------------- batching


def make_batches(lengths: list[int], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Deterministic, length-bucketed batches of example indices for one epoch.

    Shuffle, sort inside windows of 50 batches so sentences of a batch have
    similar lengths (less padding), then shuffle the batches.
    """
    rng = random.Random(seed * 100_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def target_batch(id_lists: list[list[int]], device) -> tuple[torch.Tensor, torch.Tensor]:
    """Target ids -> (tgt_in (B, T) = BOS + ids, tgt_out (B, T) = ids + EOS), PAD-padded."""
    T = max(len(ids) for ids in id_lists) + 1
    tgt_in = torch.full((len(id_lists), T), PAD_ID, dtype=torch.long)
    tgt_out = torch.full((len(id_lists), T), PAD_ID, dtype=torch.long)
    for row, ids in enumerate(id_lists):
        tgt_in[row, : len(ids) + 1] = torch.tensor([BOS_ID, *ids])
        tgt_out[row, : len(ids) + 1] = torch.tensor([*ids, EOS_ID])
    return tgt_in.to(device), tgt_out.to(device)


# ---------------------------------------------------------------- resumable state


def save_state(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """Tensors of model, optimizer and torch RNG into safetensors; returns the JSON part."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    optim_state = optimizer.state_dict()
    for index, slots in optim_state["state"].items():
        for key, value in slots.items():
            tensors[f"optim.{index}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    # Tied parameters share storage; safetensors refuses shared tensors, so clone.
    tensors = {k: v.clone() for k, v in tensors.items()}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp))
    os.replace(tmp, path)
    return {"param_groups": optim_state["param_groups"]}


def load_state(path: Path, meta: dict, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    tensors = load_file(str(path))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, slot = key.split(".", 2)
            state.setdefault(int(index), {})[slot] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    torch.set_rng_state(tensors["rng.torch"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])


# ---------------------------------------------------------------- evaluation


def dev_loss_accuracy(model: AnyModel, examples, batch_size: int, device) -> tuple[float, float]:
    """Teacher-forced mean token cross-entropy (no smoothing) and token accuracy."""
    model.eval()
    total_loss, total_correct, total_tokens = 0.0, 0, 0
    with torch.inference_mode():
        for start in range(0, len(examples), batch_size):
            chunk = examples[start : start + batch_size]
            src, lengths = source_batch([s for s, _ in chunk], device)
            tgt_in, tgt_out = target_batch([t for _, t in chunk], device)
            logits, _ = model(src, lengths, tgt_in)
            mask = tgt_out != PAD_ID
            total_loss += float(nn.functional.cross_entropy(logits[mask].float(), tgt_out[mask], reduction="sum"))
            total_correct += int((logits.argmax(-1)[mask] == tgt_out[mask]).sum())
            total_tokens += int(mask.sum())
    return total_loss / max(total_tokens, 1), total_correct / max(total_tokens, 1)


def beam_translations(translator: Translator, sources_refs, beam: int, length_penalty: float) -> list[str]:
    """Beam-search translations of the sources of [(source, [refs])], in order."""
    settings = DecodeSettings(method="beam", beam_size=beam, n_best=1, length_penalty=length_penalty,
                              num_candidates=1).validate()
    # Batched, with exactly the single-sentence search's results (tests/test_batch_beam.py).
    return [h.translation for h in beam_search_batch(translator, [source for source, _ in sources_refs], settings)]


def beam_scores(translator: Translator, sources_refs, beam: int, length_penalty: float):
    """Corpus scores of beam-search translations of [(source, [refs])]."""
    hyps = beam_translations(translator, sources_refs, beam, length_penalty)
    return corpus_scores(hyps, [refs for _, refs in sources_refs])


def tune_length_penalty(translator: Translator, dev, beam: int, candidates: list[float]) -> tuple[float, dict]:
    """The length penalty with the best dev BLEU under beam search, and every value's BLEU."""
    results = {alpha: round(beam_scores(translator, dev, beam, alpha).bleu, 2) for alpha in candidates}
    best = max(results, key=lambda alpha: (results[alpha], -abs(alpha - 1.0)))
    return best, results


def test_scores(translator: Translator, test, beam: int, length_penalty: float) -> dict:
    """Corpus BLEU/chrF on the test part, and the same per source-length bucket (config.json's metrics)."""
    hyps = beam_translations(translator, test, beam, length_penalty)
    references = [refs for _, refs in test]
    scores = corpus_scores(hyps, references)
    by_length = scores_by_source_length([source for source, _ in test], hyps, references)
    return {"test_bleu": round(scores.bleu, 2), "test_chrf": round(scores.chrf, 2), "test_sentences": len(test),
            "test_beam": beam, "test_length_penalty": length_penalty, "bleu_signature": scores.bleu_signature,
            "test_by_source_length": length_records(by_length)}


def average_weights(paths: list[Path]) -> dict[str, torch.Tensor]:
    """Element-wise mean of several epochs' weights (checkpoint averaging)."""
    total = None
    for path in paths:
        tensors = load_file(str(path))
        if total is None:
            total = {k: v.double() for k, v in tensors.items()}
        else:
            for k, v in tensors.items():
                total[k] += v.double()
    return {k: (v / len(paths)).float() for k, v in total.items()}


def probe_traces(translator: Translator, sources: list[str]) -> list[dict]:
    """Greedy decodes of the probe sources, kept small: pieces and attention rounded to 3 decimals."""
    traces = []
    was_training = translator.model.training
    translator.model.eval()
    for source in sources:
        trace = translator.translate(source, DecodeSettings(method="greedy", num_candidates=1))
        attention = trace.attention
        traces.append({
            "source": source,
            "source_tokens": trace.source_tokens,
            "target_tokens": trace.target_tokens,
            "translation": trace.translation,
            "attention": None if attention is None else [[round(w, 3) for w in row] for row in attention],
        })
    translator.model.train(was_training)
    return traces


def hardware_description(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    name = platform.processor() or platform.machine()
    try:  # Linux names the CPU model here; platform.processor() is often empty
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU: {name}, {torch.get_num_threads()} thread(s) per process"


# ---------------------------------------------------------------- the run


def resumed_run(cfg: TrainConfig, run_file: Path) -> tuple[TrainConfig, dict | None]:
    """The config to train with, and the stored run record when ``run_file`` exists (a resume), else None.

    On a resume the stored config wins (same data, split, model), except the knobs that only say how
    long or how loudly to run this time; options added or retired since the run started fall back to
    their defaults.
    """
    run = None
    if run_file.is_file():
        run = json.loads(run_file.read_text())
        known = {f.name for f in fields(TrainConfig)}
        stored = TrainConfig(**{k: v for k, v in run["config"].items() if k in known})
        for knob in ("time_budget_minutes", "save_every_minutes", "progress", "threads", "device"):
            setattr(stored, knob, getattr(cfg, knob))
        if cfg.epochs is not None:  # only when asked: a bare resume must not shorten the run
            stored.epochs = cfg.epochs
        cfg = stored
        run["config"] = asdict(cfg)  # run.json says what this run now trains with (a new --epochs included)
    if cfg.epochs is None:
        cfg.epochs = DEFAULT_EPOCHS
    return cfg, run


class Trainer:
    def __init__(self, cfg: TrainConfig):
        self._join_processes(cfg)
        self.work = cfg.resolved_work_dir()
        self.run_file = self.work / "run.json"
        cfg, run = resumed_run(cfg, self.run_file)
        self.cfg = cfg
        # Inputs are checked before anything heavy: a bad path or a corpus too small to split fails in seconds.
        check_training_paths(cfg.data, cfg.out, self.work)
        self.split, self.src_lang, self.tgt_lang = load_split(cfg)
        check_split(self.split, cfg.data, cfg.split_seed)
        self.work.mkdir(parents=True, exist_ok=True)
        if run is not None:
            self.src_tok = Tokenizer.from_file(self.work / "src.model")
            self.tgt_tok = Tokenizer.from_file(self.work / "tgt.model")
            run.setdefault("stopped_early", run.pop("done", False))  # runs started by library 0.1.0 drafts
            self.run = run
        else:
            self.run = self._start_run(cfg)
        self._build_model(resumed=run is not None)
        self.train_examples = [(self.src_tok.encode(p.source), self.tgt_tok.encode(p.target))
                               for p in self.split.train]
        self.dev_examples = [(self.src_tok.encode(s), self.tgt_tok.encode(r)) for s, refs in self.split.dev
                             for r in refs]
        # Fixed probe sentences (the first dev sources of 4 to 12 words): their attention is recorded
        # after every epoch, so the Models page can show it sharpening as the model learns.
        self.probe_sources = [s for s, _ in self.split.dev if 4 <= len(s.split()) <= 12][: cfg.probe_sentences]
        self.loss_fn = nn.CrossEntropyLoss(ignore_index=PAD_ID, label_smoothing=cfg.label_smoothing)

    def _join_processes(self, cfg: TrainConfig) -> None:
        """Rank, world size and device; under torchrun, join the process group (gloo on CPU, nccl on GPU)."""
        self.distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
        if self.distributed and not dist.is_initialized():
            backend = "nccl" if torch.cuda.is_available() and cfg.device != "cpu" else "gloo"
            dist.init_process_group(backend)
        self.rank = dist.get_rank() if self.distributed else 0
        self.world = dist.get_world_size() if self.distributed else 1
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        device = ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device
        if device == "cuda" and self.distributed:
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
        self.device = torch.device(device)

    def _start_run(self, cfg: TrainConfig) -> dict:
        """A new run: its tokenisers (trained, or those of --init-from) in the work folder, and its run record."""
        initial = load_checkpoint(cfg.init_from) if cfg.init_from else None
        if initial is not None:
            # Going on from a finished checkpoint: its tokenisers and architecture, not new ones.
            cfg.model = {k: v for k, v in initial.model.cfg.to_dict().items()
                         if k not in ("src_vocab_size", "tgt_vocab_size")}
            if self.rank == 0:
                (self.work / "src.model").write_bytes(initial.src_tokenizer.model_proto)
                (self.work / "tgt.model").write_bytes(initial.tgt_tokenizer.model_proto)
        elif self.rank == 0:
            self.src_tok = train_tokenizer([p.source for p in self.split.train], cfg.src_vocab_size)
            self.tgt_tok = train_tokenizer([p.target for p in self.split.train], cfg.tgt_vocab_size)
            (self.work / "src.model").write_bytes(self.src_tok.model_proto)
            (self.work / "tgt.model").write_bytes(self.tgt_tok.model_proto)
        if self.distributed:
            dist.barrier()
        if self.distributed or initial is not None:
            self.src_tok = Tokenizer.from_file(self.work / "src.model")
            self.tgt_tok = Tokenizer.from_file(self.work / "tgt.model")
        run = {"config": asdict(cfg), "epoch": 0, "batch": 0, "step": 0, "history": [], "lr": cfg.lr,
               "best_bleu": -1.0, "best_epoch": 0, "bad_epochs": 0, "train_seconds": 0.0,
               "stopped_early": False, "snapshots": [], "probes": []}
        if initial is not None:
            # The epochs already trained stay in the history (and the epoch count goes on from them), and so do
            # their probe traces: "Attention as it formed" starts at epoch 1, not where this run takes over.
            history = initial.config.get("history") or []
            run.update(history=list(history), epoch=len(history), probes=read_probes(cfg.init_from),
                       train_seconds=60.0 * float(initial.config.get("training", {}).get("train_minutes", 0)),
                       init_from=str(cfg.init_from))
            if cfg.epochs <= len(history):
                raise ValueError(f"--epochs must exceed the {len(history)} epochs {cfg.init_from} already has")
        return run

    def _build_model(self, resumed: bool) -> None:
        """The model and optimiser, with the saved state of a resumed run or the weights of --init-from."""
        cfg = self.cfg
        known = config_fields(cfg.model) - {"src_vocab_size", "tgt_vocab_size"}
        model_args = {k: v for k, v in cfg.model.items() if k in known}
        self.model_cfg = config_from_dict({"src_vocab_size": self.src_tok.vocab_size,
                                           "tgt_vocab_size": self.tgt_tok.vocab_size, **model_args})
        torch.manual_seed(cfg.seed)
        self.model = build_model(self.model_cfg).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.run["lr"])
        if resumed and (self.work / "state.safetensors").is_file():
            load_state(self.work / "state.safetensors", self.run["optimizer"], self.model, self.optimizer)
        elif cfg.init_from:
            weights = load_checkpoint(cfg.init_from).model.state_dict()
            self.model.load_state_dict({k: v.to(self.device) for k, v in weights.items()})
        self.ddp_model = nn.parallel.DistributedDataParallel(self.model) if self.distributed else self.model

    # -- helpers
    def log(self, message: str):
        if self.rank == 0:
            tqdm.write(message)

    def save(self):
        if self.rank == 0:
            self.run["optimizer"] = save_state(self.work / "state.safetensors", self.model, self.optimizer)
            tmp = self.run_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.run, indent=1))
            os.replace(tmp, self.run_file)
        if self.distributed:
            dist.barrier()

    def agree(self, flag: bool) -> bool:
        """True on every rank if any rank says True (budget checks must agree)."""
        if not self.distributed:
            return flag
        value = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(value)
        return bool(value.item() > 0)

    def set_lr(self):
        step = self.run["step"]
        warm = min(1.0, (step + 1) / self.cfg.warmup_steps) if self.cfg.warmup_steps else 1.0
        for group in self.optimizer.param_groups:
            group["lr"] = self.run["lr"] * warm

    # -- the loop
    @contextmanager
    def stop_on_signal(self):
        """While training, SIGTERM or SIGINT (Ctrl-C) asks for a clean stop: the current batch ends, the
        state is saved, and running the same command again resumes exactly there, not from the last
        periodic save. Handlers can only be set from the main thread; elsewhere signals keep their
        default effect."""
        self.stop_requested = False
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def request_stop(signum, frame):
            self.stop_requested = True

        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def train(self) -> dict:
        with self.stop_on_signal():
            return self._train()

    def _train(self) -> dict:
        cfg, run = self.cfg, self.run
        start = time.monotonic()
        last_save = start
        budget = cfg.time_budget_minutes * 60 if cfg.time_budget_minutes else math.inf
        self.log(f"model: {self.model.parameter_count():,} parameters; "
                 f"{len(self.train_examples):,} training pairs; device {self.device}; {self.world} process(es)")
        out_of_time = False
        while not run["stopped_early"] and run["epoch"] < cfg.epochs:
            epoch = run["epoch"]
            lengths = [len(s) + len(t) for s, t in self.train_examples]
            batches = make_batches(lengths, cfg.batch_size, cfg.seed, epoch)
            batches = batches[: len(batches) // self.world * self.world]  # equal work per rank
            mine = batches[self.rank :: self.world]
            self.ddp_model.train()
            bar = tqdm(total=len(mine), initial=run["batch"], desc=f"epoch {epoch + 1}/{cfg.epochs}",
                       disable=not cfg.progress or self.rank != 0, unit="batch", dynamic_ncols=True)
            tokens_seen, bar_clock = 0, time.monotonic()
            for index in range(run["batch"], len(mine)):
                batch = [self.train_examples[i] for i in mine[index]]
                src, src_len = source_batch([s for s, _ in batch], self.device)
                tgt_in, tgt_out = target_batch([t for _, t in batch], self.device)
                self.set_lr()
                logits, _ = self.ddp_model(src, src_len, tgt_in)
                loss = self.loss_fn(logits.reshape(-1, logits.size(-1)).float(), tgt_out.reshape(-1))
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip_norm)
                self.optimizer.step()
                run["batch"], run["step"] = index + 1, run["step"] + 1
                tokens_seen += int((tgt_out != PAD_ID).sum()) + int(src_len.sum())
                if index % 20 == 0:
                    rate = tokens_seen * self.world / max(time.monotonic() - bar_clock, 1e-6)
                    bar.set_postfix(loss=f"{loss.item():.3f}", tok_s=f"{rate:,.0f}")
                bar.update(1)
                now = time.monotonic()
                if self.agree(now - start >= budget or self.stop_requested):
                    out_of_time = True
                    break
                # Every rank's own clock says when, so the ranks must agree: one that saved alone would wait at the
                # save's barrier while the others went on to the next batch.
                if self.agree(now - last_save >= cfg.save_every_minutes * 60):
                    run["train_seconds"] += now - last_save
                    last_save = now
                    self.save()
            bar.close()
            if out_of_time:
                break
            run["train_seconds"] += time.monotonic() - last_save
            last_save = time.monotonic()
            self.end_epoch(epoch)
            self.save()
        if out_of_time:
            run["train_seconds"] += time.monotonic() - last_save
            self.save()
            reason = "stop requested" if self.stop_requested else "time budget spent"
            self.log(f"{reason} at epoch {run['epoch'] + 1}, batch {run['batch']}: run again to resume")
            return {"finished": False, **run}
        if self.distributed:
            run["ranks_in_sync"] = self.ranks_in_sync()
            self.save()
        if self.rank == 0:
            self.finish()
        if self.distributed:
            dist.barrier()
        return {"finished": True, **run}

    def ranks_in_sync(self) -> bool:
        """Every rank holds bit-identical weights (DDP's promise); checked once at the end."""
        fingerprint = torch.cat([p.detach().double().flatten()[:64] for p in self.model.parameters()]).cpu()
        everyone = [torch.zeros_like(fingerprint) for _ in range(self.world)]
        dist.all_gather(everyone, fingerprint)
        same = all(torch.equal(everyone[0], other) for other in everyone[1:])
        self.log(f"ranks in sync: {same}")
        return same

    def end_epoch(self, epoch: int):
        cfg, run = self.cfg, self.run
        record = {"epoch": epoch + 1, "lr": run["lr"]}
        if self.rank == 0:
            dev_loss, dev_acc = dev_loss_accuracy(self.model, self.dev_examples, 128, self.device)
            # Train metrics are measured like dev ones (eval mode, no label smoothing) on a
            # fixed slice of the training pairs, so the two curves are comparable.
            train_loss, train_acc = dev_loss_accuracy(self.model, self.train_examples[:2000], 128, self.device)
            translator = Translator(self.model, self.src_tok, self.tgt_tok)
            dev = self.split.dev[: cfg.dev_bleu_sentences]
            hyps = greedy_batch(translator, [s for s, _ in dev])
            bleu = corpus_scores(hyps, [refs for _, refs in dev]).bleu if dev else 0.0
            record.update(train_loss=round(train_loss, 4), train_accuracy=round(train_acc, 4),
                          dev_loss=round(dev_loss, 4), dev_accuracy=round(dev_acc, 4), dev_bleu=round(bleu, 2),
                          minutes=round((run["train_seconds"]) / 60, 1))
            traces = probe_traces(translator, self.probe_sources)
            run.setdefault("probes", []).append({"epoch": epoch + 1, "dev_bleu": round(bleu, 2), "traces": traces})
            snapshot = self.work / f"epoch-{epoch + 1}.safetensors"
            save_file(weights_for_saving(self.model, torch.float32), str(snapshot))
            run["snapshots"].append({"epoch": epoch + 1, "dev_bleu": round(bleu, 2), "file": snapshot.name})
            # Keep only the best `average_last` snapshots (by dev BLEU): those are averaged at the end.
            run["snapshots"].sort(key=lambda s: s["dev_bleu"], reverse=True)
            for stale in run["snapshots"][max(cfg.average_last, 1):]:
                (self.work / stale["file"]).unlink(missing_ok=True)
            run["snapshots"] = run["snapshots"][: max(cfg.average_last, 1)]
            if bleu > run["best_bleu"]:
                run["best_bleu"], run["best_epoch"], run["bad_epochs"] = bleu, epoch + 1, 0
            else:
                run["bad_epochs"] += 1
                run["lr"] = max(cfg.min_lr, run["lr"] * cfg.lr_decay)
            if run["bad_epochs"] >= cfg.patience:
                run["stopped_early"] = True  # early stopping on dev BLEU
            self.log(json.dumps(record))
        if self.distributed:
            shared = [run["lr"], run["stopped_early"], run["bad_epochs"]]
            dist.broadcast_object_list(shared, src=0)
            run["lr"], run["stopped_early"], run["bad_epochs"] = shared
        run["history"].append(record)
        run["epoch"], run["batch"] = epoch + 1, 0

    def finish(self):
        """Pick best-epoch or averaged weights by dev BLEU, score the test split, write the checkpoint."""
        cfg, run = self.cfg, self.run
        translator = Translator(self.model, self.src_tok, self.tgt_tok)
        dev = self.split.dev[: cfg.dev_bleu_sentences]

        def dev_bleu() -> float:
            hyps = greedy_batch(translator, [s for s, _ in dev])
            return corpus_scores(hyps, [refs for _, refs in dev]).bleu

        def load(weights):
            self.model.load_state_dict(weights, strict=False)

        best = run["snapshots"][0]
        load(load_file(str(self.work / best["file"])))
        chosen, chosen_bleu = [best["epoch"]], dev_bleu()
        if cfg.average_last > 1 and len(run["snapshots"]) > 1:
            load(average_weights([self.work / s["file"] for s in run["snapshots"]]))
            averaged_bleu = dev_bleu()
            self.log(f"dev BLEU: best epoch {chosen_bleu:.2f}, average of {len(run['snapshots'])} {averaged_bleu:.2f}")
            if averaged_bleu >= chosen_bleu:
                chosen, chosen_bleu = sorted(s["epoch"] for s in run["snapshots"]), averaged_bleu
            else:
                load(load_file(str(self.work / best["file"])))
        self.model.eval()
        metrics = {"dev_bleu_greedy": round(chosen_bleu, 2)}
        alphas = [float(a) for a in str(cfg.length_penalties).split(",") if a.strip()] or [1.0]
        alpha, tried = tune_length_penalty(translator, self.split.dev[: cfg.tune_sentences], cfg.test_beam, alphas)
        self.log(f"dev BLEU by length penalty (beam {cfg.test_beam}): {tried}")
        metrics["dev_bleu_by_length_penalty"] = {str(a): b for a, b in tried.items()}
        metrics.update(test_scores(translator, self.split.test, cfg.test_beam, alpha))
        self.log(f"test: {metrics}")
        metadata = {
            "source_language": self.src_lang,
            "target_language": self.tgt_lang,
            "data": {"file": Path(cfg.data).name, "credit": "Tatoeba Project via manythings.org/anki, CC-BY 2.0 FR",
                     "max_words": cfg.max_words, **self.split.stats},
            "training": {"config": asdict(cfg), "epochs_completed": run["epoch"], "best_epoch": run["best_epoch"],
                         "averaged_epochs": chosen, "train_minutes": round(run["train_seconds"] / 60, 1),
                         "hardware": hardware_description(self.device), "processes": self.world,
                         "torch": torch.__version__},
            "history": run["history"],
            "metrics": metrics,
            "decoding_defaults": {"beam_size": cfg.test_beam, "length_penalty": alpha},
        }
        save_checkpoint(cfg.out, self.model, self.src_tok, self.tgt_tok, metadata)
        if run.get("probes"):
            write_probes(cfg.out, run["probes"])
        self.log(f"checkpoint written to {cfg.out}")


def train(cfg: TrainConfig) -> dict:
    trainer = Trainer(cfg)
    try:
        return trainer.train()
    finally:
        if trainer.distributed and dist.is_initialized():
            dist.destroy_process_group()
