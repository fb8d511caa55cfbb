"""The vae-gan trainer (Larsen et al. 2016): the generator is the decoder of a variational
autoencoder, and the discriminator judges hard samples of whole generated sequences.

Why both. A discriminator alone teaches a generator poorly on cohorts of a few thousand
sequences: the GAN-only recipe huddles around the average patient (issue 19: AA_syn 1.00 on
held-out 1000 Genomes haplotypes). Reconstruction gives every real sequence a code and makes the
generator rebuild it, so each code's output carries one patient's combination of variants; the
KL term keeps the codes on the N(0, I) noise that generation draws from. Sampling each position
independently given the code loses the links the code does not carry; the discriminator, seeing
whole hard samples, is what can push those back.

One step: a real batch is encoded, a draw of each code and a batch of prior noise go through
the generator in one pass (one forward and one backward, as DistributedDataParallel needs); the
discriminator updates on real against the sampled half; then encoder and generator update on
reconstruction + KL + the non-saturating adversarial loss. With a hold-out, each log step scores
the probe at several noise scales and keeps the best (step, scale), the scale folded into the
generator's first layer so that generation needs nothing new.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from .losses import generator_output, minimax_discriminator_loss
from .model import Generator, ModelSpec, _mlp, linear_state_size
from .monitor import Warnings, log_row

KL_FIELDS = ("recon", "kl")  # history columns this trainer adds


class Encoder(nn.Module):
    """Flattened one-hot sequence (+ one-hot class) -> the mean and log-variance of its code."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.net = _mlp(encoder_widths(spec), spec.leaky_slope)

    def forward(self, sequences: torch.Tensor, classes: torch.Tensor | None = None):
        flat = sequences.reshape(sequences.shape[0], -1)
        if self.spec.n_classes:
            flat = torch.cat([flat, F.one_hot(classes, self.spec.n_classes).to(flat.dtype)], dim=1)
        mean, log_variance = self.net(flat).chunk(2, dim=1)
        # Bounded so that exp() cannot overflow in an unlucky early step.
        return mean, log_variance.clamp(-12.0, 8.0)


def encoder_widths(spec: ModelSpec) -> list[int]:
    """One-hot sequence and class in; the discriminator's hidden widths; mean and log-variance out."""
    return [spec.length * spec.n_channels + spec.n_classes, *reversed(spec.hidden), 2 * spec.noise_dim]


def encoder_bytes(spec: ModelSpec) -> int:
    """The encoder's float32 state, counted from the spec (as model.model_bytes counts the others)."""
    return 4 * linear_state_size(encoder_widths(spec))


def attach(run, make_optimiser) -> None:
    """Give a set-up training run its encoder and the encoder's optimiser (after the generator and
    discriminator are initialised, so those draw the same weights as without it)."""
    from . import distributed

    run.encoder = Encoder(run.spec).to(run.device).train()
    run.encoder_ddp = distributed.wrap(run.encoder, run.topology, run.device)
    run.opt_e = make_optimiser(run.encoder.parameters(), run.config)


def kl_weight(config, step: int) -> float:
    if config.kl_warmup <= 0:
        return config.kl_weight
    return config.kl_weight * min(1.0, step / config.kl_warmup)


