"""Every metric of one generated set against real (training) and held-out sets; BLAST+."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .composition import consensus, fidelity, validity, variants
from ..data.encoding import GAP, decode_strings
from ..errors import InputError
from ..data.fasta import read_cohort
from ..data.sequences import SequenceSet
from .mmd import mmd
from .population import linkage, population_structure, real_sample, total_variation
from .metrics import diversity, nearest_matches, privacy, summarise, unique_rows


@dataclass
class Evaluation:
    """Every metric (`summary`, JSON-ready; also indexable: evaluation["privacy"]) and the
    per-sequence arrays the report plots."""

    summary: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.summary[key]

    def __contains__(self, key: str) -> bool:
        return key in self.summary


def read_set(path: Path, length_policy: str = "error", min_records: int = 1, label_key: str = "label") -> SequenceSet:
    return read_cohort([path], length_policy, min_records=min_records, label_key=label_key).named(str(path))


def _check_compatible(reference: SequenceSet, other: SequenceSet) -> None:
    if other.alphabet != reference.alphabet:
        raise InputError(f"{other.origin}: alphabet {other.alphabet!r} differs from {reference.alphabet!r}")
    if other.indices.shape[1] != reference.indices.shape[1]:
        raise InputError(
            f"{other.origin}: sequences have length {other.indices.shape[1]}, real ones {reference.indices.shape[1]}"
        )


def _structure_yardstick(
    summary: dict[str, Any], generated: np.ndarray, real: np.ndarray, holdout: np.ndarray | None,
    reference: np.ndarray, seed: int,
) -> None:
    """The real-vs-real values of the differences-per-sequence TV and the linkage r, on real
    records as many as generated (population.real_sample): `variants.differences_tvd_real`,
    `variants.real_sample` and `linkage.r_real`."""
    sample, rest, about = real_sample(len(generated), real, holdout, seed)
    enough = about["n"] >= 2
    summary["variants"]["differences_tvd_real"] = total_variation(
        (sample != reference).sum(axis=1), (rest != reference).sum(axis=1)) if enough else None
    summary["variants"]["real_sample"] = about
    summary["linkage"]["r_real"] = linkage(sample, rest, reference)[0]["r"] if enough else None


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
    summary["variants"]["differences_tvd"] = total_variation(
        arrays["differences_per_sequence_generated"], arrays["differences_per_sequence_real"]
    )
    variant_reference = consensus(real.indices, n_channels) if reference is None else reference
    summary["linkage"], more = linkage(generated.indices, real.indices, variant_reference)
    arrays |= more
    held = None if holdout is None else holdout.indices
    _structure_yardstick(summary, generated.indices, real.indices, held, variant_reference, seed)
    summary["mmd"] = mmd(generated.indices, real.indices, held, n_channels, seed)
    summary["population"], more = population_structure(
        generated.indices, real.indices, n_channels, seed, real_labels=real.labels, generated_labels=generated.labels
    )
    arrays |= more
    summary["validity"] = validity(generated.indices, real.indices)
    summary["diversity"] = diversity(generated.indices, real.indices, n_channels, seed)
    summary["privacy"], more = privacy(
        generated.indices,
        real.indices,
        held,
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
