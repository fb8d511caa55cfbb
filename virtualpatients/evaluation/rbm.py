"""A restricted Boltzmann machine over aligned sequences: the model of Yelmen et al. 2021
("Creating artificial human genomes using generative neural networks"), the published
generator a GAN must beat on haplotype data.

Visible units: one categorical (softmax) unit per varying position, over the channels seen
there in training (a position with a single base stays fixed, a base never seen at a position is
never drawn). Hidden units: Bernoulli. Energy E(v, h) = -b.v - c.h - v'Wh, so p(h | v) is a
sigmoid and p(v | h) a softmax per position. Training: persistent contrastive divergence (PCD-k:
the negative phase runs k Gibbs steps on persistent chains, as many as a minibatch) with Adam on
the free-energy difference, in minibatches, the learning rate decayed linearly to 0, for a number
of epochs or until a wall-time budget is spent. Sampling: Gibbs chains started from training rows
(as the persistent chains start; or from uniformly random or frequency-drawn states), a burn-in of
Gibbs steps, the final visible state drawn from the per-position softmax.

Everything runs in float32 on the CPU, vectorised over rows and positions; one torch.Generator,
seeded once, drives training (and another sampling), so a seed fixes the model and the draws
(for a fixed number of epochs: a time budget stops wherever the clock says)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..data.encoding import position_counts
from ..errors import Diverged, InputError

DEFAULT_HIDDEN = 500  # as Yelmen et al.
DEFAULT_EPOCHS = 500  # without a time budget (Yelmen et al.: 800); with one, the budget alone ends training
CHAIN_CHUNK = 4096  # chains run at once when sampling: bounded memory for any n
INITS = ("data", "random", "frequencies")


def one_hot_slots(slots: torch.Tensor, width: int) -> torch.Tensor:
    """(rows, units) slot numbers -> (rows, width * units) float32 visible rows, slot-major: the
    entry of slot s of unit j is at s * units + j, so per-unit reductions run over contiguous rows."""
    return (slots.unsqueeze(1) == torch.arange(width).view(1, width, 1)).reshape(len(slots), -1).to(torch.float32)


@dataclass
class RBMModel:
    """A fitted RBM and how its visible units map to sequence positions.

    `fixed` holds each position's base (the one base of a position that never varies); `varying`
    the positions with a softmax unit; `channels[s, j]` the base of slot s of unit j, `mask[s, j]`
    whether that slot is a base seen there (the rest are padding, never drawn)."""

    fixed: np.ndarray  # (L,) uint8
    varying: np.ndarray  # (units,) positions
    channels: np.ndarray  # (width, units) uint8
    mask: torch.Tensor  # (width, units) bool
    log_frequencies: torch.Tensor  # (width, units) training log base frequencies
    weights: torch.Tensor  # (width * units, hidden)
    visible_bias: torch.Tensor  # (width, units)
    hidden_bias: torch.Tensor  # (hidden,)
    starts: torch.Tensor  # (N, units) the training rows' slots: where "data" chains start
    epochs: float = 0.0  # passes over the data trained
    steps: int = 0  # parameter updates
    seconds: float = 0.0  # wall time of training

    def _draw_visible(self, logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One slot per unit from softmax(logits) over its seen slots, by inverse CDF (one uniform
        per unit); (rows, width, units) logits -> visible rows."""
        odds = (logits - logits.amax(dim=1, keepdim=True)).exp_().masked_fill_(~self.mask, 0.0)
        cumulative = odds.cumsum(dim=1)
        u = torch.rand(len(logits), 1, logits.shape[2], generator=generator) * cumulative[:, -1:]
        # Padding slots come last with weight 0: u < total never passes the last seen slot.
        return one_hot_slots((u > cumulative[:, :-1]).sum(dim=1), self.mask.shape[0])

    def gibbs(self, visible: torch.Tensor, steps: int, generator: torch.Generator) -> torch.Tensor:
        """`steps` rounds of h ~ p(h | v), v ~ p(v | h) on visible rows."""
        shape = (len(visible), *self.mask.shape)
        for _ in range(steps):
            hidden = torch.bernoulli(torch.sigmoid(visible @ self.weights + self.hidden_bias), generator=generator)
            visible = self._draw_visible((hidden @ self.weights.T).view(shape) + self.visible_bias, generator)
        return visible

    def free_energy(self, visible: torch.Tensor) -> torch.Tensor:
        """F(v) = -b.v - sum_j softplus(c_j + (vW)_j), one value per row."""
        return -(visible @ self.visible_bias.reshape(-1)) - F.softplus(visible @ self.weights + self.hidden_bias).sum(1)

    def to_indices(self, visible: torch.Tensor) -> np.ndarray:
        """Visible rows -> (rows, L) uint8 channel indices, fixed positions filled in."""
        out = np.tile(self.fixed, (len(visible), 1))
        if len(self.varying):
            slots = visible.view(len(visible), *self.mask.shape).argmax(dim=1).numpy()
            out[:, self.varying] = self.channels[slots, np.arange(len(self.varying))]
        return out

    def sample(self, n: int, generator: torch.Generator, burn_in: int = 500, init: str = "data") -> np.ndarray:
        """n sequences, (n, L) uint8: Gibbs chains from `init` states ("data": training rows drawn
        with replacement, as the persistent chains start; "random": each unit uniform over its seen
        bases; "frequencies": each unit from its training base frequencies), `burn_in` steps, the
        last visible state drawn from the softmax. Chains run in blocks of CHAIN_CHUNK."""
        check_sampling(burn_in, init)
        blocks = [np.zeros((0, len(self.fixed)), dtype=np.uint8)]
        start_logits = torch.zeros_like(self.log_frequencies) if init == "random" else self.log_frequencies
        with torch.no_grad():
            for start in range(0, n, CHAIN_CHUNK):
                rows = min(CHAIN_CHUNK, n - start)
                if init == "data":
                    picked = torch.randint(0, len(self.starts), (rows,), generator=generator)
                    visible = one_hot_slots(self.starts[picked], self.mask.shape[0])
                else:
                    visible = self._draw_visible(start_logits.expand(rows, *start_logits.shape), generator)
                blocks.append(self.to_indices(self.gibbs(visible, burn_in, generator)))
        return np.concatenate(blocks)


