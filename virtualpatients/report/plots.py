"""The report's plots, one function each; a plot whose inputs are missing is None. Baseline
generators, where evaluated, are overlaid on the nearest-identity, DCR and variant plots."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .format import lookup

MAX_BINS = 50


def _groups(arrays: dict[str, np.ndarray], keys: dict[str, str], scale: float = 1.0) -> dict[str, np.ndarray]:
    """Finite values of each array that is present and not empty, by legend label."""
    data = {}
    for label, key in keys.items():
        values = np.asarray(arrays[key] if arrays.get(key) is not None else [], dtype=float).ravel()
        if (values := values[np.isfinite(values)]).size:
            data[label] = scale * values
    return data


def _bins(values: np.ndarray, integer: bool) -> np.ndarray:
    """Shared edges: one per integer, or centred on the data's own grid (identities are multiples of 1/L)."""
    if integer:
        low, high = int(values.min()), int(values.max())
        width = max(1, math.ceil((high - low + 1) / MAX_BINS))
        return np.arange(low, high + width + 1, width) - 0.5
    unique = np.unique(np.round(values, 9))
    if unique.size == 1:
        return np.array([unique[0] - 0.5, unique[0] + 0.5])
    step = np.diff(unique).min()
    grid = (unique - unique[0]) / step
    if grid[-1] < MAX_BINS and np.allclose(grid, np.round(grid)):
        return unique[0] - step / 2 + step * np.arange(round(grid[-1]) + 2)
    edges = np.histogram_bin_edges(values, bins="auto")
    return edges if edges.size - 1 <= MAX_BINS else np.histogram_bin_edges(values, bins=MAX_BINS)


def _plot_bars(
    plt: Any, arrays: dict[str, np.ndarray], keys: dict[str, str], scale: float, integer: bool, xlabel: str,
    title: str,
) -> Any:
    """Side-by-side histogram bars on shared bins: overlaid ones hide each other on discrete data."""
    data = _groups(arrays, keys, scale)
    if next(iter(keys)) not in data:  # the first group (generated) is needed, a baseline is optional
        return None
    edges = _bins(np.concatenate(list(data.values())), integer)
    centres, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges).min() * 0.8 / len(data)
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for i, (label, values) in enumerate(data.items()):
        # Fractions of sequences, not counts: groups of different sizes stay comparable.
        ax.bar(centres + (i - (len(data) - 1) / 2) * width, np.histogram(values, edges)[0] / values.size,
               width=width, label=f"{label} (n={values.size})")
    if integer:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        ax.ticklabel_format(axis="x", useOffset=False)  # identities near 100 would read "+9.9e1"
    ax.margins(y=0.25)  # headroom for the legend
    ax.set(xlabel=xlabel, ylabel="fraction of sequences", title=title)
    ax.legend(loc="upper left")
    return fig


def _plot_base_frequencies(plt: Any, summary: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    data = _groups(arrays, {"real": "base_freq_real", "generated": "base_freq_generated"})
    if len(data) < 2 or data["real"].size != data["generated"].size:
        return None
    title, r = "Base frequency per position and base", lookup(summary, "fidelity.base_frequency_r")
    if isinstance(r, numbers.Real) and math.isfinite(r):
        title += f"\nPearson r = {r:.4f}"
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="y = x")
    ax.scatter(data["real"], data["generated"], s=10, alpha=0.6, label=f"position × base (n={data['real'].size})")
    ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), aspect="equal", xlabel="real frequency",
           ylabel="generated frequency", title=title)
    ax.legend(loc="upper left")
    return fig


def _base_frequency_caption(arrays: dict[str, np.ndarray]) -> str:
    """What the scatter shows for this data: where nearly every point sits at 0 or 1 (positions
    where all real sequences agree), r near 1 says little, so r on the varying points comes too."""
    caption = "Per-position base frequencies, generated against real."
    real, generated = arrays.get("base_freq_real"), arrays.get("base_freq_generated")
    if real is None or generated is None or real.size != generated.size or real.size == 0:
        return caption
    real, generated = np.ravel(real), np.ravel(generated)
    varying = (real > 0.01) & (real < 0.99)
    fixed_share = 1 - varying.mean()
    if fixed_share < 0.5:
        return caption
    caption += (f" {fixed_share:.0%} of the {real.size} points sit at 0 or 1 in real data (a base that every real "
                "sequence has, or none), so a correlation over all points is near 1 for any generator that keeps "
                "the consensus")
    if varying.sum() >= 3 and np.std(generated[varying]) > 0 and np.std(real[varying]) > 0:
        r = float(np.corrcoef(real[varying], generated[varying])[0, 1])
        return caption + f"; over the {varying.sum()} varying points alone, r = {r:.3f}."
    return caption + f"; only {varying.sum()} points vary, too few (or too uniform) for a correlation of their own."


