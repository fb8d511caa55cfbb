"""MLP generator and discriminator over flattened one-hot sequences (L x C), optionally conditional."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as spectral_normalised


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild both networks; saved in run.json."""

    length: int
    n_channels: int
    noise_dim: int
    hidden: tuple[int, ...]
    leaky_slope: float = 0.2
    n_classes: int = 0
    spectral_norm: bool = False
    minibatch_std: bool = False
    class_bias: bool = False  # a per-class output bias (conditional models started at each class's data)
    prior_components: int = 0  # a learned Gaussian-mixture prior over the codes (0: the noise is the code)

    @property
    def noise_width(self) -> int:
        """Columns of the N(0, I) noise a generator takes: with a mixture prior one more, whose
        normal CDF picks the component."""
        return self.noise_dim + (1 if self.prior_components else 0)


def rows(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """table[index] for a trained table, as a one-hot matrix product: the same values (a row times
    ones and zeros is exact), and a backward that is a matrix product too. Indexing's backward
    (index_put_ with accumulate) adds the rows in the order the threads happen to finish: with 2
    threads, a labelled yelmen805 run ended with other weights on every run."""
    with torch.autocast(device_type=table.device.type, enabled=False):  # half precision would round the rows
        return nn.functional.one_hot(index, table.shape[0]).to(table.dtype) @ table


class MixturePrior(nn.Module):
    """A learned mixture of K diagonal Gaussians over the generator's codes, fed by plain N(0, I)
    noise: Phi(noise[:, 0]) is a uniform that picks component k by the cumulative weights, and
    the other columns are the standardised draw within it. A cohort of a few hundred distinct
    patients (one variant each) has codes on a few hundred separate points; one N(0, I) smears
    mass between them (sequences with no or two variants), K components can sit on them."""

    def __init__(self, components: int, dim: int):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(components))
        self.means = nn.Parameter(torch.randn(components, dim))
        self.log_scales = nn.Parameter(torch.full((components, dim), -1.0))

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        uniform = torch.special.ndtr(noise[:, 0])
        cumulative = torch.softmax(self.logits, 0).cumsum(0)
        component = torch.searchsorted(cumulative.detach(), uniform.contiguous()).clamp_(max=len(self.logits) - 1)
        return rows(self.means, component) + rows(self.log_scales, component).exp() * noise[:, 1:]

    def log_prob(self, codes: torch.Tensor) -> torch.Tensor:
        """log p(code) under the mixture, per row."""
        scales = self.log_scales.exp()
        standard = (codes[:, None, :] - self.means) / scales
        per_component = -0.5 * standard.pow(2).sum(-1) - self.log_scales.sum(-1) - 0.5 * codes.shape[1] * math.log(2 * math.pi)
        return torch.logsumexp(torch.log_softmax(self.logits, 0) + per_component, dim=1)


