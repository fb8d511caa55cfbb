"""MLP generator and discriminator over flattened one-hot sequences (L x C)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild both networks; saved in run.json."""

    length: int
    n_channels: int
    noise_dim: int
    hidden: tuple[int, ...]
    leaky_slope: float = 0.2


def _mlp(widths: list[int], slope: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(widths) - 2:
            layers.append(nn.LeakyReLU(slope))
    return nn.Sequential(*layers)


class Generator(nn.Module):
    """Noise -> hidden layers -> L x C logits; a softmax per position gives base probabilities."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.net = _mlp([spec.noise_dim, *spec.hidden, spec.length * spec.n_channels], spec.leaky_slope)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return self.net(noise).view(-1, self.spec.length, self.spec.n_channels)

    def probabilities(self, noise: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self(noise), dim=-1)


class Discriminator(nn.Module):
    """Flattened L x C -> hidden layers -> one logit.

    The sigmoid of the logit is D(x), the probability that x is real; the training loss applies it
    inside binary_cross_entropy_with_logits, the numerically stable form of log(sigmoid(.)).
    """

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.net = _mlp([spec.length * spec.n_channels, *reversed(spec.hidden), 1], spec.leaky_slope)

    def forward(self, sequences: torch.Tensor) -> torch.Tensor:
        return self.net(sequences.reshape(sequences.shape[0], -1)).squeeze(-1)

    def probability(self, sequences: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self(sequences))


def build_models(spec: ModelSpec) -> tuple[Generator, Discriminator]:
    return Generator(spec), Discriminator(spec)
