"""Sequence-set comparisons by matrix products on one-hot encodings (no loop over pairs)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .encoding import one_hot

ROW_CHUNK = 2048


def _flat_one_hot(indices: np.ndarray, n_channels: int) -> np.ndarray:
    return one_hot(indices, n_channels).reshape(len(indices), -1)


def match_blocks(
    queries: np.ndarray, references: np.ndarray, n_channels: int, chunk: int = ROW_CHUNK
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (start row, block of equal-position counts) for query rows against all references.

    The dot product of two flattened one-hot sequences counts the positions where they agree,
    so one matrix product compares a whole block of queries with every reference at once.
    """
    reference_matrix = _flat_one_hot(references, n_channels).T.copy()
    for start in range(0, len(queries), chunk):
        block = _flat_one_hot(queries[start : start + chunk], n_channels) @ reference_matrix
        yield start, block


def nearest_identity(
    queries: np.ndarray, references: np.ndarray, n_channels: int, leave_one_out: bool = False
) -> np.ndarray:
    """Fraction of equal positions between each query and its closest reference.

    With leave_one_out (queries are the references), each sequence's own row is excluded,
    which gives the real-versus-real baseline; identical duplicates still count.
    """
    length = queries.shape[1]
    best = np.empty(len(queries), dtype=np.float64)
    for start, block in match_blocks(queries, references, n_channels):
        if leave_one_out:
            rows = np.arange(block.shape[0])
            block[rows, rows + start] = -1.0
        best[start : start + block.shape[0]] = block.max(axis=1)
    return best / length


def exact_copy_mask(queries: np.ndarray, references: np.ndarray) -> np.ndarray:
    """True for each query row that equals some reference row (hashing whole rows)."""
    known = {row.tobytes() for row in np.ascontiguousarray(references)}
    return np.fromiter((row.tobytes() in known for row in np.ascontiguousarray(queries)), bool, len(queries))


def distinct_count(indices: np.ndarray) -> int:
    return int(len(np.unique(indices, axis=0))) if len(indices) else 0


def summarise(values: np.ndarray) -> dict[str, float]:
    return {
        "mean": float(np.mean(values)),
        "median": float(np.median(values)),
        "min": float(np.min(values)),
        "max": float(np.max(values)),
    }


def basic_report(generated: np.ndarray, real: np.ndarray, n_channels: int) -> dict:
    """The always-on comparison of `vp evaluate`: nearest identity, baseline, copies, distinct."""
    if generated.shape[1] != real.shape[1]:
        raise ValueError(f"generated length {generated.shape[1]} differs from real length {real.shape[1]}")
    nearest = nearest_identity(generated, real, n_channels)
    baseline = nearest_identity(real, real, n_channels, leave_one_out=True)
    return {
        "n_generated": int(len(generated)),
        "n_real": int(len(real)),
        "length": int(real.shape[1]),
        "nearest_identity": summarise(nearest),
        "real_baseline_identity": summarise(baseline),
        "exact_copies": int(exact_copy_mask(generated, real).sum()),
        "distinct": distinct_count(generated),
        "real_distinct": distinct_count(real),
    }
