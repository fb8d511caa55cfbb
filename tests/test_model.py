import math
import pytest
import torch

from virtualpatients.gan.model import ModelSpec, build_models


def test_shapes_and_probabilities():
    spec = ModelSpec(length=10, n_channels=4, noise_dim=8, hidden=(16, 12))
    generator, discriminator = build_models(spec)
    noise = torch.randn(5, 8)
    probabilities = generator.probabilities(noise)
    assert probabilities.shape == (5, 10, 4)
    torch.testing.assert_close(probabilities.sum(-1), torch.ones(5, 10))
    scores = discriminator.probability(probabilities)
    assert scores.shape == (5,) and ((scores > 0) & (scores < 1)).all()
    # The discriminator mirrors the generator's widths.
    assert [m.out_features for m in discriminator.features if isinstance(m, torch.nn.Linear)] == [12, 16]


def test_channel_argmax_equals_argmax_with_ties_to_the_first_channel():
    from virtualpatients.gan.model import channel_argmax

    for channels in (1, 2, 3, 4, 5):
        logits = torch.randn(6, 50, channels)
        logits[0, 0] = 1.0  # a full tie
        ties = torch.randint(0, 2, (6, 50, channels)).float()
        for values in (logits, ties):
            result = channel_argmax(values)
            assert result.dtype == torch.uint8
            assert torch.equal(result, values.argmax(-1).to(torch.uint8))


def test_channel_softmax_equals_softmax_over_the_last_axis():
    from virtualpatients.gan.model import channel_softmax

    logits = torch.randn(3, 40, 4, requires_grad=True)
    torch.testing.assert_close(channel_softmax(logits), torch.softmax(logits, -1))
    weights = torch.randn(3, 40, 4)
    (grad,) = torch.autograd.grad((channel_softmax(logits) * weights).sum(), logits)
    (expected,) = torch.autograd.grad((torch.softmax(logits, -1) * weights).sum(), logits)
    torch.testing.assert_close(grad, expected)


def test_real_and_generated_in_one_pass_score_as_in_two():
    # Minibatch-std is taken per part, so one pass over [real; fake] equals two passes.
    spec = ModelSpec(length=10, n_channels=4, noise_dim=8, hidden=(16,), n_classes=2, minibatch_std=True)
    _, discriminator = build_models(spec)
    real, fake = torch.randn(6, 10, 4), torch.randn(6, 10, 4)
    classes = torch.tensor([0, 1, 0, 1, 1, 0])
    together = discriminator(torch.cat([real, fake]), torch.cat([classes, classes]), groups=2)
    torch.testing.assert_close(together, torch.cat([discriminator(real, classes), discriminator(fake, classes)]))
    assert not torch.allclose(together, discriminator(torch.cat([real, fake]), torch.cat([classes, classes])))


@pytest.mark.parametrize("prior_components", [0, 4])
def test_channel_major_forward_gives_the_same_logits(prior_components):
    spec = ModelSpec(length=13, n_channels=5, noise_dim=6, hidden=(16,), n_classes=3, prior_components=prior_components)
    generator, _ = build_models(spec)
    noise, classes = torch.randn(7, spec.noise_width), torch.tensor([0, 1, 2, 0, 1, 2, 0])
    with torch.no_grad():
        torch.testing.assert_close(generator.channel_major()(noise, classes), generator(noise, classes))


@pytest.mark.parametrize("spectral_norm", [False, True])
@pytest.mark.parametrize("n_classes, class_bias", [(0, False), (3, False), (3, True)])
@pytest.mark.parametrize("minibatch_std, prior_components", [(False, 0), (True, 0), (True, 3)])
def test_model_bytes_counts_exactly_what_the_networks_hold(spectral_norm, n_classes, class_bias, minibatch_std,
                                                           prior_components):
    from virtualpatients.gan.model import model_bytes

    spec = ModelSpec(length=7, n_channels=4, noise_dim=5, hidden=(9, 6), n_classes=n_classes,
                     spectral_norm=spectral_norm, minibatch_std=minibatch_std, class_bias=class_bias,
                     prior_components=prior_components)
    held = tuple(sum(t.numel() * t.element_size() for t in network.state_dict().values())
                 for network in build_models(spec))
    assert model_bytes(spec) == held


def test_a_mixture_prior_draws_each_component_by_its_weight_and_scores_its_codes():
    from virtualpatients.gan.model import MixturePrior

    prior = MixturePrior(3, 2)
    with torch.no_grad():
        prior.logits.copy_(torch.log(torch.tensor([0.2, 0.3, 0.5])))
        prior.means.copy_(torch.tensor([[-50.0, 0.0], [0.0, 0.0], [50.0, 0.0]]))
        codes = prior(torch.randn(20000, 3, generator=torch.Generator().manual_seed(0)))
    shares = [(codes[:, 0] < -25).float().mean(), (codes[:, 0].abs() < 25).float().mean(), (codes[:, 0] > 25).float().mean()]
    torch.testing.assert_close(torch.stack(shares), torch.tensor([0.2, 0.3, 0.5]), atol=0.015, rtol=0)
    # Far from the others, a code's density is its own component's, weighted.
    point = torch.tensor([[50.0, 0.0]])
    expected = math.log(0.5) + torch.distributions.Normal(torch.zeros(2), prior.log_scales[2].exp()).log_prob(
        torch.zeros(2)).sum()
    torch.testing.assert_close(prior.log_prob(point), expected.reshape(1))
