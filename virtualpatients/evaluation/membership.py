"""A distance-based membership-inference attack: can the generated set tell which real records
were in the training set?

The attacker holds a record and the generated set, and calls the record a training member when a
generated record lies close to it. Training records (members) are set against held-out records
(non-members) of the same population, in equal numbers: an AUC of 0.5 means the distance to the
nearest generated record says nothing about membership; 1 means every member is recognised (a
generator that copies its training set). Distances come from the one-hot matrix products of
data/distances.py, with the generated set as the reference set.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.distances import _sample, nearest_matches

FPR_LIMIT = 0.01  # the false-positive rate at which the true-positive rate is read
MIN_NON_MEMBERS = 2


def mann_whitney_auc(members: np.ndarray, non_members: np.ndarray) -> float:
    """ROC AUC of scores (higher = more likely a member) as the Mann-Whitney statistic: the share
    of (member, non-member) pairs where the member scores higher, ties counted as half. Exact, by
    average ranks (the same value as sklearn.metrics.roc_auc_score)."""
    scores = np.concatenate([members, non_members])
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    # Tied scores share the mean of the ranks they occupy (1-based): a group ending at rank e
    # with c members has mean rank e - (c - 1) / 2.
    mean_ranks = (np.cumsum(counts) - (counts - 1) / 2)[inverse.ravel()]
    n_members, n_non_members = len(members), len(non_members)
    u = mean_ranks[:n_members].sum() - n_members * (n_members + 1) / 2
    return float(u / (n_members * n_non_members))


def tpr_at_fpr(members: np.ndarray, non_members: np.ndarray, fpr: float = FPR_LIMIT) -> float:
    """True-positive rate of the best threshold whose false-positive rate is at most `fpr`.

    The attack calls a record a member when its score is strictly above a threshold t taken from
    the non-members' scores: t is the (k+1)-th highest non-member score with k = floor(fpr * n),
    so at most k non-members (a share <= fpr) lie above it, and any lower t would let more through.
    Ties at the threshold count conservatively: a member whose score equals t is not found (as a
    non-member there is not flagged), so an attack gets no credit for scores it cannot separate
    (e.g. members and non-members both at distance 0 from a generated record). With few records
    fpr * n < 1 and t is the highest non-member score: no false positive at all is allowed.
    """
    ordered = np.sort(non_members)[::-1]
    allowed = int(np.floor(fpr * len(ordered)))
    threshold = ordered[min(allowed, len(ordered) - 1)]
    return float(np.mean(members > threshold))


def membership_inference(
    generated: np.ndarray, members: np.ndarray, non_members: np.ndarray | None, n_channels: int, seed: int = 0
) -> dict[str, Any]:
    """{"mia_auc", "mia_tpr_at_1pct_fpr", "mia_n"} of the nearest-generated-record attack.

    Score = minus the Hamming distance (differing positions) from a real record to its nearest
    generated record. Members and non-members are used in equal numbers, `mia_n` each (a seeded
    sample of the larger side), so the AUC and the rates weigh both sides alike. Without at least
    MIN_NON_MEMBERS held-out records there is nothing to compare with: every field is None.
    """
    if non_members is None or len(non_members) < MIN_NON_MEMBERS or len(members) == 0 or len(generated) == 0:
        return {"mia_auc": None, "mia_tpr_at_1pct_fpr": None, "mia_n": None}
    rng = np.random.default_rng(seed)
    size = min(len(members), len(non_members))
    inside, outside = _sample(members, size, rng), _sample(non_members, size, rng)
    length = members.shape[1]

    def score(records: np.ndarray) -> np.ndarray:
        return -(length - nearest_matches(records, generated, n_channels))

    member_scores, non_member_scores = score(inside), score(outside)
    return {
        "mia_auc": mann_whitney_auc(member_scores, non_member_scores),
        "mia_tpr_at_1pct_fpr": tpr_at_fpr(member_scores, non_member_scores),
        "mia_n": int(size),
    }
