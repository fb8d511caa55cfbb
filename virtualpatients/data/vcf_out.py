"""Generated haplotypes as a phased multi-sample VCF: consecutive pairs of haplotypes make one
diploid (synthetic) sample.

Against the sites of a model trained from VCF, every training site is written, with its REF and
ALT alleles (a base the training data never showed at a site becomes an extra ALT allele, so no
haplotype is misreported); against a reference (a model trained from FASTA), the positions where
some generated haplotype differs from the reference are the sites. VCF is site-major, so the
whole generated set is held in memory while writing (one byte a base).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from .vcf import Sites

SAMPLE_PREFIX = "vp_synthetic_"


def sites_from_reference(reference: str, chrom: str, start: int = 1) -> Sites:
    """Sites for writing against a reference sequence: every position a candidate."""
    return Sites(chrom=[chrom], pos=[], ids=[], ref=[], alt=[], columns=[], template=reference, start=start)


def sample_names(n_haplotypes: int, labels: Sequence[str] | None = None) -> list[str]:
    """One name per pair of haplotypes, saying it is synthetic (and its class, when the pair has one)."""
    names = []
    for number in range(n_haplotypes // 2):
        name = f"{SAMPLE_PREFIX}{number + 1:06d}"
        if labels is not None:
            pair = labels[2 * number], labels[2 * number + 1]
            name += f"_{pair[0]}" if pair[0] == pair[1] else f"_{pair[0]}-{pair[1]}"
        names.append(name)
    return names


def format_vcf(indices: np.ndarray, alphabet: str, sites: Sites, names: Sequence[str],
               header: Sequence[str] = ()) -> bytes:
    """VCF text of (2 x samples, length) haplotype indices; `header` adds ##key=value lines."""
    n_haplotypes, length = indices.shape
    if n_haplotypes % 2 or n_haplotypes // 2 != len(names):
        raise InputError(f"VCF output pairs haplotypes into diploid samples: {n_haplotypes} haplotypes for "
                         f"{len(names)} sample names (give an even number)")
    bases = np.frombuffer(alphabet.encode(), dtype=np.uint8)
    if sites.template is not None:
        if len(sites.template) != length:
            raise InputError(f"reference of {len(sites.template)} bases for sequences of {length}")
        rows = _against_reference(indices, alphabet, sites)
    else:
        if max(sites.columns, default=-1) >= length:
            raise InputError(f"the sites describe columns past the sequence length {length}")
        rows = [(sites.chrom[i], sites.pos[i], sites.ids[i], sites.ref[i], list(sites.alt[i]), sites.columns[i])
                for i in range(len(sites.pos))]
    lines = ["##fileformat=VCFv4.2", *(f"##{line}" for line in header)]
    lines += [f"##contig=<ID={chrom}>" for chrom in dict.fromkeys(row[0] for row in rows)]
    lines.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Phased genotype">')
    lines.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *names]))
    body = [("\n".join(lines) + "\n").encode()]
    for chrom, pos, site_id, ref, alts, column in rows:
        observed = [chr(b) for b in bases[np.unique(indices[:, column])]]
        alts = alts + [base for base in observed if base != ref and base not in alts]  # bases new to the site
        code = np.full(256, 255, dtype=np.uint8)
        for allele, base in enumerate([ref, *alts]):
            code[ord(base)] = ord("0") + allele
        digits = code[bases[indices[:, column]]]
        genotypes = np.empty((n_haplotypes // 2, 4), dtype=np.uint8)
        genotypes[:, 0], genotypes[:, 1], genotypes[:, 2], genotypes[:, 3] = digits[0::2], ord("|"), digits[1::2], ord("\t")
        genotypes[-1, 3] = ord("\n")
        fixed = f"{chrom}\t{pos}\t{site_id}\t{ref}\t{','.join(alts) or '.'}\t.\tPASS\t.\tGT\t"
        body.append(fixed.encode() + genotypes.tobytes())
    return b"".join(body)


def _against_reference(indices: np.ndarray, alphabet: str, sites: Sites) -> list[tuple]:
    reference = np.frombuffer(sites.template.encode(), dtype=np.uint8)
    codes = np.frombuffer(alphabet.encode(), dtype=np.uint8)[indices]
    varying = np.flatnonzero((codes != reference).any(axis=0))
    if (codes[:, varying] == ord("-")).any():
        raise InputError("gapped sequences (length policy pad) cannot be written as SNVs against a reference")
    return [(sites.chrom[0] if sites.chrom else "1", sites.start + int(c), ".", sites.template[c], [], int(c))
            for c in varying]
