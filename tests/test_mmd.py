"""Known answers of the unbiased MMD^2 with a Gaussian kernel on Hamming distances."""

import math

import numpy as np
import pytest

from virtualpatients.data.encoding import encode
from virtualpatients.evaluation.mmd import SIGMA, mmd, mmd_squared


def enc(*sequences):
    return encode([s.encode() for s in sequences])


def direct(x, y, sigma=SIGMA):
    """The definition, pair by pair."""
    def k(a, b):
        return np.exp(-(a[:, None, :] != b[None, :, :]).sum(-1) / (2 * sigma**2))

    kxx, kyy = k(x, x), k(y, y)
    m, n = len(x), len(y)
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
            - 2 * k(x, y).mean())


def population(n, frequencies, seed):
    """Two-allele sequences (A or T at each position) with the given per-position T frequencies."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random((n, len(frequencies))) < frequencies, 1, 0).astype(np.uint8)  # 0 = A, 1 = T


def test_a_hand_computed_case():
    x, y = enc("AAAA", "AAAT"), enc("AATT", "TTTT", "AAAA")
    e = math.exp
    # sigma 1: k = exp(-H / 2). Pairs inside x: H 1; inside y: 2, 2, 4; across: 2, 4, 0 and 1, 3, 1.
    expected = e(-0.5) + (2 * e(-1) + e(-2)) / 3 - 2 * (e(-1) + e(-2) + 1 + e(-0.5) + e(-1.5) + e(-0.5)) / 6
    assert mmd_squared(x, y, 4, sigma=1.0) == pytest.approx(expected, abs=1e-14)
    assert mmd_squared(x, y, 4) == pytest.approx(direct(x, y), abs=1e-14)


def test_identical_sets_score_the_known_small_negative_value():
    x = population(300, np.full(40, 0.3), 0)
    # For y = x the unbiased estimate is -2 (1 - mean k over all n^2 pairs) / (n - 1): near 0.
    k = np.exp(-(x[:, None, :] != x[None, :, :]).sum(-1) / (2 * SIGMA**2))
    assert mmd_squared(x, x, 4) == pytest.approx(-2 * (1 - k.mean()) / (len(x) - 1), rel=1e-10)
    assert abs(mmd_squared(x, x, 4)) < 1e-3
    assert mmd_squared(enc("ACGT", "ACGT"), enc("ACGT", "ACGT", "ACGT"), 4) == 0.0  # nothing varies


def test_a_held_out_half_is_near_zero_and_far_below_another_population():
    rng = np.random.default_rng(1)
    frequencies = rng.uniform(0.05, 0.6, 200)
    same = population(600, frequencies, 2)
    other = population(300, np.clip(frequencies + rng.normal(0, 0.15, 200), 0.01, 0.99), 3)
    half_a, half_b = same[:300], same[300:]
    within = mmd_squared(half_a, half_b, 4)
    between = mmd_squared(half_a, other, 4)
    assert abs(within) < 5e-4
    assert between > 0.01 and between > 50 * abs(within)


def test_symmetric_repeats_and_block_size_do_not_change_the_result():
    rng = np.random.default_rng(4)
    x = rng.integers(0, 4, (40, 25), dtype=np.uint8)[rng.integers(0, 40, 70)]  # with repeats
    y = rng.integers(0, 4, (30, 25), dtype=np.uint8)
    y[:, :8] = 0
    expected = direct(x, y)
    for chunk in (None, 1, 2, 7, 1000):
        assert mmd_squared(x, y, 4, chunk=chunk) == pytest.approx(expected, rel=1e-12)
        assert mmd_squared(y, x, 4, chunk=chunk) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="at least 2"):
        mmd_squared(x[:1], y, 4)


def test_the_summary_compares_with_held_out_records_and_gives_the_real_pair():
    rng = np.random.default_rng(5)
    frequencies = rng.uniform(0.05, 0.5, 60)
    real, held, generated = population(120, frequencies, 6), population(40, frequencies, 7), population(50, frequencies, 8)
    with_holdout = mmd(generated, real, held, 4)
    assert with_holdout["against"] == "held-out" and with_holdout["sigma"] == SIGMA
    assert with_holdout["mmd2"] == pytest.approx(mmd_squared(generated, held, 4))
    assert with_holdout["mmd2_real"] == pytest.approx(mmd_squared(real, held, 4))
    assert (with_holdout["n_generated"], with_holdout["n_against"], with_holdout["n_real_pair"]) == (50, 40, [120, 40])
    alone = mmd(generated, real, None, 4, sigma=5.0)
    assert alone["against"] == "training" and alone["real_pair"] == "two halves of the real set"
    assert alone["mmd2"] == pytest.approx(mmd_squared(generated, real, 4, sigma=5.0)) and alone["n_real_pair"] == [60, 60]
    assert mmd(generated[:1], real, None, 4)["mmd2"] is None
