"""Decoding and training speed on this CPU, measured in one process (no streamlit here).

Every figure is a median (and 90th percentile) of repeated runs in the same
process, and every comparison is a ratio measured side by side, because
shared machines are noisy. The app-level timings (AppTest reruns, browser cold
start, the textbook reference) live in ``benchmarks/bench.py``, which calls these functions too.

* :func:`decode_latency`: greedy, beam-5 and one decoder step per sentence.
* :func:`hardware_yardstick`: the FLOPs a beam-5 decode needs, divided by the
  matmul rate this machine reaches now: the time no implementation can beat.
* :func:`batch_throughput`: the Evaluate page's batched beam search.
* :func:`training_throughput`: target tokens per second of training steps.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from .checkpoint import Checkpoint
from .decoding import DecodeSettings, Translator
from .decoding.batch import beam_search_batch
from .model import source_batch
from .text import BOS_ID, EOS_ID, PAD_ID

# Our own sentences, 8 to 15 words: typical of what people type in the app.
SENTENCES = {
    "spa": [
        "¿Todavía están en casa o ya salieron para la fiesta?",
        "El libro que me diste ayer es muy interesante.",
        "Tom no sabe nadar, pero su hermana nada muy bien.",
        "Si llueve mañana, nos quedaremos en casa y veremos una película.",
        "Mi madre siempre cocina arroz con pollo los domingos.",
        "No creo que él venga a la reunión de esta tarde.",
        "¿Dónde está la estación de tren más cercana, por favor?",
        "Ayer compré un regalo para el cumpleaños de mi hermano.",
        "Los niños juegan en el parque después de la escuela.",
        "Tengo que terminar este trabajo antes del viernes.",
        "Ella me dijo que había perdido las llaves de su coche.",
        "Me gustaría aprender a tocar la guitarra este verano.",
    ],
    "eng": [
        "Are you still at home or did you already leave for the party?",
        "The book you gave me yesterday is very interesting.",
        "Tom can't swim, but his sister swims very well.",
        "If it rains tomorrow, we'll stay at home and watch a movie.",
        "My mother always cooks chicken with rice on Sundays.",
        "I don't think he will come to this afternoon's meeting.",
        "Where is the nearest train station, please?",
        "Yesterday I bought a present for my brother's birthday.",
        "The children play in the park after school.",
        "I have to finish this work before Friday.",
        "She told me that she had lost her car keys.",
        "I would like to learn to play the guitar this summer.",
    ],
    "fra": [
        "Êtes-vous toujours à la maison ou êtes-vous déjà partis à la fête ?",
        "Le livre que tu m'as donné hier est très intéressant.",
        "Tom ne sait pas nager, mais sa sœur nage très bien.",
        "S'il pleut demain, nous resterons à la maison pour regarder un film.",
        "Ma mère cuisine toujours du poulet avec du riz le dimanche.",
        "Je ne pense pas qu'il viendra à la réunion de cet après-midi.",
        "Où est la gare la plus proche, s'il vous plaît ?",
        "Hier, j'ai acheté un cadeau pour l'anniversaire de mon frère.",
        "Les enfants jouent dans le parc après l'école.",
        "Je dois finir ce travail avant vendredi.",
        "Elle m'a dit qu'elle avait perdu les clés de sa voiture.",
        "J'aimerais apprendre à jouer de la guitare cet été.",
    ],
    "deu": [
        "Seid ihr noch zu Hause oder schon zur Party gegangen?",
        "Das Buch, das du mir gestern gegeben hast, ist sehr interessant.",
        "Tom kann nicht schwimmen, aber seine Schwester schwimmt sehr gut.",
        "Wenn es morgen regnet, bleiben wir zu Hause und sehen einen Film.",
        "Meine Mutter kocht sonntags immer Hähnchen mit Reis.",
        "Ich glaube nicht, dass er heute Nachmittag zum Treffen kommt.",
        "Wo ist der nächste Bahnhof, bitte?",
        "Gestern habe ich ein Geschenk für den Geburtstag meines Bruders gekauft.",
        "Die Kinder spielen nach der Schule im Park.",
        "Ich muss diese Arbeit vor Freitag beenden.",
        "Sie hat mir gesagt, dass sie ihre Autoschlüssel verloren hat.",
        "Ich würde diesen Sommer gern Gitarre spielen lernen.",
    ],
}

GREEDY = DecodeSettings(method="greedy")


def sentences_for(checkpoint: Checkpoint) -> list[str]:
    return SENTENCES.get(checkpoint.config.get("source_language"), SENTENCES["eng"])


def timed_ms(function: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return times


def median_p90(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def beam_settings(checkpoint: Checkpoint) -> DecodeSettings:
    """Beam 5 with the checkpoint's tuned length penalty, as the app and CLI decode by default."""
    alpha = checkpoint.config.get("decoding_defaults", {}).get("length_penalty", 1.0)
    return DecodeSettings(method="beam", beam_size=5, n_best=5, length_penalty=float(alpha))


def decode_latency(checkpoint: Checkpoint, sentences: list[str], repeats: int) -> dict:
    """Per-sentence medians, then their median and p90 across sentences (ms).

    "step" is what the Next button costs when the trace does not hold the step
    yet: one decoder call on an already-encoded sentence.
    """
    translator, beam = checkpoint.translator, beam_settings(checkpoint)
    greedy, beam5, step = [], [], []
    for sentence in sentences:
        translator.translate(sentence, beam)  # warm-up (allocator, caches)
        greedy.append(statistics.median(timed_ms(lambda s=sentence: translator.translate(s, GREEDY), repeats)))
        beam5.append(statistics.median(timed_ms(lambda s=sentence: translator.translate(s, beam), repeats)))
        stepper = translator.stepper(sentence, GREEDY)

        def one_step(stepper=stepper):
            stepper._pending = None  # recompute the same step each time
            stepper.peek()

        step.append(statistics.median(timed_ms(one_step, repeats)))
    return {"greedy_ms": median_p90(greedy), "beam5_ms": median_p90(beam5), "step_ms": median_p90(step),
            "sentences": len(sentences), "repeats": repeats}


