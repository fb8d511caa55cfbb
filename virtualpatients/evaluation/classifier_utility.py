"""Does balancing help a classifier? Train-on-X, test-on-held-out-real, for five ways of balancing.

(a) real training split alone; (b) real plus generated minority records up to balance; (c) random
oversampling of the minority; (d) SMOTE (interpolating one-hot vectors between a minority record
and one of its nearest minority neighbours); (e) generated records only (train on synthetic, test
on real). Logistic regression on one-hot features; mean and standard deviation over seeds.
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
    "d_smote": "(d) SMOTE",
    "e_generated_only": "(e) generated only",
}


def smote(features: np.ndarray, n_new: int, rng: np.random.Generator, k: int = 5) -> np.ndarray:
    """Synthetic rows on segments between a row and one of its k nearest neighbours (Chawla 2002)."""
    if n_new <= 0:
        return np.zeros((0, features.shape[1]), dtype=features.dtype)
    k = min(k, len(features) - 1)
    if k < 1:
        return features[rng.integers(0, len(features), n_new)]
    similarity = features @ features.T  # agreements between one-hot rows: nearest = most similar
    np.fill_diagonal(similarity, -np.inf)
    neighbours = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    base = rng.integers(0, len(features), n_new)
    partner = neighbours[base, rng.integers(0, k, n_new)]
    gap = rng.random((n_new, 1), dtype=features.dtype)
    return features[base] + gap * (features[partner] - features[base])


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
    """Balanced accuracy and minority-class F1 on the real test split, per balancing setting."""
    y_train, y_test = np.asarray(train_labels), np.asarray(test_labels)
    classes, counts = np.unique(y_train, return_counts=True)
    minority, majority_count = str(classes[counts.argmin()]), int(counts.max())
    x_train, x_test = flat_one_hot(train_indices, n_channels), flat_one_hot(test_indices, n_channels)
    # Positions that never vary in training carry no signal; dropping them speeds every fit.
    informative = x_train.std(axis=0) > 0
    x_train, x_test = x_train[:, informative], x_test[:, informative]
    scores: dict[str, list[tuple[float, float]]] = {name: [] for name in SETTINGS}
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        extra_x, over_x, smote_x, synth_x = [], [], [], []
        extra_y: list[str] = []
        synth_y: list[str] = []
        for label, count in zip(classes, counts):
            label = str(label)
            own = x_train[y_train == label]
            missing = majority_count - int(count)
            if missing:
                extra_x.append(flat_one_hot(generate(label, missing, 1000 * seed + 1), n_channels)[:, informative])
                over_x.append(own[rng.integers(0, len(own), missing)])
                smote_x.append(smote(own, missing, rng))
                extra_y += [label] * missing
            synth_x.append(flat_one_hot(generate(label, int(count), 1000 * seed + 2), n_channels)[:, informative])
            synth_y += [label] * int(count)
        # (b), (c) and (d) add the same number of records of the same classes; only their source differs.
        sets = {
            "a_real": (x_train, y_train),
            "b_real_plus_generated": (np.vstack([x_train, *extra_x]), np.concatenate([y_train, extra_y])),
            "c_random_oversampling": (np.vstack([x_train, *over_x]), np.concatenate([y_train, extra_y])),
            "d_smote": (np.vstack([x_train, *smote_x]), np.concatenate([y_train, extra_y])),
            "e_generated_only": (np.vstack(synth_x), np.asarray(synth_y)),
        }
        for name, (x, y) in sets.items():
            scores[name].append(_fit_score(x, y, x_test, y_test, minority, seed))
    result: dict[str, Any] = {"minority": minority, "seeds": seeds, "n_train": len(y_train), "n_test": len(y_test)}
    for name, values in scores.items():
        array = np.asarray(values)
        result[name] = {
            "label": SETTINGS[name],
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
