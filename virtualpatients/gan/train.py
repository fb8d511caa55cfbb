"""The GAN training loop: minimax (non-saturating) or Wasserstein-GP losses, optionally conditional.

Read top to bottom: `train` sets up (networks, optimisers, one seeded random stream, the probe
batch), restores a checkpoint if asked, then runs the loop of discriminator and generator steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..data.encoding import position_counts
from ..errors import Diverged, InputError, Interrupted
from . import distributed
from .config import TrainConfig
from .losses import generator_output, gradient_penalty, minimax_discriminator_loss
from .model import Discriminator, Generator, ModelSpec, build_models
from .monitor import HISTORY_FIELDS, Probe, Selection, Warnings, copy_state, log_row
from .state import TrainingState
from . import vaegan

__all__ = ["HISTORY_FIELDS", "LoopResult", "Selection", "select_device", "train"]


@dataclass
class LoopResult:
    """The trained networks and what the loop measured; gan.fit wraps it in a Run."""

    generator: Generator
    discriminator: Discriminator
    spec: ModelSpec
    history: list[dict[str, float]]
    device: str
    batch_size: int
    wall_time_s: float
    warnings: list[str] = field(default_factory=list)
    selected_step: int | None = None  # the checkpoint kept by the held-out metric, if any
    latent_scale: float | None = None  # vae-gan: the noise scale selected with it (folded into the weights)
    world_size: int = 1  # processes that trained together (torchrun)


def select_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("device cuda: no CUDA device is available (use cpu or auto)")
    if name not in ("cpu", "cuda"):
        raise InputError(f"unknown device {name!r}; choose auto, cpu or cuda")
    return torch.device(name)


def _adam(params, config: TrainConfig) -> torch.optim.Adam:
    # The fused kernel updates all parameters in one pass instead of a Python loop of small ops.
    try:
        return torch.optim.Adam(params, lr=config.lr, betas=(config.beta1, config.beta2), fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=config.lr, betas=(config.beta1, config.beta2))


@dataclass
class _Training:
    """Everything one training run holds: networks, optimisers, data on the device, the random
    stream, the probe and the record so far."""

    config: TrainConfig
    spec: ModelSpec
    topology: distributed.Topology
    device: torch.device
    generator: Generator
    discriminator: Discriminator
    generator_ddp: torch.nn.Module
    discriminator_ddp: torch.nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    rng: torch.Generator
    data: torch.Tensor  # (n, L) channel indices on the device
    classes: torch.Tensor | None
    batch_size: int
    probe: Probe
    history: list[dict[str, float]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    best: Selection | None = None
    first_step: int = 1
    encoder: torch.nn.Module | None = None  # vae-gan only
    encoder_ddp: torch.nn.Module | None = None
    opt_e: torch.optim.Optimizer | None = None

    def networks(self) -> dict[str, torch.nn.Module]:
        """The networks a checkpoint holds, by name (the encoder only where the trainer has one)."""
        named = {"generator": self.generator, "discriminator": self.discriminator, "encoder": self.encoder}
        return {name: network for name, network in named.items() if network is not None}

    def optimisers(self) -> dict[str, torch.optim.Optimizer]:
        named = {"opt_g": self.opt_g, "opt_d": self.opt_d, "opt_e": self.opt_e}
        return {name: optimiser for name, optimiser in named.items() if optimiser is not None}

    @property
    def wasserstein(self) -> bool:
        return self.config.loss == "wgan-gp"

    def autocast(self) -> AbstractContextManager:
        return torch.autocast(self.device.type, torch.bfloat16, enabled=self.config.precision == "bf16")

    def batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A batch of real sequences, one-hot (data stays on the device as compact indices)."""
        picked = torch.randint(0, len(self.data), (self.batch_size,), device=self.device, generator=self.rng)
        n_channels = self.spec.n_channels
        return F.one_hot(self.data[picked], n_channels).to(torch.float32), None if self.classes is None else self.classes[picked]

    def blur(self, x: torch.Tensor, step: int) -> torch.Tensor:
        """Instance noise, decaying linearly to 0: it blurs the supports of tiny data sets early on."""
        sigma = self.config.instance_noise * (1 - step / self.config.steps)
        if sigma <= 0:
            return x
        return x + sigma * torch.randn(x.shape, device=self.device, generator=self.rng)


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
    on_warning: Callable[[str], None] | None = None,
) -> LoopResult:
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
    on the CPU the weights end bit-identical to an uninterrupted run. Each warning goes to
    on_warning as it arises (rank 0), and into the result.
    """
    topology = distributed.from_environment()
    device = distributed.rank_device(select_device(config.device), topology)
    created_group = distributed.start(topology, device)
    try:
        announce = on_warning if topology.is_main else None
        run = _set_up(indices, n_channels, config, labels, n_classes, holdout, holdout_labels, topology, device,
                      Warnings(announce))
        if config.trainer == "vae-gan":
            vaegan.attach(run, _adam)
        if resume is not None:
            _restore(run, resume, announce)
        result = _loop(run, on_progress, on_checkpoint, should_stop, fresh=resume is None)
        if topology.distributed:
            # DDP's reducer hangs on the parameters' gradient hooks and holds the process group;
            # left on the returned networks it outlives the group and can abort the process at
            # exit ("terminate called without an active exception"). Hand back clean copies.
            result.generator, result.discriminator = _unhooked_copies(result, device)
            del run
    except BaseException:
        distributed.stop(created_group, finished=False)
        raise
    distributed.stop(created_group)
    return result


def _unhooked_copies(result: LoopResult, device: torch.device) -> tuple[Generator, Discriminator]:
    generator, discriminator = build_models(result.spec)
    generator.load_state_dict(result.generator.state_dict())
    discriminator.load_state_dict(result.discriminator.state_dict())
    return generator.to(device).eval(), discriminator.to(device).eval()


def _set_up(indices, n_channels, config, labels, n_classes, holdout, holdout_labels, topology, device,
            warnings: Warnings) -> _Training:
    n_total, length = indices.shape
    if n_total < 2:
        raise InputError(f"need at least 2 sequences to train, found {n_total}")
    torch.manual_seed(config.seed)  # parameter init: the same on every rank
    spec = ModelSpec(
        length, n_channels, config.noise_dim, tuple(config.hidden), config.leaky_slope, n_classes,
        config.spectral_norm, config.minibatch_std, class_bias=bool(config.data_bias and config.class_bias and n_classes),
        # The mixture prior is learned through the vae-gan's KL term; the gan trainer has none.
        prior_components=config.prior_components if config.trainer == "vae-gan" else 0,
    )
    generator, discriminator = build_models(spec)
    if config.data_bias:
        _start_at_the_data(generator, indices, n_channels, labels if spec.class_bias else None, config.novel_bases)
    generator.to(device).train()
    discriminator.to(device).train()
    rows = distributed.shard(n_total, topology, config.seed)
    batch_size = config.batch_size
    if batch_size > len(rows):
        warnings.append(f"batch size {batch_size} is larger than the data set; using {len(rows)} (set a batch "
                        "size at most the number of training sequences to silence this)")
        batch_size = len(rows)
    rng = torch.Generator(device=device)
    rng.manual_seed(distributed.rank_seed(config.seed, topology))
    classes = torch.as_tensor(labels[rows], dtype=torch.long, device=device) if n_classes else None
    # The probe's noise, classes and Gumbel draws come first from the stream, so a resumed run
    # rebuilds the same probe before restoring the stream's state.
    probe = Probe.draw(config, spec, classes, len(rows), device, rng, holdout, holdout_labels, topology.is_main)
    return _Training(
        config=config, spec=spec, topology=topology, device=device, generator=generator, discriminator=discriminator,
        generator_ddp=distributed.wrap(generator, topology, device),
        discriminator_ddp=distributed.wrap(discriminator, topology, device),
        opt_g=_adam(generator.parameters(), config), opt_d=_adam(discriminator.parameters(), config), rng=rng,
        data=torch.as_tensor(indices[rows], dtype=torch.long, device=device), classes=classes,
        batch_size=batch_size, probe=probe, warnings=warnings,
    )


def _restore(run: _Training, resume: TrainingState, announce=None) -> None:
    if resume.world_size != run.topology.world_size:
        raise InputError(
            f"the checkpoint was written by {resume.world_size} process(es); resume with as many, not "
            f"{run.topology.world_size}"
        )
    try:
        networks, optimisers = run.networks(), run.optimisers()
        if set(resume.networks) != set(networks) or set(resume.optimisers) != set(optimisers):
            raise KeyError(f"networks {sorted(resume.networks)}, expected {sorted(networks)}")
        for name, network in networks.items():
            network.load_state_dict(resume.networks[name])
        for name, optimiser in optimisers.items():
            optimiser.load_state_dict(resume.optimisers[name])
        run.rng.set_state(resume.rng_states[run.topology.rank])
    except (RuntimeError, ValueError, KeyError) as error:
        first = " ".join(line.strip() for line in str(error).strip().splitlines()[:2])
        raise InputError(f"the checkpoint does not fit the model its run describes ({first[:300]})") from None
    run.history, run.warnings, run.best = list(resume.history), Warnings(announce, resume.warnings), resume.best
    run.first_step = resume.step + 1


def _gan_step(run: _Training, step: int):
    """The gan trainer's update: critic_steps of D, then one of G."""
    fake, noise, batch_classes, loss_d, logit_real, logit_fake = _discriminator_steps(run, step)
    loss_g = _generator_step(run, fake, noise, batch_classes, step)
    return loss_d, loss_g, logit_real, logit_fake


