#!/usr/bin/env python
"""Measure vp's speed on this machine and append the table to BENCHMARKS.md.

Usage: .venv/bin/python scripts/bench.py [--quick] [--no-record]
Reads ../shared/data/tp53_germline_cohort.fasta (the TP53 cohort, L = 1182) and
../shared/data/yelmen805/haplotypes_train.fasta (2,504 haplotypes, L = 805). The GAN-only trainer
(configs/gan.toml's networks) is compared with a plain PyTorch loop of the same architecture; the
default recipe (vae-gan) is timed per step on both data sets, and its model's generation rate.
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
HAPLOTYPES = ROOT.parent / "shared" / "data" / "yelmen805" / "haplotypes_train.fasta"
# The networks of the reference loop, the GAN-only recipe (configs/gan.toml).
GAN_ONLY = dict(trainer="gan", noise_dim=100, hidden=(512, 512), lr=2e-4, beta1=0.5)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def matmul_peak() -> float:
    """Best float32 GFLOP/s of a 2048 x 2048 matrix product: the yardstick for training."""
    import torch

    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    best = float("inf")
    for _ in range(8):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * 2048**3 / best / 1e9


def reference_loop(indices, batch_size: int, steps: int) -> tuple[float, float]:
    """A plain PyTorch GAN loop of the same architecture (no tuning: unfused Adam, the whole data
    set one-hot in float, .item() every step, real and generated through the discriminator
    separately, discriminator weight gradients computed in the generator update).
    Returns (ms/step, FLOPs of one step)."""
    import torch
    import torch.nn.functional as F
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    n, length = indices.shape
    generator = nn.Sequential(nn.Linear(100, 512), nn.LeakyReLU(0.2), nn.Linear(512, 512), nn.LeakyReLU(0.2),
                              nn.Linear(512, length * 4))
    discriminator = nn.Sequential(nn.Linear(length * 4, 512), nn.LeakyReLU(0.2), nn.Linear(512, 512),
                                  nn.LeakyReLU(0.2), nn.Linear(512, 1))
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    data = F.one_hot(torch.as_tensor(indices.copy(), dtype=torch.long), 4).float().reshape(n, -1)

    def step() -> None:
        real = data[torch.randint(0, n, (batch_size,))]
        fake = torch.softmax(generator(torch.randn(batch_size, 100)).view(batch_size, length, 4), -1).view(batch_size, -1)
        loss_d = F.binary_cross_entropy_with_logits(discriminator(real), torch.ones(batch_size, 1)) + \
            F.binary_cross_entropy_with_logits(discriminator(fake.detach()), torch.zeros(batch_size, 1))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.binary_cross_entropy_with_logits(discriminator(fake), torch.ones(batch_size, 1))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        loss_d.item(), loss_g.item()

    counter = FlopCounterMode(display=False)
    with counter:
        step()
    for _ in range(3):
        step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return 1000 * (time.perf_counter() - started) / steps, counter.get_total_flops()


def bench_read_large(n_records: int = 100_000, length: int = 1182, repeats: int = 3) -> float:
    """Records per second through read + validate + encode for a FASTA file the benchmark writes
    (best of `repeats`: this shared 2-core machine has noisy neighbours)."""
    import numpy as np

    from virtualpatients.data.fasta import read_cohort
    from virtualpatients.data.sequences import format_fasta

    rng = np.random.default_rng(0)
    codes = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, (n_records, length))]
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "large.fasta"
        path.write_bytes(format_fasta([f"r{i}" for i in range(n_records)], codes))
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            read_cohort([path])
            best = min(best, time.perf_counter() - started)
        return n_records / best


def generation_rss(run_dir: Path, n: int) -> float:
    """Peak resident memory (MiB) of `vp generate -n N` in a child process, by GNU time."""
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "virtualpatients", "generate", "-n", str(n),
         "--model", str(run_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True,
    )
    return int(result.stderr.strip().splitlines()[-1]) / 1024


def bench_train(indices, batch_size: int, steps: int, **settings) -> tuple[float, float]:
    """vp's training loop with `settings` (default: the default recipe): (milliseconds per step,
    FLOPs per step), after a warm-up run.

    FLOPs are counted over runs of 2 and 4 steps (both log at their first and last step, so the
    difference is two plain steps).
    """
    from torch.utils.flop_counter import FlopCounterMode

    from virtualpatients.gan.config import TrainConfig
    from virtualpatients.gan.train import train

    def counted(n_steps: int) -> int:
        counter = FlopCounterMode(display=False)
        with counter:
            train(indices, 4, TrainConfig(steps=n_steps, batch_size=batch_size, device="cpu", log_every=10**6,
                                          **settings))
        return counter.get_total_flops()

    flops = (counted(4) - counted(2)) / 2
    train(indices, 4, TrainConfig(steps=5, batch_size=batch_size, device="cpu", **settings))
    result = train(indices, 4, TrainConfig(steps=steps, batch_size=batch_size, device="cpu", log_every=steps,
                                           **settings))
    return 1000 * result.wall_time_s / steps, flops


def bench_generate(run_dir: Path, n: int, repeats: int = 2) -> float:
    """Seconds to write n sequences as FASTA to /dev/null through the CLI's code path (best of
    `repeats`)."""
    from virtualpatients.gan.run import load_run

    run = load_run(run_dir)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        with open(os.devnull, "wb") as sink:
            for chunk in run.generate_fasta(n, seed=0):
                sink.write(chunk)
        best = min(best, time.perf_counter() - started)
    return best


def bench_metrics(cohort, n_generated: int = 10_000) -> float:
    """Seconds for every in-process metric of `vp evaluate`: n generated vs the real cohort.

    The generated set is real rows with 1% random substitutions: all distinct, so no work is
    saved by deduplication (a collapsed generator would be much faster to evaluate).
    """
    import numpy as np

    from virtualpatients.data.sequences import SequenceSet
    from virtualpatients.evaluation.evaluate import evaluate_sets

    rng = np.random.default_rng(0)
    rows = cohort.indices[rng.integers(0, len(cohort), n_generated)].copy()
    mutate = rng.random(rows.shape) < 0.01
    rows[mutate] = rng.integers(0, 4, int(mutate.sum()), dtype=np.uint8)
    generated = SequenceSet([f"g{i}" for i in range(n_generated)], rows, "ATCG", origin="bench")
    real = cohort.named("cohort")
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
    parser.add_argument("--side-by-side-only", action="store_true",
                        help="only the runs side by side (scripts/side_by_side.py): alone, two at once, sweep --jobs")
    args = parser.parse_args()
    if args.side_by_side_only:
        import torch

        record(f"### {time.strftime('%Y-%m-%d %H:%M')} — runs side by side — {cpu_model()}, "
               f"{len(os.sched_getaffinity(0))} cores, torch {torch.__version__}", side_by_side(), args.no_record)
        return

    import torch

    from virtualpatients.gan.run import Run
    from virtualpatients.gan.config import TrainConfig
    from virtualpatients.data.fasta import read_cohort
    from virtualpatients.gan.model import ModelSpec, build_models

    started = time.perf_counter()
    cohort = read_cohort([COHORT])
    read_s = time.perf_counter() - started
    steps = 20 if args.quick else 60
    peak = matmul_peak()
    rows = [
        ("float32 matmul peak (2048^3, best of 8)", f"{peak:.0f} GFLOP/s"),
        ("read+validate+encode TP53 cohort", f"{len(cohort) / read_s:,.0f} seq/s ({read_s:.2f} s)"),
        ("read+validate+encode 100,000 records (L 1182, best of 3)", f"{bench_read_large():,.0f} seq/s"),
    ]
    for batch_size in (32, 128):
        vp_ms, vp_flops = bench_train(cohort.indices, batch_size, steps, **GAN_ONLY)
        reference_ms, flops = reference_loop(cohort.indices, batch_size, steps)
        rows.append((
            f"train (GAN-only trainer), batch {batch_size}: vp / reference loop",
            f"{vp_ms:.1f} / {reference_ms:.1f} ms/step (ratio {vp_ms / reference_ms:.2f}); "
            f"vp {vp_flops / 1e9:.2f} GFLOP a step = {vp_flops / vp_ms / 1e6:.0f} GFLOP/s "
            f"({100 * vp_flops / vp_ms / 1e6 / peak:.0f}% of peak); reference {flops / 1e9:.2f} GFLOP a step = "
            f"{flops / reference_ms / 1e6:.0f} GFLOP/s ({100 * flops / reference_ms / 1e6 / peak:.0f}%)",
        ))
    haplotypes = read_cohort([HAPLOTYPES])
    for name, data in (("TP53 cohort, L 1182", cohort), ("yelmen805, L 805", haplotypes)):
        default = TrainConfig()
        ms, flops = bench_train(data.indices, default.batch_size, steps)
        rows.append((f"train, default recipe ({default.trainer}, batch {default.batch_size}), {name}",
                     f"{ms:.1f} ms/step ({default.steps} steps: {ms * default.steps / 1000:.0f} s); "
                     f"{flops / 1e9:.2f} GFLOP a step = {flops / ms / 1e6:.0f} GFLOP/s ({100 * flops / ms / 1e6 / peak:.0f}% of peak)"))
    rows.append(("all in-process metrics, 10,000 generated vs cohort", f"{bench_metrics(cohort):.2f} s"))
    config = TrainConfig()
    spec = ModelSpec(cohort.length, 4, config.noise_dim, config.hidden, config.leaky_slope)
    with tempfile.TemporaryDirectory() as scratch:
        generator, discriminator = build_models(spec)
        metadata = {"alphabet": "ATCG", "length": cohort.length, "n_sequences": len(cohort)}
        Run(generator, discriminator, spec, config, metadata).save(Path(scratch))
        n = 10_000 if args.quick else 100_000
        seconds = bench_generate(Path(scratch), n)
        rows.append((f"generate {n:,} to FASTA, default recipe's networks (best of 2)",
                     f"{seconds:.2f} s ({n / seconds:,.0f} seq/s)"))
        rows.append((f"vp generate -n {n:,} peak RSS", f"{generation_rss(Path(scratch), n):.0f} MiB"))
        rows.append(("vp generate -n 1,000 peak RSS", f"{generation_rss(Path(scratch), 1000):.0f} MiB"))
    rows.append(("vp --help (best of 5)", f"{bench_help():.3f} s"))
    rows.extend(side_by_side())

    header = (
        f"### {time.strftime('%Y-%m-%d %H:%M')} — {cpu_model()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, device cpu, L = {cohort.length}, hidden {list(config.hidden)}"
    )
    record(header, rows, args.no_record)


def side_by_side() -> list[tuple[str, str]]:
    sys.path.insert(0, str(ROOT / "scripts"))
    import side_by_side as runs

    return runs.measure()


def record(header: str, rows: list[tuple[str, str]], dry: bool) -> None:
    table = "\n".join(["| measurement | result |", "|---|---|", *[f"| {a} | {b} |" for a, b in rows]])
    print(header + "\n\n" + table)
    if not dry:
        path = ROOT / "BENCHMARKS.md"
        if not path.exists():
            path.write_text("# Benchmarks\n\nAppended by `scripts/bench.py`; newest last.\n")
        with path.open("a") as stream:
            stream.write("\n" + header + "\n\n" + table + "\n")


if __name__ == "__main__":
    main()
