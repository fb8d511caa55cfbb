"""Squared maximum mean discrepancy (MMD^2) between generated and real sequences, the distance the
generative-modelling literature reports on the 805-SNP benchmark (Recio-Armengol et al. 2025,
arXiv:2503.02934): unbiased estimator, Gaussian kernel on Hamming distances,
k(x, y) = exp(-H(x, y) / (2 sigma^2)) with H the number of differing positions, sigma 10.02.

H comes from the one-hot matrix products of data/distances.py (H = L - X Y^T on flat one-hot
rows), block by block, on distinct rows weighted by their counts, and only on the positions that
vary and the bases that occur in either set (the others add 0 to every H). Beside the float32
one-hot rows of the two sets (as nearest_matches holds them), the largest arrays are one block of
kernel values, about BLOCK_ENTRIES of them, in float32 and float64."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.distances import unique_rows
from ..data.encoding import flat_one_hot, position_counts

SIGMA = 10.02  # the published protocol's bandwidth for genome data (sigma, in differing positions)
BLOCK_ENTRIES = 1 << 22  # kernel values in one block (about 4 M: 32 MiB as float64)


def _kernel_sum(
    queries: np.ndarray, query_counts: np.ndarray, references: np.ndarray, reference_counts: np.ndarray,
    length: int, sigma: float, chunk: int | None, symmetric: bool = False,
) -> float:
    """sum over query rows a and reference rows b (flat one-hot) of count_a count_b k(a, b), with
    H = length - a . b. symmetric (queries are the references): each block goes only against the
    rows from its own first row on, the pairs below counted twice."""
    if chunk is None:
        chunk = max(1, min(len(queries), BLOCK_ENTRIES // max(len(references), 1)))
    total = 0.0
    for start in range(0, len(queries), chunk):
        rows = slice(start, start + chunk)
        later = slice(start if symmetric else 0, None)
        # Equal positions (exact integers in float32), then k = exp(-(L - equal) / (2 sigma^2)) in place.
        kernel = (queries[rows] @ references[later].T).astype(np.float64)
        kernel -= length
        kernel *= 1 / (2 * sigma**2)
        np.exp(kernel, out=kernel)
        values = kernel @ reference_counts[later]
        if symmetric:  # pairs inside the block once, with later rows in both orders
            values = 2 * values - kernel[:, : kernel.shape[0]] @ reference_counts[rows]
        total += float(query_counts[rows] @ values)
    return total


def mmd_squared(x: np.ndarray, y: np.ndarray, n_channels: int, sigma: float = SIGMA,
                chunk: int | None = None) -> float:
    """Unbiased MMD^2 between two (N, L) index arrays (at least 2 rows each):
    mean k over pairs of distinct rows of x, plus the same for y, minus twice the mean k over
    (x, y) pairs. Near 0 (either sign) for two samples of one population. `chunk`: rows of a block
    (by default as many as keep a block near BLOCK_ENTRIES values); the result does not depend on it."""
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError(f"MMD^2 needs at least 2 sequences a side, got {m} and {n}")
    varying = (x != x[0]).any(axis=0) | (y != x[0]).any(axis=0)
    if not varying.any():
        return 0.0  # every sequence is the same: k = 1 for every pair
    x, y = x[:, varying], y[:, varying]
    # One-hot columns of a base that neither set carries at that position add 0 to every product.
    carried = ((position_counts(x, n_channels) + position_counts(y, n_channels)) > 0).ravel()
    (ux, _, cx), (uy, _, cy) = unique_rows(x), unique_rows(y)
    fx, fy = (flat_one_hot(rows, n_channels)[:, carried] for rows in (ux, uy))
    cx, cy, length = cx.astype(np.float64), cy.astype(np.float64), int(varying.sum())

    def within(rows: np.ndarray, counts: np.ndarray, size: int) -> float:
        # Every ordered pair of rows, less each row with itself (k = 1), over size (size - 1) pairs.
        return (_kernel_sum(rows, counts, rows, counts, length, sigma, chunk, symmetric=True) - size) / (
            size * (size - 1))

    between = _kernel_sum(fx, cx, fy, cy, length, sigma, chunk) / (m * n)
    return within(fx, cx, m) + within(fy, cy, n) - 2 * between


def mmd(
    generated: np.ndarray, real: np.ndarray, holdout: np.ndarray | None, n_channels: int, seed: int = 0,
    sigma: float = SIGMA,
) -> dict[str, Any]:
    """MMD^2 of generated against held-out real sequences where there are at least 2 (the
    published protocol), else against the real (training) set; beside it the real-vs-real value
    (`mmd2_real`): training vs held-out, or without a hold-out two seeded halves of the real set,
    what a generator drawing new patients of the same population scores (about 0)."""
    with_holdout = holdout is not None and len(holdout) >= 2
    against = holdout if with_holdout else real
    if with_holdout:
        first, second, pair = real, holdout, "training vs held-out"
    else:
        order = np.random.default_rng(seed).permutation(len(real))
        half = len(real) // 2
        first, second, pair = real[np.sort(order[:half])], real[np.sort(order[half:])], "two halves of the real set"
    return {
        "mmd2": mmd_squared(generated, against, n_channels, sigma) if min(len(generated), len(against)) >= 2 else None,
        "sigma": sigma,
        "against": "held-out" if with_holdout else "training",
        "n_generated": len(generated),
        "n_against": len(against),
        "mmd2_real": mmd_squared(first, second, n_channels, sigma) if min(len(first), len(second)) >= 2 else None,
        "real_pair": pair,
        "n_real_pair": [len(first), len(second)],
    }