def check_sampling(burn_in: int, init: str) -> None:
    if init not in INITS:
        raise InputError(f"RBM chains start from {', '.join(INITS)} states, not {init!r}")
    if not isinstance(burn_in, (int, np.integer)) or burn_in < 1:
        raise InputError(f"RBM burn-in must be a whole number of at least 1 Gibbs step, not {burn_in!r}")


def _layout(indices: np.ndarray, n_channels: int) -> tuple[np.ndarray, ...]:
    """(fixed bases, varying positions, slot -> channel, seen mask, each row's slot per unit)."""
    seen = position_counts(indices, n_channels) > 0  # (L, C)
    fixed = seen.argmax(axis=1).astype(np.uint8)
    varying = np.flatnonzero(seen.sum(axis=1) > 1)
    width = max(int(seen.sum(axis=1).max()), 1)
    # Seen channels first, in channel order: slot s of a unit is its (s+1)-th seen base.
    channels = np.argsort(~seen[varying], axis=1, kind="stable")[:, :width]
    mask = np.take_along_axis(seen[varying], channels, axis=1)
    rank = np.cumsum(seen, axis=1) - 1  # channel -> slot, where seen
    slots = rank[varying[None, :], indices[:, varying]]
    return fixed, varying, channels.T.astype(np.uint8), mask.T, slots


