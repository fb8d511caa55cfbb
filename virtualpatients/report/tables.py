"""Rich tables for the terminal (stderr); numbers come from the metrics dictionaries."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from rich.table import Table
from rich.text import Text

from .format import MISSING, escape_controls, format_value, lookup


def literal(text: Any) -> Text:
    """Text that holds a user's names (labels, ids, paths): shown as written by any console, markup
    or not (a label "[bold]maj[/bold]" keeps its brackets), control characters escaped."""
    return Text(escape_controls(str(text)))


def jsonable(value: Any) -> Any:
    """Plain JSON types; NaN and infinities become None (strict JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value) if math.isfinite(value) else None
    return value


CAVEAT_MARK = "(!)"  # beside a figure that the verdict's caveats call not meaningful for this set


def evaluation_table(report: dict[str, Any]) -> Table:
    caveats = (report.get("verdict") or {}).get("caveats") or {}
    flagged: dict[str, None] = {}  # the caveats shown, in order, once each

    def shown(path: str, style: str, digits: int | None = None) -> str:
        text = format_value(lookup(report, path), style, digits)
        if caveat := caveats.get(path):
            flagged[caveat] = None
            text = f"{text} {CAVEAT_MARK}"
        return text

    table = _evaluation_rows(report, shown)
    if flagged:
        table.caption = literal(f"{CAVEAT_MARK} " + "; ".join(flagged))
    return table


