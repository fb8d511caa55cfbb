"""The GAN beside the baseline generators: each baseline is fitted on the same training split,
draws as many sequences of each class as the GAN's set holds, and gets every metric."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import numpy as np

from .baselines import BASELINES, make
from ..data.sequences import SequenceSet
from .evaluate import Evaluation, evaluate_sets

# (section, metric, key path of the generated value, key path of the real reference value or None,
# format: "%" percent, "f" number, "i" integer): the rows of the comparison table. The real
# reference is real vs real (leave-one-out) or, for privacy, held-out vs training.
COMPARED: list[tuple[str, str, str, str | None, str]] = [
    ("counts", "distinct sequences", "distinct", None, "i"),
    ("nearest identity", "mean", "nearest_identity.mean", "real_baseline_identity.mean", "%"),
    ("copies", "exact copies of a training sequence", "exact_copies", None, "i"),
    ("fidelity", "base-frequency r", "fidelity.base_frequency_r", None, "f"),
    ("fidelity", "6-mer Jensen-Shannon (bits)", "fidelity.kmer_js.6", None, "f"),
    ("fidelity", "GC content", "fidelity.gc_generated", "fidelity.gc_real", "%"),
    ("variants", "differences from reference per sequence", "variants.mean_differences_generated",
     "variants.mean_differences_real", "f"),
    ("variants", "variant-position r", "variants.position_r", None, "f"),
    ("variants", "top-20 real variants found", "variants.top20_found", "variants.top20_total", "i"),
    ("validity", "valid ORF fraction", "validity.valid_fraction_generated", "validity.valid_fraction_real", "%"),
    ("diversity", "distinct fraction (equal samples)", "diversity.distinct_fraction_generated",
     "diversity.distinct_fraction_real", "f"),
    ("diversity", "mean pairwise identity", "diversity.mean_pairwise_identity_generated",
     "diversity.mean_pairwise_identity_real", "%"),
    ("privacy", "exact-copy rate", "privacy.exact_copy_rate", "privacy.holdout_exact_copy_rate", "%"),
    ("privacy", "median DCR", "privacy.dcr_median_generated", "privacy.dcr_median_holdout", "f"),
    ("privacy", "mean DCR", "privacy.dcr_mean_generated", "privacy.dcr_mean_holdout", "f"),
    ("privacy", "AATS vs training (0.5 ideal)", "privacy.aats_train", None, "f"),
    ("privacy", "AATS vs held-out", "privacy.aats_holdout", None, "f"),
    ("privacy", "privacy loss", "privacy.privacy_loss", None, "f"),
    ("utility", "(b) real + generated minority: minority F1", "utility.b_real_plus_generated.minority_f1.mean",
     "utility.a_real.minority_f1.mean", "f"),
    ("utility", "(e) generated only: minority F1", "utility.e_generated_only.minority_f1.mean", None, "f"),
]
# Arrays of each baseline that the report overlays on the GAN's plots.
OVERLAID = ("nearest_identity_generated", "dcr_generated", "variant_freq_generated")


def baseline_set(kind: str, real: SequenceSet, like: SequenceSet, seed: int, order: int) -> SequenceSet:
    """`kind` fitted on `real`, with as many sequences of each class as `like` has (class by
    class when both are labelled), so every metric compares equal numbers."""
    if real.labels is None or like.labels is None:
        unlabelled = real if real.labels is None else dataclasses.replace(real, labels=None)
        return make(kind, order).fit(unlabelled).sample(len(like), seed)
    return make(kind, order).fit(real).sample(len(like), seed, per_class=Counter(like.labels))


def evaluate_baselines(
    generated: SequenceSet, real: SequenceSet, holdout: SequenceSet | None, reference: np.ndarray | None,
    seed: int = 0, order: int = 3, kinds: tuple[str, ...] = BASELINES, label: str | None = None,
) -> dict[str, Evaluation]:
    """Every metric of each baseline, as evaluate_sets computes them for the GAN (no BLAST)."""
    results = {}
    for kind in kinds:
        drawn = baseline_set(kind, real, generated, seed, order)
        compared = (drawn, real, holdout)
        if label is not None:
            compared = tuple(None if s is None else s.of_class(label) for s in compared)
        results[kind] = evaluate_sets(*compared, reference, seed=seed)
    return results


def baseline_generator(kind: str, real: SequenceSet, order: int = 3):
    """generate(label, n, seed) for the utility comparison: the baseline fitted on one class."""

    def generate(label: str, n: int, seed: int) -> np.ndarray:
        return make(kind, order).fit(real).sample(n, seed, label=label).indices

    return generate


def lookup(summary: dict[str, Any], key_path: str) -> Any:
    value: Any = summary
    for key in key_path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def format_value(value: Any, style: str) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    if style == "%":
        return f"{100 * value:.2f}%"
    if style == "i":
        return str(int(value))
    return f"{value:.4f}" if abs(value) < 0.01 and value else f"{value:.3f}"


def comparison_rows(summaries: dict[str, dict[str, Any]]) -> list[tuple[str, str, list[str], str]]:
    """(section, metric, one formatted value per generator in `summaries` order, the real reference
    from the first summary); rows no generator has are left out."""
    rows = []
    first = next(iter(summaries.values()))
    for section, metric, key, real_key, style in COMPARED:
        values = [lookup(summary, key) for summary in summaries.values()]
        if all(value is None for value in values):
            continue
        real = format_value(lookup(first, real_key), style) if real_key else ""
        rows.append((section, metric, [format_value(value, style) for value in values], real))
    return rows


def attach(summary: dict[str, Any], arrays: dict[str, np.ndarray], results: dict[str, Evaluation]) -> None:
    """Put the baselines' summaries under summary["baselines"] and their overlaid arrays beside the GAN's."""
    summary["baselines"] = {kind: result.summary for kind, result in results.items()}
    for kind, result in results.items():
        arrays |= {f"baseline.{kind}.{key}": result.arrays[key] for key in OVERLAID if key in result.arrays}
