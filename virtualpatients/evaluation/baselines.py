"""Simple generators a GAN must beat, each fitted on the training indices and sampled in one call.

- independent: each position from its own training base frequencies (a position weight matrix,
  PWM): per-position frequencies kept, every link between positions lost.
- markov: a position-specific k-th order Markov chain: linkage over k neighbouring bases kept.
- resample-mutate: a real sequence with a few positions redrawn, perturbed about as much as real
  patients differ from their consensus.
- copy: real sequences drawn with replacement, the memorisation extreme (privacy worst case).
- rbm: a restricted Boltzmann machine (Yelmen et al. 2021), trained (evaluation/rbm.py): the
  published model a GAN must beat on haplotypes. Not in BASELINES, the default set: the others fit
  in milliseconds, the RBM trains for seconds to minutes and samples by long Gibbs chains, so it
  is scored only when asked for (`vp evaluate --baselines --rbm-budget S`).
All draws come from one numpy (rbm: torch) Generator seeded once, so a seed fixes the output."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..data.encoding import position_counts
from ..errors import InputError

if TYPE_CHECKING:
    import torch

    from ..data.sequences import SequenceSet
    from .rbm import RBMModel

DEFAULT_ORDER = 3
BASELINES = ("independent", "markov", "resample-mutate", "copy")  # the default set: fitted in milliseconds
KIND_NAMES = (*BASELINES, "rbm")
DENSE_CONTEXTS = 1 << 12  # context spaces up to this size are looked up in a table
ROW_CHUNK = 4096  # rows per (rows, L) block of uniforms: bounded memory for n = 10^5 and more


def _pick(u: np.ndarray, count: np.ndarray | int) -> np.ndarray:
    """floor(u * count), a uniform integer in [0, count) for u uniform on [0, 1); clipped because
    u * count can round up to count in floating point."""
    return np.minimum((u * count).astype(np.int64), np.asarray(count) - 1)


def _by_chunks(n: int, draw: Callable[[int, int], np.ndarray]) -> np.ndarray:
    """Concatenate draw(start, stop) over row blocks. Each block takes one (rows, L) uniform matrix
    from the Generator, in order, so the result does not depend on ROW_CHUNK."""
    return np.concatenate([draw(start, min(start + ROW_CHUNK, n)) for start in range(0, n, ROW_CHUNK)])


def _independent(training: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Inverse-CDF sampling of each position's training distribution: with every training column
    sorted, the base at quantile u of position i is sorted[floor(u * N), i]. One uniform matrix
    per block of rows; no per-channel loop, and a base absent at a position is never drawn."""
    columns, positions = np.sort(training, axis=0), np.arange(training.shape[1])

    def draw(start: int, stop: int) -> np.ndarray:
        return columns[_pick(rng.random((stop - start, len(positions))), len(training)), positions]

    return _by_chunks(n, draw)


Fitted = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]


