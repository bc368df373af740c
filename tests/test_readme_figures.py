"""The README's tables of shipped-model figures say what each checkpoint's config.json says.

Each shipped model's scores are measured when it is trained (test BLEU and chrF, by source length) and
recorded afterwards (silver AER, `python -m nmt_core.explain.silver ... --record`); the README copies them
by hand. A model replaced without its rows was caught only by reading: session 10's deu-eng-luong and
spa-eng-transformer kept their old AER rows. Only the README and the configs are read, no model.
"""

import re
from pathlib import Path

import pytest

from nmt_core.checkpoint import list_checkpoints, read_config

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SHIPPED = [p.name for p in list_checkpoints(ROOT / "checkpoints")]
METHODS = ["attention", "shift", "saliency", "input-x-gradient", "integrated-gradients"]
BY_LENGTH_HEADER = "| source words (test sentences) |"


def metrics(name: str) -> dict:
    return read_config(ROOT / "checkpoints" / name)["metrics"]


def table_rows(header: str) -> dict[str, list[str]]:
    """The rows of the README table whose header line starts with ``header``, by the first word of their first
    cell (a model's name), cells stripped of bold markers."""
    lines = README.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip().replace("**", "") for c in line.strip().strip("|").split("|")]
        rows[cells[0].split()[0]] = cells[1:]
    return rows


SHIPPED_ROWS = table_rows("| model | direction | architecture |")
AER_ROWS = table_rows("| model | attention | shift |")
BY_LENGTH_ROWS = table_rows(BY_LENGTH_HEADER)


def test_every_shipped_model_has_its_row_in_the_table_of_shipped_models():
    assert sorted(SHIPPED_ROWS) == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_the_table_of_shipped_models_gives_the_recorded_test_scores(name):
    bleu, chrf = SHIPPED_ROWS[name][3], SHIPPED_ROWS[name][4]
    m = metrics(name)
    assert (bleu, chrf) == (f"{m['test_bleu']:.2f}", f"{m['test_chrf']:.2f}")


def aer_cell(methods: dict, method: str) -> str:
    """A cell as the README writes it: one direction, then symmetrised when the reverse model exists."""
    if method not in methods:
        return "–"
    cell = f"{methods[method]['aer']:.3f}"
    both = methods.get(f"{method} (symmetrised)")
    return cell if both is None else f"{cell} / {both['aer']:.3f}"


@pytest.mark.parametrize("name", sorted(AER_ROWS))
def test_the_silver_aer_table_gives_the_recorded_aers(name):
    assert name in SHIPPED
    methods = metrics(name)["dev_alignment_aer"]["methods"]
    assert AER_ROWS[name] == [aer_cell(methods, m) for m in METHODS]


@pytest.mark.parametrize("name", sorted(BY_LENGTH_ROWS))
def test_the_by_length_table_gives_the_recorded_bleu(name):
    assert name in SHIPPED
    recorded = [f"{group['bleu']:.2f}" for group in metrics(name)["test_by_source_length"]]
    assert BY_LENGTH_ROWS[name] == recorded


def test_the_by_length_header_counts_the_flagships_test_sentences():
    header = next(line for line in README.splitlines() if line.startswith(BY_LENGTH_HEADER))
    counts = [int(n) for n in re.findall(r"\((\d+)\)", header)]
    assert counts == [group["sentences"] for group in metrics("spa-eng-luong")["test_by_source_length"]]
