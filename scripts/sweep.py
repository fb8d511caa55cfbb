#!/usr/bin/env python
"""Recipes x seeds x data sets, scored on a held-out test split, against the baselines (and, on
yelmen805, Yelmen et al.'s published GAN and RBM); a mean ± sd table, appended to RESULTS.md.

Each data set is split once (seeded, stratified by class): 20% test, reported and never seen by
training; the rest goes to `vp.train(..., holdout=0.2)`, whose own held-out share is the
validation split that selects the checkpoint. So selection never sees the reported split.

Usage: .venv/bin/python scripts/sweep.py [--datasets tp53 yelmen805 two-class demo forty]
       [--recipes default gan vae] [--seeds 0 1 2] [--steps N] [--jobs N] [--no-append]
--jobs N trains recipes x seeds in N processes at --threads-per-job threads each (default 1, so
that every --jobs gives the same numbers: weights depend on the thread count, not on the jobs).
Data sets are read from ../shared/data/ beside the project root (two-class and demo are simulated;
forty is the README walkthrough's 20 cell-line mutants + 20 wild types, scripts/cohorts.py).
The RBM baseline trains for as long as the first recipe took (mean over its seeds).
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import time
from concurrent.futures import Future, ProcessPoolExecutor
from collections import defaultdict
from pathlib import Path

import numpy as np

import sys

import virtualpatients as vp
from virtualpatients.data.distances import adversarial_accuracy, unique_rows
from virtualpatients.data.simulate import simulate_two_classes
from virtualpatients.data.splits import holdout_split
from virtualpatients.evaluation.classifier_utility import utility
from virtualpatients.evaluation.membership import membership_inference

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import cohorts  # noqa: E402  (scripts/cohorts.py: the demo and walkthrough cohorts)

DATA = ROOT.parent / "shared" / "data"
SPLIT_SEED = 12345  # the test split is the same for every recipe and seed
BASELINES = ("independent", "markov", "resample-mutate", "rbm")
COLUMNS = ("AATS test", "AA_truth", "AA_syn", "MMD^2", "exactly 1 diff", "one real hotspot", "diff TVD", "position r",
           "linkage r", "PCA dist", "distinct of 100", "mutants", "copies", "singleton copies", "MIA AUC", "label block",
           "minority F1 (b)")


def load(name: str) -> tuple[vp.SequenceSet, dict[str, vp.SequenceSet]]:
    """The data set and any published generators' outputs to score beside it."""
    if name == "tp53":
        return vp.read_cohort(DATA / "tp53_germline_cohort.fasta", label_key="label"), {}
    if name == "yelmen805":
        folder = DATA / "yelmen805"
        published = {f"yelmen {kind}": vp.read_cohort(folder / f"yelmen2021_{kind}.fasta", label_key=None)
                     for kind in ("gan", "rbm")}
        return vp.read_cohort(folder / "haplotypes_train.fasta", label_key=None), published
    if name == "yelmen805-pop":
        return vp.read_cohort(DATA / "yelmen805" / "haplotypes_train.fasta", label_key="label"), {}
    if name == "two-class":
        ids, labels, sequences = simulate_two_classes(seed=1)
        return vp.SequenceSet.from_strings(sequences, labels=labels, ids=ids, origin="two-class"), {}
    if name == "demo":
        return cohorts.demo_cohort(seed=0), {}
    if name == "forty":
        return cohorts.forty(seed=0), {}
    raise SystemExit(f"unknown data set {name}")


