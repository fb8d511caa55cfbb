"""What training watches at log steps: history rows, the probe batch's diversity (mode
collapse) and, with a hold-out, the AATS that selects the checkpoint."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data.distances import adversarial_accuracy
from .losses import gumbel_noise
from .model import channel_argmax

HISTORY_FIELDS = ("step", "loss_d", "loss_g", "d_real", "d_fake", "acc_real", "acc_fake", "distinct_probe")
PROBE_SIZE = 256
COLLAPSE_THRESHOLD = 0.05


class Warnings(list):
    """The run's warnings; each new one also goes to `announce` at once (the CLI prints it above
    the progress bar), so a user learns of a problem while training runs, not after."""

    def __init__(self, announce=None, earlier=()):
        super().__init__(earlier)
        self.announce = announce

    def append(self, message: str) -> None:
        super().append(message)
        if self.announce is not None:
            self.announce(message)


@dataclass
class Selection:
    """The weights kept by checkpoint selection: the log step whose probe AATS against the
    held-out sequences was nearest 0.5 (distance = |AATS - 0.5|)."""

    distance: float
    step: int
    generator: dict[str, torch.Tensor]
    discriminator: dict[str, torch.Tensor]
    latent_scale: float = 1.0  # vae-gan: the prior's scale folded into `generator` (1: as trained)


@dataclass
class Probe:
    """A fixed batch of noise (and classes, and Gumbel draws) scored at every log step."""

    noise: torch.Tensor
    classes: torch.Tensor | None
    gumbel: torch.Tensor
    holdout: np.ndarray | None  # held-out sequences to score AATS against (None: no selection)
    holdout_labels: np.ndarray | None
    config: object

    @classmethod
    def draw(cls, config, spec, classes, n_rows, device, rng, holdout, holdout_labels, is_main) -> Probe:
        noise = torch.randn(PROBE_SIZE, spec.noise_width, device=device, generator=rng)
        rows = torch.randint(0, n_rows, (PROBE_SIZE,), device=device, generator=rng)
        gumbel = gumbel_noise(torch.Size((PROBE_SIZE, spec.length, spec.n_channels)), device, rng)
        selecting = is_main and holdout is not None and len(holdout) >= 2
        return cls(noise, classes[rows] if classes is not None else None, gumbel,
                   holdout if selecting else None, holdout_labels, config)

    def score(self, row, step, generator, discriminator, history, warnings, best: Selection | None) -> Selection | None:
        """Add the probe's distinct share (and AATS) to the row; warn once on mode collapse;
        return the best selection so far."""
        config = self.config
        with torch.no_grad():
            logits = generator(self.noise, self.classes).float()
            if config.output == "gumbel":
                logits = logits + self.gumbel
            probe_bases = channel_argmax(logits)
            distinct = torch.unique(probe_bases, dim=0).shape[0]
        row["distinct_probe"] = distinct / PROBE_SIZE
        late = step >= config.steps // 10
        if self.holdout is not None:
            row["aats_probe"], row["aa_truth_probe"], row["aa_syn_probe"] = class_mean_aats(
                self.holdout, self.holdout_labels, probe_bases.cpu().numpy(),
                None if self.classes is None else self.classes.cpu().numpy(), logits.shape[-1],
                config.seed,
            )
            # Both halves of AATS must be near 1/2: their mean alone is fooled by a generator that
            # is easy to tell apart from one side and not the other (a PWM: AA_truth 1, AA_syn 0.16).
            distance = abs(row["aa_truth_probe"] - 0.5) + abs(row["aa_syn_probe"] - 0.5) \
                if config.selection == "both" else abs(row["aats_probe"] - 0.5)
            if late and np.isfinite(distance) and (best is None or distance < best.distance):
                best = Selection(distance, step, copy_state(generator), copy_state(discriminator))
        if late and row["distinct_probe"] < COLLAPSE_THRESHOLD and not collapsed_before(history, config.steps):
            warnings.append(
                f"mode collapse at step {step}: {distinct} distinct sequences in a probe batch of {PROBE_SIZE}; "
                "the generator repeats itself. Remedies: the default recipe (Gumbel outputs, data bias, "
                "minibatch std) if another was set, configs/wgan-gp.toml, or a hold-out (so a step "
                "before the collapse is kept)"
            )
        return best


def collapsed_before(history: list[dict[str, float]], steps: int) -> bool:
    """Whether an earlier log row (past the first tenth of training) already showed collapse."""
    return any(r["step"] >= steps // 10 and r["distinct_probe"] < COLLAPSE_THRESHOLD for r in history)


def class_mean_aats(
    real: np.ndarray, real_classes: np.ndarray | None, generated: np.ndarray, generated_classes: np.ndarray | None,
    n_channels: int, seed: int,
) -> tuple[float, float, float]:
    """(AATS, AA_truth, AA_syn), class by class and averaged when there are classes."""
    keys = ("aats", "aa_truth", "aa_syn")
    if real_classes is None or generated_classes is None:
        result = adversarial_accuracy(real, generated, n_channels, seed)
        return tuple(float(result[k]) for k in keys)
    scores = [
        adversarial_accuracy(real[real_classes == c], generated[generated_classes == c], n_channels, seed)
        for c in np.unique(real_classes)
        if (real_classes == c).sum() >= 2 and (generated_classes == c).sum() >= 2
    ]
    if not scores:
        return (float("nan"),) * 3
    return tuple(float(np.mean([s[k] for s in scores])) for k in keys)


def copy_state(network: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in network.state_dict().items()}


def log_row(step, loss_d, loss_g, logit_real, logit_fake, wasserstein: bool) -> dict[str, float]:
    """One history row; the only place that synchronises with the device."""
    with torch.no_grad():
        if wasserstein:
            real_score, fake_score = logit_real.mean(), logit_fake.mean()
            # Accuracy of the critic thresholded halfway between its mean real and fake scores.
            middle = (real_score + fake_score) / 2
            values = [real_score, fake_score, (logit_real > middle).float().mean(), (logit_fake < middle).float().mean()]
        else:
            values = [
                torch.sigmoid(logit_real).mean(),
                torch.sigmoid(logit_fake).mean(),
                (logit_real > 0).float().mean(),
                (logit_fake < 0).float().mean(),
            ]
        stats = torch.stack([loss_d.detach(), loss_g.detach(), *values]).tolist()
    row = {"step": step, **dict(zip(HISTORY_FIELDS[1:7], stats))}
    if wasserstein:
        row["wasserstein"] = row["d_real"] - row["d_fake"]
    return row
