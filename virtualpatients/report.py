"""A report folder: PNG plots, metrics.json and report.html, which shows the PNGs lying beside it."""

from __future__ import annotations

import csv
import html
import io
import json
import math
import numbers
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write_bytes
from .errors import InputError
from .tables import jsonable

METRICS_FILE = "metrics.json"
HTML_FILE = "report.html"
DPI = 100
MAX_BINS = 50
MISSING = object()  # a key path absent from the summary (row skipped), unlike a present None ("n/a")

# The metrics table: (section, metric, generated key path, real-baseline key path or None, note).
# The baseline is real vs real (leave-one-out) or, for privacy, holdout vs training: what an unseen
# real sample scores, so a generated value far from it means copying or poor resemblance.
TABLE: list[tuple[str, str, str, str | None, str]] = [
    ("counts", "sequences", "n_generated", "n_real", "real: the training set"),
    ("counts", "holdout sequences", "n_holdout", None, "real sequences kept out of training"),
    ("counts", "sequence length", "length", None, ""),
    ("nearest identity", "mean", "nearest_identity.mean", "real_baseline_identity.mean",
     "to the nearest real sequence; real: nearest other real one"),
    ("nearest identity", "median", "nearest_identity.median", "real_baseline_identity.median", ""),
    ("nearest identity", "min", "nearest_identity.min", "real_baseline_identity.min", ""),
    ("nearest identity", "max", "nearest_identity.max", "real_baseline_identity.max", ""),
    ("copies", "exact copies of a real sequence", "exact_copies", None, "0 is ideal"),
    ("copies", "distinct sequences", "distinct", "real_distinct", ""),
    ("fidelity", "base-frequency correlation", "fidelity.base_frequency_r", None, "Pearson r; 1 is ideal"),
    *[("fidelity", f"{k}-mer Jensen-Shannon divergence", f"fidelity.kmer_js.{k}", None, "0 is ideal" * (k == 1))
      for k in range(1, 7)],
    ("fidelity", "GC content", "fidelity.gc_generated", "fidelity.gc_real", ""),
    ("variants", "reference", "variants.reference", None, "variants are differences from it"),
    ("variants", "variant-frequency correlation", "variants.position_r", None, "along the sequence; 1 is ideal"),
    ("variants", "top-20 real variants found", "variants.top20_found", "variants.top20_total",
     "real: all of them (fewer than 20 where real has fewer)"),
    ("variants", "mean differences from the reference", "variants.mean_differences_generated",
     "variants.mean_differences_real", ""),
    ("validity", "coding-sequence checks apply", "validity.applies", None, "the reference is an open reading frame"),
    ("validity", "valid fraction", "validity.valid_fraction_generated", "validity.valid_fraction_real",
     "ATG start, stop at the end, no internal stop"),
    ("validity", "starts with ATG", "validity.starts_with_atg_generated", None, "fraction"),
    ("validity", "ends with a stop codon", "validity.ends_with_stop_generated", None, "fraction"),
    ("validity", "no internal stop codon", "validity.no_internal_stop_generated", None, "fraction"),
    ("diversity", "distinct fraction", "diversity.distinct_fraction_generated", "diversity.distinct_fraction_real",
     ""),
    ("diversity", "mean pairwise identity", "diversity.mean_pairwise_identity_generated",
     "diversity.mean_pairwise_identity_real", "above real means less diverse"),
    ("diversity", "mode collapse", "diversity.mode_collapse", None, ""),
    ("privacy", "exact-copy rate (vs training)", "privacy.exact_copy_rate", "privacy.holdout_exact_copy_rate",
     "real: holdout sequences equal to a training one"),
    ("privacy", "median DCR", "privacy.dcr_median_generated", "privacy.dcr_median_holdout",
     "differences to the closest training record; real: holdout"),
    ("privacy", "mean DCR", "privacy.dcr_mean_generated", "privacy.dcr_mean_holdout", ""),
    ("privacy", "median DCR ratio", "privacy.dcr_median_ratio", None,
     "generated / holdout; about 1 is ideal, below 1 means closer to training than unseen data is"),
    ("privacy", "adversarial accuracy AATS", "privacy.aats_train", "privacy.aats_holdout",
     "vs training; real: holdout vs training. 0.5 is ideal; below 0.5 means copying"),
    ("privacy", "AA truth", "privacy.aa_truth", None, "AATS part from the real records"),
    ("privacy", "AA synthetic", "privacy.aa_syn", None, "AATS part from the generated records"),
    ("privacy", "privacy loss", "privacy.privacy_loss", None, "AATS holdout - AATS training; about 0 is ideal"),
    ("BLAST", "identity, mean", "blast.mean_identity", None, "best hit: identical bases / query length"),
    ("BLAST", "identity, median", "blast.median_identity", None, ""),
    ("BLAST", "queries without hit", "blast.no_hit", None, "megablast needs an exact 28-base word"),
    ("BLAST", "queries", "blast.n_queries", None, ""),
]


