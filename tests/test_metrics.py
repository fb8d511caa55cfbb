import numpy as np
import pytest

from virtualpatients.data.encoding import encode
from virtualpatients.evaluation.metrics import (
    adversarial_accuracy,
    distinct_count,
    diversity,
    mean_pairwise_identity,
    nearest_identity,
    nearest_matches,
    privacy,
    unique_rows,
)
from virtualpatients.data.simulate import simulate_cohort


def enc(*sequences):
    return encode([s.encode() for s in sequences])


def random_set(n, length, seed):
    return np.random.default_rng(seed).integers(0, 4, (n, length), dtype=np.uint8)


def test_nearest_identity_known_values():
    real = enc("AAAAAAAAAA", "CCCCCCCCCC")
    generated = enc("AAAAAAAAAA", "AAAAACCCCC", "AAAAAAAAAC", "GGGGGGGGGG")
    np.testing.assert_allclose(nearest_identity(generated, real, 4), [1.0, 0.5, 0.9, 0.0])


def test_leave_one_out_excludes_self_but_not_twins():
    real = enc("AAAA", "AAAT", "CCCC", "CCCC")
    np.testing.assert_allclose(nearest_identity(real, real, 4, leave_one_out=True), [0.75, 0.75, 1.0, 1.0])


def test_deduplicated_products_equal_direct_comparison():
    rng = np.random.default_rng(0)
    real = random_set(50, 30, 1)[rng.integers(0, 50, 80)]  # with repeats
    generated = random_set(3000, 30, 2)
    expected = (generated[:, None, :] == real[None, :, :]).sum(-1).max(1)
    np.testing.assert_array_equal(nearest_matches(generated, real, 4), expected)
    same = (real[:, None, :] == real[None, :, :]).sum(-1)
    np.fill_diagonal(same, -1)
    np.testing.assert_array_equal(nearest_matches(real, real, 4, leave_one_out=True), same.max(1))


def test_unique_rows_round_trip():
    rows = random_set(5, 8, 0)[[0, 1, 0, 2, 1]]
    distinct, inverse, counts = unique_rows(rows)
    np.testing.assert_array_equal(distinct[inverse], rows)
    assert sorted(counts.tolist()) == [1, 2, 2]


def test_copies_and_distinct():
    real = enc("ACGT", "TTTT")
    generated = enc("ACGT", "ACGT", "ACGA", "TTTT")
    assert (nearest_matches(generated, real, 4) == 4).tolist() == [True, True, False, True]
    assert distinct_count(generated) == 3


def test_mean_pairwise_identity_is_exact():
    rows = random_set(40, 25, 3)[np.random.default_rng(1).integers(0, 40, 60)]
    same = (rows[:, None, :] == rows[None, :, :]).mean(-1)
    brute = (same.sum() - np.trace(same)) / (len(rows) * (len(rows) - 1))
    assert mean_pairwise_identity(rows, 4) == pytest.approx(brute)


def test_copies_of_real_are_caught():
    real = random_set(200, 120, 4)
    summary, arrays = privacy(real.copy(), real, None, 4, nearest_matches(real, real, 4))
    assert summary["exact_copy_rate"] == 1.0 and summary["dcr_median_generated"] == 0
    assert (arrays["dcr_generated"] == 0).all()
    assert summary["aats_train"] < 0.1  # copying: synthetic is closer to real than real to itself


def test_one_substitution_each():
    real = random_set(100, 90, 5)
    generated = real.copy()
    generated[np.arange(100), np.arange(100) % 90] = (generated[np.arange(100), np.arange(100) % 90] + 1) % 4
    np.testing.assert_allclose(nearest_identity(generated, real, 4), 89 / 90)
    summary, _ = privacy(generated, real, None, 4, nearest_matches(generated, real, 4))
    assert summary["exact_copy_rate"] == 0 and summary["dcr_median_generated"] == 1


def test_uniform_random_is_far_from_real_and_not_collapsed():
    real = random_set(300, 200, 6)
    generated = random_set(300, 200, 7)
    identity = nearest_identity(generated, real, 4)
    assert 0.25 < identity.mean() < 0.4
    assert mean_pairwise_identity(generated, 4) == pytest.approx(0.25, abs=0.01)
    assert adversarial_accuracy(real, generated, 4)["aats"] == pytest.approx(0.5, abs=0.1)
    assert not diversity(generated, real, 4)["mode_collapse"]


def test_held_out_real_half_scores_one_half_despite_hotspot_twins():
    _, _, sequences = simulate_cohort(n_patients=600, length=150, n_hotspots=12, seed=2)
    cohort = encode([s.encode() for s in sequences])
    order = np.random.default_rng(0).permutation(len(cohort))
    first, second = cohort[order[:300]], cohort[order[300:]]
    result = adversarial_accuracy(first, second, 4)
    # Nearly every distance is a tie (0 to a twin): ties as half keep a fair set at 0.5.
    assert result["aats"] == pytest.approx(0.5, abs=0.03)


def test_privacy_against_a_holdout():
    _, _, sequences = simulate_cohort(n_patients=400, length=120, n_hotspots=10, seed=3)
    cohort = encode([s.encode() for s in sequences])
    train, holdout = cohort[:300], cohort[300:]
    generated = random_set(100, 120, 8)
    summary, arrays = privacy(generated, train, holdout, 4, nearest_matches(generated, train, 4))
    assert summary["holdout_exact_copy_rate"] > 0.9  # recurrent variants: new patients repeat old ones
    assert summary["dcr_median_holdout"] == 0 and summary["dcr_median_ratio"] is None
    assert summary["dcr_median_generated"] > 50 and len(arrays["dcr_holdout"]) == 100
    assert summary["aats_holdout"] > 0.9 and summary["privacy_loss"] == pytest.approx(0, abs=0.1)


def test_mode_collapse_is_flagged():
    real = random_set(100, 50, 9)
    collapsed = np.repeat(real[:1], 100, axis=0)
    result = diversity(collapsed, real, 4)
    assert result["mode_collapse"] and "mode collapse" in result["warning"]
    assert result["distinct_fraction_generated"] == 0.01 and result["mean_pairwise_identity_generated"] == 1.0