def _gan_row(run: _Training, step: int, outcome) -> dict[str, float]:
    return log_row(step, *outcome, run.wasserstein)


def _gan_score(run: _Training, row: dict[str, float], step: int) -> None:
    run.best = run.probe.score(row, step, run.generator, run.discriminator, run.history, run.warnings, run.best)


# Each trainer: its update (returning losses first), its history row, its probe scoring.
_TRAINERS = {
    "gan": (_gan_step, _gan_row, _gan_score),
    "vae-gan": (vaegan.step, vaegan.history_row, vaegan.score),
}


def _discriminator_steps(run: _Training, step: int):
    """config.critic_steps updates of D; returns the last generated batch (with its graph, for
    the generator update), its noise and classes, D's loss and its logits on real and generated."""
    config = run.config
    for critic_step in range(config.critic_steps):
        real, batch_classes = run.batch()
        noise = torch.randn(run.batch_size, run.spec.noise_width, device=run.device, generator=run.rng)
        # The last critic step's generated batch keeps its graph and serves the generator
        # update too, so each step runs the generator forward once (the DCGAN recipe).
        keep_graph = critic_step == config.critic_steps - 1
        with torch.set_grad_enabled(keep_graph), run.autocast():
            fake = generator_output((run.generator_ddp if keep_graph else run.generator)(noise, batch_classes), config, run.rng)
        real_seen, fake_seen = run.blur(real, step), run.blur(fake.detach(), step)
        pair_classes = None if batch_classes is None else torch.cat([batch_classes, batch_classes])
        # Real and generated go through the discriminator as one batch of 2B: one pass, one
        # backward, bigger matrix products than two passes of B.
        with run.autocast():
            logits = run.discriminator_ddp(torch.cat([real_seen, fake_seen]), pair_classes, groups=2).float()
        logit_real, logit_fake = logits[: run.batch_size], logits[run.batch_size :]
        if run.wasserstein:
            with run.autocast():
                penalty = gradient_penalty(run.discriminator, real_seen, fake_seen, batch_classes, run.rng)
            loss_d = logit_fake.mean() - logit_real.mean() + config.gp_weight * penalty.float()
        else:
            loss_d = minimax_discriminator_loss(logits, run.batch_size, config.label_smoothing)
        run.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        run.opt_d.step()
    return fake, noise, batch_classes, loss_d, logit_real, logit_fake


