"""A seeded, simulated cohort for the demo and the tests: one random coding reference and patients
who each carry a variant, drawn from a few recurrent hotspots like real germline data."""

from __future__ import annotations

import numpy as np

from .encoding import BASES

STOP_CODONS = {"TAA", "TAG", "TGA"}


def random_orf(length: int, rng: np.random.Generator) -> str:
    """ATG + random sense codons + TAA, so the reference is a valid open reading frame."""
    if length % 3 or length < 6:
        raise ValueError("an ORF length must be a multiple of 3 and at least 6")
    codons = [a + b + c for a in BASES for b in BASES for c in BASES if a + b + c not in STOP_CODONS]
    middle = rng.choice(codons, size=length // 3 - 2)
    return "ATG" + "".join(middle) + "TAA"


def _sense_alternatives(reference: str, position: int) -> list[str]:
    start = position - position % 3
    codon = reference[start : start + 3]
    offset = position - start
    return [
        base
        for base in BASES
        if base != reference[position] and codon[:offset] + base + codon[offset + 1 :] not in STOP_CODONS
    ]


def simulate_cohort(
    n_patients: int = 300, length: int = 300, n_hotspots: int = 12, seed: int = 0
) -> tuple[list[str], list[str], list[str]]:
    """Return ids, descriptions and sequences of simulated patients (reference + one variant each).

    Hotspot frequencies fall off like 1/rank, as recurrent variants do in real cohorts. Variants
    never create a stop codon, so every simulated patient is a valid open reading frame.
    """
    rng = np.random.default_rng(seed)
    reference = random_orf(length, rng)
    positions = rng.choice(np.arange(3, length - 3), size=n_hotspots, replace=False)
    alternatives = [rng.choice(_sense_alternatives(reference, int(p))) for p in positions]
    weights = 1.0 / np.arange(1, n_hotspots + 1)
    picks = rng.choice(n_hotspots, size=n_patients, p=weights / weights.sum())
    ids, descriptions, sequences = [], [], []
    for number, pick in enumerate(picks, start=1):
        position, alternative = int(positions[pick]), str(alternatives[pick])
        sequence = reference[:position] + alternative + reference[position + 1 :]
        ids.append(f"sim_{number:05d}")
        descriptions.append(f"simulated variant=c.{position + 1}{reference[position]}>{alternative}")
        sequences.append(sequence)
    return ids, descriptions, sequences


def simulate_two_classes(
    n_minority: int = 60, n_majority: int = 200, length: int = 300, block: tuple[int, int] = (100, 110),
    substitutions: int = 3, seed: int = 0,
) -> tuple[list[str], list[str], list[str]]:
    """Two classes that differ in one block (all A for `alpha`, the minority; all G for `beta`),
    each record with a few random substitutions elsewhere: the case class balancing exists for.
    Returns ids, labels and sequences."""
    rng = np.random.default_rng(seed)
    reference = rng.choice(list(BASES), size=length)
    start, stop = block
    ids, labels, sequences = [], [], []
    for number in range(n_minority + n_majority):
        label = "alpha" if number < n_minority else "beta"
        sequence = reference.copy()
        sequence[start:stop] = "A" if label == "alpha" else "G"
        outside = np.setdiff1d(np.arange(length), np.arange(start, stop))
        for position in rng.choice(outside, size=substitutions, replace=False):
            sequence[position] = rng.choice([b for b in BASES if b != sequence[position]])
        ids.append(f"{label}_{number + 1:04d}")
        labels.append(label)
        sequences.append("".join(sequence))
    return ids, labels, sequences
