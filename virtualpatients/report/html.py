"""A report folder: PNG plots, metrics.json and report.html, which shows the PNGs lying beside it."""

from __future__ import annotations

import html
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write_bytes
from .format import MISSING, escape_controls, format_value, lookup
from .plots import figures as draw_figures
from .tables import CAVEAT_MARK, comparison_rows, jsonable

METRICS_FILE = "metrics.json"
HTML_FILE = "report.html"
DPI = 100

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
    ("variants", "differences per sequence: total variation distance", "variants.differences_tvd",
     "variants.differences_tvd_real", "between the generated and real distributions of differences per sequence; "
     "0 is ideal; real: as many held-out (or other) real records against the real set"),
    ("linkage", "r of real and generated r^2", "linkage.r", "linkage.r_real",
     "r^2 of variant indicators for every pair of positions with real variant frequency >= 1%; 1 is ideal; "
     "real: the same real records as for the total variation"),
    ("MMD", "squared maximum mean discrepancy", "mmd.mmd2", "mmd.mmd2_real",
     "unbiased MMD^2, Gaussian kernel on the number of differing positions; about 0 is ideal; "
     "real: training vs held-out, or two halves of the real set"),
    ("MMD", "compared with", "mmd.against", None, "held-out real records where there are, else training"),
    ("MMD", "kernel bandwidth sigma", "mmd.sigma", None, "in differing positions (10.02: the published protocol)"),
    ("linkage", "mean r^2", "linkage.r2_mean_generated", "linkage.r2_mean_real", ""),
    ("population", "PCA distance", "population.pca_distance", None,
     "Wasserstein distance on the first principal axes of the real data, in real sd; 0 is ideal"),
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
    ("privacy", "membership inference AUC", "privacy.mia_auc", None,
     "distance to the nearest generated record as a test of training (member) vs holdout records; "
     "0.5 is ideal, 1 means members are recognised"),
    ("privacy", "membership inference TPR at 1% FPR", "privacy.mia_tpr_at_1pct_fpr", None,
     "share of training records found while at most 1% of holdout ones are flagged; about 0.01 is ideal"),
    ("privacy", "membership inference records per side", "privacy.mia_n", None,
     "training and holdout records compared, in equal numbers"),
    ("BLAST", "identity, mean", "blast.mean_identity", None, "best hit: identical bases / query length"),
    ("BLAST", "identity, median", "blast.median_identity", None, ""),
    ("BLAST", "queries without hit", "blast.no_hit", None, "megablast needs an exact 28-base word"),
    ("BLAST", "queries", "blast.n_queries", None, ""),
]


# The format_value style of a TABLE key path where it is not "g" (a number of any scale, or text):
# the identities computed here are fractions, shown as percent; BLAST reports identity in percent.
PATH_STYLES = {
    **{f"{group}.{statistic}": "%" for group in ("nearest_identity", "real_baseline_identity")
       for statistic in ("mean", "median", "min", "max")},
    "diversity.mean_pairwise_identity_generated": "%",
    "diversity.mean_pairwise_identity_real": "%",
    "blast.mean_identity": "%%",
    "blast.median_identity": "%%",
}


def _shown(summary: dict[str, Any], key_path: str) -> str:
    return format_value(lookup(summary, key_path), PATH_STYLES.get(key_path, "g"))


def table_rows(summary: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Formatted rows of TABLE; a row is left out when neither of its key paths is in the summary
    (MISSING), while a value that is there but None or NaN shows as "n/a"."""
    rows = []
    caveats = (summary.get("verdict") or {}).get("caveats") or {}
    for section, label, generated_path, real_path, note in TABLE:
        if lookup(summary, generated_path) is MISSING and (real_path is None or lookup(summary, real_path) is MISSING):
            continue
        real_text = _shown(summary, real_path) if real_path else ""
        generated_text = _shown(summary, generated_path)
        if caveat := caveats.get(generated_path):
            generated_text, note = f"{generated_text} {CAVEAT_MARK}", caveat + (f"; {note}" if note else "")
        rows.append((section, label, generated_text, real_text, note))
    return rows


# ---------------------------------------------------------------- plots


# ---------------------------------------------------------------- HTML

STYLE = """body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px}
th{background:#f0f0f0;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.warning{background:#fff3cd;border:1px solid #e0a800;padding:.8em;font-weight:bold}
figure{display:inline-block;margin:1em 1em 1em 0;max-width:100%}img{max-width:100%}
figcaption{font-size:13px;color:#555;max-width:640px}"""


def _html(title: str, summary: dict[str, Any], figures: list[tuple[str, str]]) -> str:
    def e(text: str) -> str:
        # Controls escaped as in the terminal: a lone surrogate (a non-UTF-8 folder name) cannot
        # even be encoded to UTF-8, and the rest would be invisible.
        return html.escape(escape_controls(text))

    counts = ", ".join(f"{_shown(summary, key)} {name}" for key, name in (
        ("n_generated", "generated"), ("n_real", "real (training)"), ("n_holdout", "holdout"),
        ("length", "bases long")))
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(title)}</title>",
             f"<style>{STYLE}</style></head><body>", f"<h1>{e(title)}</h1>", f"<p>{e(counts)}</p>"]
    verdict = summary.get("verdict") or {}
    if verdict.get("reasons"):
        items = "".join(f"<li>{e(reason)}</li>" for reason in verdict["reasons"])
        parts.append(f"<div class=\"warning\"><p><b>Verdict: {e(verdict['status'])}</b></p><ul>{items}</ul></div>")
    elif verdict:
        parts.append(f"<p><b>Verdict: {e(verdict['status'])}</b></p>")
    warning = lookup(summary, "diversity.warning")
    if warning not in (MISSING, None, ""):
        parts.append(f"<p class=\"warning\">Warning: {e(str(warning))}</p>")
    parts.append("<h2>Metrics</h2><table><tr><th>section</th><th>metric</th><th>generated</th>"
                 "<th>real (baseline)</th><th>note</th></tr>")
    for section, label, generated, real, note in table_rows(summary):
        parts.append(f"<tr><td>{e(section)}</td><td>{e(label)}</td><td class=\"num\">{e(generated)}</td>"
                     f"<td class=\"num\">{e(real)}</td><td>{e(note)}</td></tr>")
    parts.append("</table>")
    if summary.get("baselines"):
        generators = {"GAN": summary, **summary["baselines"]}
        parts.append("<h2>GAN and baseline generators</h2><p>Each baseline is fitted on the same training split "
                     "and draws as many sequences of each class as the GAN's set. Membership AUC: 0.5 is "
                     "ideal, 1 means training records are recognised.</p><table><tr><th>section</th>"
                     "<th>metric</th>" + "".join(f"<th>{e(name)}</th>" for name in generators) + "<th>real</th></tr>")
        for section, label, values, real in comparison_rows(generators):
            cells = "".join(f"<td class=\"num\">{e(value)}</td>" for value in values)
            parts.append(f"<tr><td>{e(section)}</td><td>{e(label)}</td>{cells}<td class=\"num\">{e(real)}</td></tr>")
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
    for name, caption, fig in draw_figures(plt, summary, arrays, history):
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
