"""Diversity and privacy metrics of a generated set against real sequences, built on the
nearest-neighbour comparisons of data/distances.py."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.distances import (  # noqa: F401  (re-exported: evaluation's public names)
    ROW_CHUNK, _sample, adversarial_accuracy, distinct_count, diversity, match_blocks, mean_pairwise_identity,
    nearest_identity, nearest_matches, unique_rows,
)
from .membership import membership_inference

def summarise(values: np.ndarray) -> dict[str, float]:
    return {
        "mean": float(np.mean(values)),
        "median": float(np.median(values)),
        "min": float(np.min(values)),
        "max": float(np.max(values)),
    }


def privacy(
    generated: np.ndarray,
    train: np.ndarray,
    holdout: np.ndarray | None,
    n_channels: int,
    generated_matches: np.ndarray,
    seed: int = 0,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Copies, distance to closest record (DCR) and AATS; against a held-out set where one exists,
    also the membership-inference attack of membership.py (training vs held-out records).

    A new patient from the same population is the yardstick: held-out real patients often repeat
    a training sequence exactly (recurrent variants), so their copy rate and DCR are the baseline.
    """
    length = train.shape[1]
    dcr_generated = length - generated_matches
    aats_train = adversarial_accuracy(train, generated, n_channels, seed)
    summary: dict[str, Any] = {
        "exact_copy_rate": float(np.mean(dcr_generated == 0)),
        # Without held-out patients, how often a real patient repeats another is the yardstick.
        "real_repeat_rate": _repeat_rate(train),
        "dcr_median_generated": float(np.median(dcr_generated)),
        "dcr_mean_generated": float(np.mean(dcr_generated)),
        "aats_train": aats_train["aats"],
        "aa_truth": aats_train["aa_truth"],
        "aa_syn": aats_train["aa_syn"],
        "aats_sample_size": aats_train["sample_size"],
        "holdout_exact_copy_rate": None,
        "dcr_median_holdout": None,
        "dcr_mean_holdout": None,
        "dcr_median_ratio": None,
        "aats_holdout": None,
        "privacy_loss": None,
        # Training records are the members, held-out ones the non-members; None without a hold-out.
        **membership_inference(generated, train, holdout, n_channels, seed),
    }
    arrays = {"dcr_generated": dcr_generated}
    if holdout is not None and len(holdout) >= 2:
        dcr_holdout = length - nearest_matches(holdout, train, n_channels)
        # Same sample size on both sides, so the difference reflects the data, not the sizes.
        size = min(len(holdout), len(generated))
        rng = np.random.default_rng(seed)
        aats_holdout = adversarial_accuracy(holdout, generated, n_channels, seed)["aats"]
        aats_train_same_size = adversarial_accuracy(_sample(train, size, rng), generated, n_channels, seed)["aats"]
        median_holdout = float(np.median(dcr_holdout))
        summary.update(
            holdout_exact_copy_rate=float(np.mean(dcr_holdout == 0)),
            dcr_median_holdout=median_holdout,
            dcr_mean_holdout=float(np.mean(dcr_holdout)),
            dcr_median_ratio=summary["dcr_median_generated"] / median_holdout if median_holdout else None,
            aats_holdout=aats_holdout,
            privacy_loss=aats_holdout - aats_train_same_size,
        )
        arrays["dcr_holdout"] = dcr_holdout
    return summary, arrays


def _repeat_rate(indices: np.ndarray) -> float:
    """Share of rows equal to another row of the same set (a leave-one-out copy rate)."""
    _, inverse, counts = unique_rows(indices)
    return float(np.mean(counts[inverse] > 1))
