"""The vae-gan trainer: encoder, scaled noise folded into the generator, what it learns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from virtualpatients.errors import InputError
from virtualpatients.gan.config import TrainConfig, config_from_dict
from virtualpatients.gan.model import ModelSpec, build_models
from virtualpatients.gan.train import train
from virtualpatients.gan.vaegan import Encoder, encoder_bytes, scaled

SMALL = dict(hidden=(32,), noise_dim=4, batch_size=32, device="cpu", log_every=50)


def linked_cohort(n: int = 240, seed: int = 0) -> np.ndarray:
    """Two haplotype blocks of 8 positions that always travel together: every sequence is one of
    two patterns, with a rare independent substitution elsewhere."""
    rng = np.random.default_rng(seed)
    first, second = np.zeros(16, np.uint8), np.full(16, 3, np.uint8)
    rows = np.where(rng.random(n)[:, None] < 0.5, first, second)
    noise = rng.random(rows.shape) < 0.01
    return np.where(noise, 2, rows).astype(np.uint8)


def test_encoder_shape_and_bytes_match_the_spec():
    spec = ModelSpec(length=10, n_channels=4, noise_dim=3, hidden=(16, 8), n_classes=2)
    encoder = Encoder(spec)
    mean, log_variance = encoder(torch.zeros(5, 10, 4), torch.tensor([0, 1, 0, 1, 1]))
    assert mean.shape == log_variance.shape == (5, 3)
    assert encoder_bytes(spec) == 4 * sum(v.numel() for v in encoder.state_dict().values())


def test_scaled_generator_is_the_generator_at_wider_noise():
    spec = ModelSpec(length=6, n_channels=4, noise_dim=3, hidden=(8,), n_classes=2, class_bias=True)
    generator, _ = build_models(spec)
    noise, classes = torch.randn(7, 3), torch.tensor([0, 1, 1, 0, 1, 0, 0])
    wider = scaled(generator, 1.3)
    assert torch.allclose(wider(noise, classes), generator(1.3 * noise, classes), atol=1e-6)
    assert scaled(generator, 1.0) is generator
    assert not torch.equal(generator(noise, classes), wider(noise, classes))  # the original is untouched


def test_vae_gan_learns_which_positions_go_together():
    data = linked_cohort()
    result = train(data, 4, TrainConfig(steps=400, trainer="vae-gan", lr=3e-3, beta1=0.9, seed=1, **SMALL))
    with torch.no_grad():
        logits = result.generator(torch.randn(400, result.spec.noise_width, generator=torch.Generator().manual_seed(0)))
    sampled = torch.distributions.Categorical(logits=logits).sample().numpy()
    left, right = sampled[:, :8] == 0, sampled[:, 8:] == 0
    # Linked: the two blocks agree (both the first pattern or both not), and both patterns occur.
    agreement = np.mean(left.all(1) == right.all(1))
    assert agreement > 0.9, agreement
    assert 0.2 < left.all(1).mean() < 0.8
    assert {"recon", "kl"} <= set(result.history[-1])


def test_a_plain_vae_is_adversarial_weight_zero_and_the_gan_trainer_has_no_encoder():
    data = linked_cohort(80)
    saved = []
    train(data, 4, TrainConfig(steps=3, adversarial_weight=0.0, **SMALL), on_checkpoint=saved.append)
    assert set(saved[-1].networks) == {"generator", "discriminator", "encoder"}
    assert set(saved[-1].optimisers) == {"opt_g", "opt_d", "opt_e"}
    saved.clear()
    train(data, 4, TrainConfig(steps=3, trainer="gan", **SMALL), on_checkpoint=saved.append)
    assert set(saved[-1].networks) == {"generator", "discriminator"}


def test_selection_picks_a_noise_scale_and_folds_it_into_the_kept_generator():
    data = linked_cohort(200)
    config = TrainConfig(steps=100, latent_scales=(0.5, 2.0), log_every=25,
                         **{k: v for k, v in SMALL.items() if k != "log_every"})
    result = train(data[:150], 4, config, holdout=data[150:])
    assert result.selected_step is not None and result.latent_scale in (0.5, 2.0)


def test_checkpoint_of_the_other_trainer_is_refused():
    data = linked_cohort(80)
    saved = []
    train(data, 4, TrainConfig(steps=3, trainer="gan", **SMALL), on_checkpoint=saved.append)
    with pytest.raises(InputError, match="does not fit"):
        train(data, 4, TrainConfig(steps=6, trainer="vae-gan", **SMALL), resume=saved[-1])


@pytest.mark.parametrize("settings, message", [
    (dict(trainer="vae"), "trainer must be one of"),
    (dict(loss="wgan-gp"), "trainer vae-gan trains with loss gan"),
    (dict(kl_weight=-1.0), "must not be negative"),
    (dict(latent_scales=()), "latent_scales"),
    (dict(latent_scales=(1.0, 0.0)), "latent_scales"),
])
def test_vae_gan_settings_are_validated(settings, message):
    with pytest.raises(InputError, match=message):
        TrainConfig(**settings)


def test_runs_saved_before_the_trainer_existed_load_as_gan_runs():
    old = config_from_dict({"steps": 10})
    assert (old.trainer, old.prior_components) == ("gan", 0)
    assert TrainConfig().trainer == "vae-gan"


@pytest.mark.parametrize("prior_components", [0, 8])
def test_vae_gan_keeps_one_variant_per_patient(prior_components):
    """A cohort whose patients carry exactly one of 4 hotspots: a position weight matrix gives
    about 42% exactly one (independent positions); the vae-gan, with or without a mixture prior,
    keeps most at one."""
    from virtualpatients.data.simulate import simulate_cohort

    _, _, sequences = simulate_cohort(n_patients=160, length=42, n_hotspots=4, seed=2)
    data = np.frombuffer("".join(sequences).encode(), np.uint8).reshape(len(sequences), -1)
    data = np.searchsorted(np.frombuffer(b"ACGT", np.uint8), data).astype(np.uint8)  # any fixed coding will do
    varying = (data != data[0]).any(axis=0)
    data = data[:, varying]
    config = TrainConfig(steps=600, kl_weight=0.1, prior_components=prior_components, adversarial_weight=0.01, seed=0, lr=3e-3,
                         **{**SMALL, "hidden": (64,)})
    result = train(data, 4, config)
    with torch.no_grad():
        logits = result.generator(torch.randn(500, result.spec.noise_width, generator=torch.Generator().manual_seed(0)))
    sampled = torch.distributions.Categorical(logits=logits).sample().numpy()
    consensus = np.array([np.bincount(column, minlength=4).argmax() for column in data.T])
    differences = (sampled != consensus).sum(axis=1)
    real_differences = (data != consensus).sum(axis=1)
    assert np.mean(differences == 1) > 0.8 * np.mean(real_differences == 1), np.bincount(differences)
