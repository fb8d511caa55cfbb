"""Does balancing help a classifier? Train-on-X, test-on-held-out-real, for six ways of balancing.

(a) real training split alone; (b) real plus generated minority records up to balance; (c) random
oversampling, (d) SMOTE and (f) SMOTEN of the smaller classes, all three from imbalanced-learn;
(e) generated records only (train on synthetic, test on real). Logistic regression on one-hot
features; mean and standard deviation over seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..data.encoding import flat_one_hot

Generate = Callable[[str, int, int], np.ndarray]  # (label, n, seed) -> (n, L) indices
SETTINGS = {
    "a_real": "(a) real only",
    "b_real_plus_generated": "(b) real + generated minority",
    "c_random_oversampling": "(c) random oversampling",
    "d_smote": "(d) SMOTE (one-hot, rounded)",
    "e_generated_only": "(e) generated only",
    "f_smoten": "(f) SMOTEN (bases as categories)",
}
# The imbalanced-learn methods, by setting; SMOTE and SMOTEN need neighbours inside the minority.
OVERSAMPLERS = {"c_random_oversampling": "random", "d_smote": "smote", "f_smoten": "smoten"}
NEIGHBOURS = 5


def _skip_reason(method: str, counts: np.ndarray) -> str | None:
    """Why `method` cannot run on classes of these sizes, or None: SMOTE and SMOTEN draw between a
    record and one of its k nearest neighbours of the same class, so a one-record class has none."""
    if method in ("smote", "smoten") and int(counts.min()) < 2:
        return f"{method.upper()} needs at least 2 records per class to find a neighbour; the smallest class has 1"
    return None


def oversample(method: str, indices: np.ndarray, labels: np.ndarray, n_channels: int, seed: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """The synthetic (rows, labels) that imbalanced-learn adds to bring every class up to the
    largest: `method` is "random" (RandomOverSampler), "smote" (SMOTE) or "smoten" (SMOTEN).

    Rows are (n, L) base indices in and out. SMOTEN treats each position as one categorical
    column, which is what a base is; SMOTE and random oversampling see the one-hot rows. SMOTE
    interpolates, so its rows are points between two one-hot sequences, not sequences: each
    position is rounded back to its most likely base (argmax over the position's channels), which
    is the base of one of the two parents. k_neighbors = min(5, smallest class - 1); a class of
    one record has no neighbour, so SMOTE and SMOTEN raise ValueError there. Seeded by `seed`.
    """
    from imblearn.over_sampling import SMOTE, SMOTEN, RandomOverSampler

    labels = np.asarray(labels)
    counts = np.unique(labels, return_counts=True)[1]
    if reason := _skip_reason(method, counts):
        raise ValueError(reason)
    k = min(NEIGHBOURS, int(counts.min()) - 1)
    length = indices.shape[1]
    if method == "smoten":
        x, y = SMOTEN(k_neighbors=k, random_state=seed).fit_resample(indices, labels)
        new = x[len(indices):].astype(indices.dtype)
    else:
        sampler = (RandomOverSampler(random_state=seed) if method == "random"
                   else SMOTE(k_neighbors=k, random_state=seed))
        x, y = sampler.fit_resample(flat_one_hot(indices, n_channels), labels)
        # SMOTE's rows are blends of two one-hot sequences: argmax per position rounds each back to
        # a valid one-hot position (a base of one parent); random oversampling's rows pass unchanged.
        new = x[len(indices):].reshape(-1, length, n_channels).argmax(axis=2).astype(indices.dtype)
    # imbalanced-learn returns the original rows first and appends the synthetic ones after them.
    return new, np.asarray(y[len(indices):])


def _fit_score(x_train, y_train, x_test, y_test, minority: str, seed: int) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score, f1_score

    model = LogisticRegression(max_iter=2000, random_state=seed)
    model.fit(x_train, y_train)
    predicted = model.predict(x_test)
    return (
        float(balanced_accuracy_score(y_test, predicted)),
        float(f1_score(y_test, predicted, labels=[minority], average="macro", zero_division=0)),
    )


def utility(
    train_indices: np.ndarray,
    train_labels: list[str],
    test_indices: np.ndarray,
    test_labels: list[str],
    n_channels: int,
    generate: Generate,
    seeds: int = 5,
) -> dict[str, Any]:
    """Balanced accuracy and minority-class F1 on the real test split, per balancing setting.
    A setting that cannot run (SMOTE or SMOTEN with a one-record class) is kept with its label and
    {"skipped": reason} in place of scores."""
    y_train, y_test = np.asarray(train_labels), np.asarray(test_labels)
    classes, counts = np.unique(y_train, return_counts=True)
    minority, majority_count = str(classes[counts.argmin()]), int(counts.max())
    # Positions that never vary in training carry no signal; dropping them speeds every fit and
    # every resampling (such a position is the same in every real and oversampled row).
    varying = np.flatnonzero((train_indices != train_indices[:1]).any(axis=0))
    real_rows = train_indices[:, varying]
    informative = flat_one_hot(real_rows, n_channels).std(axis=0) > 0

    def features(rows: np.ndarray) -> np.ndarray:  # index rows on the varying positions -> classifier input
        return flat_one_hot(rows, n_channels)[:, informative]

    x_train, x_test = features(real_rows), features(test_indices[:, varying])
    skipped = {name: _skip_reason(method, counts) for name, method in OVERSAMPLERS.items()}
    skipped = {name: reason for name, reason in skipped.items() if reason}
    scores: dict[str, list[tuple[float, float]]] = {name: [] for name in SETTINGS if name not in skipped}
    for seed in range(seeds):
        extra_x, synth_x = [], []
        extra_y: list[str] = []
        synth_y: list[str] = []
        for label, count in zip(classes, counts):
            label = str(label)
            missing = majority_count - int(count)
            if missing:
                extra_x.append(features(generate(label, missing, 1000 * seed + 1)[:, varying]))
                extra_y += [label] * missing
            synth_x.append(features(generate(label, int(count), 1000 * seed + 2)[:, varying]))
            synth_y += [label] * int(count)
        # (b), (c), (d) and (f) add the same number of records of the same classes (each smaller
        # class up to the largest); only their source differs.
        sets = {
            "a_real": (x_train, y_train),
            "b_real_plus_generated": (np.vstack([x_train, *extra_x]), np.concatenate([y_train, extra_y])),
            "e_generated_only": (np.vstack(synth_x), np.asarray(synth_y)),
        }
        for name, method in OVERSAMPLERS.items():
            if name not in skipped:
                rows, labels = oversample(method, real_rows, y_train, n_channels, seed)
                sets[name] = (np.vstack([x_train, features(rows)]), np.concatenate([y_train, labels]))
        for name, (x, y) in sets.items():
            scores[name].append(_fit_score(x, y, x_test, y_test, minority, seed))
    result: dict[str, Any] = {"minority": minority, "seeds": seeds, "n_train": len(y_train), "n_test": len(y_test)}
    for name, label in SETTINGS.items():
        if name in skipped:
            result[name] = {"label": label, "skipped": skipped[name]}
            continue
        array = np.asarray(scores[name])
        result[name] = {
            "label": label,
            "balanced_accuracy": {"mean": float(array[:, 0].mean()), "sd": float(array[:, 0].std(ddof=1))},
            "minority_f1": {"mean": float(array[:, 1].mean()), "sd": float(array[:, 1].std(ddof=1))},
        }
    return result


def run_utility(run, real_set, held_set, sample: bool | None = None, generate: Generate | None = None,
                seeds: int = 5) -> dict[str, Any]:
    """Classifier utility of balancing for a conditional run: trained on `real_set`, tested on the
    labelled `held_set`; the minority records come from the run's generator, or from
    `generate(label, n, seed)` (a baseline)."""
    from ..errors import InputError

    if run is None or not run.classes:
        raise InputError("classifier utility needs a conditional model (trained on labelled records)")
    if held_set is None or held_set.labels is None:
        raise InputError("classifier utility needs a labelled held-out set: train with a hold-out share, or give one")

    if generate is None:
        def generate(label: str, n: int, seed: int) -> np.ndarray:
            return run.generate(n, seed, label=label, sample=sample).indices

    return utility(
        real_set.indices, real_set.labels, held_set.indices, held_set.labels, len(real_set.alphabet), generate, seeds
    )
