"""Phased genotypes (VCF, plain or bgzip, or BCF) as one sequence per haplotype, read with pysam
(htslib, the reader of samtools and bcftools).

Without a reference, a haplotype's sequence is its alleles at the variant sites in file order (as
in ../shared/data/yelmen805/); with a reference and a region, it is the reference of the region
with the haplotype's SNVs applied. The sites travel with the sequences (`Sites`), so generated
haplotypes can be written back as VCF against them (data/vcf_out.py).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from .encoding import BASES, translate
from .sequences import header_value
from .vcf_checks import SiteOrder, htslib_quiet, parsed, record_lines

SUFFIXES = (".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")
SKIPPABLE = ("missing", "multiallelic", "indel", "unphased", "duplicate")
HAPLOTYPE_NAMES = "AB"


def is_vcf(path: Path | str) -> bool:
    return str(path).lower().endswith(SUFFIXES)


@dataclass(frozen=True)
class VcfOptions:
    """How VCF input becomes sequences (recorded with a run, so its data can be read again)."""

    reference: str | None = None  # FASTA of the reference (bgzip or plain, indexed by pysam)
    region: str | None = None  # CHR:START-END (1-based, inclusive), with `reference`
    samples: str | None = None  # a file of sample names, one a line: only these
    labels: str | None = None  # a tab-separated sample sheet with a header: class of each sample
    label_column: str = "label"  # the sheet's column holding the class
    skip: tuple[str, ...] = ()  # site kinds to skip and count instead of refusing (SKIPPABLE)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.skip) - set(SKIPPABLE))
        if unknown:
            raise InputError(f"cannot skip {', '.join(unknown)}: choose from {', '.join(SKIPPABLE)}")
        if (self.reference is None) != (self.region is None):
            raise InputError("a reference and a region go together (a region of the reference to apply SNVs to)")


@dataclass(frozen=True)
class Sites:
    """The variant sites behind each sequence: chromosome, 1-based position, id, REF and ALT
    alleles, and each site's position in the sequence. With a reference, `template` is the
    reference region and `start` its first position."""

    chrom: list[str]
    pos: list[int]
    ids: list[str]
    ref: list[str]
    alt: list[list[str]]
    columns: list[int]
    template: str | None = None
    start: int = 1
    skipped: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"chrom": self.chrom, "pos": self.pos, "ids": self.ids, "ref": self.ref, "alt": self.alt,
                "columns": self.columns, "template": self.template, "start": self.start, "skipped": self.skipped}

    @classmethod
    def from_dict(cls, data: dict) -> Sites:
        return cls(**data)


@dataclass
class VcfRecords:
    """What one VCF file gave: haplotype titles, their sequences as channel indices, the sites."""

    titles: list[str]
    indices: np.ndarray  # (haplotypes, length) uint8
    sites: Sites
    sha256: str
    warnings: list[str] = field(default_factory=list)


def parse_region(region: str) -> tuple[str, int, int]:
    try:
        chrom, span = region.rsplit(":", 1)
        start, end = (int(x.replace(",", "")) for x in span.split("-"))
    except ValueError:
        raise InputError(f"region '{region}': expected CHR:START-END, e.g. 17:7661779-7687538") from None
    if not chrom or start < 1 or end < start:
        raise InputError(f"region '{region}': need a chromosome and 1 <= START <= END")
    return chrom, start, end


def read_vcf(path: Path, options: VcfOptions = VcfOptions(), label_key: str = "label") -> VcfRecords:
    """Phased haplotypes of the file's (or the chosen) samples; sites that are unphased, have a
    missing call, more than one ALT allele or an indel, and a second record at a position already
    read, are refused with the site and the reason, unless options.skip names their kind (then
    skipped and counted). Records out of position order are sorted, with a warning. A malformed
    file is refused naming its line (vcf_checks.py); htslib itself says nothing."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    lines = record_lines(path)
    with htslib_quiet():
        return _read_checked(path, lines, options, label_key)


