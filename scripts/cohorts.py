#!/usr/bin/env python
"""Small real and simulated cohorts, built at run time from ../shared/data (never copied here).

- `cell_lines()`: one TP53 CDS per cell line of the NCI TP53 Database R21 (reference plus that
  line's 1-4 coding single-nucleotide substitutions), label `mutated`.
- `forty(seed)`: the README's walkthrough set: 20 of those mutants and 20 identical wild types.
- `demo_cohort(seed)`: the simulated cohort of `vp demo`, as a SequenceSet.
- `exactly_one_share` / `hotspot_share`: how many generated sequences carry exactly one
  difference from a cohort's consensus, and one that is a real variant of the cohort.

Usage: .venv/bin/python scripts/cohorts.py --out DIR   (writes cell_lines.fasta, forty.fasta,
demo_cohort.fasta and prints the counts)
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from virtualpatients.atomic import atomic_writer
from virtualpatients.data.fasta import read_cohort
from virtualpatients.data.sequences import SequenceSet
from virtualpatients.data.simulate import simulate_cohort
from virtualpatients.evaluation.composition import consensus

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REFERENCE = DATA / "tp53_cds_reference.fasta"
CELL_LINES = DATA / "nci_tp53_r21" / "CellLineDownload_r21.csv"
SUBSTITUTION = re.compile(r"c\.(\d+)([ACGT])>([ACGT])")  # c.577C>T; not c.-, c.*, c.N+1, indels
MAX_SUBSTITUTIONS = 4


def reference_cds() -> str:
    return read_cohort([REFERENCE], min_records=1).strings()[0]


def safe_name(name: str) -> str:
    """A cell line name usable as a FASTA id: runs of other characters become one '_'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name.strip()).strip("_")


def cell_line_substitutions(reference: str) -> dict[str, dict[int, str]]:
    """Safe cell line name -> {0-based position: mutant base} of its coding substitutions.
    A line reported with two different bases at one position maps to None (cannot be applied)."""
    found: dict[str, dict[int, str] | None] = defaultdict(dict)
    with open(CELL_LINES, encoding="latin-1", newline="") as stream:
        for row in csv.DictReader(stream):
            match = SUBSTITUTION.fullmatch(row["c_description"].strip())
            if not match or not 1 <= int(match[1]) <= len(reference):
                continue
            position, wild, mutant = int(match[1]) - 1, match[2], match[3]
            if reference[position] != wild:
                raise ValueError(f"{row['Sample_Name']}: {match[0]} but the reference has {reference[position]}")
            substitutions = found[safe_name(row["Sample_Name"])]
            if substitutions is not None and substitutions.setdefault(position, mutant) != mutant:
                found[safe_name(row["Sample_Name"])] = None
    return {name: subs for name, subs in found.items() if subs is not None}


def cell_lines() -> SequenceSet:
    """Cell lines with 1-4 coding substitutions, each the reference CDS with all of them applied."""
    reference = reference_cds()
    ids, sequences = [], []
    for name, substitutions in sorted(cell_line_substitutions(reference).items()):
        if 1 <= len(substitutions) <= MAX_SUBSTITUTIONS:
            sequence = list(reference)
            for position, base in substitutions.items():
                sequence[position] = base
            ids.append(name)
            sequences.append("".join(sequence))
    return SequenceSet.from_strings(sequences, labels=["mutated"] * len(ids), ids=ids,
                                    origin=f"TP53 cell lines ({CELL_LINES.name})")


def forty(seed: int = 0) -> SequenceSet:
    """20 seeded mutants of `cell_lines()` and 20 identical wild-type references: 40 records."""
    mutants = cell_lines()
    picked = mutants.subset(np.sort(np.random.default_rng(seed).choice(len(mutants), 20, replace=False)))
    sequences = picked.strings() + [reference_cds()] * 20
    ids = picked.ids + [f"wildtype_{number:02d}" for number in range(1, 21)]
    return SequenceSet.from_strings(sequences, labels=["mutated"] * 20 + ["wildtype"] * 20, ids=ids,
                                    origin=f"forty TP53 sequences (seed {seed})")


def demo_cohort(seed: int = 0) -> SequenceSet:
    """The cohort `vp demo` simulates, with its FASTA titles as descriptions."""
    ids, descriptions, sequences = simulate_cohort(seed=seed)
    cohort = SequenceSet.from_strings(sequences, ids=ids, origin=f"vp demo cohort (seed {seed})")
    return dataclasses.replace(cohort, descriptions=[f"{i} {d}" if d else i for i, d in zip(ids, descriptions)])


def _indices(sequences: SequenceSet | Sequence[str]) -> np.ndarray:
    return sequences.indices if isinstance(sequences, SequenceSet) else SequenceSet.from_strings(sequences).indices


def exactly_one_share(generated: SequenceSet | Sequence[str], cohort: SequenceSet) -> tuple[float, float]:
    """(share of generated with exactly one difference from the cohort's consensus, share of those
    whose difference, position and base, is a variant seen in the cohort)."""
    reference = consensus(cohort.indices, len(cohort.alphabet))
    carriers, sites = np.nonzero(cohort.indices != reference)
    real = set(zip(sites.tolist(), cohort.indices[carriers, sites].tolist()))
    indices = _indices(generated)
    if indices.shape[1] != cohort.length:
        raise ValueError(f"generated length {indices.shape[1]} != cohort length {cohort.length}")
    differs = indices != reference
    rows = np.flatnonzero(differs.sum(axis=1) == 1)
    if not rows.size:
        return 0.0, 0.0
    columns = differs[rows].argmax(axis=1)
    known = sum((int(c), int(indices[r, c])) in real for r, c in zip(rows, columns))
    return rows.size / len(indices), known / rows.size


def hotspot_share(generated: SequenceSet | Sequence[str], cohort: SequenceSet) -> float:
    """Share of generated sequences that carry exactly one difference and it is a real variant."""
    one, real = exactly_one_share(generated, cohort)
    return one * real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the FASTA files")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    lines = cell_lines()
    counts = Counter((lines.indices != _indices([reference_cds()])).sum(axis=1).tolist())
    print(f"cell lines kept: {len(lines)}; substitutions per line: {dict(sorted(counts.items()))}")
    for name, cohort in {"cell_lines": lines, "forty": forty(args.seed), "demo_cohort": demo_cohort(args.seed)}.items():
        with atomic_writer(args.out / f"{name}.fasta") as stream:
            stream.write(cohort.to_fasta())
        print(f"{args.out / name}.fasta: {len(cohort)} records of {cohort.length} bases")


if __name__ == "__main__":
    main()
