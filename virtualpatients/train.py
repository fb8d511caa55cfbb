"""The GAN training loop: minimax loss with the non-saturating generator objective."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .config import TrainConfig
from .errors import InputError, VPError
from .model import Discriminator, Generator, ModelSpec, build_models

HISTORY_FIELDS = ("step", "loss_d", "loss_g", "d_real", "d_fake", "acc_real", "acc_fake")


@dataclass
class TrainResult:
    generator: Generator
    discriminator: Discriminator
    spec: ModelSpec
    history: list[dict[str, float]]
    device: str
    batch_size: int
    wall_time_s: float
    warnings: list[str] = field(default_factory=list)


def select_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is available (use --device cpu or auto)")
    if name not in ("cpu", "cuda"):
        raise InputError(f"unknown device {name!r}; choose auto, cpu or cuda")
    return torch.device(name)


def _adam(params, config: TrainConfig, device: torch.device) -> torch.optim.Adam:
    # The fused kernel updates all parameters in one pass instead of a Python loop of small ops.
    try:
        return torch.optim.Adam(params, lr=config.lr, betas=(config.beta1, config.beta2), fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=config.lr, betas=(config.beta1, config.beta2))


def train(
    indices: np.ndarray,
    n_channels: int,
    config: TrainConfig,
    on_progress: Callable[[int, dict[str, float] | None], None] | None = None,
) -> TrainResult:
    """Train a GAN on (N, L) channel indices; returns the networks and the logged history."""
    n_sequences, length = indices.shape
    if n_sequences < 2:
        raise InputError(f"need at least 2 sequences to train, found {n_sequences}")
    warnings = []
    batch_size = config.batch_size
    if batch_size > n_sequences:
        warnings.append(f"batch size {batch_size} is larger than the data set; using {n_sequences}")
        batch_size = n_sequences

    device = select_device(config.device)
    torch.manual_seed(config.seed)
    rng = torch.Generator(device=device)
    rng.manual_seed(config.seed)

    spec = ModelSpec(length, n_channels, config.noise_dim, tuple(config.hidden), config.leaky_slope)
    generator, discriminator = build_models(spec)
    generator.to(device).train()
    discriminator.to(device).train()
    opt_g = _adam(generator.parameters(), config, device)
    opt_d = _adam(discriminator.parameters(), config, device)

    # Data stays on the device as compact indices; one-hot happens per batch.
    data = torch.as_tensor(indices, dtype=torch.long, device=device)
    ones = torch.ones(batch_size, device=device)
    zeros = torch.zeros(batch_size, device=device)
    history: list[dict[str, float]] = []
    started = time.perf_counter()

    for step in range(1, config.steps + 1):
        batch = data[torch.randint(0, n_sequences, (batch_size,), device=device, generator=rng)]
        real = F.one_hot(batch, n_channels).to(torch.float32)
        noise = torch.randn(batch_size, config.noise_dim, device=device, generator=rng)
        fake = generator.probabilities(noise)

        logit_real = discriminator(real)
        logit_fake = discriminator(fake.detach())
        loss_d = F.binary_cross_entropy_with_logits(logit_real, ones) + F.binary_cross_entropy_with_logits(
            logit_fake, zeros
        )
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()

        # Non-saturating generator loss: maximise log D(G(z)) rather than minimise log(1 - D(G(z))),
        # whose gradient vanishes while the discriminator still wins easily.
        loss_g = F.binary_cross_entropy_with_logits(discriminator(fake), ones)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()

        row = None
        if step % config.log_every == 0 or step == config.steps or step == 1:
            with torch.no_grad():
                stats = torch.stack(
                    [
                        loss_d.detach(),
                        loss_g.detach(),
                        torch.sigmoid(logit_real).mean(),
                        torch.sigmoid(logit_fake).mean(),
                        (logit_real > 0).float().mean(),
                        (logit_fake < 0).float().mean(),
                    ]
                ).tolist()
            row = {"step": step, **dict(zip(HISTORY_FIELDS[1:], stats))}
            history.append(row)
            if not all(np.isfinite(v) for v in stats[:2]):
                raise VPError(f"training diverged at step {step}: non-finite loss")
        if on_progress is not None:
            on_progress(step, row)

    generator.eval()
    discriminator.eval()
    return TrainResult(
        generator=generator,
        discriminator=discriminator,
        spec=spec,
        history=history,
        device=str(device),
        batch_size=batch_size,
        wall_time_s=time.perf_counter() - started,
        warnings=warnings,
    )
