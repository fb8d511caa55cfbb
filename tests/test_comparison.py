import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from conftest import PATTERN_AT, PATTERNS
from virtualpatients.evaluation.baselines import BASELINES
from virtualpatients.cli.app import app
from virtualpatients.evaluation.comparison import baseline_set, evaluate_baselines
from virtualpatients.report.tables import comparison_rows
from virtualpatients.data.fasta import read_cohort

TINY_TRAIN = ["--steps", "30", "--hidden", "16", "--noise-dim", "4", "--batch-size", "16", "--device", "cpu"]


def invoke(*arguments: str):
    return CliRunner().invoke(app, list(arguments))


def test_vp_baseline_writes_seeded_fasta_per_class_in_training_proportions(two_class_cohort):
    result = invoke("baseline", "independent", str(two_class_cohort), "-n", "40", "--seed", "3")
    assert result.exit_code == 0, result.output
    Path("base.fasta").write_text(result.stdout)
    drawn = read_cohort([Path("base.fasta")], label_key="label")
    assert len(drawn) == 40 and drawn.labels.count("rare") == 10  # 20 of 80 training records are rare
    for row, label in zip(drawn.indices, drawn.labels):  # each class keeps its own pattern
        text = "".join("ATCG"[i] for i in row[PATTERN_AT : PATTERN_AT + 6])
        assert text == PATTERNS[label]
    assert "baseline=independent seed=3" in drawn.descriptions[0]
    again = invoke("baseline", "independent", str(two_class_cohort), "-n", "40", "--seed", "3")
    assert again.stdout == result.stdout


def test_vp_baseline_copy_only_copies_and_unknown_kinds_are_refused(tiny_cohort):
    result = invoke("baseline", "copy", str(tiny_cohort), "-n", "25")
    assert result.exit_code == 0
    Path("copies.fasta").write_text(result.stdout)
    training = {row.tobytes() for row in read_cohort([tiny_cohort]).indices}
    assert all(row.tobytes() in training for row in read_cohort([Path("copies.fasta")]).indices)
    refused = invoke("baseline", "gan", str(tiny_cohort))
    assert refused.exit_code == 2 and "independent" in refused.stderr


def test_every_baseline_gets_every_metric_on_equal_numbers_per_class(two_class_cohort):
    real = read_cohort([two_class_cohort], label_key="label").named("training")
    generated = real.subset(np.arange(0, 80, 2), "like a GAN")  # 30 common, 10 rare
    results = evaluate_baselines(generated, real, None, None, seed=1)
    assert list(results) == list(BASELINES)
    for kind, result in results.items():
        assert result.summary["n_generated"] == 40
        assert {"fidelity", "variants", "validity", "diversity", "privacy"} <= set(result.summary)
    assert results["copy"].summary["privacy"]["exact_copy_rate"] == 1.0
    assert results["independent"].summary["privacy"]["exact_copy_rate"] < 1.0
    drawn = baseline_set("markov", real, generated, seed=1, order=2)
    assert sorted(drawn.labels) == sorted(generated.labels)
    rare = evaluate_baselines(generated, real, None, None, seed=1, kinds=("copy",), label="rare")
    assert rare["copy"].summary["n_generated"] == 10 and rare["copy"].summary["n_real"] == 20
    rows = comparison_rows({"GAN": results["copy"].summary, "copy": results["copy"].summary})
    assert ("privacy", "exact-copy rate", ["100.00%", "100.00%"], "n/a") in rows
    # Without a hold-out there are no non-members: no membership rows.
    assert not any(metric.startswith("membership") for _, metric, _, _ in rows)