def _mlp(widths: list[int], slope: float, final_activation: bool = False, normalise: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        linear = nn.Linear(fan_in, fan_out)
        layers.append(spectral_normalised(linear) if normalise else linear)
        if final_activation or i < len(widths) - 2:
            layers.append(nn.LeakyReLU(slope))
    return nn.Sequential(*layers)


class Generator(nn.Module):
    """Noise (+ one-hot class) -> hidden layers -> L x C logits; a softmax per position gives base
    probabilities."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.net = _mlp(
            [spec.noise_dim + spec.n_classes, *spec.hidden, spec.length * spec.n_channels], spec.leaky_slope
        )
        # Each class's own output bias: a conditional generator started at every class's base
        # frequencies draws a minority class's pattern from the first step, instead of having to
        # learn it against the pooled (majority-dominated) bias. Zeros: no random draw, so the
        # other weights initialise as without it.
        self.class_bias = nn.Parameter(torch.zeros(spec.n_classes, spec.length * spec.n_channels)) \
            if spec.class_bias and spec.n_classes else None
        self.prior = MixturePrior(spec.prior_components, spec.noise_dim) if spec.prior_components else None

    def codes(self, noise: torch.Tensor) -> torch.Tensor:
        """N(0, I) noise -> the codes the layers decode (the noise itself without a mixture prior)."""
        return noise if self.prior is None else self.prior(noise)

    def forward(self, noise: torch.Tensor, classes: torch.Tensor | None = None,
                codes: torch.Tensor | None = None) -> torch.Tensor:
        """Logits for the noise rows; `codes` given (vae-gan: posterior draws) are decoded first,
        in the same pass, so that one forward serves both (as DistributedDataParallel needs)."""
        noise = self.codes(noise)
        if codes is not None:
            noise = torch.cat([codes, noise])
        if self.spec.n_classes:
            noise = torch.cat([noise, nn.functional.one_hot(classes, self.spec.n_classes).to(noise.dtype)], dim=1)
        logits = self.net(noise)
        if self.class_bias is not None:
            logits = logits + rows(self.class_bias, classes)
        return logits.view(-1, self.spec.length, self.spec.n_channels)

    def probabilities(self, noise: torch.Tensor, classes: torch.Tensor | None = None) -> torch.Tensor:
        return channel_softmax(self(noise, classes))

    def channel_major(self):
        """An inference forward pass whose output layer writes each channel's L positions next to
        each other: the same logits as an (N, L, C) view, whose channel planes channel_argmax then
        reads contiguously (generation about 10% faster). The weights are reordered once, so use
        it only while they do not change."""
        length, channels = self.spec.length, self.spec.n_channels
        last = self.net[-1]
        weight = last.weight.detach().view(length, channels, -1).transpose(0, 1).reshape(length * channels, -1)
        weight = weight.contiguous()
        bias = last.bias.detach().view(length, channels).t().reshape(-1).contiguous()
        class_bias = None if self.class_bias is None else \
            self.class_bias.detach().view(-1, length, channels).transpose(1, 2).reshape(self.spec.n_classes, -1)
        body = self.net[:-1]

        def forward(
            noise: torch.Tensor, classes: torch.Tensor | None = None, out: torch.Tensor | None = None
        ) -> torch.Tensor:
            """`out`, an (N, L*C) buffer reused from chunk to chunk, spares the allocator a fresh
            block (and its page faults) of the size of the output per chunk."""
            noise = self.codes(noise)
            if self.spec.n_classes:
                noise = torch.cat([noise, nn.functional.one_hot(classes, self.spec.n_classes).to(noise.dtype)], dim=1)
            planes = torch.addmm(bias, body(noise), weight.t(), out=out)
            if class_bias is not None:
                planes.add_(class_bias[classes])
            return planes.view(-1, channels, length).transpose(1, 2)

        return forward


class Discriminator(nn.Module):
    """Flattened L x C -> hidden layers -> features -> one logit (or critic value).

    With classes it is a projection discriminator (Miyato & Koyama 2018): the logit adds the inner
    product of a class embedding with the features, so the class cannot be ignored the way a label
    concatenated to the input can. The sigmoid of the logit is D(x), the probability that x is
    real; the gan loss applies it inside binary_cross_entropy_with_logits, the stable form.
    """

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        widths = [spec.length * spec.n_channels, *reversed(spec.hidden)]
        self.features = _mlp(widths, spec.leaky_slope, final_activation=True, normalise=spec.spectral_norm)
        head = nn.Linear(widths[-1] + int(spec.minibatch_std), 1)
        self.head = spectral_normalised(head) if spec.spectral_norm else head
        self.embedding = nn.Embedding(spec.n_classes, widths[-1]) if spec.n_classes else None

    def forward(self, sequences: torch.Tensor, classes: torch.Tensor | None = None, groups: int = 1) -> torch.Tensor:
        """`groups` equal parts of the batch (real, then generated) share one pass through the
        layers, which multiplies bigger matrices; the batch spread is still taken per part."""
        features = self.features(sequences.reshape(sequences.shape[0], -1))
        if self.spec.minibatch_std:
            # How much the batch varies, as one more feature (Karras et al. 2018): a collapsed
            # generator's batch is uniform, which the discriminator can then see and punish.
            parts = features.view(groups, -1, features.shape[1])
            if parts.shape[1] > 1:
                spread = parts.std(dim=1, unbiased=False).mean(dim=1)
            else:
                spread = features.new_zeros(groups)
            spread = spread.repeat_interleave(parts.shape[1]).unsqueeze(1)
            logit = self.head(torch.cat([features, spread], dim=1)).squeeze(-1)
        else:
            logit = self.head(features).squeeze(-1)
        if self.embedding is not None:
            logit = logit + (rows(self.embedding.weight, classes) * features).sum(dim=1)
        return logit

    def probability(self, sequences: torch.Tensor, classes: torch.Tensor | None = None) -> torch.Tensor:
        return torch.sigmoid(self(sequences, classes))


def channel_softmax(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over the channel axis of (N, L, C) logits.

    Computed on the transposed view: PyTorch's CPU kernel vectorises along the innermost axis,
    which is L (~1,200) there instead of C (4); about 3x faster forward and backward.
    """
    return torch.softmax(logits.transpose(1, 2), dim=1).transpose(1, 2)


def channel_argmax(logits: torch.Tensor) -> torch.Tensor:
    """(N, L, C) -> (N, L) uint8 index of the largest channel, the first on ties (as argmax).

    A pairwise tournament of the channel planes (left wins ties): about 1.6x faster on the CPU
    than argmax over a last axis of 4, and already uint8.
    """
    entrants: list[tuple[torch.Tensor, torch.Tensor | int]] = [(plane, c) for c, plane in enumerate(logits.unbind(-1))]
    while len(entrants) > 1:
        next_round = []
        for (left, left_index), (right, right_index) in zip(entrants[0::2], entrants[1::2]):
            next_round.append((torch.maximum(left, right), _pick(right > left, right_index, left_index)))
        if len(entrants) % 2:
            next_round.append(entrants[-1])
        entrants = next_round
    winner = entrants[0][1]
    if isinstance(winner, int):  # a single channel
        return torch.full(logits.shape[:-1], winner, dtype=torch.uint8, device=logits.device)
    return winner


def _pick(right_wins: torch.Tensor, right: torch.Tensor | int, left: torch.Tensor | int) -> torch.Tensor:
    if isinstance(right, int) and isinstance(left, int):
        index = right_wins.to(torch.uint8)
        if right - left != 1:
            index.mul_(right - left)
        return index.add_(left) if left else index
    as_tensor = lambda index: index if torch.is_tensor(index) else torch.tensor(index, dtype=torch.uint8)  # noqa: E731
    return torch.where(right_wins, as_tensor(right).to(right_wins.device), as_tensor(left).to(right_wins.device))


def build_models(spec: ModelSpec) -> tuple[Generator, Discriminator]:
    return Generator(spec), Discriminator(spec)


MEMORY_BUDGET_ENV = "VP_MODEL_MEMORY_GB"
DEFAULT_MEMORY_BUDGET_GB = 8.0


def check_spec(spec: ModelSpec, where: str) -> None:
    """Range checks on a declared model (from run.json or a config), then its size against the
    memory budget (VP_MODEL_MEMORY_GB, default 8) before any weight is allocated."""
    import math
    import os

    from ..errors import InputError

    integers = {"length": spec.length, "n_channels": spec.n_channels, "noise_dim": spec.noise_dim,
                "n_classes": spec.n_classes, "prior_components": spec.prior_components,
                **{f"hidden[{i}]": h for i, h in enumerate(spec.hidden)}}
    for name, value in integers.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name in ("n_classes", "prior_components") else 1):
            raise InputError(f"{where}: model {name} = {value!r} must be a positive integer")
        if value > 2**31 - 1:
            raise InputError(f"{where}: model {name} = {value} is beyond any model this vp can hold")
    if spec.n_channels not in (4, 5) or not spec.hidden:
        raise InputError(f"{where}: model of {spec.n_channels} channels and {len(spec.hidden)} hidden layers")
    if not (isinstance(spec.leaky_slope, (int, float)) and math.isfinite(spec.leaky_slope) and 0 <= spec.leaky_slope < 1):
        raise InputError(f"{where}: model leaky_slope = {spec.leaky_slope!r} must be at least 0 and below 1")
    try:
        budget = float(os.environ.get(MEMORY_BUDGET_ENV, DEFAULT_MEMORY_BUDGET_GB)) * 2**30
    except ValueError:
        raise InputError(f"{MEMORY_BUDGET_ENV} must be a number of GiB") from None
    needed = sum(model_bytes(spec))
    if needed > budget:
        raise InputError(f"{where}: the model needs {needed / 2**30:.1f} GiB of weights, above the budget of "
                         f"{budget / 2**30:.1f} GiB (set {MEMORY_BUDGET_ENV} to raise it)")


