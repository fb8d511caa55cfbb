"""Composition metrics of sequence sets: base frequencies, k-mer spectra, GC, variants, ORF validity.

Everything works on (N, L) uint8 index arrays with whole-array numpy operations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from Bio.Data.CodonTable import standard_dna_table

from ..data.encoding import BASES, encode_bytes, position_counts

GC_CHANNELS = (BASES.index("C"), BASES.index("G"))


def base_frequencies(indices: np.ndarray, n_channels: int) -> np.ndarray:
    """(L, C) share of each base at each position."""
    return position_counts(indices, n_channels) / max(len(indices), 1)


def pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson r, or None where either side is constant (r is undefined there)."""
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    if x.std() == 0 or y.std() == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def kmer_spectrum(indices: np.ndarray, k: int, n_channels: int) -> np.ndarray:
    """Counts of every k-mer over all sequences, as a vector of size C**k (codes in base C)."""
    length = indices.shape[1]
    if length < k or not len(indices):
        return np.zeros(n_channels**k)
    codes = np.zeros((len(indices), length - k + 1), dtype=np.int64)
    for offset in range(k):
        codes = codes * n_channels + indices[:, offset : length - k + 1 + offset]
    return np.bincount(codes.ravel(), minlength=n_channels**k).astype(float)


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits (0 = identical, 1 = disjoint) of two count vectors."""
    if p.sum() == 0 or q.sum() == 0:  # sequences shorter than k have no k-mers to compare
        return float("nan")
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / m[mask])))

    return max(0.0, (kl(p) + kl(q)) / 2)


def gc_content(indices: np.ndarray) -> np.ndarray:
    """Per-sequence share of C and G among all positions."""
    return np.isin(indices, GC_CHANNELS).mean(axis=1)


def fidelity(generated: np.ndarray, real: np.ndarray, n_channels: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    freq_real, freq_generated = base_frequencies(real, n_channels), base_frequencies(generated, n_channels)
    summary = {
        "base_frequency_r": pearson(freq_real, freq_generated),
        "kmer_js": {
            str(k): jensen_shannon(kmer_spectrum(real, k, n_channels), kmer_spectrum(generated, k, n_channels))
            for k in range(1, 7)
        },
        "gc_real": float(gc_content(real).mean()),
        "gc_generated": float(gc_content(generated).mean()),
    }
    return summary, {"base_freq_real": freq_real, "base_freq_generated": freq_generated}


def consensus(indices: np.ndarray, n_channels: int) -> np.ndarray:
    """The most frequent base at each position."""
    return base_frequencies(indices, n_channels).argmax(axis=1).astype(np.uint8)


def variants(
    generated: np.ndarray, real: np.ndarray, n_channels: int, reference: np.ndarray | None = None, top: int = 20
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Differences from a reference (or the real consensus), per position and per sequence."""
    reference_name = "given reference" if reference is not None else "consensus of the real set"
    if reference is None:
        reference = consensus(real, n_channels)
    differs_real, differs_generated = real != reference, generated != reference
    freq_real, freq_generated = differs_real.mean(axis=0), differs_generated.mean(axis=0)
    # Most frequent real variant positions first; ties broken by position for a stable answer.
    order = np.lexsort((np.arange(len(freq_real)), -freq_real))
    hot = order[: min(top, int((freq_real > 0).sum()))]
    per_real, per_generated = differs_real.sum(axis=1), differs_generated.sum(axis=1)
    summary = {
        "reference": reference_name,
        "position_r": pearson(freq_real, freq_generated),
        "top20_found": int((freq_generated[hot] > 0).sum()),
        "top20_total": int(len(hot)),
        "top20_positions": [int(p) + 1 for p in hot],
        "mean_differences_real": float(per_real.mean()),
        "mean_differences_generated": float(per_generated.mean()),
        "generated_with_variants": float((per_generated > 0).mean()),
        "differences_histogram_real": np.bincount(per_real).tolist(),
        "differences_histogram_generated": np.bincount(per_generated).tolist(),
    }
    arrays = {
        "variant_freq_real": freq_real,
        "variant_freq_generated": freq_generated,
        "differences_per_sequence_real": per_real,
        "differences_per_sequence_generated": per_generated,
    }
    return summary, arrays


def _codon_lookup(codons: list[str]) -> np.ndarray:
    """A 64-entry table over codon codes (base-4 in the ATCG channel order)."""
    table = np.zeros(64, dtype=bool)
    for codon in codons:
        a, b, c = encode_bytes(codon.encode())
        table[a * 16 + b * 4 + c] = True
    return table


# Biopython's standard genetic code decides what a start and a stop codon is.
_STOPS = _codon_lookup(standard_dna_table.stop_codons)


def orf_checks(indices: np.ndarray) -> dict[str, np.ndarray]:
    """Per sequence: starts with ATG, ends with a stop, has no internal stop (standard code)."""
    n, length = indices.shape
    if length % 3 or length < 6 or indices.max(initial=0) > 3:
        false = np.zeros(n, dtype=bool)
        return {"starts_with_atg": false, "ends_with_stop": false, "no_internal_stop": false}
    codons = indices[:, 0::3].astype(np.int64) * 16 + indices[:, 1::3] * 4 + indices[:, 2::3]
    start_code = int(np.dot(encode_bytes(b"ATG").astype(int), [16, 4, 1]))
    stops = _STOPS[codons]
    return {
        "starts_with_atg": codons[:, 0] == start_code,
        "ends_with_stop": stops[:, -1],
        "no_internal_stop": ~stops[:, :-1].any(axis=1),
    }


def valid_orf(indices: np.ndarray) -> np.ndarray:
    checks = orf_checks(indices)
    return checks["starts_with_atg"] & checks["ends_with_stop"] & checks["no_internal_stop"]


def validity(generated: np.ndarray, real: np.ndarray, threshold: float = 0.9) -> dict[str, Any] | None:
    """ORF validity, real vs generated; None when the real set is not (mostly) coding sequence."""
    valid_real = valid_orf(real).mean() if len(real) else 0.0
    if valid_real < threshold:
        return None
    checks = orf_checks(generated)
    return {
        "applies": True,
        "valid_fraction_real": float(valid_real),
        "valid_fraction_generated": float(valid_orf(generated).mean()),
        **{f"{name}_generated": float(values.mean()) for name, values in checks.items()},
    }