def _read_checked(path: Path, lines: list[int] | None, options: VcfOptions, label_key: str) -> VcfRecords:
    import pysam

    try:
        source = pysam.VariantFile(str(path))
        names = list(source.header.samples)
    except (OSError, ValueError) as error:  # UnicodeDecodeError is a ValueError
        kind = "BCF" if lines is None else "VCF"
        raise InputError(f"{path}: not a readable {kind} file (htslib: {error})") from None
    with source:
        samples = _chosen_samples(names, options, path)
        labels = _sample_labels(samples, options)
        region = parse_region(options.region) if options.region else None
        template = _reference_region(options, region) if region else None
        columns_of_sites, skipped, sites = [], dict.fromkeys(SKIPPABLE, 0), _SiteList()
        order = SiteOrder()
        rows: list[bytes] = []  # per site: one allele index (0 REF, 1 ALT) per haplotype
        fetched = source.fetch(region[0], region[1] - 1, region[2]) if region and source.index is not None else source
        for number, record in parsed(fetched, path, lines):
            if region and not (record.chrom == region[0] and region[1] <= record.pos <= region[2]):
                continue
            where = f"{path}, line {lines[number]}" if lines else f"{path}, record {number + 1}"
            order.see(record, where)
            row = _site_row(record, samples, options, skipped, path)
            if row is None or order.repeated(record, where, options.skip, skipped):
                continue
            if template is not None:
                column = record.pos - region[1]
                if template[column] != record.ref.upper():
                    raise InputError(f"{path}: {record.chrom}:{record.pos}: REF {record.ref} differs from the "
                                     f"reference's {template[column]}")
                columns_of_sites.append(column)
            else:
                columns_of_sites.append(len(rows))
            sites.add(record)
            rows.append(row)
    if not rows:
        raise InputError(f"{path}: no usable variant sites" + (f" in {options.region}" if region else ""))
    counted = {kind: n for kind, n in skipped.items() if n}
    warnings = [f"{path}: skipped {n} {kind} site(s)" for kind, n in counted.items()]
    if order.first_unsorted:
        warnings.append(f"{order.first_unsorted}: records out of position order; vp sorted the sites by "
                        "position (bcftools sort writes the file sorted)")
        rows, columns_of_sites = sites.sort(rows, columns_of_sites, order.rank, by_position=template is not None)
    indices = _sequences(rows, sites, columns_of_sites, template)
    # A sample name with a space would end the FASTA id at it: such names are percent-encoded there.
    titles = [f"{header_value(sample)}_{HAPLOTYPE_NAMES[h]} sample={header_value(sample)}"
              + (f" {label_key}={labels[sample]}" if labels else "") for sample in samples for h in range(2)]
    site_info = Sites(sites.chrom, sites.pos, sites.ids, sites.ref, sites.alt, columns_of_sites, template,
                      region[1] if region else 1, counted)
    return VcfRecords(titles, indices, site_info, _sha256(path), warnings)


class _SiteList:
    def __init__(self) -> None:
        self.chrom, self.pos, self.ids, self.ref, self.alt = [], [], [], [], []

    def add(self, record) -> None:
        self.chrom.append(str(record.chrom))
        self.pos.append(int(record.pos))
        self.ids.append(record.id or ".")
        self.ref.append(record.ref.upper())
        self.alt.append([a.upper() for a in record.alts])

    def sort(self, rows: list[bytes], columns: list[int], rank, by_position: bool) -> tuple[list[bytes], list[int]]:
        """Sites, their rows and columns in position order; a site's column is its position in the
        reference region `by_position`, else its place in the order."""
        order = sorted(range(len(rows)), key=lambda i: rank(self.chrom[i], self.pos[i]))
        for name in ("chrom", "pos", "ids", "ref", "alt"):
            setattr(self, name, [getattr(self, name)[i] for i in order])
        sorted_columns = [columns[i] for i in order] if by_position else columns
        return [rows[i] for i in order], sorted_columns


