"""Tiny fixtures made by the tests themselves, and access to ../shared/data where it exists."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from virtualpatients.data.sequences import format_fasta
from virtualpatients.data.simulate import simulate_cohort

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def write_fasta(path: Path, records: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f">{name}\n{sequence}\n" for name, sequence in records))
    return path


@pytest.fixture
def tiny_cohort(tmp_path: Path) -> Path:
    """40 simulated patients of length 60: one reference plus one hotspot variant each."""
    ids, descriptions, sequences = simulate_cohort(n_patients=40, length=60, n_hotspots=4, seed=1)
    codes = np.frombuffer("".join(sequences).encode(), np.uint8).reshape(len(sequences), -1)
    path = tmp_path / "tiny.fasta"
    path.write_bytes(format_fasta([f"{i} {d}" for i, d in zip(ids, descriptions)], codes))
    return path


def shared_file(name: str) -> Path:
    """A file of ../shared/data: skip where it is absent, but fail in CI, which must have it."""
    path = SHARED_DATA / name
    if not path.exists():
        message = f"{path} not found (the shared TP53 data lives beside the project root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `vp train` remembers its last run in the current folder; keep tests out of the checkout.
    monkeypatch.chdir(tmp_path)


def require_blast() -> None:
    """BLAST tests skip where blastn is missing, unless VP_REQUIRE_BLAST=1 (CI) makes that a failure."""
    import shutil

    if shutil.which("blastn") and shutil.which("makeblastdb"):
        return
    message = "NCBI BLAST+ (blastn, makeblastdb) not on PATH; apt-get install ncbi-blast+"
    if os.environ.get("VP_REQUIRE_BLAST") == "1":
        pytest.fail(message)
    pytest.skip(message)


PATTERNS = {"common": "AAAAAA", "rare": "GGGGGG"}
PATTERN_AT = 20


@pytest.fixture
def two_class_cohort(tmp_path: Path) -> Path:
    """60 'common' and 20 'rare' patients of length 60 whose classes differ at positions 21-26
    (AAAAAA vs GGGGGG); each also carries a hotspot variant elsewhere, as in the TP53 cohort."""
    ids, _, sequences = simulate_cohort(n_patients=80, length=60, n_hotspots=3, seed=5)
    records = []
    for number, sequence in enumerate(sequences):
        label = "common" if number < 60 else "rare"
        patterned = sequence[:PATTERN_AT] + PATTERNS[label] + sequence[PATTERN_AT + 6 :]
        records.append(f">{ids[number]} patient label={label}\n{patterned}\n")
    path = tmp_path / "two_class.fasta"
    path.write_text("".join(records))
    return path