def _evaluation_rows(report: dict[str, Any], shown) -> Table:
    table = Table(title="vp evaluate", show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("generated", justify="right")
    table.add_column("real (baseline)", justify="right")
    baseline = report["real_baseline_identity"]
    table.add_row("sequences", format_value(report["n_generated"], "i"), format_value(report["n_real"], "i"))
    for statistic in ("mean", "median", "min"):
        table.add_row(f"nearest identity, {statistic}", shown(f"nearest_identity.{statistic}", "%"),
                      format_value(baseline[statistic], "%"))
    table.add_row("exact copies of a real sequence", format_value(report["exact_copies"], "i"), "")
    table.add_row(
        "distinct sequences", format_value(report["distinct"], "i"), format_value(report["real_distinct"], "i")
    )
    if diversity := report.get("diversity"):
        table.add_row(
            f"distinct fraction (samples of {diversity['sample_size']})",
            format_value(diversity["distinct_fraction_generated"], "f", 3),
            format_value(diversity["distinct_fraction_real"], "f", 3),
        )
        table.add_row(
            "mean pairwise identity",
            format_value(diversity["mean_pairwise_identity_generated"], "%"),
            format_value(diversity["mean_pairwise_identity_real"], "%"),
        )
    if fidelity := report.get("fidelity"):
        table.add_row("base frequency r (vs real)", shown("fidelity.base_frequency_r", "f", 3), "")
        table.add_row("6-mer Jensen-Shannon (bits)", format_value(lookup(fidelity, "kmer_js.6"), "f", 4), "")
        table.add_row("GC content", format_value(fidelity["gc_generated"], "%"), format_value(fidelity["gc_real"], "%"))
    if variants := report.get("variants"):
        table.add_row(
            "differences from reference per sequence",
            format_value(variants["mean_differences_generated"], "f", 3),
            format_value(variants["mean_differences_real"], "f", 3),
        )
        table.add_row("variant position r (vs real)", shown("variants.position_r", "f", 3), "")
        table.add_row("differences per sequence, total variation", format_value(lookup(variants, "differences_tvd"), "f", 3),
                      format_value(lookup(variants, "differences_tvd_real"), "f", 3))
        found, total = (format_value(variants[key], "i") for key in ("top20_found", "top20_total"))
        table.add_row("top real variant positions found", f"{found}/{total}", "")
    if validity := report.get("validity"):
        table.add_row(
            "valid ORF",
            shown("validity.valid_fraction_generated", "%"),
            format_value(validity["valid_fraction_real"], "%"),
        )
    if labels := report.get("labels"):
        for name, accuracy in labels["accuracy_generated"].items():
            table.add_row(literal(f"class {name}: recognised by a real-data classifier"), format_value(accuracy, "%"),
                          format_value(labels["accuracy_real"], "%"))
    if (linked := report.get("linkage")) and linked.get("r") is not None:
        table.add_row(f"linkage: r of r^2 over {linked['pairs']} pairs", format_value(linked["r"], "f", 3),
                      format_value(linked.get("r_real"), "f", 3))
        table.add_row("linkage: mean r^2", format_value(linked["r2_mean_generated"], "f", 3),
                      format_value(linked["r2_mean_real"], "f", 3))
    if (mmd := report.get("mmd")) and mmd.get("mmd2") is not None:
        pair = " train vs held-out" if mmd["against"] == "held-out" else " real halves"
        table.add_row(f"MMD^2 vs {mmd['against']} (sigma {mmd['sigma']:g}; 0 ideal)", shown("mmd.mmd2", "g", 3),
                      format_value(mmd["mmd2_real"], "g", 3) + pair)
    if (population := report.get("population")) and population.get("pca_distance") is not None:
        table.add_row("PCA distance to real (0 ideal)", format_value(population["pca_distance"], "f", 3), "")
    if privacy := report.get("privacy"):
        table.add_row(
            "exact-copy rate (vs training)",
            format_value(privacy["exact_copy_rate"], "%"),
            format_value(privacy["holdout_exact_copy_rate"], "%") + " held-out",
        )
        table.add_row(
            "median DCR (bases)",
            format_value(privacy["dcr_median_generated"], "f", 1),
            format_value(privacy["dcr_median_holdout"], "f", 1) + " held-out",
        )
        table.add_row("AATS (0.5 ideal, < 0.5 copying)", shown("privacy.aats_train", "f", 3), "")
        # Its two halves: a mean of 0.5 is also what 0.0 and 1.0 give (argmax decoding's collapse).
        table.add_row("AA_truth / AA_syn (0.5 each ideal)",
                      f"{shown('privacy.aa_truth', 'f', 3)} / {shown('privacy.aa_syn', 'f', 3)}", "")
        if privacy["aats_holdout"] is not None:
            table.add_row("privacy loss (AATS held-out - train)", format_value(privacy["privacy_loss"], "f", 3), "")
        if privacy.get("mia_auc") is not None:
            table.add_row("membership AUC (0.5 ideal, 1 members recognised)",
                          format_value(privacy["mia_auc"], "f", 3), "")
            table.add_row("membership TPR at 1% FPR", format_value(privacy["mia_tpr_at_1pct_fpr"], "f", 3), "")
            table.add_row("membership records per side", format_value(privacy["mia_n"], "i"), "")
    if "blast" in report:
        table.add_row("BLAST identity, mean", shown("blast.mean_identity", "%%"), "")
        table.add_row("BLAST identity, median", shown("blast.median_identity", "%%"), "")
        table.add_row("BLAST queries without hit", format_value(report["blast"]["no_hit"], "i"), "")
    return table


def utility_table(result: dict[str, Any]) -> Table:
    table = Table(
        title=literal(f"classifier utility: logistic regression, tested on {result['n_test']} held-out real "
                      f"(minority {result['minority']}, {result['seeds']} seeds)"),
        caption="(c), (d), (f): imbalanced-learn's RandomOverSampler, SMOTE and SMOTEN",
        header_style="bold",
    )
    table.add_column("training data")
    table.add_column("balanced accuracy", justify="right")
    table.add_column(literal(f"F1 of {result['minority']}"), justify="right")
    reasons: dict[str, None] = {}  # why settings were skipped, once each, under the table
    for value in result.values():
        if isinstance(value, dict) and "skipped" in value:
            table.add_row(literal(value["label"]), "skipped", "skipped")
            reasons[value["skipped"]] = None
        elif isinstance(value, dict) and "label" in value:
            accuracy, f1 = (
                f"{format_value(score['mean'], 'f', 3)} ± {format_value(score['sd'], 'f', 3)}"
                for score in (value["balanced_accuracy"], value["minority_f1"])
            )
            table.add_row(literal(value["label"]), accuracy, f1)
    if reasons:
        table.caption = literal("; ".join([table.caption, *reasons]))
    return table


def balance_table(counts: dict[str, int], generated: dict[str, int]) -> Table:
    table = Table(title="vp balance", header_style="bold")
    for column in ("class", "real (before)", "generated", "after"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for label, count in counts.items():
        table.add_row(literal(label), str(count), str(generated[label]), str(count + generated[label]))
    return table


# The rows of the GAN-vs-baselines table: (section, metric, key path of the generated value, key
# path of the real reference value or None, format_value style). The real reference is real vs
# real (leave-one-out) or, for privacy, held-out vs training.
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
    ("variants", "differences per sequence: total variation", "variants.differences_tvd",
     "variants.differences_tvd_real", "f"),
    ("linkage", "r of real and generated r^2", "linkage.r", "linkage.r_real", "f"),
    ("mmd", "MMD^2 (0 ideal)", "mmd.mmd2", "mmd.mmd2_real", "g"),
    ("population", "PCA distance (0 ideal)", "population.pca_distance", None, "f"),
    ("validity", "valid ORF fraction", "validity.valid_fraction_generated", "validity.valid_fraction_real", "%"),
    ("diversity", "distinct fraction (equal samples)", "diversity.distinct_fraction_generated",
     "diversity.distinct_fraction_real", "f"),
    ("diversity", "mean pairwise identity", "diversity.mean_pairwise_identity_generated",
     "diversity.mean_pairwise_identity_real", "%"),
    ("privacy", "exact-copy rate", "privacy.exact_copy_rate", "privacy.holdout_exact_copy_rate", "%"),
    ("privacy", "median DCR", "privacy.dcr_median_generated", "privacy.dcr_median_holdout", "f"),
    ("privacy", "mean DCR", "privacy.dcr_mean_generated", "privacy.dcr_mean_holdout", "f"),
    ("privacy", "AATS vs training (0.5 ideal)", "privacy.aats_train", None, "f"),
    ("privacy", "AA_truth vs training", "privacy.aa_truth", None, "f"),
    ("privacy", "AA_syn vs training", "privacy.aa_syn", None, "f"),
    ("privacy", "AATS vs held-out", "privacy.aats_holdout", None, "f"),
    ("privacy", "privacy loss", "privacy.privacy_loss", None, "f"),
    # Training vs held-out records told apart by distance to the nearest generated record.
    ("privacy", "membership AUC (0.5 ideal)", "privacy.mia_auc", None, "f"),
    ("privacy", "membership TPR at 1% FPR", "privacy.mia_tpr_at_1pct_fpr", None, "f"),
    ("privacy", "membership records a side", "privacy.mia_n", None, "i"),
    ("utility", "(b) real + generated minority: minority F1", "utility.b_real_plus_generated.minority_f1.mean",
     "utility.a_real.minority_f1.mean", "f"),
    ("utility", "(e) generated only: minority F1", "utility.e_generated_only.minority_f1.mean", None, "f"),
]


def comparison_rows(summaries: dict[str, dict[str, Any]]) -> list[tuple[str, str, list[str], str]]:
    """(section, metric, one formatted value per generator in `summaries` order, the real reference
    from the first summary). A row is left out when no generator has a value for it: its key is
    MISSING or None in every summary (a metric not computed for this run, e.g. without holdout)."""
    rows = []
    first = next(iter(summaries.values()))
    for section, metric, key, real_key, style in COMPARED:
        values = [lookup(summary, key) for summary in summaries.values()]
        if all(value is None or value is MISSING for value in values):
            continue
        real = format_value(lookup(first, real_key), style) if real_key else ""
        rows.append((section, metric, [format_value(value, style) for value in values], real))
    return rows


SHORT_NAMES = {"independent": "PWM", "resample-mutate": "resample"}


def comparison_table(summary: dict[str, Any]) -> Table:
    """The GAN and each baseline generator side by side, with the real reference."""
    summaries = {"GAN": summary, **summary.get("baselines", {})}
    table = Table(title="GAN vs baselines (fitted on the same training split, equal numbers)", header_style="bold",
                  caption="PWM: independent positions; resample: resample-mutate; membership AUC: 0.5 is ideal, "
                          "1 means training records are recognised")
    table.add_column("metric")
    for name in summaries:
        # Short headers leave the metric names room: the table fits 80-100 columns.
        table.add_column(SHORT_NAMES.get(name, name), justify="right")
    table.add_column("real", justify="right")
    for section, metric, values, real in comparison_rows(summaries):
        table.add_row(f"{section}: {metric}", *values, real)
    return table
