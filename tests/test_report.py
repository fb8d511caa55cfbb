import json
import math
import re

import numpy as np
import pytest

from virtualpatients.gan.rundir import history_csv
from virtualpatients.gan.rundir import read_history
from virtualpatients.report.html import table_rows, write_report

ALL_PLOTS = {
    "discriminator.png", "discriminator_accuracy.png", "losses.png", "nearest_identity.png", "dcr.png",
    "base_frequencies.png", "variants.png", "differences.png",
}
HISTORY_PLOTS = {"discriminator.png", "discriminator_accuracy.png", "losses.png"}
L, C, N_GEN, N_REAL, N_HOLDOUT = 50, 4, 30, 40, 10


def _inputs(holdout: bool = True) -> tuple[dict, dict, list]:
    rng = np.random.default_rng(0)
    base_real = rng.dirichlet(np.full(C, 0.3), size=L)
    base_generated = np.clip(base_real + rng.normal(0, 0.02, (L, C)), 0, 1)
    variants_real = np.where(rng.random(L) < 0.2, rng.random(L) * 0.3, 0.0)
    arrays = {
        # identities are multiples of 1/L and concentrated near 1, as on real data
        "nearest_identity_generated": 1 - rng.integers(0, 3, N_GEN) / L,
        "nearest_identity_real": 1 - rng.integers(1, 4, N_REAL) / L,
        "dcr_generated": rng.integers(0, 4, N_GEN),
        "base_freq_real": base_real,
        "base_freq_generated": base_generated,
        "variant_freq_real": variants_real,
        "variant_freq_generated": np.clip(variants_real + rng.normal(0, 0.02, L), 0, 1),
        "differences_per_sequence_real": rng.integers(0, 4, N_REAL),
        "differences_per_sequence_generated": rng.integers(0, 3, N_GEN),
    }
    if holdout:
        arrays["dcr_holdout"] = rng.integers(1, 5, N_HOLDOUT)
    identity = {"mean": 0.98, "median": 0.98, "min": 0.96, "max": 1.0}
    summary = {
        "n_generated": N_GEN, "n_real": N_REAL, "n_holdout": N_HOLDOUT if holdout else None, "length": L,
        "nearest_identity": identity, "real_baseline_identity": {**identity, "mean": math.nan},
        "exact_copies": 3, "distinct": 25, "real_distinct": 38,
        "fidelity": {"base_frequency_r": 0.993, "kmer_js": {str(k): 0.01 * k for k in range(1, 7)},
                     "gc_real": 0.51, "gc_generated": 0.5},
        "variants": {"reference": "ref<b>1</b>", "position_r": 0.9, "top20_found": 12, "top20_total": 20,
                     "mean_differences_real": 1.5, "mean_differences_generated": 1.1},
        "validity": None,
        "diversity": {"distinct_fraction_generated": 0.83, "distinct_fraction_real": 0.95,
                      "mean_pairwise_identity_generated": 0.97, "mean_pairwise_identity_real": 0.96,
                      "mode_collapse": True, "warning": "only 25 distinct sequences: mode collapse?",
                      "sample_size": N_GEN},
        "privacy": {"exact_copy_rate": 0.1, "holdout_exact_copy_rate": 0.0 if holdout else None,
                    "dcr_median_generated": 1.0, "dcr_median_holdout": 2.0, "dcr_median_ratio": 0.5,
                    "dcr_mean_generated": 1.2, "dcr_mean_holdout": 2.1, "aats_train": 0.31,
                    "aats_holdout": 0.48, "privacy_loss": 0.17, "aa_truth": 0.3, "aa_syn": 0.32,
                    "mia_auc": 0.62 if holdout else None, "mia_tpr_at_1pct_fpr": 0.1 if holdout else None,
                    "mia_n": N_HOLDOUT if holdout else None},
    }
    history = [
        {"step": float(s), "loss_d": 1.0 + s / 500, "loss_g": 1.2 - s / 500, "d_real": 0.8 - s / 1000,
         "d_fake": 0.2 + s / 1000, "acc_real": 0.9 - s / 1000, "acc_fake": 0.85 - s / 1000}
        for s in range(1, 201, 10)
    ]
    return summary, arrays, history if holdout else []


def _referenced(html: str) -> set[str]:
    return set(re.findall(r'<img src="([^"]+)"', html))


def _pngs(folder) -> set[str]:
    return {p.name for p in folder.glob("*.png")}


