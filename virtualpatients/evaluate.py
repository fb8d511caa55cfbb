"""Evaluation: gather generated, training and held-out sequences; compute every metric; BLAST+."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .composition import fidelity, validity, variants
from .encoding import GAP, decode_strings
from .errors import InputError
from .fasta import Cohort, read_cohort
from .metrics import diversity, nearest_matches, privacy, summarise, unique_rows


@dataclass(frozen=True)
class SequenceSet:
    ids: list[str]
    indices: np.ndarray
    alphabet: str
    origin: str
    labels: list[str] | None = None

    def subset(self, rows: np.ndarray, origin: str) -> SequenceSet:
        labels = None if self.labels is None else [self.labels[i] for i in rows]
        return SequenceSet([self.ids[i] for i in rows], self.indices[rows], self.alphabet, origin, labels)

    def of_class(self, label: str) -> SequenceSet:
        if self.labels is None:
            raise InputError(f"{self.origin}: no labels, so no class {label!r}")
        rows = np.flatnonzero(np.asarray(self.labels) == label)
        if not rows.size:
            raise InputError(f"{self.origin}: no sequence of class {label!r} (classes: {sorted(set(self.labels))})")
        return self.subset(rows, f"{self.origin}, class {label}")


@dataclass
class Evaluation:
    summary: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


def from_cohort(cohort: Cohort, origin: str) -> SequenceSet:
    return SequenceSet(cohort.ids, cohort.indices, cohort.alphabet, origin, cohort.labels)


def read_set(path: Path, length_policy: str = "error", min_records: int = 1, label_key: str = "label") -> SequenceSet:
    return from_cohort(read_cohort([path], length_policy, min_records=min_records, label_key=label_key), str(path))


def training_sets(run_metadata: dict[str, Any], config) -> tuple[SequenceSet, SequenceSet | None, list[str]]:
    """Re-read a run's training files (with its labels) and split off its recorded held-out rows."""
    files = run_metadata.get("training_files") or []
    if not files:
        raise InputError("the run records no training files; pass --real FILE")
    cohort = read_cohort(
        [Path(f["path"]) for f in files],
        config.length_policy,
        label_key=config.label_key,
        labels_from_files=bool(run_metadata.get("labels_from_files")),
    )
    warnings = [
        f"{source.path} changed since training (sha256 differs)"
        for source, recorded in zip(cohort.sources, files)
        if source.sha256 != recorded.get("sha256")
    ]
    everything = from_cohort(cohort, "training data")
    held = np.asarray((run_metadata.get("holdout") or {}).get("indices", []), dtype=np.int64)
    if held.size and held.max() >= len(cohort):
        raise InputError("the run's held-out rows do not fit its training files (were they changed?)")
    if not held.size:
        return everything, None, warnings
    kept = np.setdiff1d(np.arange(len(cohort)), held)
    return everything.subset(kept, "training split"), everything.subset(held, "held-out split"), warnings


def _check_compatible(reference: SequenceSet, other: SequenceSet) -> None:
    if other.alphabet != reference.alphabet:
        raise InputError(f"{other.origin}: alphabet {other.alphabet!r} differs from {reference.alphabet!r}")
    if other.indices.shape[1] != reference.indices.shape[1]:
        raise InputError(
            f"{other.origin}: sequences have length {other.indices.shape[1]}, real ones {reference.indices.shape[1]}"
        )


def evaluate_sets(
    generated: SequenceSet,
    real: SequenceSet,
    holdout: SequenceSet | None = None,
    reference: np.ndarray | None = None,
    blast: bool = False,
    threads: int = 2,
    seed: int = 0,
) -> Evaluation:
    """Every metric of generated against real (training) sequences, with real-vs-real baselines."""
    for other in (generated, holdout):
        if other is not None:
            _check_compatible(real, other)
    if len(generated.indices) == 0:
        raise InputError("no generated sequences to evaluate")
    n_channels, length = len(real.alphabet), real.indices.shape[1]
    if reference is not None and reference.shape != (length,):
        raise InputError(f"the reference has length {reference.shape[-1]}, the sequences {length}")
    generated_matches = nearest_matches(generated.indices, real.indices, n_channels)
    real_matches = nearest_matches(real.indices, real.indices, n_channels, leave_one_out=True)
    summary: dict[str, Any] = {
        "n_generated": len(generated.indices),
        "n_real": len(real.indices),
        "n_holdout": None if holdout is None else len(holdout.indices),
        "length": length,
        "nearest_identity": summarise(generated_matches / length),
        "real_baseline_identity": summarise(real_matches / length),
        "exact_copies": int((generated_matches == length).sum()),
        "distinct": len(unique_rows(generated.indices)[0]),
        "real_distinct": len(unique_rows(real.indices)[0]),
        "generated_source": generated.origin,
        "real_source": real.origin,
    }
    arrays = {
        "nearest_identity_generated": generated_matches / length,
        "nearest_identity_real": real_matches / length,
    }
    summary["fidelity"], more = fidelity(generated.indices, real.indices, n_channels)
    arrays |= more
    summary["variants"], more = variants(generated.indices, real.indices, n_channels, reference)
    arrays |= more
    summary["validity"] = validity(generated.indices, real.indices)
    summary["diversity"] = diversity(generated.indices, real.indices, n_channels, seed)
    summary["privacy"], more = privacy(
        generated.indices,
        real.indices,
        None if holdout is None else holdout.indices,
        n_channels,
        generated_matches,
        seed,
    )
    arrays |= more
    if blast:
        from .blast import blast_identity

        def pairs(sequences: SequenceSet) -> list[tuple[str, str]]:
            texts = decode_strings(sequences.indices, sequences.alphabet)
            return [(name, text.replace(GAP, "")) for name, text in zip(sequences.ids, texts)]

        summary["blast"] = blast_identity(pairs(generated), pairs(real), threads=threads).to_json()
    return Evaluation(summary, arrays)
