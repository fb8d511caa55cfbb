#!/usr/bin/env python
"""Measure vp's speed on this machine and append the table to BENCHMARKS.md.

Usage: .venv/bin/python scripts/bench.py [--quick] [--no-record]
Reads ../shared/data/tp53_germline_cohort.fasta (the TP53 cohort, L = 1182).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COHORT = ROOT.parent / "shared" / "data" / "tp53_germline_cohort.fasta"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def bench_train(indices, batch_size: int, steps: int) -> float:
    """Milliseconds per training step (one D and one G update), after a warm-up run."""
    from virtualpatients.config import TrainConfig
    from virtualpatients.train import train

    config = TrainConfig(steps=steps, batch_size=batch_size, device="cpu", log_every=steps)
    train(indices, 4, TrainConfig(steps=5, batch_size=batch_size, device="cpu"))
    result = train(indices, 4, config)
    return 1000 * result.wall_time_s / steps


def bench_generate(run_dir: Path, n: int) -> float:
    """Seconds to write n sequences as FASTA to /dev/null through the CLI's code path."""
    from virtualpatients.checkpoint import load_run
    from virtualpatients.generate import generate_fasta

    run = load_run(run_dir)
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        for chunk in generate_fasta(run, n, seed=0):
            sink.write(chunk)
    return time.perf_counter() - started


def bench_metrics(cohort, n_generated: int = 10_000) -> float:
    """Seconds for every in-process metric of `vp evaluate`: n generated vs the real cohort.

    The generated set is real rows with 1% random substitutions: all distinct, so no work is
    saved by deduplication (a collapsed generator would be much faster to evaluate).
    """
    import numpy as np

    from virtualpatients.evaluate import SequenceSet, evaluate_sets

    rng = np.random.default_rng(0)
    rows = cohort.indices[rng.integers(0, len(cohort), n_generated)].copy()
    mutate = rng.random(rows.shape) < 0.01
    rows[mutate] = rng.integers(0, 4, int(mutate.sum()), dtype=np.uint8)
    generated = SequenceSet([f"g{i}" for i in range(n_generated)], rows, "ATCG", "bench")
    real = SequenceSet(cohort.ids, cohort.indices, "ATCG", "cohort")
    started = time.perf_counter()
    evaluate_sets(generated, real)
    return time.perf_counter() - started


def bench_help() -> float:
    vp = Path(sys.executable).parent / "vp"
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([str(vp), "--help"], capture_output=True, check=True)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer steps and sequences")
    parser.add_argument("--no-record", action="store_true", help="do not append to BENCHMARKS.md")
    args = parser.parse_args()

    import torch

    from virtualpatients.checkpoint import save_run
    from virtualpatients.config import TrainConfig
    from virtualpatients.fasta import read_cohort
    from virtualpatients.model import ModelSpec, build_models

    started = time.perf_counter()
    cohort = read_cohort([COHORT])
    read_s = time.perf_counter() - started
    steps = 20 if args.quick else 60
    rows = [
        ("read+validate+encode TP53 cohort", f"{len(cohort) / read_s:,.0f} seq/s ({read_s:.2f} s)"),
        ("train, batch 32", f"{bench_train(cohort.indices, 32, steps):.1f} ms/step"),
        ("train, batch 128", f"{bench_train(cohort.indices, 128, steps):.1f} ms/step"),
    ]
    rows.append(("all in-process metrics, 10,000 generated vs cohort", f"{bench_metrics(cohort):.2f} s"))
    config = TrainConfig()
    spec = ModelSpec(cohort.length, 4, config.noise_dim, config.hidden, config.leaky_slope)
    with tempfile.TemporaryDirectory() as scratch:
        generator, discriminator = build_models(spec)
        metadata = {"alphabet": "ATCG", "length": cohort.length, "n_sequences": len(cohort)}
        save_run(Path(scratch), generator, discriminator, config, [], metadata)
        n = 10_000 if args.quick else 100_000
        seconds = bench_generate(Path(scratch), n)
        rows.append((f"generate {n:,} to FASTA", f"{seconds:.2f} s ({n / seconds:,.0f} seq/s)"))
    rows.append(("vp --help (best of 5)", f"{bench_help():.3f} s"))

    header = (
        f"### {time.strftime('%Y-%m-%d %H:%M')} — {cpu_model()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, device cpu, L = {cohort.length}, hidden {list(config.hidden)}"
    )
    table = "\n".join(["| measurement | result |", "|---|---|", *[f"| {a} | {b} |" for a, b in rows]])
    print(header + "\n\n" + table)
    if not args.no_record:
        path = ROOT / "BENCHMARKS.md"
        if not path.exists():
            path.write_text("# Benchmarks\n\nAppended by `scripts/bench.py`; newest last.\n")
        with path.open("a") as stream:
            stream.write("\n" + header + "\n\n" + table + "\n")


if __name__ == "__main__":
    main()
