#!/usr/bin/env python
"""The GAN recipes beside the four baseline generators on the TP53 cohort, per class, and in the
utility comparison; prints the tables and appends them to RESULTS.md.

Usage: .venv/bin/python scripts/tp53_baselines.py --runs DIR [-n 1000] [--no-append]
DIR holds the runs scripts/tp53_balance.py trains (DIR/tp53-gan, DIR/tp53-wgan-gp), on
../shared/data/tp53_germline_cohort.fasta with a 0.2 hold-out. Takes about 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import virtualpatients as vp
from virtualpatients.evaluation.baselines import BASELINES
from virtualpatients.evaluation.classifier_utility import run_utility
from virtualpatients.evaluation.comparison import baseline_generator
from virtualpatients.report.tables import jsonable

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ("functional", "nonfunctional")
RECIPES = ("gan", "wgan-gp")
N_PER_CLASS = 1000
SEED = 0  # the `vp evaluate` default, so the numbers match the command line's


def evaluate_class(run: vp.Run, label: str, n: int) -> dict:
    """`vp evaluate --model RUN --label LABEL -n N --baselines --json`: n generated of one class, and
    each baseline fitted on the run's training split (markov order 3), against the training and
    held-out splits. jsonable gives the JSON's keys (kmer_js "6") and None for NaN (printed n/a)."""
    generated = run.generate(n, seed=SEED, label=label)
    evaluation = vp.evaluate(generated, run.training_set, run.holdout_set, label=label, baselines=True, seed=SEED)
    return jsonable(evaluation.summary)


def utility(run: vp.Run, kind: str | None = None) -> dict:
    """The utility `vp evaluate --model RUN --utility [--baselines]` reports: the minority records come
    from the run (kind None) or from the baseline `kind` fitted on the training split. It draws its
    own records with its own seeds, so no evaluation of generated records is needed beside it."""
    real = run.training_set
    generate = None if kind is None else baseline_generator(kind, real)
    return jsonable(run_utility(run, real, run.holdout_set, generate=generate))


def get(summary: dict, path: str):
    for key in path.split("."):
        if not isinstance(summary, dict) or key not in summary:
            return None
        summary = summary[key]
    return summary


def number(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def class_row(name: str, label: str, summary: dict) -> str:
    cells = [
        f"{number(get(summary, 'variants.mean_differences_generated'), 2)} "
        f"({number(get(summary, 'variants.mean_differences_real'), 2)})",
        number(get(summary, "variants.position_r")),
        f"{get(summary, 'variants.top20_found')}/{get(summary, 'variants.top20_total')}",
        number(get(summary, "validity.valid_fraction_generated")),
        f"{number(get(summary, 'diversity.distinct_fraction_generated'))} "
        f"({number(get(summary, 'diversity.distinct_fraction_real'))})",
        number(get(summary, "fidelity.kmer_js.6"), 4),
        f"{number(get(summary, 'privacy.exact_copy_rate'))} ({number(get(summary, 'privacy.holdout_exact_copy_rate'))})",
        f"{number(get(summary, 'privacy.dcr_mean_generated'), 2)} ({number(get(summary, 'privacy.dcr_mean_holdout'), 2)})",
        number(get(summary, "privacy.aats_train")),
        number(get(summary, "privacy.aats_holdout")),
    ]
    return f"| {name} | {label} | " + " | ".join(cells) + " |"


def utility_row(name: str, utility: dict) -> str:
    def cell(setting: str) -> str:
        value = utility[setting]["minority_f1"]
        return f"{value['mean']:.3f} ± {value['sd']:.3f}"

    return f"| {name} | {cell('b_real_plus_generated')} | {cell('e_generated_only')} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("-n", type=int, default=N_PER_CLASS, help="generated sequences per class")
    parser.add_argument("--no-append", action="store_true", help="print the tables only, leave RESULTS.md alone")
    args = parser.parse_args()
    started = time.perf_counter()
    lines = [
        f"### {time.strftime('%Y-%m-%d %H:%M')}: GAN vs baselines on the TP53 cohort, hold-out 0.2, "
        f"{args.n} generated per class",
        "",
        "Baselines fitted on the same training split (markov: order 3). Per class, generated (real in "
        "brackets): differences from the consensus per sequence, variant-position r, top-20 real variant "
        "positions found, valid ORF share, distinct fraction (equal samples), 6-mer Jensen-Shannon (bits), "
        "exact-copy rate (held-out real), mean DCR to training (held-out real), AATS vs training, AATS vs held-out.",
        "",
        "| generator | class | differences | position r | top 20 | valid ORF | distinct | 6-mer JS | copies | mean DCR"
        " | AATS | AATS held-out |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    # Loaded from disk as `vp evaluate --model` does; the splits are re-read from the recorded files.
    runs = {recipe: vp.load_run(args.runs / f"tp53-{recipe}") for recipe in RECIPES}
    baseline_rows: dict[str, list[str]] = {}
    for recipe, run in runs.items():
        for label in CLASSES:
            summary = evaluate_class(run, label, args.n)
            lines.append(class_row(recipe, label, summary))
            for kind, baseline in summary["baselines"].items():  # the same for both recipes: keep the first
                baseline_rows.setdefault(f"{kind}/{label}", []).append(class_row(kind, label, baseline))
            print(f"{recipe} {label}: done", file=sys.stderr)
    lines += [rows[0] for rows in baseline_rows.values()]
    lines += ["", "Utility (logistic regression tested on the held-out real patients, minority functional, 5 seeds):",
              "", "| minority records from | (b) real + generated minority: minority F1 | (e) generated only: minority F1 |",
              "|---|---|---|"]
    # Settings (a), (c) and (d) use no generator: take them from the gan run's comparison.
    gan = utility(runs["gan"])
    lines.append(f"| none: (a) real only | {gan['a_real']['minority_f1']['mean']:.3f} | |")
    lines.append(f"| (c) random oversampling | {gan['c_random_oversampling']['minority_f1']['mean']:.3f} | |")
    lines.append(f"| (d) SMOTE | {gan['d_smote']['minority_f1']['mean']:.3f} | |")
    lines.append(utility_row("gan", gan))
    lines.append(utility_row("wgan-gp", utility(runs["wgan-gp"])))
    for kind in BASELINES:  # fitted on the gan run's training split, as `vp evaluate --baselines` did
        lines.append(utility_row(kind, utility(runs["gan"], kind)))
    text = "\n".join(lines) + "\n"
    print(text)
    print(f"took {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if not args.no_append:
        with (ROOT / "RESULTS.md").open("a") as stream:
            stream.write("\n" + text)


if __name__ == "__main__":
    main()
