"""Generator logits in chunks -> channel indices -> FASTA bytes; memory stays flat in N."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..data.encoding import decode
from ..data.sequences import format_fasta, header_value
from ..errors import InputError
from .model import channel_argmax

if TYPE_CHECKING:
    from .run import Run

DEFAULT_CHUNK = 4096


def default_sampling(run: Run) -> bool:
    """A model trained on Gumbel samples is decoded by sampling; the others by argmax."""
    return run.config.output == "gumbel"


def class_index(run: Run, label: str | None) -> int | None:
    if label is None:
        return None
    if not run.classes:
        raise InputError(f"label '{label}': this model was trained without labels")
    if label not in run.classes:
        raise InputError(f"unknown label '{label}'; this model knows: {', '.join(run.classes)}")
    return run.classes.index(label)


@torch.inference_mode()
def generate_indices(
    run: Run,
    n: int,
    seed: int = 0,
    batch_size: int = DEFAULT_CHUNK,
    sample: bool | None = False,
    label: str | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Yield ((chunk, L) uint8 indices, class indices or None), n rows in all, the last chunk partial.

    A conditional model without a label draws classes in the training data's proportions;
    sample=None decodes as the model was trained.
    """
    sample = default_sampling(run) if sample is None else sample
    if n < 0:
        raise InputError(f"n = {n}: the number of sequences must be zero or more")
    if batch_size < 1:
        raise InputError(f"batch_size = {batch_size}: must be at least 1")
    fixed_class = class_index(run, label)
    device = next(run.generator.parameters()).device
    rng = torch.Generator(device=device)
    rng.manual_seed(seed)
    weights = torch.tensor(run.class_counts or [1], dtype=torch.float, device=device)
    logits_of = run.generator.channel_major()
    width = run.spec.length * run.spec.n_channels
    buffer = torch.empty(min(batch_size, n), width, device=device)
    gumbel = torch.empty(min(batch_size, n), width, device=device) if sample else None
    alleles = None if run.allele_mask is None else torch.as_tensor(run.allele_mask, device=device)
    done = 0
    while done < n:
        size = min(batch_size, n - done)
        noise = torch.randn(size, run.spec.noise_width, device=device, generator=rng)
        classes = None
        if run.spec.n_classes:
            if fixed_class is None:
                classes = torch.multinomial(weights, size, replacement=True, generator=rng)
            else:
                classes = torch.full((size,), fixed_class, dtype=torch.long, device=device)
        logits = logits_of(noise, classes, out=buffer[:size])
        if alleles is not None:  # only a site's own alleles (models trained from VCF sites)
            logits.add_(alleles)  # logits is the (N, L, C) view
        if sample:
            # Gumbel-max: argmax(logits + Gumbel noise) is a draw from softmax(logits), no softmax
            # needed. The noise has the (N, L, C) layout of the logits' view, computed in place.
            uniform = gumbel[:size].view(size, run.spec.length, run.spec.n_channels)
            torch.rand(uniform.shape, device=device, generator=rng, out=uniform)
            logits.sub_(uniform.clamp_(1e-12, 1.0).log_().neg_().log_())
        # argmax of the logits equals argmax of the softmax, so the softmax is skipped.
        indices = run.expand(channel_argmax(logits).cpu().numpy())
        yield indices, None if classes is None else classes.cpu().numpy()
        done += size


def generate_all(
    run: Run, n: int, seed: int = 0, sample: bool | None = None, label: str | None = None
) -> tuple[np.ndarray, list[str] | None]:
    """All n sequences in memory as (n, L) indices, with their class names for conditional models."""
    chunks = list(generate_indices(run, n, seed, sample=sample, label=label))
    indices = np.concatenate([c for c, _ in chunks]) if chunks else np.zeros((0, run.length), np.uint8)
    labels = [run.classes[c] for _, classes in chunks for c in classes] if run.classes else None
    return indices, labels


def generate_fasta(
    run: Run,
    n: int,
    seed: int = 0,
    batch_size: int = DEFAULT_CHUNK,
    sample: bool | None = None,
    label: str | None = None,
    prefix: str = "vp_",
    extra: str = "",
) -> Iterator[bytes]:
    """Yield FASTA text chunk by chunk; ids are prefix + a 6-digit (or longer) counter, the
    description names the run, seed, decoding and (conditional models) label=VALUE."""
    sample = default_sampling(run) if sample is None else sample
    description = f"model={header_value(run.name)} seed={seed} decode={'sample' if sample else 'argmax'}{extra}"
    width = max(6, len(str(n)))
    number = 0
    for indices, classes in generate_indices(run, n, seed, batch_size, sample, label):
        ids = [f"{prefix}{i:0{width}d}" for i in range(number + 1, number + len(indices) + 1)]
        number += len(indices)
        if classes is None:
            titles = [f"{name} {description}" for name in ids]
        else:
            titles = [f"{name} {description} label={run.classes[c]}" for name, c in zip(ids, classes)]
        yield format_fasta(titles, decode(indices, run.alphabet))