def _plot_variants(plt: Any, arrays: dict[str, np.ndarray]) -> Any:
    keys = {"real": "variant_freq_real", "generated": "variant_freq_generated"}
    data = _groups(arrays, _with_baselines(arrays, keys, "variant_freq_generated"))
    if not set(keys) <= set(data):
        return None
    fig, axes = plt.subplots(len(data), 1, figsize=(8, 2.4 * len(data)), sharex=True, sharey=True)
    for number, (ax, (label, values)) in enumerate(zip(axes, data.items())):
        colour = f"C{number}"
        ax.vlines(np.arange(1, values.size + 1), 0, values, color=colour, linewidth=1.2, label=label)
        ax.set_ylabel("variant frequency")
        ax.legend(loc="upper right")
    axes[0].set_title("Variant frequency along the sequence (fraction differing from the reference)")
    axes[-1].set_xlabel("position")
    return fig


def _discriminator_caption(summary: dict[str, Any], history: list[dict[str, float]]) -> str:
    """What the discriminator curves show for this run, not what success would look like."""
    rows = [row for row in history if "d_real" in row and "d_fake" in row]
    if not rows:
        return "Mean discriminator output on real and on generated batches."
    last = rows[-1]
    text = (f"Mean discriminator output on real and on generated batches; at the last step D(real) = "
            f"{last['d_real']:.2f} and D(fake) = {last['d_fake']:.2f}.")
    if (summary.get("verdict") or {}).get("reasons"):
        text += " Outputs near 1/2 do not mean success here: see the verdict."
    elif abs(last["d_real"] - 0.5) < 0.1 and abs(last["d_fake"] - 0.5) < 0.1:
        text += " Both near 1/2: the discriminator cannot tell them apart."
    return text


