"""Seeded held-out splits (stratified by class) and class indices."""

from __future__ import annotations

import numpy as np

from ..errors import InputError


def holdout_split(n_sequences: int, fraction: float, seed: int, labels: list[str] | None = None) -> np.ndarray:
    """Sorted row numbers of a seeded held-out split, stratified by class when there are labels."""
    if fraction <= 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    groups = [np.arange(n_sequences)] if labels is None else [
        np.flatnonzero(np.asarray(labels) == label) for label in sorted(set(labels))
    ]
    held = [rng.permutation(group)[: int(round(fraction * len(group)))] for group in groups]
    held_rows = np.sort(np.concatenate(held))
    if held_rows.size < 1 or n_sequences - held_rows.size < 2:
        raise InputError(f"hold-out fraction {fraction} leaves no usable split of {n_sequences} sequences")
    return held_rows


def class_indices(labels: list[str] | None) -> tuple[list[str], np.ndarray | None]:
    """Sorted class names and each record's class index."""
    if labels is None:
        return [], None
    names = sorted(set(labels))
    if len(names) < 2:
        raise InputError(f"labels: only one class ({names[0]}); a conditional model needs two or more")
    lookup = {name: i for i, name in enumerate(names)}
    return names, np.array([lookup[label] for label in labels], dtype=np.int64)
