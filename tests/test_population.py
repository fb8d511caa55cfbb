"""Linkage, population structure and the differences-per-sequence distance on known answers."""

import numpy as np

from virtualpatients.evaluation.population import linkage, population_structure, total_variation


def test_perfectly_linked_positions_have_r2_one_and_independent_ones_near_zero():
    rng = np.random.default_rng(0)
    reference = np.zeros(4, dtype=np.uint8)
    carrier = rng.random(4000) < 0.3
    other = rng.random(4000) < 0.3
    real = np.zeros((4000, 4), dtype=np.uint8)
    real[carrier, 0] = real[carrier, 1] = 2  # positions 0 and 1 always vary together
    real[other, 2] = 3  # position 2 varies independently of them
    real[rng.random(4000) < 0.2, 3] = 1
    summary, arrays = linkage(real, real, reference)
    assert summary["positions"] == 4 and summary["pairs"] == 6
    assert abs(arrays["ld_r2_real"][0] - 1.0) < 1e-9 and arrays["ld_distance"][0] == 1  # the pair (0, 1)
    assert arrays["ld_r2_real"][1:].max() < 0.01  # every pair with an independent position
    assert abs(summary["r"] - 1.0) < 1e-9  # the same set against itself



def test_a_generator_of_independent_positions_loses_the_linkage_of_blocks():
    # 20 positions in 4 blocks of 5 that vary together: r^2 = 1 within blocks, near 0 across.
    rng = np.random.default_rng(2)
    carriers = rng.random((3000, 4)) < 0.25
    real = np.repeat(carriers, 5, axis=1).astype(np.uint8) * 2
    reference = np.zeros(20, dtype=np.uint8)
    shuffled = np.stack([rng.permutation(column) for column in real.T], axis=1)
    kept, _ = linkage(real[rng.permutation(3000)], real, reference)
    lost, arrays = linkage(shuffled, real, reference)
    assert kept["r"] > 0.99 and kept["r2_mean_real"] > 0.15
    assert abs(lost["r"]) < 0.2 and arrays["ld_r2_generated"].max() < 0.01


def test_too_few_varying_positions_give_no_linkage_number():
    real = np.zeros((50, 10), dtype=np.uint8)
    real[:5, 3] = 1
    summary, arrays = linkage(real, real, np.zeros(10, dtype=np.uint8))
    assert summary["r"] is None and summary["positions"] == 1 and arrays == {}


def two_clusters(n: int, rng: np.random.Generator, which=(0, 1)) -> np.ndarray:
    """Rows of two populations that differ at 20 of 40 positions, plus 2% noise."""
    centres = np.zeros((2, 40), dtype=np.uint8)
    centres[1, :20] = 3
    rows = centres[rng.choice(which, n)]
    noise = rng.random(rows.shape) < 0.02
    rows[noise] = rng.integers(0, 4, int(noise.sum()))
    return rows


def test_pca_separates_two_clusters_and_measures_a_generator_stuck_in_one():
    rng = np.random.default_rng(1)
    real = two_clusters(600, rng)
    good, _ = population_structure(two_clusters(600, rng), real, 4)
    stuck, arrays = population_structure(two_clusters(600, rng, which=(0,)), real, 4)
    assert good["explained_variance"][0] > 0.5  # the first axis is the split between clusters
    assert good["pca_distance"] < 0.15 and stuck["pca_distance"] > 0.7
    first_axis = arrays["pca_real"][:, 0]
    assert abs(np.median(first_axis[first_axis > 0]) - np.median(first_axis[first_axis < 0])) > 3
    assert arrays["pca_generated"].shape == (600, 2)


def test_total_variation_of_differences_per_sequence():
    exactly_one = np.ones(100, dtype=np.int64)
    assert total_variation(exactly_one, exactly_one) == 0.0
    assert total_variation(exactly_one, np.zeros(100, dtype=np.int64)) == 1.0
    poisson_like = np.array([0] * 37 + [1] * 37 + [2] * 26)
    assert abs(total_variation(poisson_like, exactly_one) - 0.63) < 1e-12
