#!/usr/bin/env python
"""Train each recipe on the TP53 cohort, evaluate every class, write a balanced FASTA and run the
utility comparison, and print (and append to RESULTS.md) one table of the numbers.

Usage: .venv/bin/python scripts/tp53_balance.py [--recipes gan wgan-gp] [--runs DIR] [--no-train]
Reads ../shared/data/tp53_germline_cohort.fasta. Takes tens of minutes on 2 CPU cores.
Quick check: --steps 20 --runs /tmp/runs --no-append.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import virtualpatients as vp
from virtualpatients.atomic import atomic_writer
from virtualpatients.evaluation.balance import balanced_fasta, check_classes, plan_counts
from virtualpatients.evaluation.classifier_utility import run_utility
from virtualpatients.report.tables import jsonable

ROOT = Path(__file__).resolve().parents[1]
COHORT = ROOT.parent / "shared" / "data" / "tp53_germline_cohort.fasta"
CLASSES = ("functional", "nonfunctional")
SEED = 0  # the `vp evaluate` / `vp balance` default, so the numbers match the command line's


def train(recipe: str, run_dir: Path, steps: int | None) -> None:
    """What `vp train COHORT --config configs/RECIPE.toml --holdout 0.2 --out RUN_DIR` does."""
    config = vp.load_config(ROOT / "configs" / f"{recipe}.toml", {"holdout": 0.2, "steps": steps})
    started = time.perf_counter()
    cohort = vp.read_cohort([COHORT], config.length_policy, label_key=config.label_key)
    run = vp.train(cohort, config, run_dir=run_dir, force=True)  # force: retrain over an old run
    for warning in cohort.warnings + run.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{recipe}: trained in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def evaluate_class(run: vp.Run, label: str, n: int) -> dict:
    """`vp evaluate --model RUN --label LABEL -n N --json`: n generated of one class against the
    run's training split, with its held-out split as the yardstick of a new patient."""
    generated = run.generate(n, seed=SEED, label=label)
    evaluation = vp.evaluate(generated, run.training_set, run.holdout_set, label=label, seed=SEED)
    # jsonable turns NaN into None, which the table prints as n/a (as it did from the JSON)
    return jsonable(evaluation.summary)


def balance(run: vp.Run, output: Path) -> int:
    """`vp balance COHORT -o OUTPUT --model RUN --force`: every real record plus generated records of
    the smaller classes up to the largest; returns the number of records written."""
    cohort = vp.read_cohort([COHORT], run.config.length_policy, label_key=run.config.label_key)
    to_generate = plan_counts(check_classes(cohort, run), "equal")
    with atomic_writer(output) as stream:  # as `vp balance -o`: no half-written file on failure
        for chunk in balanced_fasta(cohort, run, to_generate, SEED):
            stream.write(chunk)
    return len(cohort) + sum(to_generate.values())


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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="+", default=["gan", "wgan-gp"])
    parser.add_argument("--runs", type=Path, default=ROOT / "runs")
    parser.add_argument("--no-train", action="store_true", help="reuse existing runs")
    parser.add_argument("-n", type=int, default=1000, help="generated sequences per class")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the recipe's)")
    parser.add_argument("--no-append", action="store_true", help="print the tables only, leave RESULTS.md alone")
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
        run_dir = args.runs / f"tp53-{recipe}"
        if not args.no_train:
            train(recipe, run_dir, args.steps)
        # Load from disk, as the `vp` commands did: the run directory holds the hold-out-selected
        # checkpoint, and its training/held-out splits are re-read from the recorded files.
        run = vp.load_run(run_dir)
        for label in CLASSES:
            lines.append(class_row(recipe, label, evaluate_class(run, label, args.n)))
        # The utility draws its own records with its own seeds, so (unlike `vp evaluate --utility`)
        # no evaluation of generated records is needed beside it; the numbers are the same.
        utility = jsonable(run_utility(run, run.training_set, run.holdout_set))
        for value in utility.values():
            if isinstance(value, dict) and "label" in value:
                accuracy, f1 = value["balanced_accuracy"], value["minority_f1"]
                utility_lines.append(
                    f"| {recipe} | {value['label']} | {accuracy['mean']:.3f} ± {accuracy['sd']:.3f} "
                    f"| {f1['mean']:.3f} ± {f1['sd']:.3f} |"
                )
        balanced = run_dir / "balanced.fasta"
        print(f"{recipe}: {balanced} has {balance(run, balanced)} records", file=sys.stderr)
    text = "\n".join(lines + utility_lines) + "\n"
    print(text)
    if args.no_append:
        return
    results = ROOT / "RESULTS.md"
    if not results.exists():
        results.write_text("# Results on the TP53 cohort\n\nAppended by `scripts/tp53_balance.py`; newest last.\n")
    with results.open("a") as stream:
        stream.write("\n" + text)


if __name__ == "__main__":
    main()