def read_history(path: Path) -> list[dict[str, float]]:
    """Rows of a run's history.csv as floats (an empty cell is NaN); an empty file gives []."""
    history = []
    with open(path, newline="") as stream:
        for line, row in enumerate(csv.DictReader(stream), start=2):
            try:
                history.append({k: float(v) if v not in ("", None) else math.nan for k, v in row.items()})
            except (TypeError, ValueError):
                raise InputError(f"{path}: line {line}: not a number in {dict(row)}") from None
    return history


def lookup(summary: dict[str, Any] | None, key_path: str) -> Any:
    node: Any = summary
    for key in key_path.split("."):
        if isinstance(node, dict) and key not in node and key.isdigit():
            key = int(key)  # kmer_js may be keyed 1..6 in Python, "1".."6" after a JSON round trip
        if not isinstance(node, dict) or key not in node:
            return MISSING
        node = node[key]
    return node


def format_value(key_path: str, value: Any) -> str:
    if value is MISSING or value is None:
        return "n/a"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            return "n/a" if math.isnan(value) else str(float(value))
        # BLAST reports identity in percent already; the in-process identities are fractions.
        if key_path.startswith("blast.") and "identity" in key_path:
            return f"{value:.4g}%"
        if "identity" in key_path and value <= 1:
            return f"{100 * value:.4g}%"
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."  # e.g. a whole reference sequence


def table_rows(summary: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Formatted rows of TABLE; a row is left out when neither of its values is in the summary."""
    rows = []
    for section, label, generated_path, real_path, note in TABLE:
        generated = lookup(summary, generated_path)
        real = lookup(summary, real_path) if real_path else MISSING
        if generated is MISSING and real is MISSING:
            continue
        real_text = format_value(real_path, real) if real_path else ""
        rows.append((section, label, format_value(generated_path, generated), real_text, note))
    return rows


# ---------------------------------------------------------------- plots


def _groups(arrays: dict[str, np.ndarray], keys: dict[str, str], scale: float = 1.0) -> dict[str, np.ndarray]:
    """Finite values of each array that is present and not empty, by legend label."""
    data = {}
    for label, key in keys.items():
        values = np.asarray(arrays[key] if arrays.get(key) is not None else [], dtype=float).ravel()
        if (values := values[np.isfinite(values)]).size:
            data[label] = scale * values
    return data


def _bins(values: np.ndarray, integer: bool) -> np.ndarray:
    """Shared edges: one per integer, or centred on the data's own grid (identities are multiples of 1/L)."""
    if integer:
        low, high = int(values.min()), int(values.max())
        width = max(1, math.ceil((high - low + 1) / MAX_BINS))
        return np.arange(low, high + width + 1, width) - 0.5
    unique = np.unique(np.round(values, 9))
    if unique.size == 1:
        return np.array([unique[0] - 0.5, unique[0] + 0.5])
    step = np.diff(unique).min()
    grid = (unique - unique[0]) / step
    if grid[-1] < MAX_BINS and np.allclose(grid, np.round(grid)):
        return unique[0] - step / 2 + step * np.arange(round(grid[-1]) + 2)
    edges = np.histogram_bin_edges(values, bins="auto")
    return edges if edges.size - 1 <= MAX_BINS else np.histogram_bin_edges(values, bins=MAX_BINS)


def _plot_bars(
    plt: Any, arrays: dict[str, np.ndarray], keys: dict[str, str], scale: float, integer: bool, xlabel: str,
    title: str,
) -> Any:
    """Side-by-side histogram bars on shared bins: overlaid ones hide each other on discrete data."""
    data = _groups(arrays, keys, scale)
    if next(iter(keys)) not in data:  # the first group (generated) is needed, a baseline is optional
        return None
    edges = _bins(np.concatenate(list(data.values())), integer)
    centres, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges).min() * 0.8 / len(data)
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for i, (label, values) in enumerate(data.items()):
        # Fractions of sequences, not counts: groups of different sizes stay comparable.
        ax.bar(centres + (i - (len(data) - 1) / 2) * width, np.histogram(values, edges)[0] / values.size,
               width=width, label=f"{label} (n={values.size})")
    if integer:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        ax.ticklabel_format(axis="x", useOffset=False)  # identities near 100 would read "+9.9e1"
    ax.margins(y=0.25)  # headroom for the legend
    ax.set(xlabel=xlabel, ylabel="fraction of sequences", title=title)
    ax.legend(loc="upper left")
    return fig