def matmul_rate_gflops(size: int = 1024, repeats: int = 20) -> float:
    """fp32 matrix-multiply rate on the current thread count (GFLOP/s), best of ``repeats``."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = min(timed_ms(lambda: a @ b, repeats)) / 1000
    return 2 * size**3 / best / 1e9


def memory_bandwidth_gbs(megabytes: int = 256, repeats: int = 10) -> float:
    """Rate at which this thread streams a large fp32 tensor from memory (GB/s), best of ``repeats``."""
    x = torch.ones(megabytes * 1024 * 1024 // 4)
    x.sum()
    best = min(timed_ms(x.sum, repeats)) / 1000
    return x.numel() * 4 / best / 1e9


def decode_flops(translator: Translator, sentence: str, settings: DecodeSettings) -> int:
    """Floating-point operations of one decode, counted op by op by torch's FlopCounterMode."""
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        translator.translate(sentence, settings)
    return counter.get_total_flops()


def weight_bytes(module: torch.nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in module.parameters())


def hardware_yardstick(checkpoint: Checkpoint, sentences: list[str], repeats: int) -> dict:
    """Our beam-5 time against the two floors of a roofline model, both measured in this run.

    * compute floor: the decode's FLOPs / this machine's fp32 matmul rate (what the
      speed issue asks for);
    * memory floor: every decoder step must stream the decoder's weights (the
      8,000 x 256 output matrix alone is 8 MB) and the encoder's once; those bytes /
      this thread's memory bandwidth. With five hypotheses per step the matrix
      products are thin, so this is the floor that binds.
    """
    translator, beam = checkpoint.translator, beam_settings(checkpoint)
    rate, bandwidth = matmul_rate_gflops(), memory_bandwidth_gbs()
    decoder_bytes, encoder_bytes = weight_bytes(checkpoint.model.decoder), weight_bytes(checkpoint.model.encoder)
    flops, compute_floors, memory_floors, multiples = [], [], [], []
    for sentence in sentences:
        count = decode_flops(translator, sentence, beam)
        steps = len(translator.translate(sentence, beam).beam.beams)  # decoder calls of this decode
        compute_floor = count / (rate * 1e9) * 1000
        memory_floor = (decoder_bytes * steps + encoder_bytes) / (bandwidth * 1e9) * 1000
        ours = statistics.median(timed_ms(lambda s=sentence: translator.translate(s, beam), repeats))
        flops.append(count / 1e6)
        compute_floors.append(compute_floor)
        memory_floors.append(memory_floor)
        multiples.append(ours / max(compute_floor, memory_floor))
    return {"matmul_gflops": rate, "memory_gbs": bandwidth, "beam5_mflop": median_p90(flops),
            "floor_ms": median_p90(compute_floors), "memory_floor_ms": median_p90(memory_floors),
            "multiple_of_floor": median_p90([m * max(c, f) / c for m, c, f in
                                             zip(multiples, compute_floors, memory_floors, strict=True)]),
            "multiple_of_roofline": median_p90(multiples)}


def batch_throughput(checkpoint: Checkpoint, sentences: list[str], batch_size: int = 64) -> dict:
    """Sentences per second of the batched beam-5 search (the Evaluate page and `evaluate` CLI)."""
    translator, beam = checkpoint.translator, beam_settings(checkpoint)
    beam_search_batch(translator, sentences[:batch_size], beam, batch_size)  # warm-up
    start = time.perf_counter()
    beam_search_batch(translator, sentences, beam, batch_size)
    seconds = time.perf_counter() - start
    return {"sentences": len(sentences), "seconds": seconds, "sentences_per_s": len(sentences) / seconds}


def training_throughput(checkpoint: Checkpoint, sentences: list[str], steps: int = 10, batch_size: int = 64) -> dict:
    """Target tokens per second of full training steps (forward, backward, Adam) on real-length batches.

    Batches are built from the sample sentences and their own greedy translations,
    so lengths are those of real data. The shipped model is copied, not changed.
    """
    import copy

    translator = checkpoint.translator
    pairs = []
    for sentence in sentences:
        trace = translator.translate(sentence, GREEDY)
        pairs.append((translator.prepare(sentence).ids, trace.target_ids))
    batch = [pairs[i % len(pairs)] for i in range(batch_size)]
    src, lengths = source_batch([s for s, _ in batch])
    longest = max(len(t) for _, t in batch) + 1
    tgt_in = torch.full((batch_size, longest), PAD_ID, dtype=torch.long)
    tgt_out = torch.full((batch_size, longest), PAD_ID, dtype=torch.long)
    for row, (_, target) in enumerate(batch):
        tgt_in[row, : len(target) + 1] = torch.tensor([BOS_ID, *target])
        tgt_out[row, : len(target) + 1] = torch.tensor([*target, EOS_ID])
    tokens = int((tgt_out != PAD_ID).sum())

    model = copy.deepcopy(checkpoint.model).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=PAD_ID, label_smoothing=0.1)

    def train_step():
        logits, _ = model(src, lengths, tgt_in)
        loss = loss_fn(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    train_step()  # warm-up
    times = timed_ms(train_step, steps)
    median = statistics.median(times)
    return {"batch_size": batch_size, "target_tokens_per_batch": tokens, "step_ms": median_p90(times),
            "target_tokens_per_s": tokens / (median / 1000)}


def peak_memory_mib() -> float:
    """This process's peak resident memory (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
