"""Conditional generation, the WGAN-GP loss, vp balance and the utility comparison."""

import json
from collections import Counter

import numpy as np
import pytest
from Bio import SeqIO

from conftest import PATTERN_AT, PATTERNS
from virtualpatients.evaluation.balance import plan_counts
from virtualpatients.gan.config import TrainConfig
from virtualpatients.errors import InputError
from virtualpatients.data.fasta import read_cohort
from virtualpatients.data.splits import class_indices, holdout_split
from virtualpatients.gan.train import train
from virtualpatients.evaluation.classifier_utility import oversample, utility

def vp(*args: str, cwd=None):
    """The CLI in this process (no interpreter and torch start-up per call), with the fields of a
    finished subprocess."""
    from types import SimpleNamespace

    from typer.testing import CliRunner

    from virtualpatients.cli.app import app

    result = CliRunner().invoke(app, list(args))
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout_bytes, stderr=result.stderr_bytes)


FAST = ["--hidden", "64", "--noise-dim", "8", "--batch-size", "32", "--device", "cpu", "--lr", "0.002"]


def pattern_share(records, label):
    return np.mean([str(r.seq)[PATTERN_AT : PATTERN_AT + 6] == PATTERNS[label] for r in records])


def test_labels_are_read_from_descriptions_or_file_names(two_class_cohort, tmp_path):
    cohort = read_cohort([two_class_cohort], label_key="label")
    assert Counter(cohort.labels) == {"common": 60, "rare": 20}
    assert read_cohort([two_class_cohort], label_key="other").labels is None
    by_file = read_cohort([two_class_cohort], labels_from_files=True)
    assert set(by_file.labels) == {"two_class"}
    partial = tmp_path / "partial.fasta"
    partial.write_text(">a label=x\nACGT\n>b\nACGT\n")
    with pytest.raises(InputError, match="record 'b' has no label=VALUE"):
        read_cohort([partial], label_key="label")
    with pytest.raises(InputError, match="only one class"):
        class_indices(["x", "x"])


def test_holdout_is_stratified_by_class():
    labels = ["a"] * 80 + ["b"] * 20
    held = holdout_split(100, 0.2, 0, labels)
    assert Counter(labels[i] for i in held) == {"a": 16, "b": 4}


