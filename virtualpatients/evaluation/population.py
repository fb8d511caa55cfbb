"""What the field measures on genotype-like data beyond per-position frequencies: linkage
between positions (r^2 of variant indicators), population structure (PCA of the real one-hot
data with generated sequences projected in), and the distribution of differences per sequence.

A position weight matrix gets every per-position frequency right and every one of these wrong:
its positions are independent (r^2 near 0), so it fills the space between real clusters."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.encoding import flat_one_hot

MIN_VARIANT_FREQUENCY = 0.01
MAX_LINKED_POSITIONS = 1000  # the most variable positions; bounds the r^2 matrices at 10^6 pairs
PCA_ROWS = 2000  # real rows the principal axes are fitted on (a seeded sample when more)
PCA_COMPONENTS = 4  # components the distance is measured in


def _r_squared(indicators: np.ndarray) -> np.ndarray:
    """r^2 between columns of a 0/1 matrix; a column that never varies is linked to nothing (0)."""
    x = indicators.astype(np.float64)
    x -= x.mean(axis=0)
    norms = np.sqrt((x * x).sum(axis=0))
    varying = norms > 0
    x[:, varying] /= norms[varying]
    r = x.T @ x
    return r * r


def linkage(
    generated: np.ndarray, real: np.ndarray, reference: np.ndarray, min_frequency: float = MIN_VARIANT_FREQUENCY,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Pearson r between the real and the generated r^2 of every pair of positions whose real
    variant frequency (difference from `reference`) is at least min_frequency."""
    frequency = (real != reference).mean(axis=0)
    positions = np.flatnonzero(frequency >= min_frequency)
    if len(positions) > MAX_LINKED_POSITIONS:
        positions = np.sort(positions[np.argsort(-frequency[positions], kind="stable")[:MAX_LINKED_POSITIONS]])
    summary: dict[str, Any] = {"min_frequency": min_frequency, "positions": int(len(positions)), "pairs": 0,
                               "r": None, "r2_mean_real": None, "r2_mean_generated": None}
    if len(positions) < 3:
        return summary, {}
    real_r2 = _r_squared(real[:, positions] != reference[positions])
    generated_r2 = _r_squared(generated[:, positions] != reference[positions])
    upper = np.triu_indices(len(positions), k=1)
    pairs_real, pairs_generated = real_r2[upper], generated_r2[upper]
    distance = (positions[upper[1]] - positions[upper[0]]).astype(np.int64)
    from .composition import pearson

    summary.update(pairs=int(len(pairs_real)), r=pearson(pairs_real, pairs_generated),
                   r2_mean_real=float(pairs_real.mean()), r2_mean_generated=float(pairs_generated.mean()))
    return summary, {"ld_distance": distance, "ld_r2_real": pairs_real, "ld_r2_generated": pairs_generated}


def population_structure(
    generated: np.ndarray, real: np.ndarray, n_channels: int, seed: int = 0, components: int = PCA_COMPONENTS,
    real_labels: list[str] | None = None, generated_labels: list[str] | None = None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """PCA fitted on real one-hot rows; generated rows projected onto the same axes.

    `pca_distance`: the 1-D Wasserstein distance between real and generated projections on each
    of the first `components` axes, in units of the real spread on that axis, averaged with the
    axes' variances as weights (0: the same distribution; a generator stuck in one of two equal
    clusters that the first axis separates scores about 1)."""
    rng = np.random.default_rng(seed)
    fit_rows = real if len(real) <= PCA_ROWS else real[rng.choice(len(real), PCA_ROWS, replace=False)]
    varying = (fit_rows != fit_rows[0]).any(axis=0)
    summary: dict[str, Any] = {"components": 0, "explained_variance": [], "pca_distance": None}
    if varying.sum() < 2:
        return summary, {}

    def flat(rows: np.ndarray) -> np.ndarray:
        return flat_one_hot(rows[:, varying], n_channels)

    x_fit = flat(fit_rows)
    mean = x_fit.mean(axis=0)
    _, singular, axes = np.linalg.svd(x_fit - mean, full_matrices=False)
    k = int(min(components, len(singular)))
    variance = singular**2
    project = lambda rows: (flat(rows) - mean) @ axes[:k].T  # noqa: E731
    real_pcs, generated_pcs = project(real), project(generated)
    distances, weights = [], []
    for axis in range(k):
        spread = real_pcs[:, axis].std()
        if spread > 0:
            distances.append(_wasserstein_1d(real_pcs[:, axis], generated_pcs[:, axis]) / spread)
            weights.append(variance[axis])
    summary.update(components=k, explained_variance=(variance[:k] / variance.sum()).tolist(),
                   pca_distance=float(np.average(distances, weights=weights)) if distances else None)
    arrays = {"pca_real": real_pcs[:, :2], "pca_generated": generated_pcs[:, :2]}
    if real_labels is not None:
        arrays["pca_real_labels"] = np.asarray(real_labels)
    if generated_labels is not None:
        arrays["pca_generated_labels"] = np.asarray(generated_labels)
    return summary, arrays


def _wasserstein_1d(a: np.ndarray, b: np.ndarray) -> float:
    """W1 between two empirical distributions: the area between their quantile functions."""
    quantiles = np.linspace(0, 1, 513)[1:-1]
    return float(np.abs(np.quantile(a, quantiles) - np.quantile(b, quantiles)).mean())


def total_variation(counts_a: np.ndarray, counts_b: np.ndarray) -> float:
    """Total variation distance between two distributions of non-negative integers (e.g. the
    number of differences per sequence): half the L1 distance between their histograms."""
    width = int(max(counts_a.max(initial=0), counts_b.max(initial=0))) + 1
    p = np.bincount(counts_a, minlength=width) / max(len(counts_a), 1)
    q = np.bincount(counts_b, minlength=width) / max(len(counts_b), 1)
    return float(0.5 * np.abs(p - q).sum())


def real_sample(
    n_generated: int, real: np.ndarray, holdout: np.ndarray | None, seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Real records to score as the generated set is scored, for real-vs-real values of the
    figures whose chance level depends on sample size (a distribution of differences per sequence
    over many values, r^2 of rare variants): a seeded sample of as many held-out records as
    generated (all of them when fewer) against the real set, or without at least 2 held-out
    records, a sample of as many real records (at most half) against the other real ones. Both
    sides are then about as large as generated and real are, or smaller: the real value is at
    least as noisy as the generated one."""
    rng = np.random.default_rng(seed)
    if holdout is not None and len(holdout) >= 2:
        size = min(n_generated, len(holdout))
        sample, rest, source = holdout[np.sort(rng.choice(len(holdout), size, replace=False))], real, "held-out"
    else:
        size = min(n_generated, len(real) // 2)
        order = rng.permutation(len(real))
        sample, rest, source = real[np.sort(order[:size])], real[np.sort(order[size:])], "training"
    return sample, rest, {"source": source, "n": int(size), "against": int(len(rest))}
