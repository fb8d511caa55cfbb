#!/usr/bin/env python
"""Train each recipe on the TP53 cohort, evaluate every class, run vp balance and the utility
comparison, and print (and append to RESULTS.md) one table of the numbers.

Usage: .venv/bin/python scripts/tp53_balance.py [--recipes gan wgan-gp] [--runs DIR] [--no-train]
Reads ../shared/data/tp53_germline_cohort.fasta. Takes tens of minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COHORT = ROOT.parent / "shared" / "data" / "tp53_germline_cohort.fasta"
VP = [sys.executable, "-m", "virtualpatients"]
CLASSES = ("functional", "nonfunctional")


def vp(*args: str) -> str:
    result = subprocess.run([*VP, *args], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"vp {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def class_row(recipe: str, label: str, m: dict) -> str:
    v, p, d, val = m["variants"], m["privacy"], m["diversity"], m["validity"] or {}

    def f(x, digits=3):
        return "n/a" if x is None else f"{x:.{digits}f}"

    return (
        f"| {recipe} | {label} | {f(v['mean_differences_generated'], 2)} ({f(v['mean_differences_real'], 2)}) "
        f"| {f(v['position_r'])} | {v['top20_found']}/{v['top20_total']} "
        f"| {f(val.get('valid_fraction_generated'))} ({f(val.get('valid_fraction_real'))}) "
        f"| {f(d['distinct_fraction_generated'])} ({f(d['distinct_fraction_real'])}) "
        f"| {f(m['fidelity']['base_frequency_r'], 4)} | {f(p['exact_copy_rate'])} ({f(p['holdout_exact_copy_rate'])}) "
        f"| {f(p['aats_train'])} | {f(p['aats_holdout'])} | {f(p['privacy_loss'])} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipes", nargs="+", default=["gan", "wgan-gp"])
    parser.add_argument("--runs", type=Path, default=ROOT / "runs")
    parser.add_argument("--no-train", action="store_true", help="reuse existing runs")
    parser.add_argument("-n", type=int, default=1000, help="generated sequences per class")
    args = parser.parse_args()
    lines = [
        f"### {time.strftime('%Y-%m-%d %H:%M')}: TP53 cohort ({COHORT.name}), hold-out 0.2, {args.n} generated per class",
        "",
        "Per class, generated (real in brackets): differences from the consensus per sequence, variant-position r,"
        " top-20 real variant positions found, valid ORF share, distinct fraction (equal samples), base-frequency r,"
        " exact-copy rate (held-out real), AATS vs training, AATS vs held-out, privacy loss.",
        "",
        "| recipe | class | differences | position r | top 20 | valid ORF | distinct | base r | copies | AATS | AATS held-out | privacy loss |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    utility_lines = ["", "| recipe | training data | balanced accuracy | minority F1 |", "|---|---|---|---|"]
    for recipe in args.recipes:
        run = args.runs / f"tp53-{recipe}"
        if not args.no_train:
            started = time.perf_counter()
            vp("train", str(COHORT), "--config", str(ROOT / "configs" / f"{recipe}.toml"), "--holdout", "0.2",
               "--out", str(run))
            print(f"{recipe}: trained in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        for label in CLASSES:
            metrics = json.loads(vp("evaluate", "--model", str(run), "--label", label, "-n", str(args.n), "--json"))
            lines.append(class_row(recipe, label, metrics))
        utility = json.loads(vp("evaluate", "--model", str(run), "-n", "200", "--utility", "--json"))["utility"]
        for value in utility.values():
            if isinstance(value, dict) and "label" in value:
                accuracy, f1 = value["balanced_accuracy"], value["minority_f1"]
                utility_lines.append(
                    f"| {recipe} | {value['label']} | {accuracy['mean']:.3f} ± {accuracy['sd']:.3f} "
                    f"| {f1['mean']:.3f} ± {f1['sd']:.3f} |"
                )
        balanced = run / "balanced.fasta"
        vp("balance", str(COHORT), "-o", str(balanced), "--model", str(run), "--force")
        print(f"{recipe}: {balanced} has {sum(line.startswith('>') for line in balanced.read_text().splitlines())} records", file=sys.stderr)
    text = "\n".join(lines + utility_lines) + "\n"
    print(text)
    results = ROOT / "RESULTS.md"
    if not results.exists():
        results.write_text("# Results on the TP53 cohort\n\nAppended by `scripts/tp53_balance.py`; newest last.\n")
    with results.open("a") as stream:
        stream.write("\n" + text)


if __name__ == "__main__":
    main()