def scores(generated: vp.SequenceSet, train: vp.SequenceSet, test: vp.SequenceSet, seed: int,
           members: vp.SequenceSet | None = None, dataset: str = "") -> dict[str, float]:
    """One generated set (one class) against the training pool and the test split; the
    membership attack sets `members` (the records the generator was fitted on: the pool, or a
    GAN's own training split) against the test split."""
    evaluation = vp.evaluate(generated, train, test, seed=seed)
    accuracy = adversarial_accuracy(test.indices, generated.indices, 4, seed)
    histogram = evaluation["variants"]["differences_histogram_generated"]
    # Copies of training sequences that occur once there (a singleton copied is a patient leaked),
    # as a share of generated, minus the same share among test patients (new real patients).
    distinct, _, counts = unique_rows(train.indices)
    singletons = {row.tobytes() for row in distinct[counts == 1]}
    share = lambda rows: float(np.mean([row.tobytes() in singletons for row in rows]))  # noqa: E731
    row = {
        "AATS test": accuracy["aats"], "AA_truth": accuracy["aa_truth"], "AA_syn": accuracy["aa_syn"],
        "MMD^2": (evaluation.summary.get("mmd") or {}).get("mmd2"),
        "distinct of 100": len(unique_rows(generated.indices[:100])[0]),
        "exactly 1 diff": (histogram[1] if len(histogram) > 1 else 0) / len(generated),
        "diff TVD": evaluation["variants"]["differences_tvd"], "position r": evaluation["variants"]["position_r"],
        "linkage r": evaluation["linkage"]["r"], "PCA dist": evaluation["population"]["pca_distance"],
        "copies": evaluation["privacy"]["exact_copy_rate"],
        "singleton copies": share(generated.indices) - share(test.indices),
        "MIA AUC": membership_inference(generated.indices, (members or train).indices, test.indices, 4, seed)["mia_auc"],
    }
    if dataset == "demo":
        row["one real hotspot"] = cohorts.hotspot_share(generated, train)
    if dataset == "forty":  # mutants among generated: at least one difference from the wild type
        reference = np.frombuffer(cohorts.reference_cds().encode(), np.uint8)
        strings = np.frombuffer("".join(generated.strings()).encode(), np.uint8).reshape(len(generated), -1)
        row["mutants"] = float(np.mean((strings != reference).any(axis=1)))
    if generated.labels and generated.labels[0] in ("alpha", "beta"):  # the simulated two-class set
        block = "A" * 10 if generated.labels[0] == "alpha" else "G" * 10
        row["label block"] = float(np.mean([s[100:110] == block for s in generated.strings()]))
    return {k: (np.nan if v is None else float(v)) for k, v in row.items()}


def per_class(draw, train: vp.SequenceSet, test: vp.SequenceSet, n: int, seed: int,
              members: vp.SequenceSet | None = None, dataset: str = "") -> dict[str, dict]:
    """Scores of `draw(label, n, seed)` for each class (or the whole set as "all")."""
    if train.labels is None:
        return {"all": scores(draw(None, n, seed), train, test, seed, members, dataset)}
    return {label: scores(draw(label, n, seed), train.of_class(label), test.of_class(label), seed,
                          None if members is None else members.of_class(label), dataset)
            for label in sorted(set(train.labels))}


def minority_f1(draw, train: vp.SequenceSet, test: vp.SequenceSet) -> float:
    result = utility(train.indices, train.labels, test.indices, test.labels, 4,
                     lambda label, n, seed: draw(label, n, seed).indices, seeds=3)
    return result["b_real_plus_generated"]["minority_f1"]["mean"]


@functools.lru_cache(maxsize=None)  # once a process: every job of a data set in it, and collect(), share it
def split(name: str):
    """Training pool, test split, published outputs, and whether one class is a minority (balancing
    utility is scored then; two-class and forty have equal classes)."""
    data, published = load(name)
    test_rows = holdout_split(len(data), 0.2, SPLIT_SEED, data.labels)
    train = data.subset(np.setdiff1d(np.arange(len(data)), test_rows), "training pool")
    labelled = data.labels is not None and len(set(data.labels)) == 2 and name not in ("two-class", "forty")
    return train, data.subset(test_rows, "test split"), published, labelled


