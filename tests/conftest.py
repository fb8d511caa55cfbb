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


KILLER = """
import os, random, signal, sys, time
from pathlib import Path
from virtualpatients.gan.config import TrainConfig
from virtualpatients.data.fasta import read_cohort
from virtualpatients.gan.fit import train
import torch._dynamo  # what torch.optim imports on first use: import once, not in every child
import virtualpatients.gan.train
from virtualpatients.gan.rundir import package_versions
package_versions()

# torch is imported but has run no operation, so each forked child starts its own thread pool.
cohort = read_cohort([sys.argv[1]])
folder, kills = Path(sys.argv[2]), int(sys.argv[3])
config = TrainConfig({config})
chance = random.Random({seed})
for number in range(kills):
    child = os.fork()
    if child == 0:
        import torch
        torch.set_num_threads(1)
        train(cohort, config, run_dir=folder / f"run{{number}}", force={force})
        os._exit(0)
    time.sleep(chance.uniform(0.0, {max_wait}))
    os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
print("done")
"""


def kill_training_at_random_moments(cohort: Path, folder: Path, kills: int, config: str, *, force: bool = False,
                                    seed: int = 0, max_wait: float = 0.4) -> None:
    """Train into folder/run0, run1, ... (TrainConfig(`config`), checkpoints as it goes), killing
    each run with SIGKILL after a seeded random wait: a crash at any moment."""
    import subprocess
    import sys

    script = KILLER.format(config=config, seed=seed, force=force, max_wait=max_wait)
    done = subprocess.run([sys.executable, "-c", script, str(cohort), str(folder), str(kills)],
                          capture_output=True, text=True, timeout=240)
    assert done.stdout.strip() == "done", done.stderr[-2000:]