def _generator_step(run: _Training, fake: torch.Tensor, noise: torch.Tensor, batch_classes, step: int) -> torch.Tensor:
    with run.autocast():
        score = run.discriminator(run.blur(fake, step), batch_classes).float()
    # Non-saturating loss: maximise log D(G(z)) rather than minimise log(1 - D(G(z))), whose
    # gradient vanishes while the discriminator wins easily. WGAN: maximise the critic's score.
    loss_g = -score.mean() if run.wasserstein else F.binary_cross_entropy_with_logits(score, torch.ones_like(score))
    if run.config.diversity_weight > 0:
        # Mode seeking: two halves of the batch, outputs as far apart as their noise vectors are.
        half = fake.shape[0] // 2
        spread = (fake[:half] - fake[half : 2 * half]).abs().flatten(1).mean(1)
        noise_gap = (noise[:half] - noise[half : 2 * half]).abs().mean(1)
        loss_g = loss_g + run.config.diversity_weight / ((spread / noise_gap).mean() + 1e-5)
    run.opt_g.zero_grad(set_to_none=True)
    # Gradients through the discriminator, but not of its weights: autograd skips their
    # matrix products (a third of the discriminator's backward).
    loss_g.backward(inputs=list(run.generator.parameters()))
    run.opt_g.step()
    return loss_g


