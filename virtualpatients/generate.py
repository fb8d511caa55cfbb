"""Generator logits in chunks -> channel indices -> FASTA bytes; memory stays flat in N."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from .checkpoint import LoadedRun
from .encoding import decode
from .errors import InputError
from .fasta import format_fasta

DEFAULT_CHUNK = 4096


@torch.inference_mode()
def generate_indices(
    run: LoadedRun, n: int, seed: int = 0, batch_size: int = DEFAULT_CHUNK, sample: bool = False
) -> Iterator[np.ndarray]:
    """Yield (chunk, L) uint8 index arrays, n rows in all, the last chunk partial."""
    if n < 0:
        raise InputError("-n must be zero or more")
    if batch_size < 1:
        raise InputError("--batch-size must be at least 1")
    device = next(run.generator.parameters()).device
    rng = torch.Generator(device=device)
    rng.manual_seed(seed)
    done = 0
    while done < n:
        size = min(batch_size, n - done)
        noise = torch.randn(size, run.spec.noise_dim, device=device, generator=rng)
        logits = run.generator(noise)
        if sample:
            # Gumbel-max: argmax(logits + Gumbel noise) is a draw from softmax(logits), no softmax needed.
            uniform = torch.rand(logits.shape, device=device, generator=rng).clamp_(1e-12, 1.0)
            logits = logits - torch.log(-torch.log(uniform))
        # argmax of the logits equals argmax of the softmax, so the softmax is skipped.
        yield logits.argmax(dim=-1).to(torch.uint8).cpu().numpy()
        done += size


def generate_fasta(
    run: LoadedRun,
    n: int,
    seed: int = 0,
    batch_size: int = DEFAULT_CHUNK,
    sample: bool = False,
    prefix: str = "vp_",
) -> Iterator[bytes]:
    """Yield FASTA text chunk by chunk; record ids are prefix + a 6-digit (or longer) counter."""
    description = f"model={run.path.name} seed={seed} decode={'sample' if sample else 'argmax'}"
    width = max(6, len(str(n)))
    number = 0
    for indices in generate_indices(run, n, seed, batch_size, sample):
        ids = [f"{prefix}{i:0{width}d}" for i in range(number + 1, number + len(indices) + 1)]
        number += len(indices)
        yield format_fasta(ids, [description] * len(ids), decode(indices, run.alphabet))
