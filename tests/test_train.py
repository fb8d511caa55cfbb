import math

import numpy as np
import pytest
import torch

from virtualpatients.gan.config import TrainConfig
from virtualpatients.errors import InputError
from virtualpatients.data.fasta import read_cohort
from virtualpatients.gan.train import HISTORY_FIELDS, select_device, train
from virtualpatients.gan.vaegan import KL_FIELDS

SMALL = dict(hidden=(32,), noise_dim=8, batch_size=16, device="cpu", log_every=10)


@pytest.mark.parametrize("trainer, extra", [("gan", ()), ("vae-gan", KL_FIELDS)])
def test_a_few_dozen_steps_give_finite_history(tiny_cohort, trainer, extra):
    cohort = read_cohort([tiny_cohort])
    result = train(cohort.indices, 4, TrainConfig(steps=40, trainer=trainer, **SMALL))
    assert [row["step"] for row in result.history] == [1, 10, 20, 30, 40]
    assert set(result.history[0]) == {*HISTORY_FIELDS, *extra}
    assert all(math.isfinite(v) for row in result.history for v in row.values())
    assert all(0 <= row["d_real"] <= 1 and 0 <= row["acc_fake"] <= 1 for row in result.history)


def test_training_changes_the_generator_towards_the_data(tiny_cohort):
    cohort = read_cohort([tiny_cohort])
    result = train(cohort.indices, 4, TrainConfig(steps=200, lr=1e-3, **SMALL))
    with torch.no_grad():
        decoded = result.generator(torch.randn(64, result.spec.noise_width)).argmax(-1).numpy()
    consensus = np.array([np.bincount(col, minlength=4).argmax() for col in cohort.indices.T])
    # An untrained generator agrees with the consensus on about a quarter of positions.
    assert (decoded == consensus).mean() > 0.9


def test_same_seed_same_weights(tiny_cohort):
    cohort = read_cohort([tiny_cohort])
    first = train(cohort.indices, 4, TrainConfig(steps=20, seed=5, **SMALL))
    second = train(cohort.indices, 4, TrainConfig(steps=20, seed=5, **SMALL))
    third = train(cohort.indices, 4, TrainConfig(steps=20, seed=6, **SMALL))
    for a, b in zip(first.generator.state_dict().values(), second.generator.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(first.generator.net[0].weight, third.generator.net[0].weight)


def test_batch_larger_than_data_is_clamped_with_a_warning(tiny_cohort):
    cohort = read_cohort([tiny_cohort])
    result = train(cohort.indices, 4, TrainConfig(steps=3, **{**SMALL, "batch_size": 1000}))
    assert result.batch_size == 40
    assert "larger than the data set" in result.warnings[0]


def test_cuda_request_without_cuda_is_a_clean_error():
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(InputError, match="no CUDA device"):
        select_device("cuda")
    assert select_device("auto").type == "cpu"


def test_data_bias_starts_the_generator_at_the_cohort_frequencies(tiny_cohort):
    cohort = read_cohort([tiny_cohort])
    config = TrainConfig(steps=1, lr=1e-9, data_bias=True, **SMALL)
    result = train(cohort.indices, 4, config)
    with torch.no_grad():
        probabilities = result.generator.probabilities(torch.randn(500, result.spec.noise_width)).mean(0).numpy()
    observed = np.stack([(cohort.indices == c).mean(0) for c in range(4)], axis=1)
    # Smoothing and the shrunk, noise-driven part of the logits move it a little; a fresh generator is off
    # by up to ~0.7.
    np.testing.assert_allclose(probabilities, observed, atol=0.05)


def test_checkpoint_selection_on_a_holdout_keeps_the_best_logged_step(tiny_cohort):
    cohort = read_cohort([tiny_cohort])
    config = TrainConfig(steps=60, **SMALL)
    result = train(cohort.indices[:30], 4, config, holdout=cohort.indices[30:])
    scored = [row for row in result.history if row["step"] >= 6]
    assert all(0 <= row["aats_probe"] <= 1 for row in result.history)
    assert all(row["aats_probe"] == (row["aa_truth_probe"] + row["aa_syn_probe"]) / 2 for row in result.history)
    # Both halves near 1/2, not only their mean (which a PWM-like generator can fool).
    best = min(scored, key=lambda row: abs(row["aa_truth_probe"] - 0.5) + abs(row["aa_syn_probe"] - 0.5))
    assert result.selected_step == best["step"]
    assert train(cohort.indices[:30], 4, config).selected_step is None


def test_bf16_autocast_trains_with_finite_values(tiny_cohort):
    cohort = read_cohort([tiny_cohort])
    result = train(cohort.indices, 4, TrainConfig(steps=12, precision="bf16", trainer="gan", loss="wgan-gp", critic_steps=2, **SMALL))
    assert all(math.isfinite(v) for row in result.history for v in row.values())
    assert all(value.dtype == torch.float32 for value in result.generator.state_dict().values())
    fp32 = train(cohort.indices, 4, TrainConfig(steps=12, trainer="gan", loss="wgan-gp", critic_steps=2, **SMALL))
    assert not torch.equal(result.generator.net[0].weight, fp32.generator.net[0].weight)


def test_training_ends_with_a_diversity_check_against_the_training_data(tiny_cohort, tmp_path):
    import json

    import virtualpatients as vp

    config = vp.TrainConfig(steps=5, hidden=(8,), noise_dim=4, batch_size=8, device="cpu")
    vp.train(vp.read_cohort(tiny_cohort), config, run_dir=tmp_path / "run")
    check = json.loads((tmp_path / "run" / "run.json").read_text())["diversity_check"]
    assert check["sample_size"] == 40 and 0 < check["distinct_fraction_real"] <= 1
    assert isinstance(check["mode_collapse"], bool)
