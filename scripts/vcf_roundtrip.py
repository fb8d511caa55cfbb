"""yelmen805 end to end through VCF: haplotypes_train.vcf (classes from a sample sheet) -> a
conditional GAN -> generated haplotypes as a phased VCF -> read back with pysam, checked base
for base against the generated sequences. Prints what it did and the timings.

    python scripts/vcf_roundtrip.py [--steps 300] [--n 1000] [--out /tmp/vcf-roundtrip]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np
import pysam

import virtualpatients as vp
from virtualpatients.data.vcf import VcfOptions

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "yelmen805"


def sample_sheet(fasta: Path, sheet: Path) -> None:
    """Each individual's super-population, from the FASTA descriptions (individual=, label=)."""
    rows = {}
    for line in fasta.read_text().splitlines():
        if line.startswith(">"):
            fields = dict(re.findall(r"(\w+)=(\S+)", line))
            rows[fields["individual"]] = fields["label"]
    sheet.write_text("sample\tsuper_pop\n" + "".join(f"{name}\t{label}\n" for name, label in rows.items()))


def read_back(path: Path, alphabet: str) -> np.ndarray:
    """Haplotypes of a written VCF as channel indices, any number of ALT alleles per site."""
    with pysam.VariantFile(str(path)) as written:
        samples = list(written.header.samples)
        columns = []
        for record in written:
            alleles = (record.ref, *record.alts)
            calls = [record.samples[s]["GT"] for s in samples]
            columns.append([alphabet.index(alleles[a]) for call in calls for a in call])
    return np.array(columns, dtype=np.uint8).T


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--n", type=int, default=1000, help="haplotypes to generate (even)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/vcf-roundtrip"))
    args = parser.parse_args()
    if not (DATA / "haplotypes_train.vcf").exists():
        print(f"{DATA} not found", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    sample_sheet(DATA / "haplotypes_train.fasta", args.out / "samples.tsv")
    started = time.perf_counter()
    cohort = vp.read_cohort([DATA / "haplotypes_train.vcf"], label_key="label",
                            vcf=VcfOptions(labels=str(args.out / "samples.tsv"), label_column="super_pop"))
    read_s = time.perf_counter() - started
    fasta = vp.read_cohort([DATA / "haplotypes_train.fasta"], label_key="label")
    same = cohort.ids == fasta.ids and cohort.labels == fasta.labels and np.array_equal(cohort.indices, fasta.indices)
    started = time.perf_counter()
    run = vp.train(cohort, vp.TrainConfig(steps=args.steps, device="cpu", seed=0), run_dir=args.out / "run", force=True)
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    (args.out / "generated.vcf").write_bytes(vp.load_run(args.out / "run").generate_vcf(args.n, seed=1))
    write_s = time.perf_counter() - started
    generated = run.generate(args.n, seed=1)
    order = np.argsort(generated.labels, kind="stable")  # generate_vcf groups haplotypes by class
    back = read_back(args.out / "generated.vcf", run.alphabet)
    print(f"read {len(cohort)} haplotypes x {cohort.length} sites from VCF in {read_s:.2f} s; "
          f"identical to haplotypes_train.fasta (ids, labels, bases): {same}")
    print(f"trained {args.steps} steps in {train_s:.1f} s; wrote {args.n} haplotypes as "
          f"{args.n // 2} synthetic samples in {write_s:.2f} s")
    print(f"read back with pysam: equal to the generated sequences: {np.array_equal(back, generated.indices[order])}")
    return 0 if same and np.array_equal(back, generated.indices[order]) else 1


if __name__ == "__main__":
    sys.exit(main())