def _plot_base_frequencies(plt: Any, summary: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    data = _groups(arrays, {"real": "base_freq_real", "generated": "base_freq_generated"})
    if len(data) < 2 or data["real"].size != data["generated"].size:
        return None
    title, r = "Base frequency per position and base", lookup(summary, "fidelity.base_frequency_r")
    if isinstance(r, numbers.Real) and math.isfinite(r):
        title += f"\nPearson r = {r:.4f}"
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="y = x")
    ax.scatter(data["real"], data["generated"], s=10, alpha=0.6, label=f"position × base (n={data['real'].size})")
    ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), aspect="equal", xlabel="real frequency",
           ylabel="generated frequency", title=title)
    ax.legend(loc="upper left")
    return fig


def _plot_variants(plt: Any, arrays: dict[str, np.ndarray]) -> Any:
    data = _groups(arrays, {"real": "variant_freq_real", "generated": "variant_freq_generated"})
    if len(data) < 2:
        return None
    fig, axes = plt.subplots(2, 1, figsize=(8, 4.8), sharex=True, sharey=True)
    for ax, (label, values), colour in zip(axes, data.items(), ("C0", "C1")):
        ax.vlines(np.arange(1, values.size + 1), 0, values, color=colour, linewidth=1.2, label=label)
        ax.set_ylabel("variant frequency")
        ax.legend(loc="upper right")
    axes[0].set_title("Variant frequency along the sequence (fraction differing from the reference)")
    axes[1].set_xlabel("position")
    return fig


def _plot_history(
    plt: Any, history: list[dict[str, float]], keys: dict[str, str], ylabel: str, title: str,
    line: tuple[float, str] | None,
) -> Any:
    rows = [row for row in history if "step" in row and all(key in row for key in keys)]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for key, label in keys.items():
        ax.plot([row["step"] for row in rows], [row[key] for row in rows], label=label)
    if line is not None:  # D outputs and accuracies live in [0, 1]; 1/2 is where D cannot tell
        ax.axhline(line[0], color="grey", linestyle="--", linewidth=1, label=line[1])
        ax.set_ylim(-0.02, 1.02)
    ax.set(xlabel="training step", ylabel=ylabel, title=title)
    ax.legend()
    return fig


def _figures(
    plt: Any, summary: dict[str, Any], arrays: dict[str, np.ndarray], history: list[dict[str, float]]
) -> Iterator[tuple[str, str, Any]]:
    """(file, caption, figure or None where inputs are missing), drawn one at a time, each closed in turn."""
    critic = any("wasserstein" in row for row in history)  # WGAN scores are not probabilities
    plots: list[tuple[str, str, Callable[[], Any]]] = [
        ("discriminator.png", "Mean critic scores and their difference, the Wasserstein estimate (WGAN-GP)."
         if critic else "Mean discriminator output on real and on generated batches; both approach 1/2 when "
         "the generator succeeds.", lambda: _plot_history(
             plt, history, {"d_real": "critic(real)", "d_fake": "critic(generated)", "wasserstein": "Wasserstein "
                            "estimate"}, "critic score", "Critic (WGAN-GP)", None) if critic else _plot_history(
             plt, history, {"d_real": "D(real)", "d_fake": "D(fake)"}, "mean D output", "Discriminator output",
             (0.5, "equilibrium 1/2"))),
        ("discriminator_accuracy.png", "Discriminator accuracy on real and on generated batches.",
         lambda: _plot_history(plt, history, {"acc_real": "accuracy on real", "acc_fake": "accuracy on generated"},
                               "accuracy", "Discriminator accuracy", (0.5, "chance 1/2"))),
        ("losses.png", "Discriminator and generator losses.",
         lambda: _plot_history(plt, history, {"loss_d": "loss D", "loss_g": "loss G"}, "loss", "Training losses",
                               None)),
        ("nearest_identity.png", "Identity of each generated sequence to its nearest real one, beside real versus "
         "real (leave-one-out).", lambda: _plot_bars(
             plt, arrays, {"generated → nearest real": "nearest_identity_generated",
                           "real → nearest other real": "nearest_identity_real"}, 100, False,
             "identity to the nearest real sequence (%)", "Nearest-neighbour identity")),
        ("dcr.png", "Distance to the closest training record: generated beside unseen holdout records.",
         lambda: _plot_bars(plt, arrays, {"generated": "dcr_generated", "holdout (real, unseen)": "dcr_holdout"}, 1,
                            True, "distance to the closest training record (differences)",
                            "Distance to closest record (DCR)")),
        ("base_frequencies.png", "Per-position base frequencies, generated against real.",
         lambda: _plot_base_frequencies(plt, summary, arrays)),
        ("variants.png", "Where the sequences differ from the reference.", lambda: _plot_variants(plt, arrays)),
        ("differences.png", "Number of differences from the reference per sequence.", lambda: _plot_bars(
            plt, arrays, {"generated": "differences_per_sequence_generated", "real": "differences_per_sequence_real"},
            1, True, "differences from the reference per sequence", "Differences from the reference")),
    ]
    for name, caption, draw in plots:
        yield name, caption, draw()