def test_full_report(tmp_path):
    summary, arrays, history = _inputs()
    written = write_report(tmp_path / "report", summary, arrays, history, title="TP53 <run>")
    folder = tmp_path / "report"
    assert {p.name for p in written} == ALL_PLOTS | {"metrics.json", "report.html"}
    assert _pngs(folder) == ALL_PLOTS
    for name in ALL_PLOTS:
        assert (folder / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    page = (folder / "report.html").read_text()
    assert _referenced(page) == ALL_PLOTS
    assert "base64" not in page
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["real_baseline_identity"]["mean"] is None and metrics["validity"] is None
    assert "NaN" not in (folder / "metrics.json").read_text()
    assert "only 25 distinct sequences: mode collapse?" in page
    assert "ref&lt;b&gt;1&lt;/b&gt;" in page and "<b>1</b>" not in page
    assert "<title>TP53 &lt;run&gt;</title>" in page
    assert "98.00%" in page and "n/a" in page  # identity as percent, NaN as n/a


def test_no_holdout_no_history(tmp_path):
    summary, arrays, history = _inputs(holdout=False)
    write_report(tmp_path, summary, arrays, history)
    assert _pngs(tmp_path) == ALL_PLOTS - HISTORY_PLOTS
    assert _referenced((tmp_path / "report.html").read_text()) == ALL_PLOTS - HISTORY_PLOTS


def test_stale_plots_are_removed_and_missing_inputs_skipped(tmp_path):
    summary, arrays, history = _inputs()
    write_report(tmp_path, summary, {"nearest_identity_real": arrays["nearest_identity_real"]}, history)
    assert _pngs(tmp_path) == HISTORY_PLOTS  # a baseline alone is not plotted
    write_report(tmp_path, {}, {"dcr_generated": np.array([0, 0, 0])}, [])
    assert _pngs(tmp_path) == {"dcr.png"}
    assert _referenced((tmp_path / "report.html").read_text()) == {"dcr.png"}
    assert json.loads((tmp_path / "metrics.json").read_text()) == {}


def test_constant_identities_still_plot(tmp_path):
    arrays = {"nearest_identity_generated": np.ones(5), "nearest_identity_real": np.ones(5)}
    write_report(tmp_path, {}, arrays, [])
    assert _pngs(tmp_path) == {"nearest_identity.png"}


def test_table_rows_pair_generated_with_baseline():
    summary, _, _ = _inputs()
    rows = {(section, label): (generated, real) for section, label, generated, real, _ in table_rows(summary)}
    assert rows[("privacy", "median DCR")] == ("1", "2")
    assert rows[("privacy", "adversarial accuracy AATS")] == ("0.31", "0.48")
    assert rows[("privacy", "membership inference AUC")] == ("0.62", "")
    assert rows[("privacy", "membership inference TPR at 1% FPR")] == ("0.1", "")
    assert rows[("privacy", "membership inference records per side")] == ("10", "")
    assert rows[("variants", "top-20 real variants found")] == ("12", "20")
    assert rows[("variants", "reference")] == ("ref<b>1</b>", "")  # escaped when written into HTML
    assert rows[("nearest identity", "mean")] == ("98.00%", "n/a")
    assert rows[("diversity", "mean pairwise identity")] == ("97.00%", "96.00%")
    assert rows[("fidelity", "6-mer Jensen-Shannon divergence")] == ("0.06", "")
    assert rows[("diversity", "mode collapse")] == ("yes", "")
    assert not any(section in ("validity", "BLAST") for section, _ in rows)  # absent sections


def test_read_history_round_trip(tmp_path):
    history = [{"step": 1, "loss_d": 1.25, "d_real": 0.5}, {"step": 10, "loss_d": 0.75, "d_real": 0.625}]
    path = tmp_path / "history.csv"
    path.write_bytes(history_csv(history))
    assert read_history(tmp_path) == [{k: float(v) for k, v in row.items()} for row in history]
    path.write_bytes(history_csv([]))
    assert read_history(tmp_path) == []
    assert read_history(tmp_path / "no-run-here") == []


@pytest.mark.parametrize("text", ["step,loss_d\n1,abc\n"])
def test_read_history_refuses_non_numbers(tmp_path, text):
    from virtualpatients.errors import InputError

    path = tmp_path / "history.csv"
    path.write_text(text)
    with pytest.raises(InputError, match="line 2"):
        read_history(tmp_path)


def test_wasserstein_history_plots_the_critic(tmp_path):
    summary, arrays, history = _inputs()
    for row in history:
        row["d_real"], row["d_fake"] = 3.0 + row["step"], -2.0
        row["wasserstein"] = row["d_real"] - row["d_fake"]
    write_report(tmp_path, summary, arrays, history)
    html = (tmp_path / "report.html").read_text()
    assert "discriminator.png" in _pngs(tmp_path) and "Wasserstein estimate" in html


def test_table_rows_show_missing_and_none_apart():
    rows = {(section, label): (generated, real) for section, label, generated, real, _ in table_rows({
        "n_generated": 30, "n_holdout": None, "length": 50,
        "privacy": {"dcr_median_generated": 1.5, "dcr_median_holdout": None, "dcr_median_ratio": math.inf},
        "blast": {"mean_identity": 97.5, "median_identity": None, "no_hit": 2},
    })}
    assert rows[("counts", "sequences")] == ("30", "n/a")  # n_real missing, but n_generated is there
    assert rows[("counts", "holdout sequences")] == ("n/a", "")  # present None: shown as n/a
    assert rows[("privacy", "median DCR")] == ("1.5", "n/a")
    assert rows[("privacy", "median DCR ratio")] == ("n/a", "")  # infinity
    assert rows[("BLAST", "identity, mean")] == ("97.50%", "")  # already in percent
    assert rows[("BLAST", "identity, median")] == ("n/a", "")
    assert rows[("BLAST", "queries without hit")] == ("2", "")
    assert ("privacy", "mean DCR") not in rows and ("BLAST", "queries") not in rows  # missing: left out


def test_the_metrics_and_comparison_tables_show_a_value_alike(tmp_path):
    summary, arrays, history = _inputs()
    summary["real_baseline_identity"]["mean"] = 0.975
    summary["baselines"] = {"copy": {**summary, "nearest_identity": {"mean": 1.0}}}
    write_report(tmp_path, summary, {}, [])
    page = (tmp_path / "report.html").read_text()
    metrics_row = re.search(r"<td>nearest identity</td><td>mean</td>(.*?)</tr>", page).group(1)
    comparison_row = re.findall(r"<td>nearest identity</td><td>mean</td>(.*?)</tr>", page)[1]
    assert re.findall(r'class="num">([^<]*)<', metrics_row) == ["98.00%", "97.50%"]
    assert re.findall(r'class="num">([^<]*)<', comparison_row) == ["98.00%", "100.00%", "97.50%"]


def test_the_membership_attack_shows_in_the_terminal_table_only_with_a_holdout():
    from rich.console import Console

    from virtualpatients.report.tables import evaluation_table

    def text(summary):
        console = Console(width=120, record=True, file=open("/dev/null", "w"))
        console.print(evaluation_table(summary))
        return console.export_text()

    summary, _, _ = _inputs()
    shown = text(summary)
    auc_line = next(line for line in shown.splitlines() if "membership AUC" in line)
    assert "0.620" in auc_line and "membership TPR at 1% FPR" in shown and "membership records per side" in shown
    halves = next(line for line in shown.splitlines() if "AA_truth / AA_syn" in line)
    assert "0.300 / 0.320" in halves  # the two halves of AATS 0.31, shown with it
    assert "membership" not in text(_inputs(holdout=False)[0])
    note = next(n for _, label, _, _, n in table_rows(summary) if label == "membership inference AUC")
    assert "0.5 is ideal, 1 means members are recognised" in note


def test_mmd_shows_beside_its_real_pair_in_every_table(tmp_path):
    from rich.console import Console

    from virtualpatients.report.tables import comparison_table, evaluation_table

    summary, _, _ = _inputs()
    summary["mmd"] = {"mmd2": 0.00343, "sigma": 10.02, "against": "held-out", "n_generated": N_GEN,
                      "n_against": N_HOLDOUT, "mmd2_real": 0.00016, "real_pair": "training vs held-out",
                      "n_real_pair": [N_REAL, N_HOLDOUT]}
    summary["variants"] |= {"differences_tvd": 0.58, "differences_tvd_real": 0.04}
    summary["baselines"] = {"independent": {**summary, "mmd": {**summary["mmd"], "mmd2": 0.0122}}}
    rows = {(section, label): (generated, real) for section, label, generated, real, _ in table_rows(summary)}
    assert rows[("MMD", "squared maximum mean discrepancy")] == ("0.00343", "0.00016")
    assert rows[("MMD", "compared with")] == ("held-out", "") and rows[("MMD", "kernel bandwidth sigma")] == ("10.02", "")
    assert rows[("variants", "differences per sequence: total variation distance")] == ("0.58", "0.04")
    console = Console(width=120, record=True, file=open("/dev/null", "w"))
    console.print(evaluation_table(summary))
    console.print(comparison_table(summary))
    lines = console.export_text().splitlines()
    assert "0.00343" in next(line for line in lines if "MMD^2 vs held-out (sigma 10.02" in line)
    comparison = next(line for line in lines if "mmd: MMD^2" in line)
    assert comparison.replace("│", " ").split()[-3:] == ["0.00343", "0.0122", "0.00016"]
    write_report(tmp_path, summary, {}, [])
    assert "0.0122" in (tmp_path / "report.html").read_text()