def train_and_score(name: str, recipe: str, seed: int, steps: int | None, n: int, runs: Path, threads: int):
    """One recipe and seed: train on the training pool, score per class on the test split. A job of
    its own (in a worker process with --jobs): it reads the data itself and returns plain values."""
    from virtualpatients.threads import apply_threads

    apply_threads(threads)
    train, test, _, labelled = split(name)
    path = None if recipe == "default" else ROOT / "configs" / f"{recipe}.toml"
    config = vp.load_config(path, {"seed": seed, "device": "cpu", **({"steps": steps} if steps else {})})
    started = time.perf_counter()
    run = vp.train(train, config, holdout=0.2, run_dir=runs / f"{name}-{recipe}-{seed}", force=True)
    minutes = (time.perf_counter() - started) / 60
    draw = lambda label, k, s: run.generate(k, seed=s, label=label)  # noqa: E731
    rows = per_class(draw, train, test, n, seed, run.training_set, name)
    for row in rows.values():
        row["minutes"] = minutes
        if labelled:
            row["minority F1 (b)"] = minority_f1(draw, train, test)
    print(f"{name} {recipe} seed {seed}: {minutes:.1f} min, selected step {run.metadata['selected_step']}",
          flush=True)
    return rows, 60 * minutes


def fit_and_score(name: str, kind: str, seeds: list[int], n: int, budget: float | None, threads: int):
    """One baseline, fitted once on the training pool and scored per seed: a job like a training."""
    from virtualpatients.threads import apply_threads

    apply_threads(threads)
    train, test, _, labelled = split(name)
    started = time.perf_counter()
    model = (vp.baselines.RBM(time_budget_s=budget) if kind == "rbm" else vp.baselines.make(kind)).fit(train)
    fitted_minutes = (time.perf_counter() - started) / 60
    draw = lambda label, k, s: model.sample(k, seed=s, label=label) if label else model.sample(k, seed=s)  # noqa
    per_seed = []
    for seed in seeds:
        rows = per_class(draw, train, test, n, seed, dataset=name)
        for row in rows.values():
            row["minutes"] = fitted_minutes
            if labelled:
                row["minority F1 (b)"] = minority_f1(draw, train, test)
        per_seed.append(rows)
    return per_seed


class _InProcess:
    """The executor's submit for --jobs 1: every job here, in order, with the same results."""

    def submit(self, function, *args) -> Future:
        done = Future()
        done.set_result(function(*args))
        return done


def submit_dataset(executor, name: str, recipes: list[str], seeds: list[int], steps: int | None, n: int, runs: Path,
                   rbm_budget: float | None = None, baselines: tuple[str, ...] = BASELINES, threads_per_job: int = 1):
    """Every training and baseline of one data set, submitted; collect() waits for them. All data
    sets are submitted before any is collected, so --jobs keeps every worker busy."""
    trainings = [(recipe, seed) for recipe in recipes for seed in seeds]
    trained = [executor.submit(train_and_score, name, recipe, seed, steps, n, runs, threads_per_job)
               for recipe, seed in trainings]
    # Baselines are jobs too, beside the trainings; the RBM trains for as long as the first recipe
    # took (the published model on equal time), so without --rbm-budget it waits for them.
    fitted = {kind: executor.submit(fit_and_score, name, kind, seeds, n, rbm_budget, threads_per_job)
              for kind in baselines if kind != "rbm" or rbm_budget}
    return dict(executor=executor, name=name, recipes=recipes, seeds=seeds, n=n, baselines=baselines,
                rbm=("rbm" in baselines and not rbm_budget), threads=threads_per_job, trainings=trainings,
                trained=trained, fitted=fitted)


def collect(job: dict):
    name, seeds, n = job["name"], job["seeds"], job["n"]
    train, test, published, _ = split(name)
    results: dict[tuple[str, str], list[dict]] = defaultdict(list)
    seconds: dict[str, list[float]] = defaultdict(list)
    for (recipe, seed), future in zip(job["trainings"], job["trained"]):  # in (recipe, seed) order, however they finished
        rows, wall = future.result()
        seconds[recipe].append(wall)
        for label, row in rows.items():
            results[(recipe, label)].append(row)
    fitted = job["fitted"]
    if job["rbm"]:
        budget = float(np.mean(seconds[job["recipes"][0]])) if job["recipes"] else 60.0
        fitted["rbm"] = job["executor"].submit(fit_and_score, name, "rbm", seeds, n, budget, job["threads"])
    for kind in job["baselines"]:
        for rows in fitted[kind].result():
            for label, row in rows.items():
                results[(kind, label)].append(row)
    for source, generated in published.items():
        for seed in seeds:  # a fresh sample of n of the published outputs per seed
            rows = np.random.default_rng(seed).choice(len(generated), n, replace=False)
            row = scores(generated.subset(rows, source), train, test, seed, dataset=name)
            row["MIA AUC"] = np.nan  # they were trained on all 5,008 haplotypes, the test split too: no non-members
            results[(source, "all")].append(row)
    return results, len(train), len(test)


