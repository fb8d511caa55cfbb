"""What the discriminator sees of the generator, and the penalties of the Wasserstein loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .config import TrainConfig
from .model import Discriminator, channel_softmax


def gumbel_noise(shape: torch.Size, device: torch.device, rng: torch.Generator) -> torch.Tensor:
    uniform = torch.rand(shape, device=device, generator=rng).clamp_(1e-10, 1.0)
    return -torch.log(-torch.log(uniform))


def generator_output(
    logits: torch.Tensor, config: TrainConfig, rng: torch.Generator, gumbel: torch.Tensor | None = None
) -> torch.Tensor:
    """What the discriminator sees: soft probabilities, or hard one-hot with straight-through
    gradients, so the discriminator cannot tell generated from real by softness alone."""
    if config.output == "softmax":
        return channel_softmax(logits)
    if config.output == "gumbel":
        if gumbel is None:
            gumbel = gumbel_noise(logits.shape, logits.device, rng)
        soft = channel_softmax((logits + gumbel) / config.temperature)
    else:
        soft = channel_softmax(logits)
    hard = F.one_hot(soft.argmax(dim=-1), logits.shape[-1]).to(soft.dtype)
    return hard - soft.detach() + soft


def minimax_discriminator_loss(logits: torch.Tensor, n_real: int, label_smoothing: float) -> torch.Tensor:
    """The discriminator's minimax loss on one pass of real (the first n_real) then generated
    logits, with one-sided label smoothing: real targets 1 - s, generated 0."""
    target = torch.zeros_like(logits)
    target[:n_real] = 1.0 - label_smoothing
    return F.binary_cross_entropy_with_logits(logits, target) * 2


def gradient_penalty(
    discriminator: Discriminator, real: torch.Tensor, fake: torch.Tensor, classes, rng: torch.Generator
) -> torch.Tensor:
    """(||grad D(x)|| - 1)^2 at random points between real and generated (Gulrajani et al. 2017)."""
    alpha = torch.rand(real.shape[0], 1, 1, device=real.device, generator=rng)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (gradient,) = torch.autograd.grad(discriminator(mixed, classes).sum(), mixed, create_graph=True)
    return ((gradient.flatten(1).norm(dim=1) - 1) ** 2).mean()
