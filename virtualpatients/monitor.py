"""What training watches at log steps: history rows, the probe batch's diversity (mode
collapse) and, with a hold-out, the AATS that selects the checkpoint."""

from __future__ import annotations

import numpy as np
import torch

from .model import channel_argmax

HISTORY_FIELDS = ("step", "loss_d", "loss_g", "d_real", "d_fake", "acc_real", "acc_fake", "distinct_probe")
PROBE_SIZE = 256
COLLAPSE_THRESHOLD = 0.05


def probe(row, step, generator, discriminator, config, warnings, best, selecting, holdout, holdout_labels,
          probe_noise, probe_classes, probe_gumbel, n_channels):
    """Score a fixed probe batch: distinct share (mode collapse) and, with a hold-out, AATS for
    checkpoint selection. Returns the best (distance, step, states) so far."""
    with torch.no_grad():
        logits = generator(probe_noise, probe_classes).float()
        if config.output == "gumbel":
            logits = logits + probe_gumbel
        probe_bases = channel_argmax(logits)
        distinct = torch.unique(probe_bases, dim=0).shape[0]
    row["distinct_probe"] = distinct / PROBE_SIZE
    late = step >= config.steps // 10
    if selecting:
        row["aats_probe"] = class_mean_aats(
            holdout, holdout_labels, probe_bases.cpu().numpy(),
            None if probe_classes is None else probe_classes.cpu().numpy(), n_channels, config.seed,
        )
        distance = abs(row["aats_probe"] - 0.5)
        if late and np.isfinite(distance) and (best is None or distance < best[0]):
            best = (distance, step, copy_state(generator), copy_state(discriminator))
    if late and row["distinct_probe"] < COLLAPSE_THRESHOLD and not any("collapse" in w for w in warnings):
        warnings.append(f"mode collapse at step {step}: {distinct} distinct sequences in a probe batch of {PROBE_SIZE}")
    return best


def class_mean_aats(
    real: np.ndarray, real_classes: np.ndarray | None, generated: np.ndarray, generated_classes: np.ndarray | None,
    n_channels: int, seed: int,
) -> float:
    from .metrics import adversarial_accuracy

    if real_classes is None or generated_classes is None:
        return adversarial_accuracy(real, generated, n_channels, seed)["aats"]
    scores = [
        adversarial_accuracy(real[real_classes == c], generated[generated_classes == c], n_channels, seed)["aats"]
        for c in np.unique(real_classes)
        if (real_classes == c).sum() >= 2 and (generated_classes == c).sum() >= 2
    ]
    return float(np.mean(scores)) if scores else float("nan")


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
