"""Runs side by side on one machine, for scripts/bench.py: `vp train` alone and two at once, with
every core each (the default before --threads) and with the default share, and scripts/sweep.py at
--jobs 1 and --jobs 2. Each run is a process of its own, as a shell loop or a pipeline starts them.

The workload is the issue's: 242 TP53 cell lines (scripts/cohorts.py, from ../shared/data), 300
steps of the default recipe, unlabelled.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
STEPS = 300
SWEEP_STEPS = 800  # trainings long enough that spawning the workers (an import of torch each) is small beside them


def _workload(folder: Path) -> Path:
    import cohorts

    lines = cohorts.cell_lines()
    path = folder / "cell_lines_242.fasta"
    path.write_bytes(lines.subset(range(242), "242 TP53 cell lines").to_fasta())
    return path


def trains_at_once(data: Path, folder: Path, threads: list[str | None], steps: int = STEPS) -> list[float]:
    """Wall seconds of each `vp train`, all started together (one per entry of `threads`)."""
    started, processes = time.perf_counter(), []
    for i, count in enumerate(threads):
        command = [sys.executable, "-m", "virtualpatients", "train", str(data), "--label-key", "none", "--steps",
                   str(steps), "--seed", "0", "--force", "-o", str(folder / f"run{i}")]
        processes.append(subprocess.Popen(command + (["--threads", count] if count else []),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    walls = []
    for process in processes:
        if process.wait() != 0:
            raise RuntimeError(f"vp train failed ({process.args})")
        walls.append(time.perf_counter() - started)
    return walls


def sweep_seconds(jobs: int, folder: Path) -> float:
    command = [sys.executable, str(ROOT / "scripts" / "sweep.py"), "--datasets", "demo", "two-class", "--recipes",
               "default", "--seeds", "0", "1", "2", "--steps", str(SWEEP_STEPS), "--baselines", "independent", "markov",
               "--no-append", "--jobs", str(jobs), "--runs", str(folder / f"sweep{jobs}")]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure() -> list[tuple[str, str]]:
    cores = str(len(os.sched_getaffinity(0)))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        data = _workload(folder)
        # Interleaved, best of 3 each: the machine's speed drifts between minutes.
        alone = [(trains_at_once(data, folder, [cores])[0], trains_at_once(data, folder, [None])[0]) for _ in range(3)]
        alone_old, alone_new = (min(pair[i] for pair in alone) for i in (0, 1))
        two_old = trains_at_once(data, folder, [cores, cores])
        two_new = trains_at_once(data, folder, [None, None])
        sweeps = {jobs: sweep_seconds(jobs, folder) for jobs in (1, 2)}
    what = f"`vp train` of 242 TP53 cell lines, {STEPS} steps (process wall time)"
    return [
        (f"{what}: one alone, --threads {cores} (the default before --threads; best of 3)", f"{alone_old:.1f} s"),
        (f"{what}: one alone, default threads (best of 3, interleaved)",
         f"{alone_new:.1f} s ({alone_new / alone_old:.2f}x the old default)"),
        (f"{what}: two at once, --threads {cores} each",
         " and ".join(f"{t:.1f} s" for t in two_old) + f" ({max(two_old) / alone_new:.2f}x alone)"),
        (f"{what}: two at once, default threads",
         " and ".join(f"{t:.1f} s" for t in two_new) + f" ({max(two_new) / alone_new:.2f}x alone)"),
        (f"scripts/sweep.py demo + two-class x 3 seeds, {SWEEP_STEPS} steps, 2 baselines: --jobs 1 / --jobs 2",
         f"{sweeps[1]:.1f} / {sweeps[2]:.1f} s ({sweeps[1] / sweeps[2]:.2f}x faster)"),
    ]


if __name__ == "__main__":
    for name, value in measure():
        print(f"| {name} | {value} |")