def _loop(run: _Training, on_progress, on_checkpoint, should_stop, fresh: bool) -> LoopResult:
    config, topology = run.config, run.topology
    update, history_row, score = _TRAINERS[config.trainer]
    if fresh:
        _checkpoint(run, 0, (), on_checkpoint)
    started = time.perf_counter()
    for step in range(run.first_step, config.steps + 1):
        outcome = update(run, step)
        loss_d, loss_g = outcome[:2]
        row = None
        if step % config.log_every == 0 or step == config.steps or step == 1:
            row = history_row(run, step, outcome)
            if not all(np.isfinite(row[key]) for key in HISTORY_FIELDS[:7]):
                raise Diverged(step, "loss or score")
            if topology.is_main:
                score(run, row, step)
                run.history.append(row)
        if on_progress is not None and topology.is_main:
            on_progress(step, row)
        stop_reason = _stop_reason(should_stop, topology, step, config.log_every)
        if step % config.checkpoint_every == 0 or step == config.steps or stop_reason:
            _checkpoint(run, step, (loss_d, loss_g), on_checkpoint)
        if stop_reason:
            raise Interrupted(stop_reason, step)
    if run.best is not None:
        run.generator.load_state_dict(run.best.generator)
        run.discriminator.load_state_dict(run.best.discriminator)
    run.generator.eval()
    run.discriminator.eval()
    return LoopResult(
        generator=run.generator, discriminator=run.discriminator, spec=run.spec, history=run.history,
        device=str(run.device), batch_size=run.batch_size, wall_time_s=time.perf_counter() - started,
        warnings=run.warnings, selected_step=None if run.best is None else run.best.step,
        world_size=topology.world_size, latent_scale=None if run.best is None else run.best.latent_scale,
    )


def _checkpoint(run: _Training, step: int, losses: tuple[torch.Tensor, ...], on_checkpoint) -> None:
    if not _all_finite(losses, run.networks().values(), run.topology):
        raise Diverged(step)
    rng_states = distributed.gather_states(run.rng.get_state(), run.topology)
    if on_checkpoint is not None and run.topology.is_main:
        on_checkpoint(TrainingState(
            step=step,
            networks={name: copy_state(network) for name, network in run.networks().items()},
            optimisers={name: optimiser.state_dict() for name, optimiser in run.optimisers().items()},
            rng_states=rng_states, history=run.history, warnings=run.warnings, best=run.best,
            world_size=run.topology.world_size, spec=run.spec,
        ))


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


def _all_finite(losses, networks, topology) -> bool:
    values = [loss.detach().float().reshape(1) for loss in losses]
    values += [p.detach().float().abs().max().reshape(1) for network in networks for p in network.parameters()]
    finite = bool(torch.isfinite(torch.cat(values)).all())
    return not distributed.any_rank(not finite) if topology.distributed else finite


def _log_frequencies(rows: np.ndarray, n_channels: int, novel_bases: float) -> np.ndarray:
    """Log base frequencies per position, smoothed so that no base is impossible: a pseudo-count
    small enough that a sequence drawn from them carries about `novel_bases` bases never seen at
    their position (capped at add-half), so the generator starts near the data's variants rather
    than sprinkling new ones everywhere (add-half gave about one per TP53 sequence)."""
    length = rows.shape[1]
    pseudo = min(0.5, novel_bases * len(rows) / (max(n_channels - 1, 1) * length))
    counts = position_counts(rows, n_channels) + pseudo
    return np.log(counts / counts.sum(axis=1, keepdims=True)).astype(np.float32).ravel()


def _start_at_the_data(generator: Generator, indices: np.ndarray, n_channels: int,
                       labels: np.ndarray | None = None, novel_bases: float = 0.05) -> None:
    """Output bias = log base frequencies per position (the last layer's weights shrunk, so the
    noise only nudges it); with labels, each class's bias moves that to the class's own frequencies."""
    pooled = _log_frequencies(indices, n_channels, novel_bases)
    last = generator.net[-1]
    with torch.no_grad():
        last.bias.copy_(torch.from_numpy(pooled))
        last.weight.mul_(0.1)
        if labels is not None and generator.class_bias is not None:
            for label in range(generator.class_bias.shape[0]):
                rows = indices[labels == label]
                if len(rows):
                    generator.class_bias[label].copy_(torch.from_numpy(_log_frequencies(rows, n_channels, novel_bases) - pooled))
