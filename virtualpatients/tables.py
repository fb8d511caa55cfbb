"""Rich tables for the terminal (stderr); numbers come from the metrics dictionaries."""

from __future__ import annotations

from typing import Any

from rich.table import Table


def _percent(value: float) -> str:
    return f"{100 * value:.2f}%"


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
    if "blast" in report:
        blast = report["blast"]
        table.add_row("BLAST identity, mean", f"{blast['mean_identity']:.2f}%", "")
        table.add_row("BLAST identity, median", f"{blast['median_identity']:.2f}%", "")
        table.add_row("BLAST queries without hit", str(blast["no_hit"]), "")
    return table
