"""The GAN training loop: minimax (non-saturating) or Wasserstein-GP losses, optionally conditional."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .config import TrainConfig
from .encoding import position_counts
from .errors import InputError, VPError
from . import distributed
from .model import Discriminator, Generator, ModelSpec, build_models, channel_softmax
from .monitor import HISTORY_FIELDS, PROBE_SIZE, copy_state, log_row, probe
from .resume import TrainingState



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
    selected_step: int | None = None  # the checkpoint kept by the held-out metric, if any
    world_size: int = 1  # processes that trained together (torchrun)


def select_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is available (use --device cpu or auto)")
    if name not in ("cpu", "cuda"):
        raise InputError(f"unknown device {name!r}; choose auto, cpu or cuda")
    return torch.device(name)


def _adam(params, config: TrainConfig) -> torch.optim.Adam:
    # The fused kernel updates all parameters in one pass instead of a Python loop of small ops.
    try:
        return torch.optim.Adam(params, lr=config.lr, betas=(config.beta1, config.beta2), fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=config.lr, betas=(config.beta1, config.beta2))


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


def gradient_penalty(
    discriminator: Discriminator, real: torch.Tensor, fake: torch.Tensor, classes, rng: torch.Generator
) -> torch.Tensor:
    """(||grad D(x)|| - 1)^2 at random points between real and generated (Gulrajani et al. 2017)."""
    alpha = torch.rand(real.shape[0], 1, 1, device=real.device, generator=rng)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (gradient,) = torch.autograd.grad(discriminator(mixed, classes).sum(), mixed, create_graph=True)
    return ((gradient.flatten(1).norm(dim=1) - 1) ** 2).mean()


def train(
    indices: np.ndarray,
    n_channels: int,
    config: TrainConfig,
    on_progress: Callable[[int, dict[str, float] | None], None] | None = None,
    labels: np.ndarray | None = None,
    n_classes: int = 0,
    holdout: np.ndarray | None = None,
    holdout_labels: np.ndarray | None = None,
    on_checkpoint: Callable[[TrainingState], None] | None = None,
    should_stop: Callable[[], str | None] | None = None,
    resume: TrainingState | None = None,
) -> TrainResult:
    """Train on (N, L) channel indices (and class indices 0..n_classes-1 when conditional).

    With held-out sequences, every log step scores a fixed probe batch against them by AATS
    and the weights of the step closest to 0.5 are kept: GAN metrics swing from step to step,
    so the last step is not the best one, and the held-out set keeps the choice honest.
    Conditional models are scored class by class (mean AATS), so a step that ignores the class
    cannot win.

    Under torchrun each process trains on its own shard of the rows with its own noise, and
    DistributedDataParallel averages the gradients; batch_size is per process. Only rank 0
    reports progress, scores the probe and selects a checkpoint.

    Every config.checkpoint_every steps, at the end, and when should_stop() names a reason (a
    signal), on_checkpoint receives the full state (after a check that the losses and weights
    are finite); a stop then raises Interrupted. Training from `resume` continues that state:
    on the CPU the weights end bit-identical to an uninterrupted run.
    """
    topology = distributed.from_environment()
    device = distributed.rank_device(select_device(config.device), topology)
    created_group = distributed.start(topology, device)
    try:
        result = _train(indices, n_channels, config, on_progress, labels, n_classes, holdout, holdout_labels,
                        topology, device, on_checkpoint, should_stop, resume)
    except BaseException:
        distributed.stop(created_group, finished=False)
        raise
    distributed.stop(created_group)
    return result


def _train(indices, n_channels, config, on_progress, labels, n_classes, holdout, holdout_labels, topology, device,
           on_checkpoint, should_stop, resume):
    n_total, length = indices.shape
    if n_total < 2:
        raise InputError(f"need at least 2 sequences to train, found {n_total}")
    warnings = []
    wasserstein = config.loss == "wgan-gp"
    torch.manual_seed(config.seed)  # parameter init: the same on every rank
    spec = ModelSpec(
        length, n_channels, config.noise_dim, tuple(config.hidden), config.leaky_slope, n_classes,
        config.spectral_norm, config.minibatch_std,
    )
    generator, discriminator = build_models(spec)
    if config.data_bias:
        _start_at_the_data(generator, indices, n_channels)
    generator.to(device).train()
    discriminator.to(device).train()
    generator_ddp = distributed.wrap(generator, topology, device)
    discriminator_ddp = distributed.wrap(discriminator, topology, device)
    opt_g = _adam(generator.parameters(), config)
    opt_d = _adam(discriminator.parameters(), config)
    generator_parameters = list(generator.parameters())
    autocast = lambda: torch.autocast(device.type, torch.bfloat16, enabled=config.precision == "bf16")  # noqa: E731

    rows = distributed.shard(n_total, topology, config.seed)
    n_sequences = len(rows)
    batch_size = config.batch_size
    if batch_size > n_sequences:
        warnings.append(f"batch size {batch_size} is larger than the data set; using {n_sequences}")
        batch_size = n_sequences
    rng = torch.Generator(device=device)
    rng.manual_seed(distributed.rank_seed(config.seed, topology))
    # Data stays on the device as compact indices; one-hot happens per batch.
    data = torch.as_tensor(indices[rows], dtype=torch.long, device=device)
    classes = torch.as_tensor(labels[rows], dtype=torch.long, device=device) if n_classes else None
    pair_target = torch.cat([
        torch.full((batch_size,), 1.0 - config.label_smoothing, device=device), torch.zeros(batch_size, device=device)
    ])
    ones = torch.ones(batch_size, device=device)
    probe_noise = torch.randn(PROBE_SIZE, config.noise_dim, device=device, generator=rng)
    probe_rows = torch.randint(0, n_sequences, (PROBE_SIZE,), device=device, generator=rng)
    probe_classes = classes[probe_rows] if classes is not None else None
    selecting = topology.is_main and holdout is not None and len(holdout) >= 2
    best: tuple[float, int, dict, dict] | None = None
    probe_gumbel = gumbel_noise(torch.Size((PROBE_SIZE, length, n_channels)), device, rng)
    history: list[dict[str, float]] = []
    first_step = 1
    if resume is not None:
        if resume.world_size != topology.world_size:
            raise InputError(
                f"the checkpoint was written by {resume.world_size} process(es); resume with as many, not "
                f"{topology.world_size}"
            )
        generator.load_state_dict(resume.networks["generator"])
        discriminator.load_state_dict(resume.networks["discriminator"])
        opt_g.load_state_dict(resume.optimisers["opt_g"])
        opt_d.load_state_dict(resume.optimisers["opt_d"])
        # The probe draws above repeat the original run's; from here on its stream continues.
        rng.set_state(resume.rng_states[topology.rank])
        history, warnings, best, first_step = list(resume.history), list(resume.warnings), resume.best, resume.step + 1

    def checkpoint(step: int, losses: tuple[torch.Tensor, ...]) -> None:
        if not _all_finite(losses, generator, discriminator, topology):
            raise VPError(f"training diverged at step {step}: non-finite loss or weights; nothing saved from it")
        rng_states = distributed.gather_states(rng.get_state(), topology)
        if on_checkpoint is not None and topology.is_main:
            on_checkpoint(TrainingState(
                step=step,
                networks={"generator": copy_state(generator), "discriminator": copy_state(discriminator)},
                optimisers={"opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict()},
                rng_states=rng_states, history=history, warnings=warnings, best=best, world_size=topology.world_size,
                spec=spec,
            ))

    if resume is None:
        checkpoint(0, ())
    started = time.perf_counter()

    def batch() -> tuple[torch.Tensor, torch.Tensor | None]:
        picked = torch.randint(0, n_sequences, (batch_size,), device=device, generator=rng)
        return F.one_hot(data[picked], n_channels).to(torch.float32), None if classes is None else classes[picked]

    def blur(x: torch.Tensor, step: int) -> torch.Tensor:
        sigma = config.instance_noise * (1 - step / config.steps)
        if sigma <= 0:
            return x
        return x + sigma * torch.randn(x.shape, device=device, generator=rng)

    for step in range(first_step, config.steps + 1):
        for critic_step in range(config.critic_steps):
            real, batch_classes = batch()
            noise = torch.randn(batch_size, config.noise_dim, device=device, generator=rng)
            # The last critic step's generated batch keeps its graph and serves the generator
            # update too, so each step runs the generator forward once (the DCGAN recipe).
            keep_graph = critic_step == config.critic_steps - 1
            with torch.set_grad_enabled(keep_graph), autocast():
                fake = generator_output((generator_ddp if keep_graph else generator)(noise, batch_classes), config, rng)
            real_seen, fake_seen = blur(real, step), blur(fake.detach(), step)
            pair_classes = None if batch_classes is None else torch.cat([batch_classes, batch_classes])
            # Real and generated go through the discriminator as one batch of 2B: one pass, one
            # backward, bigger matrix products than two passes of B.
            with autocast():
                logits = discriminator_ddp(torch.cat([real_seen, fake_seen]), pair_classes, groups=2).float()
            logit_real, logit_fake = logits[:batch_size], logits[batch_size:]
            if wasserstein:
                with autocast():
                    penalty = gradient_penalty(discriminator, real_seen, fake_seen, batch_classes, rng)
                loss_d = logit_fake.mean() - logit_real.mean() + config.gp_weight * penalty.float()
            else:
                loss_d = F.binary_cross_entropy_with_logits(logits, pair_target) * 2
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()

        with autocast():
            score = discriminator(blur(fake, step), batch_classes).float()
        # Non-saturating loss: maximise log D(G(z)) rather than minimise log(1 - D(G(z))), whose
        # gradient vanishes while the discriminator wins easily. WGAN: maximise the critic's score.
        loss_g = -score.mean() if wasserstein else F.binary_cross_entropy_with_logits(score, ones)
        opt_g.zero_grad(set_to_none=True)
        # Gradients through the discriminator, but not of its weights: autograd skips their
        # matrix products (a third of the discriminator's backward).
        loss_g.backward(inputs=generator_parameters)
        opt_g.step()

        row = None
        if step % config.log_every == 0 or step == config.steps or step == 1:
            row = log_row(step, loss_d, loss_g, logit_real, logit_fake, wasserstein)
            if not all(np.isfinite(row[key]) for key in HISTORY_FIELDS[:7]):
                raise VPError(f"training diverged at step {step}: non-finite loss or score")
            if topology.is_main:
                best = probe(row, step, generator, discriminator, config, warnings, best, selecting, holdout,
                              holdout_labels, probe_noise, probe_classes, probe_gumbel, n_channels)
                history.append(row)
        if on_progress is not None and topology.is_main:
            on_progress(step, row)
        stop_reason = _stop_reason(should_stop, topology, step, config.log_every)
        if step % config.checkpoint_every == 0 or step == config.steps or stop_reason:
            checkpoint(step, (loss_d, loss_g))
        if stop_reason:
            raise Interrupted(stop_reason, step)

    selected_step = None
    if best is not None:
        _, selected_step, generator_state, discriminator_state = best
        generator.load_state_dict(generator_state)
        discriminator.load_state_dict(discriminator_state)
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
        selected_step=selected_step,
        world_size=topology.world_size,
    )


class Interrupted(Exception):
    """Training stopped on request (a signal) after saving a checkpoint at `step`."""

    def __init__(self, reason: str, step: int):
        super().__init__(f"{reason} at step {step}")
        self.reason, self.step = reason, step


def _stop_reason(should_stop, topology, step: int, log_every: int) -> str | None:
    """The caller's reason to stop. Processes of one torchrun job agree at log steps only, so a
    signal that reaches them at different steps stops them at the same one."""
    if should_stop is None:
        return None
    if not topology.distributed:
        return should_stop()
    if step % log_every:
        return None
    return "interrupted" if distributed.any_rank(should_stop() is not None) else None


def _all_finite(losses, generator, discriminator, topology) -> bool:
    values = [loss.detach().float().reshape(1) for loss in losses]
    values += [p.detach().float().abs().max().reshape(1) for p in (*generator.parameters(), *discriminator.parameters())]
    finite = bool(torch.isfinite(torch.cat(values)).all())
    return not distributed.any_rank(not finite) if topology.distributed else finite


def _start_at_the_data(generator: Generator, indices: np.ndarray, n_channels: int) -> None:
    """Output bias = log base frequencies per position (add-half smoothing, so no base is impossible)."""
    counts = position_counts(indices, n_channels) + 0.5
    log_frequencies = np.log(counts / counts.sum(axis=1, keepdims=True)).astype(np.float32).ravel()
    last = generator.net[-1]
    with torch.no_grad():
        last.bias.copy_(torch.from_numpy(log_frequencies))
        last.weight.mul_(0.1)