def test_conditional_generation_follows_the_label(two_class_cohort, tmp_path):
    trained = vp(
        "train", str(two_class_cohort), *FAST, "--steps", "300", "--holdout", "0.25", cwd=tmp_path
    )
    assert trained.returncode == 0, trained.stderr.decode()
    for label in PATTERNS:
        result = vp("generate", "-n", "100", "--label", label, cwd=tmp_path)
        assert result.returncode == 0, result.stderr.decode()
        (tmp_path / f"{label}.fasta").write_bytes(result.stdout)
        records = list(SeqIO.parse(tmp_path / f"{label}.fasta", "fasta"))
        assert all(f"label={label}" in r.description for r in records)
        # Chance (uniform bases) would give 4**-6; a model ignoring the label about 0.75 or 0.25.
        assert pattern_share(records, label) > 0.9
    unknown = vp("generate", "-n", "2", "--label", "nope", cwd=tmp_path)
    assert unknown.returncode == 2 and b"common, rare" in unknown.stderr

    balanced = vp("balance", str(two_class_cohort), "-o", "balanced.fasta", "--model", vp_run(tmp_path), cwd=tmp_path)
    assert balanced.returncode == 0, balanced.stderr.decode()
    records = list(SeqIO.parse(tmp_path / "balanced.fasta", "fasta"))
    labels = Counter(r.description.split("label=")[1].split()[0] for r in records)
    assert labels == {"common": 60, "rare": 60} and len(records) == 120
    synthetic = [r for r in records if "synthetic=1" in r.description]
    assert len(synthetic) == 40 and all("label=rare" in r.description for r in synthetic)
    assert b"rare" in balanced.stderr and b"60" in balanced.stderr

    evaluated = vp("evaluate", "-n", "20", "--label", "rare", "--utility", "--json", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr.decode()
    report = json.loads(evaluated.stdout)
    assert report["n_generated"] == 20 and report["n_real"] == 15 and report["n_holdout"] == 5
    utility = report["utility"]
    assert utility["minority"] == "rare" and utility["n_test"] == 20 and utility["seeds"] == 5
    assert 0 <= utility["b_real_plus_generated"]["minority_f1"]["mean"] <= 1


def vp_run(folder):
    return (folder / ".vp-last-run").read_text().strip()


def test_wgan_gp_trains_with_finite_values(two_class_cohort):
    cohort = read_cohort([two_class_cohort], label_key="label")
    _, classes = class_indices(cohort.labels)
    config = TrainConfig(
        steps=20, trainer="gan", loss="wgan-gp", critic_steps=5, hidden=(32,), noise_dim=8, batch_size=16, device="cpu",
        log_every=5, output="gumbel", spectral_norm=True, instance_noise=0.1,
    )
    result = train(cohort.indices, 4, config, labels=classes, n_classes=2)
    assert all(np.isfinite(v) for row in result.history for v in row.values())
    assert "wasserstein" in result.history[-1] and 0 <= result.history[-1]["distinct_probe"] <= 1


def test_plan_counts():
    assert plan_counts({"a": 10, "b": 3}, "equal") == {"a": 0, "b": 7}
    assert plan_counts({"a": 10, "b": 3}, "8") == {"a": 0, "b": 5}
    with pytest.raises(InputError):
        plan_counts({"a": 1}, "lots")


def test_utility_on_a_known_answer():
    # The class is decided by position 0 alone: A = "big", G = "small", other positions are noise.
    def records(label, n, seed=0):
        rows = np.random.default_rng(seed).integers(0, 4, (n, 12), dtype=np.uint8)
        rows[:, 0] = 0 if label == "big" else 3
        return rows

    train_x = np.vstack([records("big", 60, 1), records("small", 8, 2)])
    train_y = ["big"] * 60 + ["small"] * 8
    test_x = np.vstack([records("big", 30, 3), records("small", 10, 4)])
    test_y = ["big"] * 30 + ["small"] * 10

    def faithful(label, n, seed):
        return records(label, n, seed + 100)

    def swapped(label, n, seed):  # a generator that mixes the classes up
        return records("big" if label == "small" else "small", n, seed + 100)

    good = utility(train_x, train_y, test_x, test_y, 4, faithful, seeds=3)
    assert good["minority"] == "small" and good["seeds"] == 3 and good["n_test"] == 40
    # 60:8 imbalance costs the plain classifier minority recall; balancing with faithful records fixes it.
    assert good["a_real"]["minority_f1"]["mean"] < 0.9
    assert good["b_real_plus_generated"]["minority_f1"]["mean"] == 1.0
    assert good["c_random_oversampling"]["balanced_accuracy"]["mean"] == 1.0
    bad = utility(train_x, train_y, test_x, test_y, 4, swapped, seeds=3)
    assert bad["b_real_plus_generated"]["minority_f1"]["mean"] < good["a_real"]["minority_f1"]["mean"]
    assert bad["e_generated_only"]["minority_f1"]["mean"] == 0.0
    # Generated data play no part in (a), (c), (d) and (f).
    for name in ("a_real", "c_random_oversampling", "d_smote", "f_smoten"):
        assert bad[name] == good[name]


def test_imbalanced_learn_oversamplers_give_results_and_valid_sequences():
    from virtualpatients.data.encoding import decode_strings

    rng = np.random.default_rng(5)
    # 40 "big" and 6 "small" records; position 0 decides the class, the rest are noise.
    rows = rng.integers(0, 4, (46, 20), dtype=np.uint8)
    labels = np.array(["big"] * 40 + ["small"] * 6)
    rows[:, 0] = np.where(labels == "big", 0, 3)
    test = rng.integers(0, 4, (20, 20), dtype=np.uint8)
    test_labels = ["big"] * 10 + ["small"] * 10
    test[:, 0] = np.where(np.asarray(test_labels) == "big", 0, 3)

    def generate(label, n, seed):
        new = np.random.default_rng(seed).integers(0, 4, (n, 20), dtype=np.uint8)
        new[:, 0] = 0 if label == "big" else 3
        return new

    result = utility(rows, list(labels), test, test_labels, 4, generate, seeds=2)
    for name, label in (("c_random_oversampling", "random oversampling"), ("d_smote", "SMOTE"),
                        ("f_smoten", "SMOTEN")):
        assert label in result[name]["label"] and "skipped" not in result[name]
        assert 0 <= result[name]["minority_f1"]["mean"] <= 1 and result[name]["balanced_accuracy"]["mean"] > 0.5
    small = rows[labels == "small"]
    for method in ("random", "smote", "smoten"):
        new, new_labels = oversample(method, rows, labels, 4, seed=1)
        # Every smaller class up to the largest, each synthetic row a sequence of the alphabet's bases.
        assert new.shape == (34, 20) and list(new_labels) == ["small"] * 34
        assert new.dtype == rows.dtype and new.min() >= 0 and new.max() < 4
        assert all(set(text) <= set("ATCG") for text in decode_strings(new, "ATCG"))
        # SMOTEN takes each position's base from minority neighbours; random oversampling copies.
        if method != "smote":
            assert all((new[:, j, None] == small[None, :, j]).any(axis=1).all() for j in range(20))
    seeded = [oversample("smoten", rows, labels, 4, seed=1)[0] for _ in range(2)]
    assert np.array_equal(*seeded)


def test_a_one_record_class_skips_smote_and_smoten():
    from virtualpatients.report.tables import utility_table

    rows = np.random.default_rng(2).integers(0, 4, (11, 12), dtype=np.uint8)
    rows[:, 0] = [0] * 10 + [3]
    labels = ["big"] * 10 + ["small"]

    def generate(label, n, seed):
        new = np.random.default_rng(seed).integers(0, 4, (n, 12), dtype=np.uint8)
        new[:, 0] = 0 if label == "big" else 3
        return new

    result = utility(rows, labels, rows, labels, 4, generate, seeds=2)
    assert "minority_f1" in result["c_random_oversampling"]  # random oversampling needs no neighbour
    for name in ("d_smote", "f_smoten"):
        assert "needs at least 2 records per class" in result[name]["skipped"] and "minority_f1" not in result[name]
    with pytest.raises(ValueError, match="SMOTEN needs at least 2"):
        oversample("smoten", rows, np.asarray(labels), 4, seed=0)
    table = utility_table(result)
    assert table.row_count == 6 and "needs at least 2 records per class" in table.caption


def test_the_default_recipe_respects_a_minority_label():
    # The case, smaller: 30 `alpha` and 100 `beta` records that differ in a 10-base block,
    # with 3 random substitutions each. The study's soft-output model put the majority's block on
    # every `alpha` record; the default recipe must not.
    import virtualpatients as vp
    from virtualpatients.data.simulate import simulate_two_classes

    ids, labels, sequences = simulate_two_classes(30, 100, length=120, block=(40, 50), seed=3)
    data = vp.SequenceSet.from_strings(sequences, labels=labels, ids=ids)
    run = vp.train(data, vp.TrainConfig(steps=200, hidden=(64, 64), noise_dim=16, device="cpu", seed=1))
    for label, block in (("alpha", "A" * 10), ("beta", "G" * 10)):
        generated = run.generate(200, seed=0, label=label).strings()
        assert sum(s[40:50] == block for s in generated) / 200 >= 0.9, label
