"""The GAN beside the baseline generators: each baseline is fitted on the same training split,
draws as many sequences of each class as the GAN's set holds, and gets every metric. The table
of the results is drawn in report/ (report.tables.comparison_rows)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from .baselines import BASELINES, Baseline, make
from ..data.sequences import SequenceSet
from .sets import Evaluation, evaluate_sets

# Arrays of each baseline that the report overlays on the GAN's plots.
OVERLAID = ("nearest_identity_generated", "dcr_generated", "variant_freq_generated")


Kind = str | Baseline  # a baseline's name (default settings) or an estimator, e.g. RBM(time_budget_s=60)


def estimator(kind: Kind, order: int = 3) -> Baseline:
    return make(kind, order) if isinstance(kind, str) else kind


def baseline_set(kind: Kind, real: SequenceSet, like: SequenceSet, seed: int, order: int) -> SequenceSet:
    """`kind` fitted on `real`, with as many sequences of each class as `like` has (class by
    class when both are labelled), so every metric compares equal numbers."""
    if real.labels is None or like.labels is None:
        unlabelled = real if real.labels is None else dataclasses.replace(real, labels=None)
        return estimator(kind, order).fit(unlabelled).sample(len(like), seed)
    return estimator(kind, order).fit(real).sample(len(like), seed, per_class=Counter(like.labels))


def evaluate_baselines(
    generated: SequenceSet, real: SequenceSet, holdout: SequenceSet | None, reference: np.ndarray | None,
    seed: int = 0, order: int = 3, kinds: Sequence[Kind] = BASELINES, label: str | None = None,
) -> dict[str, Evaluation]:
    """Every metric of each baseline, as evaluate_sets computes them for the GAN (no BLAST).
    An estimator given in `kinds` is fitted here, on `real`."""
    results = {}
    for kind in kinds:
        model = estimator(kind, order)
        compared = (baseline_set(model, real, generated, seed, order), real, holdout)
        if label is not None:
            compared = tuple(None if s is None else s.of_class(label) for s in compared)
        results[model.kind] = evaluate_sets(*compared, reference, seed=seed)
    return results


def baseline_generator(kind: Kind, real: SequenceSet, order: int = 3):
    """generate(label, n, seed) for the utility comparison: the baseline fitted on `real` (once,
    at the first call; an estimator already fitted on `real` itself is used as it is) and
    sampled one class at a time."""
    model = estimator(kind, order)

    def generate(label: str, n: int, seed: int) -> np.ndarray:
        if model.data is not real:
            model.fit(real)
        return model.sample(n, seed, label=label).indices

    return generate


def attach(summary: dict[str, Any], arrays: dict[str, np.ndarray], results: dict[str, Evaluation]) -> None:
    """Put the baselines' summaries under summary["baselines"] and their overlaid arrays beside the GAN's."""
    summary["baselines"] = {kind: result.summary for kind, result in results.items()}
    for kind, result in results.items():
        arrays |= {f"baseline.{kind}.{key}": result.arrays[key] for key in OVERLAID if key in result.arrays}