# ---------------------------------------------------------------- HTML

STYLE = """body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px}
th{background:#f0f0f0;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.warning{background:#fff3cd;border:1px solid #e0a800;padding:.8em;font-weight:bold}
figure{display:inline-block;margin:1em 1em 1em 0;max-width:100%}img{max-width:100%}
figcaption{font-size:13px;color:#555;max-width:640px}"""


def _html(title: str, summary: dict[str, Any], figures: list[tuple[str, str]]) -> str:
    e = html.escape
    counts = ", ".join(f"{format_value(key, lookup(summary, key))} {name}" for key, name in (
        ("n_generated", "generated"), ("n_real", "real (training)"), ("n_holdout", "holdout"),
        ("length", "bases long")))
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(title)}</title>",
             f"<style>{STYLE}</style></head><body>", f"<h1>{e(title)}</h1>", f"<p>{e(counts)}</p>"]
    warning = lookup(summary, "diversity.warning")
    if warning not in (MISSING, None, ""):
        parts.append(f"<p class=\"warning\">Warning: {e(str(warning))}</p>")
    parts.append("<h2>Metrics</h2><table><tr><th>section</th><th>metric</th><th>generated</th>"
                 "<th>real (baseline)</th><th>note</th></tr>")
    for section, label, generated, real, note in table_rows(summary):
        parts.append(f"<tr><td>{e(section)}</td><td>{e(label)}</td><td class=\"num\">{e(generated)}</td>"
                     f"<td class=\"num\">{e(real)}</td><td>{e(note)}</td></tr>")
    parts.append("</table>")
    if figures:
        parts.append("<h2>Plots</h2>")
    for name, caption in figures:
        parts.append(f"<figure><img src=\"{e(name)}\" alt=\"{e(caption)}\">"
                     f"<figcaption>{e(caption)}</figcaption></figure>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_report(
    out_dir: Path,
    summary: dict,
    arrays: dict[str, np.ndarray],
    history: list[dict[str, float]],
    title: str = "vp report",
) -> list[Path]:
    """Write the plots whose inputs exist, metrics.json and report.html; return the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary, arrays, history = summary or {}, arrays or {}, history or []
    import matplotlib

    # Agg draws without a display (servers, CI); an already-imported pyplot keeps its backend.
    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: list[Path] = []
    figures: list[tuple[str, str]] = []
    for name, caption, fig in _figures(plt, summary, arrays, history):
        if fig is None:
            # A plot left from an earlier report into this folder would no longer match the data.
            (out_dir / name).unlink(missing_ok=True)
            continue
        try:
            buffer = io.BytesIO()
            fig.tight_layout()
            fig.savefig(buffer, format="png", dpi=DPI)
        finally:
            plt.close(fig)
        atomic_write_bytes(out_dir / name, buffer.getvalue())
        written.append(out_dir / name)
        figures.append((name, caption))
    metrics = json.dumps(jsonable(summary), indent=2, allow_nan=False) + "\n"
    atomic_write_bytes(out_dir / METRICS_FILE, metrics.encode())
    atomic_write_bytes(out_dir / HTML_FILE, _html(title, summary, figures).encode())
    return written + [out_dir / METRICS_FILE, out_dir / HTML_FILE]
