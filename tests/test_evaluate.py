import numpy as np
import pytest

from virtualpatients.data.encoding import encode
from virtualpatients.gan.config import TrainConfig
from virtualpatients.errors import InputError
from virtualpatients.data.sequences import SequenceSet
from virtualpatients.evaluation.evaluate import evaluate_sets
from virtualpatients.gan.run import Run
from virtualpatients.data.fasta import read_cohort
from virtualpatients.data.simulate import simulate_cohort


def simulated_set(n, seed, origin):
    ids, _, sequences = simulate_cohort(n_patients=n, length=120, n_hotspots=8, seed=seed)
    return SequenceSet(ids, encode([s.encode() for s in sequences]), "ATCG", origin=origin)


def test_every_section_is_reported_with_baselines():
    real = simulated_set(200, 0, "real")
    generated = real.subset(np.arange(0, 200, 2), "copies")
    holdout = real.subset(np.arange(1, 200, 2), "holdout")
    evaluation = evaluate_sets(generated, real, holdout)
    summary = evaluation.summary
    assert {"fidelity", "variants", "validity", "diversity", "privacy", "mmd"} <= set(summary)
    assert summary["exact_copies"] == 100 and summary["n_holdout"] == 100
    assert summary["validity"]["valid_fraction_real"] == 1.0  # the simulated reference is an ORF
    assert summary["variants"]["position_r"] > 0.9 and summary["fidelity"]["base_frequency_r"] > 0.99
    assert summary["privacy"]["holdout_exact_copy_rate"] == 1.0
    # Members are the training set, non-members the holdout, in equal numbers (a sample of 100 of the 200).
    assert summary["privacy"]["mia_n"] == 100 and 0 <= summary["privacy"]["mia_auc"] <= 1
    assert 0 <= summary["privacy"]["mia_tpr_at_1pct_fpr"] <= 1
    without_holdout = evaluate_sets(generated, real).summary
    assert without_holdout["privacy"]["mia_auc"] is None
    # MMD^2 against the held-out set where there is one (the published protocol), else the real set.
    assert summary["mmd"]["against"] == "held-out" and summary["mmd"]["real_pair"] == "training vs held-out"
    assert without_holdout["mmd"]["against"] == "training" and without_holdout["mmd"]["n_real_pair"] == [100, 100]
    assert abs(summary["mmd"]["mmd2"]) < 1e-3  # copies of real patients against other real patients
    # Real-vs-real values of the structure figures, on as many held-out records as generated.
    assert summary["variants"]["real_sample"] == {"source": "held-out", "n": 100, "against": 200}
    assert summary["variants"]["differences_tvd_real"] == 0.0 and summary["linkage"]["r_real"] > 0.5
    expected_arrays = {
        "nearest_identity_generated", "nearest_identity_real", "base_freq_real", "base_freq_generated",
        "variant_freq_real", "variant_freq_generated", "differences_per_sequence_real",
        "differences_per_sequence_generated", "dcr_generated", "dcr_holdout",
        "ld_distance", "ld_r2_real", "ld_r2_generated", "pca_real", "pca_generated",
    }
    assert set(evaluation.arrays) == expected_arrays
    assert evaluation.arrays["base_freq_real"].shape == (120, 4)


def test_incompatible_sets_are_refused():
    real = simulated_set(20, 0, "real")
    shorter = SequenceSet(["a"], real.indices[:1, :60], "ATCG", origin="short.fasta")
    with pytest.raises(InputError, match="short.fasta: sequences have length 60"):
        evaluate_sets(shorter, real)
    with pytest.raises(InputError, match="reference has length 5"):
        evaluate_sets(real, real, reference=real.indices[0, :5])


def test_a_loaded_run_splits_its_files_into_the_recorded_training_and_holdout_sets(tiny_cohort):
    cohort = read_cohort([tiny_cohort])

    def run_with(metadata):  # what Run.load gives: no data in memory, only run.json's record
        return Run(None, None, None, TrainConfig(), metadata)

    metadata = {
        "alphabet": "ATCG",
        "training_files": [{"path": str(tiny_cohort), "sha256": cohort.sources[0].sha256}],
        "holdout": {"indices": [0, 5, 39]},
    }
    run = run_with(metadata)
    train, held = run.training_set, run.holdout_set
    assert len(train) == 37 and held.ids == [cohort.ids[i] for i in (0, 5, 39)] and run.warnings == []
    assert not set(train.ids) & set(held.ids)
    metadata["training_files"][0]["sha256"] = "0" * 64
    run = run_with(metadata)
    run.training_set
    assert "changed since training" in run.warnings[0]
    metadata["holdout"]["indices"] = [40]
    with pytest.raises(InputError, match="held-out rows do not fit"):
        run_with(metadata).training_set
