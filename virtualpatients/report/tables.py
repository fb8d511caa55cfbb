"""Rich tables for the terminal (stderr); numbers come from the metrics dictionaries."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from rich.table import Table


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


def _percent(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{100 * value:.2f}%"


def _number(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def evaluation_table(report: dict[str, Any]) -> Table:
    table = Table(title="vp evaluate", show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("generated", justify="right")
    table.add_column("real (baseline)", justify="right")
    nearest, baseline = report["nearest_identity"], report["real_baseline_identity"]
    table.add_row("sequences", str(report["n_generated"]), str(report["n_real"]))
    table.add_row("nearest identity, mean", _percent(nearest["mean"]), _percent(baseline["mean"]))
    table.add_row("nearest identity, median", _percent(nearest["median"]), _percent(baseline["median"]))
    table.add_row("nearest identity, min", _percent(nearest["min"]), _percent(baseline["min"]))
    table.add_row("exact copies of a real sequence", str(report["exact_copies"]), "")
    table.add_row("distinct sequences", str(report["distinct"]), str(report["real_distinct"]))
    if diversity := report.get("diversity"):
        table.add_row(
            f"distinct fraction (samples of {diversity['sample_size']})",
            _number(diversity["distinct_fraction_generated"]),
            _number(diversity["distinct_fraction_real"]),
        )
        table.add_row(
            "mean pairwise identity",
            _percent(diversity["mean_pairwise_identity_generated"]),
            _percent(diversity["mean_pairwise_identity_real"]),
        )
    if fidelity := report.get("fidelity"):
        table.add_row("base frequency r (vs real)", _number(fidelity["base_frequency_r"]), "")
        table.add_row("6-mer Jensen-Shannon (bits)", _number(fidelity["kmer_js"]["6"], 4), "")
        table.add_row("GC content", _percent(fidelity["gc_generated"]), _percent(fidelity["gc_real"]))
    if variants := report.get("variants"):
        table.add_row(
            "differences from reference per sequence",
            _number(variants["mean_differences_generated"]),
            _number(variants["mean_differences_real"]),
        )
        table.add_row("variant position r (vs real)", _number(variants["position_r"]), "")
        table.add_row(
            "top real variant positions found", f"{variants['top20_found']}/{variants['top20_total']}", ""
        )
    if validity := report.get("validity"):
        table.add_row(
            "valid ORF", _percent(validity["valid_fraction_generated"]), _percent(validity["valid_fraction_real"])
        )
    if privacy := report.get("privacy"):
        table.add_row(
            "exact-copy rate (vs training)",
            _percent(privacy["exact_copy_rate"]),
            _percent(privacy["holdout_exact_copy_rate"]) + " held-out",
        )
        table.add_row(
            "median DCR (bases)",
            _number(privacy["dcr_median_generated"], 1),
            _number(privacy["dcr_median_holdout"], 1) + " held-out",
        )
        table.add_row("AATS (0.5 ideal, < 0.5 copying)", _number(privacy["aats_train"]), "")
        if privacy["aats_holdout"] is not None:
            table.add_row("privacy loss (AATS held-out - train)", _number(privacy["privacy_loss"]), "")
    if "blast" in report:
        blast = report["blast"]
        table.add_row("BLAST identity, mean", f"{blast['mean_identity']:.2f}%", "")
        table.add_row("BLAST identity, median", f"{blast['median_identity']:.2f}%", "")
        table.add_row("BLAST queries without hit", str(blast["no_hit"]), "")
    return table


def utility_table(result: dict[str, Any]) -> Table:
    table = Table(
        title=f"classifier utility: logistic regression, tested on {result['n_test']} held-out real "
        f"(minority {result['minority']}, {result['seeds']} seeds)",
        header_style="bold",
    )
    table.add_column("training data")
    table.add_column("balanced accuracy", justify="right")
    table.add_column(f"F1 of {result['minority']}", justify="right")
    for value in result.values():
        if isinstance(value, dict) and "label" in value:
            accuracy, f1 = value["balanced_accuracy"], value["minority_f1"]
            table.add_row(
                value["label"], f"{accuracy['mean']:.3f} ± {accuracy['sd']:.3f}", f"{f1['mean']:.3f} ± {f1['sd']:.3f}"
            )
    return table


def balance_table(counts: dict[str, int], generated: dict[str, int]) -> Table:
    table = Table(title="vp balance", header_style="bold")
    for column in ("class", "real (before)", "generated", "after"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for label, count in counts.items():
        table.add_row(label, str(count), str(generated[label]), str(count + generated[label]))
    return table


def comparison_table(summary: dict[str, Any]) -> Table:
    """The GAN and each baseline generator side by side, with the real reference."""
    from ..evaluation.comparison import comparison_rows

    summaries = {"GAN": summary, **summary.get("baselines", {})}
    table = Table(title="GAN vs baselines (fitted on the same training split, equal numbers)", header_style="bold")
    table.add_column("metric")
    for name in summaries:
        table.add_column(name, justify="right")
    table.add_column("real", justify="right")
    for section, metric, values, real in comparison_rows(summaries):
        table.add_row(f"{section}: {metric}", *values, real)
    return table
