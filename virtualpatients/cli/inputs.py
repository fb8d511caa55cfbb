"""What `vp evaluate` and `vp report` compare: files where given, otherwise sequences generated
by the run and the run's own training and held-out split."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def evaluation_inputs(
    generated: Path | None,
    real: Path | None,
    holdout: Path | None,
    n: int,
    model: Path | None,
    seed: int,
    sample: bool | None,
    length_policy: str,
    label: str | None = None,
):
    """Generated, real and held-out sets, warnings and the run (None when files give all).
    With a label the model generates that class only; the real sets keep every class."""
    from ..evaluation.evaluate import read_set
    from ..gan.run import Run
    from .session import resolve_run_dir

    run = None
    held_set = None
    if generated is None or real is None:
        run = Run.load(resolve_run_dir(model))
    label_key = run.config.label_key if run is not None else "label"
    if real is not None:
        real_set = read_set(real, length_policy, min_records=2, label_key=label_key)
    else:
        real_set, held_set = run.training_set, run.holdout_set
    if holdout is not None:
        held_set = read_set(holdout, length_policy, min_records=2, label_key=label_key)
    generated_set = read_set(generated, length_policy, label_key=label_key) if generated is not None else \
        run.generate(n, seed, label=label, sample=sample)
    warnings = [] if run is None else list(run.warnings)
    return generated_set, real_set, held_set, warnings, run


def read_reference(path: Path | None) -> np.ndarray | None:
    """The first record of a reference FASTA as channel indices."""
    return None if path is None else _first_record(path).indices[0]


def reference_record(path: Path) -> tuple[str, str]:
    """The first record of a reference FASTA as (title, sequence)."""
    first = _first_record(path)
    return first.descriptions[0], first.strings()[0]


def _first_record(path: Path):
    from ..data.fasta import read_cohort

    return read_cohort([path], min_records=1).subset([0])

