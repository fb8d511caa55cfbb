import torch

from virtualpatients.model import ModelSpec, build_models


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