def step(run, step_number: int):
    """One update of the discriminator, then of encoder and generator; returns what a history
    row needs: D's loss, the generator side's loss, D's logits on real and generated, and the
    reconstruction and KL terms."""
    config, size = run.config, run.batch_size
    picked = torch.randint(0, len(run.data), (size,), device=run.device, generator=run.rng)
    real_indices = run.data[picked]
    real = F.one_hot(real_indices, run.spec.n_channels).to(torch.float32)
    classes = None if run.classes is None else run.classes[picked]
    eps = torch.randn(size, config.noise_dim, device=run.device, generator=run.rng)
    prior = torch.randn(size, run.spec.noise_width, device=run.device, generator=run.rng)

    with run.autocast():
        mean, log_variance = run.encoder_ddp(real, classes)
        code = mean + torch.exp(0.5 * log_variance) * eps
        both = None if classes is None else torch.cat([classes, classes])
        logits = run.generator_ddp(prior, both, codes=code).float()
    rebuilt, sampled = logits[:size], logits[size:]
    fake = generator_output(sampled, config, run.rng)

    real_seen, fake_seen = run.blur(real, step_number), run.blur(fake.detach(), step_number)
    with run.autocast():
        pair = run.discriminator_ddp(torch.cat([real_seen, fake_seen]), both, groups=2).float()
    loss_d = minimax_discriminator_loss(pair, size, config.label_smoothing)
    run.opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    run.opt_d.step()

    # Cross-entropy per modelled position (mean), and the KL per position: the two terms keep one
    # scale whatever the sequence length. A cohort of few varying positions still carries more
    # information per position in its codes (the demo's 12: at kl_weight 1 the codes collapsed
    # onto the prior), which is why the default weight is 0.1.
    recon = F.cross_entropy(rebuilt.transpose(1, 2), real_indices)
    kl = kl_divergence(run.generator, mean.float(), log_variance.float(), code.float(), eps) / run.spec.length
    loss = recon + kl_weight(config, step_number) * kl
    if config.adversarial_weight > 0:
        with run.autocast():
            score = run.discriminator(run.blur(fake, step_number), classes).float()
        # Non-saturating: maximise log D(G(z)), whose gradient does not vanish while D wins.
        loss = loss + config.adversarial_weight * F.binary_cross_entropy_with_logits(score, torch.ones_like(score))
    run.opt_g.zero_grad(set_to_none=True)
    run.opt_e.zero_grad(set_to_none=True)
    # Gradients for generator and encoder only: the discriminator's weight gradients are skipped.
    loss.backward(inputs=[*run.generator.parameters(), *run.encoder.parameters()])
    run.opt_g.step()
    run.opt_e.step()
    return loss_d, loss, pair[:size], pair[size:], recon, kl


def kl_divergence(generator: Generator, mean, log_variance, code, eps) -> torch.Tensor:
    """KL(q(code | x) || prior), mean over the batch: in closed form against N(0, I); against a
    mixture prior, the one-sample estimate log q(code) - log p(code) at the drawn code."""
    if generator.prior is None:
        return 0.5 * (mean ** 2 + log_variance.exp() - 1 - log_variance).sum(1).mean()
    log_q = (-0.5 * eps.float() ** 2 - 0.5 * log_variance - 0.5 * math.log(2 * math.pi)).sum(1)
    return (log_q - generator.prior.log_prob(code)).mean()


def history_row(run, step_number: int, outcome) -> dict[str, float]:
    loss_d, loss, logit_real, logit_fake, recon, kl = outcome
    row = log_row(step_number, loss_d, loss, logit_real, logit_fake, False)
    row["recon"], row["kl"] = float(recon.detach()), float(kl.detach())
    return row


def scaled(generator: Generator, scale: float) -> Generator:
    """A copy whose noise is `scale` times wider: the first layer's noise columns multiplied by
    it, so that G'(z) = G(scale * z) and generation draws the same N(0, I) noise as ever (with a
    mixture prior: each component's spread times `scale`)."""
    if scale == 1.0:
        return generator
    copied = copy.deepcopy(generator)
    with torch.no_grad():
        if copied.prior is not None:  # wider within each component; the components stay put
            copied.prior.log_scales.add_(math.log(scale))
        else:
            copied.net[0].weight[:, : generator.spec.noise_dim].mul_(scale)
    return copied


def score(run, row: dict[str, float], step_number: int) -> None:
    """The probe at each noise scale (only 1 without a hold-out, where nothing is selected); the
    history row keeps scale 1's figures, the selection the best (step, scale)."""
    selecting = run.probe.holdout is not None
    # Scale 1 always fills the history row and judges collapse (the model as trained); it
    # competes for selection only when it is one of the scales asked for.
    kept = run.probe.score(row, step_number, run.generator, run.discriminator, run.history, run.warnings, run.best)
    if not selecting:
        run.best = kept
        return
    if 1.0 in run.config.latent_scales:
        run.best = kept
    for scale in run.config.latent_scales:
        if scale == 1.0:
            continue
        before = run.best
        run.best = run.probe.score(dict(row), step_number, scaled(run.generator, scale), run.discriminator,
                                   run.history, Warnings(), run.best)
        if run.best is not before:
            run.best.latent_scale = scale
