"""Evaluation pipeline: gather generated and real sequences, compute metrics, run BLAST+."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .encoding import GAP, decode_strings
from .errors import InputError
from .fasta import Cohort, read_cohort
from .metrics import basic_report


@dataclass(frozen=True)
class SequenceSet:
    ids: list[str]
    indices: np.ndarray
    alphabet: str
    origin: str


def from_cohort(cohort: Cohort, origin: str) -> SequenceSet:
    return SequenceSet(cohort.ids, cohort.indices, cohort.alphabet, origin)


def training_cohort(run_metadata: dict[str, Any], length_policy: str) -> tuple[Cohort, list[str]]:
    """Re-read a run's training files; warn when a file changed since training."""
    files = run_metadata.get("training_files") or []
    if not files:
        raise InputError("the run records no training files; pass --real FILE")
    cohort = read_cohort([Path(f["path"]) for f in files], length_policy)
    warnings = [
        f"{source.path} changed since training (sha256 differs)"
        for source, recorded in zip(cohort.sources, files)
        if source.sha256 != recorded.get("sha256")
    ]
    return cohort, warnings


def read_generated(path: Path, length_policy: str = "error") -> SequenceSet:
    return from_cohort(read_cohort([path], length_policy, min_records=1), str(path))


def evaluate_sets(generated: SequenceSet, real: SequenceSet, blast: bool = False, threads: int = 2) -> dict[str, Any]:
    """Compare generated with real sequences; add BLAST+ identity when asked."""
    if generated.alphabet != real.alphabet:
        raise InputError(
            f"generated alphabet {generated.alphabet!r} differs from real {real.alphabet!r} (pad both or neither)"
        )
    if generated.indices.shape[1] != real.indices.shape[1]:
        raise InputError(
            f"generated sequences have length {generated.indices.shape[1]}, real ones {real.indices.shape[1]}"
        )
    report = basic_report(generated.indices, real.indices, len(real.alphabet))
    report["generated_source"] = generated.origin
    report["real_source"] = real.origin
    if blast:
        from .blast import blast_identity

        def pairs(sequences: SequenceSet) -> list[tuple[str, str]]:
            texts = decode_strings(sequences.indices, sequences.alphabet)
            return [(name, text.replace(GAP, "")) for name, text in zip(sequences.ids, texts)]

        report["blast"] = blast_identity(pairs(generated), pairs(real), threads=threads).to_json()
    return report