def table(name: str, results, n_train: int, n_test: int, seeds: list[int], n: int) -> list[str]:
    columns = [c for c in COLUMNS if any(c in row for rows in results.values() for row in rows)]
    lines = [f"### {time.strftime('%Y-%m-%d %H:%M')}: sweep on {name} ({n_train} training pool, {n_test} test, "
             f"seeds {', '.join(map(str, seeds))}, {n} generated per class)", "",
             "Mean ± sd over seeds. AATS, AA_truth, AA_syn against the test split (0.5 ideal); exactly 1 diff: share "
             "of generated with exactly one difference from the consensus; diff TVD: total variation between the "
             "generated and real distributions of differences per sequence; linkage r: r of real and generated "
             "r^2 of variant pairs; PCA dist: 0 ideal; copies: exact copies of a training sequence; singleton "
             "copies: copies of a training singleton, minus the same share among test patients; MIA AUC: the "
             "distance-to-nearest-generated membership attack, training records (a GAN's own training split) "
             "against the test split (0.5: no leak).", "",
             "| generator | class | minutes | " + " | ".join(columns) + " |",
             "|---" * (len(columns) + 3) + "|"]
    for (source, label), rows in results.items():
        cells = []
        for column in ("minutes", *columns):
            values = np.array([row.get(column, np.nan) for row in rows], dtype=float)
            values = values[np.isfinite(values)]
            spread = values.std(ddof=1) if len(values) > 1 else 0
            if not len(values):
                cells.append("")
            elif column == "minutes":
                cells.append(f"{values.mean():.1f}")
            elif column == "MMD^2":  # 1e-4 to 1e-2: three decimals would show nothing
                cells.append(f"{values.mean():.2e} ± {spread:.1e}")
            else:
                cells.append(f"{values.mean():.3f} ± {spread:.3f}")
        lines.append(f"| {source} | {label} | " + " | ".join(cells) + " |")
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["tp53", "yelmen805", "two-class"])
    parser.add_argument("--recipes", nargs="*", default=["default"], help="'default' or a configs/NAME.toml stem")
    parser.add_argument("--baselines", nargs="*", default=list(BASELINES), help="baselines to score beside them")
    parser.add_argument("--rbm-budget", type=float, default=None,
                        help="seconds of RBM training (default: the first recipe's mean wall time)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=None, help="override every recipe's steps (quick checks)")
    parser.add_argument("-n", type=int, default=1000, help="generated sequences per class")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "sweep")
    parser.add_argument("--no-append", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--jobs", type=int, default=1, help="trainings at once, each in a process of its own")
    parser.add_argument("--threads-per-job", type=int, default=1,
                        help="threads of each training (default 1: the same numbers whatever --jobs)")
    args = parser.parse_args()
    if args.jobs < 1 or args.threads_per_job < 1:
        parser.error("--jobs and --threads-per-job: at least 1")
    # spawn: a forked child would inherit the parent's OpenMP pool in a state it cannot use.
    pool = ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) if args.jobs > 1 else None
    executor = pool or _InProcess()
    try:
        submitted = [submit_dataset(executor, name, args.recipes, args.seeds, args.steps, args.n, args.runs,
                                    args.rbm_budget, tuple(args.baselines), args.threads_per_job)
                     for name in args.datasets]
        for job in submitted:
            report(job, args)
    finally:
        if pool is not None:
            pool.shutdown()


def report(job: dict, args) -> None:
    name = job["name"]
    results, n_train, n_test = collect(job)
    lines = table(name, results, n_train, n_test, args.seeds, args.n)
    print("\n".join(lines), flush=True)
    if not args.no_append:
        with open(ROOT / "RESULTS.md", "a") as out:
            out.write("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