def _site_row(record, samples: list[str], options: VcfOptions, skipped: dict[str, int], path: Path) -> bytes | None:
    """The allele index of each haplotype at this site, or None when the site is skipped."""
    where = f"{path}: {record.chrom}:{record.pos}"
    alleles = (record.ref, *(record.alts or ()))
    kind = None
    if len(alleles) > 2:
        kind, why = "multiallelic", f"{len(alleles) - 1} ALT alleles ({','.join(alleles[1:])})"
    elif len(alleles) < 2:
        kind, why = "indel", "no ALT allele"
    elif any(len(a) != 1 or a.upper() not in BASES for a in alleles):
        kind, why = "indel", f"not a single-base substitution ({alleles[0]} > {alleles[1]})"
    row = bytearray()
    if kind is None:
        for sample in samples:
            call = record.samples[sample]
            genotype = call.get("GT")
            if genotype is None or len(genotype) != 2 or None in genotype:
                kind, why = "missing", f"sample {sample} has genotype {_shown(genotype)} (need two called alleles)"
                break
            if not call.phased:
                kind, why = "unphased", f"sample {sample} is unphased ({genotype[0]}/{genotype[1]})"
                break
            row += bytes(genotype)
    if kind is None:
        return bytes(row)
    if kind in options.skip:
        skipped[kind] += 1
        return None
    raise InputError(f"{where}: {why}; skip such sites with --skip-sites {kind}")


def _shown(genotype) -> str:
    if genotype is None:
        return "."
    return "|".join("." if allele is None else str(allele) for allele in genotype)


def _sequences(rows: list[bytes], sites: _SiteList, columns: list[int], template: str | None) -> np.ndarray:
    """(haplotypes, length) indices: the allele bases at the sites, over the template if any."""
    alleles = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), -1)  # sites x haplotypes
    channel = np.array([[BASES.index(ref), BASES.index(alt[0])] for ref, alt in zip(sites.ref, sites.alt)],
                       dtype=np.uint8)
    bases = np.take_along_axis(channel, alleles.astype(np.intp), axis=1).T  # haplotypes x sites
    if template is None:
        return np.ascontiguousarray(bases)
    sequences = np.tile(translate(template.encode()), (bases.shape[0], 1))
    sequences[:, columns] = bases
    return sequences



def _chosen_samples(names: list[str], options: VcfOptions, path: Path) -> list[str]:
    if not names:
        raise InputError(f"{path}: no samples (genotype columns)")
    if options.samples is None:
        return names
    try:
        wanted = [line.strip() for line in Path(options.samples).read_text().splitlines() if line.strip()]
    except OSError as error:
        raise InputError(f"{options.samples}: cannot read ({error.strerror or error})") from None
    missing = [name for name in wanted if name not in set(names)]
    if missing:
        raise InputError(f"{options.samples}: {len(missing)} sample(s) not in {path}, e.g. {missing[0]}")
    chosen = set(wanted)
    return [name for name in names if name in chosen]


def _sample_labels(samples: list[str], options: VcfOptions) -> dict[str, str] | None:
    if options.labels is None:
        return None
    try:
        with open(options.labels, newline="") as stream:
            rows = list(csv.DictReader(stream, delimiter="\t"))
    except OSError as error:
        raise InputError(f"{options.labels}: cannot read ({error.strerror or error})") from None
    if not rows or options.label_column not in rows[0]:
        raise InputError(f"{options.labels}: no column '{options.label_column}' (columns: "
                         f"{', '.join(rows[0]) if rows else 'none'})")
    sample_column = "sample" if "sample" in rows[0] else next(iter(rows[0]))
    labels = {row[sample_column]: row[options.label_column] for row in rows}
    missing = [sample for sample in samples if not labels.get(sample)]
    if missing:
        raise InputError(f"{options.labels}: no {options.label_column} for {len(missing)} sample(s), e.g. {missing[0]}")
    return {sample: "_".join(labels[sample].split()) for sample in samples}


def _reference_region(options: VcfOptions, region: tuple[str, int, int]) -> str:
    import pysam

    try:
        with pysam.FastaFile(options.reference) as reference:
            sequence = reference.fetch(region[0], region[1] - 1, region[2]).upper()
    except (OSError, ValueError, KeyError) as error:
        raise InputError(f"{options.reference}: cannot read {options.region} ({error})") from None
    if len(sequence) != region[2] - region[1] + 1:
        raise InputError(f"{options.reference}: {options.region} runs past the end of {region[0]}")
    bad = set(sequence) - set(BASES)
    if bad:
        raise InputError(f"{options.reference}: {options.region} holds {', '.join(sorted(bad))}; only A, C, G, T "
                         "can be modelled")
    return sequence


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()