def check_settings(hidden: int, k: int, batch_size: int, lr: float, epochs: int | None, time_budget_s: float | None,
                   weight_decay: float = 0.0, seed: int = 0) -> None:
    """InputError for a training setting out of range (the RBM baseline checks when built)."""
    for name, value in (("hidden units", hidden), ("k (Gibbs steps)", k), ("batch size", batch_size),
                        ("epochs", 1 if epochs is None else epochs)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise InputError(f"RBM {name} must be a whole number of at least 1, not {value!r}")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise InputError(f"RBM learning rate must be positive, not {lr!r}")
    if not (isinstance(weight_decay, (int, float)) and weight_decay >= 0):
        raise InputError(f"RBM weight decay must be zero or more, not {weight_decay!r}")
    if time_budget_s is not None and not (isinstance(time_budget_s, (int, float)) and time_budget_s > 0):
        raise InputError(f"RBM time budget must be positive seconds (or None), not {time_budget_s!r}")
    if not isinstance(seed, (int, np.integer)):
        raise InputError(f"RBM seed must be a whole number, not {seed!r}")


def fit_rbm(
    indices: np.ndarray, n_channels: int = 4, *, hidden: int = DEFAULT_HIDDEN, k: int = 1,
    batch_size: int = 100, lr: float = 1e-3, epochs: int | None = None, time_budget_s: float | None = None,
    weight_decay: float = 0.0, seed: int = 0,
) -> RBMModel:
    """Train an RBM on (N, L) channel indices (checked by the caller) by PCD-k with Adam; stop
    after `epochs` passes over the data or when `time_budget_s` seconds of wall time are spent,
    whichever comes first (checked after every update); `epochs` None: DEFAULT_EPOCHS without a
    budget, no limit but the budget with one. The learning rate falls linearly from
    `lr` to 0 over whichever runs out first: without the decay, PCD's persistent chains swing from
    mode to mode and the last weights are wherever the swing left them. Persistent chains:
    `batch_size` of them, started from training rows; visible biases start at the log base
    frequencies, weights at N(0, 0.01^2)."""
    check_settings(hidden, k, batch_size, lr, epochs, time_budget_s, weight_decay, seed)
    indices = np.asarray(indices, dtype=np.int64)
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(seed)
    fixed, varying, channels, mask, slots = _layout(indices, n_channels)
    mask_t = torch.from_numpy(mask)
    counts = position_counts(indices[:, varying], n_channels).astype(np.float32)
    frequencies = np.take_along_axis(counts, channels.T.astype(np.int64), axis=1).T * mask / len(indices)
    log_frequencies = torch.from_numpy(np.log(np.where(mask, frequencies, 1.0)).astype(np.float32))
    units = mask.size
    weights = (torch.randn(units, hidden, generator=generator) * 0.01) * mask_t.reshape(-1, 1)
    model = RBMModel(fixed, varying, channels, mask_t, log_frequencies, weights.requires_grad_(),
                     log_frequencies.clone().requires_grad_(), torch.zeros(hidden, requires_grad=True),
                     torch.from_numpy(slots))
    if not len(varying):  # nothing varies: every draw is the one sequence
        model.seconds = time.perf_counter() - started
        return model
    data = one_hot_slots(model.starts, mask.shape[0])
    chains = data[torch.randint(0, len(data), (batch_size,), generator=generator)]
    optimiser = torch.optim.Adam([model.weights, model.visible_bias, model.hidden_bias], lr=lr,
                                 weight_decay=weight_decay)
    per_epoch = math.ceil(len(data) / batch_size)
    total = per_epoch * (epochs or (DEFAULT_EPOCHS if time_budget_s is None else math.inf))
    step = 0
    while step < total:
        batch = step % per_epoch
        if batch == 0:
            order = torch.randperm(len(data), generator=generator)
        with torch.no_grad():
            chains = model.gibbs(chains, k, generator)
        rows = data[order[batch * batch_size:(batch + 1) * batch_size]]
        loss = model.free_energy(rows).mean() - model.free_energy(chains).mean()
        done = (step + 1) / total
        if time_budget_s is not None:
            done = max(done, (time.perf_counter() - started) / time_budget_s)
        for group in optimiser.param_groups:
            group["lr"] = lr * max(0.0, 1.0 - done)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        step += 1
        model.steps, model.epochs = step, step / per_epoch
        if time_budget_s is not None and time.perf_counter() - started >= time_budget_s:
            break
    for parameter in (model.weights, model.visible_bias, model.hidden_bias):
        parameter.requires_grad_(False)
    if not all(bool(torch.isfinite(p).all()) for p in (model.weights, model.visible_bias, model.hidden_bias)):
        raise Diverged(model.steps, "RBM weights (lower its learning rate)")
    model.seconds = time.perf_counter() - started
    return model