def linear_state_size(widths: list[int], normalised: bool = False) -> int:
    """Numbers held by an _mlp of these widths: weight and bias per layer; spectral normalisation
    also keeps its power-iteration vectors u and v."""
    return sum(a * b + b + (a + b if normalised else 0) for a, b in zip(widths[:-1], widths[1:]))


def model_bytes(spec: ModelSpec) -> tuple[int, int]:
    """Bytes of the generator's and the discriminator's state (float32), counted from the spec:
    nothing is allocated, whatever the declared shape. (Building the networks on PyTorch's meta
    device gives the same numbers, but its first use with an embedding imports PyTorch's
    decompositions: a second added to every load of a conditional model.) A test holds the count
    equal to the built networks' state dicts."""
    outputs = spec.length * spec.n_channels
    generator = linear_state_size([spec.noise_dim + spec.n_classes, *spec.hidden, outputs], False)
    generator += spec.n_classes * outputs if spec.class_bias and spec.n_classes else 0
    generator += spec.prior_components * (2 * spec.noise_dim + 1)  # mixture weights, means, log scales
    widths = [outputs, *reversed(spec.hidden)]
    discriminator = linear_state_size(widths, spec.spectral_norm)
    discriminator += linear_state_size([widths[-1] + int(spec.minibatch_std), 1], spec.spectral_norm)
    discriminator += spec.n_classes * widths[-1]  # the projection's class embedding
    return 4 * generator, 4 * discriminator
