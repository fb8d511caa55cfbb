"""The distance-based membership-inference attack: hand-computed values and known answers."""

import numpy as np
import pytest

from virtualpatients.data.encoding import encode
from virtualpatients.data.simulate import simulate_cohort
from virtualpatients.evaluation.baselines import fit_and_sample
from virtualpatients.evaluation.membership import mann_whitney_auc, membership_inference, tpr_at_fpr
from virtualpatients.evaluation.metrics import nearest_matches, privacy

LENGTH = 200
REFERENCE = np.random.default_rng(123).integers(0, 4, LENGTH, dtype=np.uint8)


def population(n, seed, rate=0.05):
    """Records of one population: a shared reference with each position redrawn at `rate`, so
    records are related (about 15 differences from the reference) but no two are equal."""
    rng = np.random.default_rng(seed)
    rows = np.repeat(REFERENCE[None, :], n, axis=0)
    redraw = rng.random(rows.shape) < rate
    rows[redraw] = rng.integers(0, 4, redraw.sum(), dtype=np.uint8)
    return rows


def enc(*sequences):
    return encode([s.encode() for s in sequences])


def test_a_hand_made_case_with_ties():
    generated = enc("AAAA")
    members = enc("AAAA", "CAAA", "CCAA")  # distances 0, 1, 2 to the generated record
    non_members = enc("GAAA", "GGAA", "GGGA")  # distances 1, 2, 3
    result = membership_inference(generated, members, non_members, 4)
    # Pairs (member, non-member) where the member is nearer, ties as half:
    # distance 0 beats 1, 2, 3 (3); distance 1 ties 1, beats 2, 3 (2.5); distance 2 loses to 1,
    # ties 2, beats 3 (1.5): 7 of 9 pairs.
    assert result["mia_auc"] == pytest.approx(7 / 9)
    # 3 non-members allow no false positive: the threshold is the nearest non-member (distance 1),
    # and only the member strictly nearer than that (distance 0) is found; the tied one is not.
    assert result["mia_tpr_at_1pct_fpr"] == pytest.approx(1 / 3)
    assert result["mia_n"] == 3


def test_the_auc_matches_sklearn_with_many_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    members, non_members = -rng.integers(0, 6, 300), -rng.integers(0, 8, 300)
    expected = roc_auc_score(np.r_[np.ones(300), np.zeros(300)], np.r_[members, non_members])
    assert mann_whitney_auc(members, non_members) == pytest.approx(expected, abs=1e-12)


def test_ties_at_the_threshold_are_not_counted_as_found():
    tied = np.zeros(200)
    assert tpr_at_fpr(tied, tied) == 0.0  # all alike: nothing is found, and nothing falsely flagged
    non_members = np.r_[np.zeros(197), np.full(3, 5.0)]  # 1% of 200 = 2 false positives allowed
    # The threshold is the 3rd highest non-member score (5): members at 5 are not found, above it are.
    assert tpr_at_fpr(np.r_[np.full(50, 5.0), np.full(50, 6.0)], non_members) == 0.5


def test_a_copying_generator_leaks_membership():
    members, non_members = population(300, 1), population(300, 2)
    assert len(np.unique(np.vstack([members, non_members]), axis=0)) == 600  # no repeated records
    copies = membership_inference(members.copy(), members, non_members, 4, seed=0)
    assert copies["mia_auc"] > 0.95 and copies["mia_tpr_at_1pct_fpr"] > 0.9 and copies["mia_n"] == 300
    # The copy baseline draws training records with replacement: with 5 draws per record, nearly
    # every member has its copy in the generated set.
    drawn = fit_and_sample("copy", members, 5 * len(members), 4, seed=3)
    assert membership_inference(drawn, members, non_members, 4, seed=0)["mia_auc"] > 0.95


def test_an_independent_generator_and_held_out_real_records_do_not_leak():
    members, non_members = population(300, 1), population(300, 2)
    fresh = membership_inference(population(300, 3), members, non_members, 4, seed=0)
    assert fresh["mia_auc"] == pytest.approx(0.5, abs=0.08)
    # A held-out part of real records as the generated set: 900 records, a third each.
    real = population(900, 9)
    held_out = membership_inference(real[600:], real[:300], real[300:600], 4, seed=0)
    assert held_out["mia_auc"] == pytest.approx(0.5, abs=0.08)
    # The same in a hotspot cohort, where nearly every record has an identical twin among the
    # others: distances tie (mostly at 0) and ties as half keep the AUC at 0.5.
    _, _, sequences = simulate_cohort(n_patients=900, length=150, n_hotspots=12, seed=4)
    cohort = encode([s.encode() for s in sequences])[np.random.default_rng(0).permutation(900)]
    twins = membership_inference(cohort[600:], cohort[:300], cohort[300:600], 4, seed=0)
    assert twins["mia_auc"] == pytest.approx(0.5, abs=0.08)


def test_equal_numbers_per_side_and_none_without_held_out_records():
    members, non_members = population(120, 1), population(40, 2)
    result = membership_inference(members, members, non_members, 4, seed=7)
    assert result["mia_n"] == 40 and result == membership_inference(members, members, non_members, 4, seed=7)
    empty = {"mia_auc": None, "mia_tpr_at_1pct_fpr": None, "mia_n": None}
    assert membership_inference(members, members, None, 4) == empty
    assert membership_inference(members, members, non_members[:1], 4) == empty


def test_privacy_reports_the_attack_only_with_a_holdout():
    train, holdout = population(200, 1), population(100, 2)
    summary, _ = privacy(train, train, holdout, 4, nearest_matches(train, train, 4))
    assert summary["mia_auc"] > 0.95 and summary["mia_n"] == 100
    without, _ = privacy(train, train, None, 4, nearest_matches(train, train, 4))
    assert without["mia_auc"] is None and without["mia_tpr_at_1pct_fpr"] is None and without["mia_n"] is None


def test_the_verdict_names_a_membership_leak():
    from virtualpatients.evaluation.verdict import verdict

    def judged(auc, n=100):
        return verdict({"privacy": {"exact_copy_rate": 0.0, "real_repeat_rate": 0.0, "aats_train": 0.5,
                                    "mia_auc": auc, "mia_n": n}})

    leaking = judged(0.93)
    assert leaking["status"] == "poor"
    assert leaking["reasons"] == ["membership leaks: a distance attack tells training records from held-out ones "
                                  "(AUC 0.93, 0.5 is chance)"]
    assert judged(0.6)["status"] == "no problem found" and judged(None, None)["status"] == "no problem found"
    assert judged(0.9, n=5)["status"] == "no problem found"  # 5 records a side: chance reaches 0.9 too often