def _plot_linkage(plt: Any, summary: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    """Mean r^2 of variant pairs by distance (binned), real against generated: linkage decays with
    distance in real data; a generator of independent positions shows a flat line near 0."""
    if "ld_distance" not in arrays or not len(arrays["ld_distance"]):
        return None
    distance = arrays["ld_distance"]
    edges = np.unique(np.geomspace(1, distance.max() + 1, 16).astype(int))
    which = np.clip(np.searchsorted(edges, distance, side="right") - 1, 0, len(edges) - 2)
    centres = np.sqrt(edges[:-1] * edges[1:])
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for key, label in (("ld_r2_real", "real"), ("ld_r2_generated", "generated")):
        means = [arrays[key][which == b].mean() if (which == b).any() else np.nan for b in range(len(edges) - 1)]
        ax.plot(centres, means, marker="o", label=label)
    r = lookup(summary, "linkage.r")
    shown = f"{r:.3f}" if isinstance(r, numbers.Real) and math.isfinite(r) else "n/a"
    ax.set(xscale="log", xlabel="distance between the two positions", ylabel="mean r^2",
           title=f"Linkage of {len(distance)} variant pairs (r of real and generated r^2 = {shown})")
    ax.legend()
    return fig


def _plot_pca(plt: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Generated sequences on the first two principal axes of the real data, by class."""
    if "pca_real" not in arrays:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharex=True, sharey=True)
    for ax, (key, title) in zip(axes, (("pca_real", "real"), ("pca_generated", "generated"))):
        points, labels = arrays[key], arrays.get(f"{key}_labels")
        groups = [(None, np.ones(len(points), bool))] if labels is None else \
            [(name, labels == name) for name in np.unique(labels)]
        for number, (name, rows) in enumerate(groups):
            ax.scatter(points[rows, 0], points[rows, 1], s=6, alpha=0.5, color=f"C{number}",
                       label=f"{name} (n={rows.sum()})" if name is not None else f"n={rows.sum()}")
        ax.set(xlabel="PC1", ylabel="PC2", title=title)
        ax.legend(loc="best", fontsize="small", markerscale=2)
    fig.suptitle("Population structure: PCA of the real one-hot data, generated projected onto it")
    return fig


def _plot_history(
    plt: Any, history: list[dict[str, float]], keys: dict[str, str], ylabel: str, title: str,
    line: tuple[float, str] | None,
) -> Any:
    rows = [row for row in history if "step" in row and all(key in row for key in keys)]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for key, label in keys.items():
        ax.plot([row["step"] for row in rows], [row[key] for row in rows], label=label)
    if line is not None:  # D outputs and accuracies live in [0, 1]; 1/2 is where D cannot tell
        ax.axhline(line[0], color="grey", linestyle="--", linewidth=1, label=line[1])
        ax.set_ylim(-0.02, 1.02)
    ax.set(xlabel="training step", ylabel=ylabel, title=title)
    ax.legend()
    return fig


def _with_baselines(arrays: dict[str, np.ndarray], keys: dict[str, str], key: str) -> dict[str, str]:
    """The plot's groups, then each baseline's version of `key` where one was evaluated."""
    prefix, suffix = "baseline.", f".{key}"
    kinds = [name[len(prefix) : -len(suffix)] for name in arrays if name.startswith(prefix) and name.endswith(suffix)]
    return {**keys, **{f"baseline {kind}": f"{prefix}{kind}{suffix}" for kind in kinds}}


def figures(
    plt: Any, summary: dict[str, Any], arrays: dict[str, np.ndarray], history: list[dict[str, float]]
) -> Iterator[tuple[str, str, Any]]:
    """(file, caption, figure or None where inputs are missing), drawn one at a time, each closed in turn."""
    critic = any("wasserstein" in row for row in history)  # WGAN scores are not probabilities
    plots: list[tuple[str, str, Callable[[], Any]]] = [
        ("discriminator.png", "Mean critic scores and their difference, the Wasserstein estimate (WGAN-GP)."
         if critic else _discriminator_caption(summary, history), lambda: _plot_history(
             plt, history, {"d_real": "critic(real)", "d_fake": "critic(generated)", "wasserstein": "Wasserstein "
                            "estimate"}, "critic score", "Critic (WGAN-GP)", None) if critic else _plot_history(
             plt, history, {"d_real": "D(real)", "d_fake": "D(fake)"}, "mean D output", "Discriminator output",
             (0.5, "equilibrium 1/2"))),
        ("discriminator_accuracy.png", "Discriminator accuracy on real and on generated batches.",
         lambda: _plot_history(plt, history, {"acc_real": "accuracy on real", "acc_fake": "accuracy on generated"},
                               "accuracy", "Discriminator accuracy", (0.5, "chance 1/2"))),
        ("losses.png", "Discriminator and generator losses.",
         lambda: _plot_history(plt, history, {"loss_d": "loss D", "loss_g": "loss G"}, "loss", "Training losses",
                               None)),
        ("nearest_identity.png", "Identity of each generated sequence to its nearest real one, beside real versus "
         "real (leave-one-out).", lambda: _plot_bars(
             plt, arrays, _with_baselines(arrays, {"generated → nearest real": "nearest_identity_generated",
                                                   "real → nearest other real": "nearest_identity_real"},
                                          "nearest_identity_generated"), 100, False,
             "identity to the nearest real sequence (%)", "Nearest-neighbour identity")),
        ("dcr.png", "Distance to the closest training record: generated beside unseen held-out records."
         if "dcr_holdout" in arrays else "Distance of each generated sequence to the closest training record "
         "(this run has no held-out records to compare with).",
         lambda: _plot_bars(plt, arrays, _with_baselines(
                            arrays, {"generated": "dcr_generated", "holdout (real, unseen)": "dcr_holdout"},
                            "dcr_generated"), 1, True, "distance to the closest training record (differences)",
                            "Distance to closest record (DCR)")),
        ("base_frequencies.png", _base_frequency_caption(arrays), lambda: _plot_base_frequencies(plt, summary, arrays)),
        ("variants.png", "Where the sequences differ from the reference.", lambda: _plot_variants(plt, arrays)),
        ("differences.png", "Number of differences from the reference per sequence.", lambda: _plot_bars(
            plt, arrays, {"generated": "differences_per_sequence_generated", "real": "differences_per_sequence_real"},
            1, True, "differences from the reference per sequence", "Differences from the reference")),
        ("linkage.png", "Linkage (r^2 between variant indicators) against distance, real and generated.",
         lambda: _plot_linkage(plt, summary, arrays)),
        ("pca.png", "The first two principal components of the real data, with generated sequences projected.",
         lambda: _plot_pca(plt, arrays)),
    ]
    for name, caption, draw in plots:
        yield name, caption, draw()