def _fit_context(train_contexts: np.ndarray, train_next: np.ndarray, level: int, n_channels: int) -> Fitted:
    """One position's conditional distributions given the order-`level` context.

    Sorting the keys context*C + next puts each context's next bases in one sorted run, so the
    base at quantile u of a run is an inverse-CDF draw from that context's distribution. Returns
    (sorted next bases, known contexts, first index and length of each run, dense context -> run
    table while the context space is small, else None for a binary search)."""
    modulus = n_channels**level
    keys = np.sort(train_contexts % modulus * n_channels + train_next)
    known, first, count = np.unique(keys // n_channels, return_index=True, return_counts=True)
    table = np.full(modulus, -1, dtype=np.int64) if modulus <= DENSE_CONTEXTS else None
    if table is not None:
        table[known] = np.arange(len(known))
    return (keys % n_channels).astype(np.uint8), known, first, count, table


def draw_with_backoff(
    train_contexts: np.ndarray, train_next: np.ndarray, contexts: np.ndarray, level: int, n_channels: int,
    u: np.ndarray, fitted: Fitted | None = None,
) -> np.ndarray:
    """Draw the next base for each generated context from the training rows sharing it.

    Contexts are base-C integers of the previous bases, the most recent as the lowest digit, so
    `code % C**j` is the context of order j. A context no training row has at this position backs
    off to order j-1, and so on down to order 0 (the PWM), which always has data. Sampling the
    fitted chain never meets an unseen context (each drawn k+1-gram was seen, so its k-suffix was
    seen one position on); back-off is the safety net, not the usual path.
    """
    nexts, known, first, count, table = fitted or _fit_context(train_contexts, train_next, level, n_channels)
    codes = contexts % n_channels**level
    if table is not None:
        slot = table[codes]
    else:
        slot = np.minimum(np.searchsorted(known, codes), len(known) - 1)
        slot[known[slot] != codes] = -1
    drawn = nexts[first[slot] + _pick(u, count[slot])]  # slot -1 (unseen) reads a valid run, replaced below
    missing = slot < 0
    if missing.any():
        lower = draw_with_backoff(train_contexts, train_next, contexts[missing], level - 1, n_channels, u[missing])
        drawn[missing] = lower
    return drawn


def _markov(training: np.ndarray, n: int, n_channels: int, rng: np.random.Generator, order: int) -> np.ndarray:
    """Position i is drawn given the min(i, order) previous bases, with counts taken at position i
    only (the cohort is aligned, so position matters). Fitted once per position, then sampled in
    blocks of rows that stay in cache, looping over positions and vectorised over rows."""
    modulus = n_channels**order
    by_position = training.T.astype(np.int64)
    fitted, train_contexts = [], np.zeros(len(training), dtype=np.int64)
    for i, train_next in enumerate(by_position):
        fitted.append((train_contexts, _fit_context(train_contexts, train_next, min(i, order), n_channels)))
        train_contexts = (train_contexts * n_channels + train_next) % modulus

    def draw(start: int, stop: int) -> np.ndarray:
        u = rng.random((stop - start, len(by_position))).T.copy()
        out = np.empty((len(by_position), stop - start), dtype=np.uint8)
        contexts = np.zeros(stop - start, dtype=np.int64)
        for i, (contexts_at, table) in enumerate(fitted):
            out[i] = draw_with_backoff(contexts_at, by_position[i], contexts, min(i, order), n_channels, u[i], table)
            contexts = (contexts * n_channels + out[i]) % modulus
        return out.T

    return _by_chunks(n, draw)


def redraw_rates(training: np.ndarray, n_channels: int) -> np.ndarray:
    """Per position, the probability that resample-mutate redraws a base from the PWM.

    A redrawn base comes from the position's full training frequencies, consensus included, so the
    generated set keeps each position's frequencies (hence its mean differences from the consensus)
    in expectation. A redraw changes the base with probability D_i = 1 - sum_b p_ib^2, so the rate
    min(1, r_i / D_i), r_i = share of rows differing from the consensus, gives sum_i r_i expected
    changes per sequence: as many as a real patient's differences from the consensus (capped)."""
    frequencies = position_counts(training, n_channels) / len(training)
    differing = 1.0 - frequencies.max(axis=1)
    changing = 1.0 - (frequencies**2).sum(axis=1)
    return np.divide(differing, changing, out=np.zeros_like(differing), where=changing > 0).clip(0.0, 1.0)


def _resample_mutate(training: np.ndarray, n: int, n_channels: int, rng: np.random.Generator) -> np.ndarray:
    """A training row drawn with replacement, then each position redrawn from its PWM at the rate
    of redraw_rates. Redrawing from all bases rather than only the non-consensus ones keeps the
    per-position frequencies; drawing only variants would roughly double the differences from the
    consensus (the row's own variants plus new ones). Zero observed variation gives exact copies."""
    rates = redraw_rates(training, n_channels)
    columns = np.sort(training, axis=0)
    sources = rng.integers(0, len(training), n)

    def draw(start: int, stop: int) -> np.ndarray:
        block = training[sources[start:stop]]
        u = rng.random(block.shape)
        redraw = u < rates
        # Given u < rate, u / rate is again uniform on [0, 1): one uniform decides and draws.
        positions = np.nonzero(redraw)[1]
        block[redraw] = columns[_pick(u[redraw] / rates[positions], len(training)), positions]
        return block

    return _by_chunks(n, draw)


def _known(kind: str) -> None:
    if kind not in KIND_NAMES:
        raise InputError(f"unknown baseline {kind!r}; choose one of {', '.join(KIND_NAMES)}")


def check_rows(training: np.ndarray, n_channels: int) -> np.ndarray:
    training = np.asarray(training)
    if training.ndim != 2 or len(training) < 1:
        raise InputError(f"a baseline needs a (rows, length) training array with rows, not shape {training.shape}")
    out_of_range = training.size and (training.min() < 0 or training.max() >= n_channels)
    if not np.issubdtype(training.dtype, np.integer) or out_of_range:
        raise InputError(f"training values must be channel indices 0..{n_channels - 1}")
    return training


def _check(kind: str, training: np.ndarray, n: int, n_channels: int, order: int) -> np.ndarray:
    _known(kind)
    if kind not in BASELINES:
        raise InputError(f"the {kind} baseline trains a model: fit it with make({kind!r}).fit(data)")
    training = check_rows(training, n_channels)
    if n < 0:
        raise InputError(f"cannot generate {n} sequences")
    largest = int(62 / np.log2(n_channels)) - 1  # context * C + next must fit in int64
    if not 0 <= order <= largest:
        raise InputError(f"Markov order must be 0..{largest} for {n_channels} channels")
    return training.astype(np.uint8)


def _sample(
    kind: str, training: np.ndarray, n: int, n_channels: int, rng: np.random.Generator, order: int
) -> np.ndarray:
    if n == 0:
        return np.zeros((0, training.shape[1]), dtype=np.uint8)
    if kind == "independent":
        return _independent(training, n, rng)
    if kind == "markov":
        return _markov(training, n, n_channels, rng, order)
    if kind == "resample-mutate":
        return _resample_mutate(training, n, n_channels, rng)
    return training[rng.integers(0, len(training), n)]  # copy


def fit_and_sample(
    kind: str, training: np.ndarray, n: int, n_channels: int = 4, seed: int = 0, order: int = DEFAULT_ORDER
) -> np.ndarray:
    """Fit baseline `kind` on (N, L) training indices and draw n sequences: (n, L) uint8.
    `order` is the Markov order, ignored by the other kinds."""
    training = _check(kind, training, n, n_channels, order)
    return _sample(kind, training, n, n_channels, np.random.default_rng(seed), order)


def sample_by_class(
    kind: str, training: np.ndarray, labels: np.ndarray, n_per_class: Mapping[int, int] | Sequence[int] | np.ndarray,
    n_channels: int = 4, seed: int = 0, order: int = DEFAULT_ORDER,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit the baseline on each class's own rows and draw that class's count, so a baseline keeps
    what distinguishes classes as a conditional GAN should. Returns (indices, class per row), in
    increasing class order; one Generator serves every class in turn."""
    labels = np.asarray(labels)
    if isinstance(n_per_class, Mapping):
        wanted = {int(label): int(count) for label, count in n_per_class.items()}
    else:
        wanted = dict(enumerate(np.asarray(n_per_class, dtype=np.int64).tolist()))
    training = _check(kind, training, sum(wanted.values()), n_channels, order)
    if labels.shape != (len(training),):
        raise InputError(f"need one label per training row: {labels.shape} labels for {len(training)} rows")
    rng = np.random.default_rng(seed)
    blocks, classes = [np.zeros((0, training.shape[1]), dtype=np.uint8)], [np.zeros(0, dtype=np.int64)]
    for label, count in sorted(wanted.items()):
        if count < 0:
            raise InputError(f"cannot generate {count} sequences of class {label}")
        if count == 0:
            continue
        rows = training[labels == label]
        if not len(rows):
            raise InputError(f"class {label} has no training rows to fit a {kind} baseline on")
        blocks.append(_sample(kind, rows, int(count), n_channels, rng, order))
        classes.append(np.full(count, label, dtype=np.int64))
    return np.concatenate(blocks), np.concatenate(classes)


def class_shares(labels: Sequence[str], n: int) -> dict[str, int]:
    """n split over the classes in their training proportions (largest remainders)."""
    names, counts = np.unique(np.asarray(labels), return_counts=True)
    shares = n * counts / counts.sum()
    whole = np.floor(shares).astype(int)
    whole[np.argsort(whole - shares)[: n - whole.sum()]] += 1
    return {str(name): int(count) for name, count in zip(names, whole)}


class Baseline:
    """A baseline generator with the estimator API: fit on a sequence set (class by class when
    it is labelled), then sample. Each kind re-estimates its tables from the fitted rows when it
    samples, which costs milliseconds and keeps every draw a pure function of (rows, n, seed)."""

    kind = ""

    def __init__(self, order: int = DEFAULT_ORDER) -> None:
        self.order = order
        self.data: SequenceSet | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def fit(self, data: SequenceSet) -> Baseline:
        _check(self.kind, data.indices, 0, len(data.alphabet), self.order)
        self.data = data
        return self

    def sample(self, n: int, seed: int = 0, label: str | None = None,
               per_class: Mapping[str, int] | None = None) -> SequenceSet:
        """n sequences; for a labelled fit, classes in training proportions, or all of `label`, or
        the counts of `per_class` (n is then their sum)."""
        from ..data.sequences import SequenceSet

        if self.data is None:
            raise InputError(f"fit the {self.kind} baseline before sampling")
        data = self.data
        if label is not None and data.labels is None:
            raise InputError(f"label '{label}': the {self.kind} baseline was fitted on unlabelled data")
        if data.labels is None or label is not None:
            indices = self._draw(n, seed, label)
            labels = None if label is None else [label] * n
        else:
            wanted = dict(per_class) if per_class is not None else class_shares(data.labels, n)
            missing = sorted(set(wanted) - set(data.labels))
            if missing:
                raise InputError(f"class '{missing[0]}' has no training sequences for a {self.kind} baseline")
            indices, labels = self._draw_classes(wanted, seed)
        ids = [f"{self.kind}_{i:06d}" for i in range(1, len(indices) + 1)]
        return SequenceSet(ids, indices, data.alphabet, labels, origin=f"baseline {self.kind}")

    def _draw(self, n: int, seed: int, label: str | None) -> np.ndarray:
        """n rows from the whole fitted set, or from class `label`'s rows."""
        rows = self.data.indices if label is None else self.data.of_class(label).indices
        return fit_and_sample(self.kind, rows, n, len(self.data.alphabet), seed, self.order)

    def _draw_classes(self, wanted: dict[str, int], seed: int) -> tuple[np.ndarray, list[str]]:
        """`wanted[name]` rows of each class, in sorted class order, from one seeded Generator."""
        names = sorted(set(self.data.labels))
        lookup = {name: i for i, name in enumerate(names)}
        class_of = np.array([lookup[name] for name in self.data.labels])
        indices, classes = sample_by_class(self.kind, self.data.indices, class_of,
                                           {lookup[name]: count for name, count in wanted.items()},
                                           len(self.data.alphabet), seed, self.order)
        return indices, [names[c] for c in classes]


class Independent(Baseline):
    """Each position drawn from its own base frequencies: a position weight matrix."""

    kind = "independent"


class Markov(Baseline):
    """A position-specific Markov chain of the given order, backing off to shorter contexts
    unseen at a position."""

    kind = "markov"

    def __repr__(self) -> str:
        return f"Markov(order={self.order})"


class ResampleMutate(Baseline):
    """A training sequence with a few positions redrawn, perturbed about as much as real patients
    differ from their consensus."""

    kind = "resample-mutate"


class Copy(Baseline):
    """Training sequences drawn with replacement: the privacy floor (every output is a copy)."""

    kind = "copy"


class RBM(Baseline):
    """A restricted Boltzmann machine (Yelmen et al. 2021), one per class for a labelled fit:
    a softmax visible unit per varying position, `hidden` Bernoulli hidden units, trained by PCD-k
    with Adam for `epochs` or until `time_budget_s` seconds are spent (shared by the classes in
    proportion to their rows; `epochs` None: 500 without a budget, the budget alone with one);
    sampled by Gibbs chains started from `init` states ("data": training rows; "random";
    "frequencies") after `burn_in` steps. `seed` fixes the training,
    the sample seed the chains. Details in evaluation/rbm.py."""

    kind = "rbm"

    def __init__(self, *, hidden: int = 500, k: int = 1, batch_size: int = 100, lr: float = 1e-3,
                 epochs: int | None = None, time_budget_s: float | None = None, weight_decay: float = 0.0,
                 burn_in: int = 500, init: str = "data", seed: int = 0) -> None:
        from .rbm import check_sampling, check_settings

        super().__init__()
        self.settings = dict(hidden=hidden, k=k, batch_size=batch_size, lr=lr, epochs=epochs,
                             weight_decay=weight_decay, seed=seed)
        check_settings(**self.settings, time_budget_s=time_budget_s)
        check_sampling(burn_in, init)
        self.time_budget_s, self.burn_in, self.init = time_budget_s, burn_in, init
        self.models: dict[str | None, RBMModel] = {}

    def __repr__(self) -> str:
        shown = {**self.settings, "time_budget_s": self.time_budget_s, "burn_in": self.burn_in, "init": self.init}
        return f"RBM({', '.join(f'{key}={value!r}' for key, value in shown.items())})"

    def fit(self, data: SequenceSet) -> RBM:
        from .rbm import fit_rbm

        check_rows(data.indices, len(data.alphabet))
        models = {}
        for name in [None] if data.labels is None else sorted(set(data.labels)):
            rows = data.indices if name is None else data.of_class(name).indices
            share = None if self.time_budget_s is None else self.time_budget_s * len(rows) / len(data)
            models[name] = fit_rbm(rows, len(data.alphabet), time_budget_s=share, **self.settings)
        self.models, self.data = models, data
        return self

    def _draw(self, n: int, seed: int, label: str | None) -> np.ndarray:
        import torch

        if label is not None:
            self.data.of_class(label)  # an unknown class is refused by name
        return self._chains(self.models[label], n, torch.Generator().manual_seed(seed))

    def _draw_classes(self, wanted: dict[str, int], seed: int) -> tuple[np.ndarray, list[str]]:
        import torch

        generator = torch.Generator().manual_seed(seed)  # one Generator serves every class in turn
        blocks, labels = [np.zeros((0, self.data.indices.shape[1]), dtype=np.uint8)], []
        for name, count in sorted(wanted.items()):
            blocks.append(self._chains(self.models[name], count, generator, f" of class {name}"))
            labels += [name] * count
        return np.concatenate(blocks), labels

    def _chains(self, model: RBMModel, n: int, generator: torch.Generator, what: str = "") -> np.ndarray:
        if n < 0:
            raise InputError(f"cannot generate {n} sequences{what}")
        return model.sample(n, generator, self.burn_in, self.init)


KINDS: dict[str, type[Baseline]] = {cls.kind: cls for cls in (Independent, Markov, ResampleMutate, Copy, RBM)}


def make(kind: str, order: int = DEFAULT_ORDER, **options) -> Baseline:
    """The baseline estimator named `kind` (independent, markov, resample-mutate, copy or rbm);
    `options` are the RBM's settings (hidden, time_budget_s, burn_in, ...), `order` the Markov order."""
    _known(kind)
    if kind == "rbm":
        return RBM(**options)
    if options:
        raise InputError(f"the {kind} baseline takes no options ({', '.join(options)})")
    return KINDS[kind](order)
