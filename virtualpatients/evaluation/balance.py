"""Class balancing: every real record plus enough generated records of each smaller class."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from ..data.sequences import SequenceSet
from ..errors import InputError
from ..gan.run import Run


def plan_counts(counts: dict[str, int], target: str) -> dict[str, int]:
    """How many records to generate per class: up to the largest class (equal) or to N each."""
    if target == "equal":
        goal = max(counts.values())
    else:
        try:
            goal = int(target)
        except ValueError:
            raise InputError(f"target must be 'equal' or a number, not {target!r}") from None
        if goal < 1:
            raise InputError(f"target {goal}: must be at least 1")
    return {label: max(0, goal - count) for label, count in counts.items()}


def balanced_fasta(cohort: SequenceSet, run: Run, to_generate: dict[str, int], seed: int) -> Iterator[bytes]:
    """The real records unchanged, then generated ones marked synthetic=1 label=VALUE."""
    yield cohort.to_fasta()
    for offset, (label, n) in enumerate(sorted(to_generate.items())):
        if n:
            yield from run.generate_fasta(n, seed=seed + offset, label=label, prefix=f"vp_{label}_", extra=" synthetic=1")


def check_classes(cohort: SequenceSet, run: Run) -> dict[str, int]:
    """Class counts of the cohort, refusing classes the model cannot generate."""
    if cohort.labels is None:
        raise InputError("no labels found: add label=VALUE to the descriptions, or take the class from the file names")
    counts = dict(sorted(Counter(cohort.labels).items()))
    unknown = sorted(set(counts) - set(run.classes))
    if unknown:
        raise InputError(f"the model does not know the classes {unknown}; it knows {run.classes}")
    if run.length != cohort.length or run.alphabet != cohort.alphabet:
        raise InputError(f"the model makes length {run.length}, the data have length {cohort.length}")
    return counts
