"""`evaluate`: the metrics of a generated set, of one class if asked, and of each baseline
generator fitted on the same real sequences (the library call behind `vp evaluate`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..data.sequences import SequenceSet
from .baselines import BASELINES
from .comparison import Kind, attach, evaluate_baselines
from .sets import Evaluation, evaluate_sets, read_set
from .labels import label_check
from .verdict import verdict

__all__ = ["Evaluation", "evaluate", "evaluate_sets", "read_set"]


def evaluate(
    generated: SequenceSet,
    real: SequenceSet,
    holdout: SequenceSet | None = None,
    *,
    reference: np.ndarray | None = None,
    label: str | None = None,
    blast: bool = False,
    baselines: bool | Sequence[Kind] = False,
    seed: int = 0,
    threads: int = 2,
) -> Evaluation:
    """Generated against real (training) sequences, with held-out real patients as the yardstick
    of a new patient. With a label, the metrics of that class (the sets keep every class for the
    baselines, which draw class by class); with baselines, each baseline generator fitted on
    `real` is scored the same way under summary["baselines"]: True for the default set
    (baselines.BASELINES), or the kinds and estimators to score, e.g.
    `[*vp.baselines.BASELINES, vp.baselines.RBM(time_budget_s=60)]`."""
    labels = label_check(generated, real, holdout, seed)  # every class: the check compares them
    compared = (generated, real, holdout)
    if label is not None:
        compared = tuple(None if s is None else s.of_class(label) for s in compared)
    evaluation = evaluate_sets(*compared, reference, blast=blast, threads=threads, seed=seed)
    if labels is not None:
        evaluation.summary["labels"] = labels
    if baselines:
        kinds = BASELINES if baselines is True else tuple(baselines)
        results = evaluate_baselines(generated, real, holdout, reference, seed, kinds=kinds, label=label)
        attach(evaluation.summary, evaluation.arrays, results)
    # The verdict leads the summary (and so the JSON): the conditions under which the rest misleads.
    evaluation.summary = {"verdict": verdict(evaluation.summary), **evaluation.summary}
    return evaluation