def test_the_membership_attack_tells_the_copy_baseline_from_the_others():
    from virtualpatients.data.sequences import SequenceSet

    # 80 records of one population without twins: a reference with about 6 of 60 positions redrawn.
    rng = np.random.default_rng(0)
    rows = np.repeat(rng.integers(0, 4, (1, 60), dtype=np.uint8), 80, axis=0)
    redraw = rng.random(rows.shape) < 0.1
    rows[redraw] = rng.integers(0, 4, redraw.sum(), dtype=np.uint8)
    real = SequenceSet([f"p{i}" for i in range(80)], rows, "ATCG", origin="population")
    train, holdout = real.subset(np.arange(0, 80, 2), "training"), real.subset(np.arange(1, 80, 2), "holdout")
    results = evaluate_baselines(train, train, holdout, None, seed=1, kinds=("copy", "independent"))
    copy, pwm = (results[kind].summary["privacy"] for kind in ("copy", "independent"))
    assert copy["mia_n"] == pwm["mia_n"] == 40
    assert copy["mia_auc"] > pwm["mia_auc"]
    rows = {metric: values for _, metric, values, _ in comparison_rows({"copy": results["copy"].summary,
                                                                       "independent": results["independent"].summary})}
    assert rows["membership AUC (0.5 ideal)"] == [f"{copy['mia_auc']:.3f}", f"{pwm['mia_auc']:.3f}"]
    assert rows["membership records a side"] == ["40", "40"]
    assert "membership TPR at 1% FPR" in rows


def test_vp_evaluate_and_report_show_the_baselines_beside_the_gan(two_class_cohort):
    trained = invoke("train", str(two_class_cohort), *TINY_TRAIN, "--holdout", "0.25", "-o", "run")
    assert trained.exit_code == 0, trained.output
    evaluated = invoke("evaluate", "-n", "40", "--baselines", "--utility", "--json")
    assert evaluated.exit_code == 0, evaluated.output
    summary = json.loads(evaluated.stdout)
    assert set(summary["baselines"]) == set(BASELINES)
    for kind, result in summary["baselines"].items():
        assert result["n_generated"] == summary["n_generated"] == 40
        assert "minority_f1" in result["utility"]["b_real_plus_generated"]
    assert "GAN vs baselines" in evaluated.stderr
    reported = invoke("report", "-n", "40", "-o", "report")
    assert reported.exit_code == 0, reported.output
    page = Path("report/report.html").read_text()
    assert "GAN and baseline generators" in page and "resample-mutate" in page
    metrics = json.loads(Path("report/metrics.json").read_text())
    assert set(metrics["baselines"]) == set(BASELINES)


def test_comparison_rows_format_each_generator_and_skip_metrics_none_has():
    gan = {"distinct": 25, "nearest_identity": {"mean": 0.98}, "real_baseline_identity": {"mean": 0.97},
           "fidelity": {"kmer_js": {"6": 0.005}, "gc_generated": float("nan"), "gc_real": 0.5},
           "privacy": {"aats_train": 0.31, "aats_holdout": None, "privacy_loss": None}}
    copy = {"distinct": 12, "nearest_identity": {"mean": 1.0}, "fidelity": {"kmer_js": {"6": 0.0}},
            "privacy": {"aats_train": 0.0, "aats_holdout": None}}
    rows = {(section, metric): (values, real) for section, metric, values, real in comparison_rows({"GAN": gan,
                                                                                                      "copy": copy})}
    assert rows[("counts", "distinct sequences")] == (["25", "12"], "")
    assert rows[("nearest identity", "mean")] == (["98.00%", "100.00%"], "97.00%")  # real from the first
    assert rows[("fidelity", "6-mer Jensen-Shannon (bits)")] == (["0.0050", "0.000"], "")
    assert rows[("fidelity", "GC content")] == (["n/a", "n/a"], "50.00%")  # NaN, and missing in copy
    assert rows[("privacy", "AATS vs training (0.5 ideal)")] == (["0.310", "0.000"], "")
    # None everywhere (no holdout) or missing everywhere (no --utility): no row
    assert ("privacy", "AATS vs held-out") not in rows and ("privacy", "privacy loss") not in rows
    assert not any(section in ("utility", "validity", "variants") for section, _ in rows)


def test_evaluation_does_not_import_report():
    import subprocess
    import sys

    code = ("import sys, virtualpatients.evaluation.comparison; "
            "print(sorted(m for m in sys.modules if m.startswith('virtualpatients.report')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_comparison_table_fits_100_columns():
    import io

    from rich.console import Console

    from virtualpatients.report.tables import comparison_table

    summary = {"distinct": 5, "privacy": {"aats_train": 0.61}, "baselines": {
        kind: {"distinct": 4, "privacy": {"aats_train": 0.6}} for kind in ("independent", "markov", "resample-mutate", "copy")}}
    out = io.StringIO()
    Console(file=out, width=100).print(comparison_table(summary))
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 100 and "PWM" in lines[2] and "resample" in lines[2]
