"""Reading a cohort: equal-length encoded sequences from one or more FASTA or GenBank files
(records.py streams each file), with labels from the descriptions or the file names."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .encoding import BASES_WITH_GAP, GAP, alphabet_for
from .records import read_records, record_id
from ..errors import InputError
from .sequences import SequenceSet, SourceFile
from .vcf import VcfOptions, is_vcf, read_vcf

LENGTH_POLICIES = ("error", "pad", "crop")


@dataclass(frozen=True)
class _Record:
    path: Path
    id: str
    description: str


def _fit_lengths(records: list[_Record], codes: np.ndarray, lengths: np.ndarray, policy: str) -> tuple[np.ndarray, bool]:
    """(N, L) indices of equal-length sequences, and whether a gap channel was needed."""
    ends = np.cumsum(lengths)
    shortest, longest = int(lengths.min()), int(lengths.max())
    if shortest == longest:
        return codes.reshape(len(records), longest), False
    starts = ends - lengths
    if policy == "crop":
        return np.stack([codes[start : start + shortest] for start in starts]), False
    if policy == "pad":
        padded = np.full((len(records), longest), BASES_WITH_GAP.index(GAP), dtype=np.uint8)
        for row, (start, length) in enumerate(zip(starts, lengths)):
            padded[row, :length] = codes[start : start + length]
        return padded, True
    counts = Counter(lengths.tolist())
    example_short = records[int(np.argmin(lengths))]
    example_long = records[int(np.argmax(lengths))]
    found = ", ".join(f"{length} ({count} records)" for length, count in sorted(counts.items()))
    raise InputError(
        f"records of different lengths: {found}; e.g. {example_short.path}: '{example_short.id}' "
        f"has {shortest}, {example_long.path}: '{example_long.id}' has {longest}; "
        "choose the length policy pad or crop"
    )


def _label_of(record: _Record, key: str) -> str | None:
    prefix = f"{key}="
    for token in record.description.split()[1:]:
        if token.startswith(prefix) and len(token) > len(prefix):
            return token[len(prefix) :]
    return None


def _labels(records: list[_Record], key: str | None, from_files: bool) -> list[str] | None:
    """Classes from the file names, or from a key=VALUE token; all records or none must carry one."""
    if from_files:
        return [record.path.name.split(".")[0] for record in records]
    if not key:
        return None
    labels = [_label_of(record, key) for record in records]
    missing = [record for record, label in zip(records, labels) if label is None]
    if len(missing) == len(records):
        return None
    if missing:
        first = missing[0]
        raise InputError(
            f"{first.path}: record '{first.id}' has no {key}=VALUE label while {len(records) - len(missing)} "
            f"records have one ({len(missing)} without)"
        )
    return labels  # type: ignore[return-value]


def read_cohort(
    paths: list[Path] | Path | str,
    length_policy: str = "error",
    min_records: int = 2,
    label_key: str | None = None,
    labels_from_files: bool = False,
    cds: bool = False,
    vcf: VcfOptions | None = None,
) -> SequenceSet:
    """Read, validate and encode FASTA (or GenBank) files into one equal-length cohort, with
    classes if any; or VCF files (phased haplotypes, one sequence each; `vcf` says how)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if length_policy not in LENGTH_POLICIES:
        raise InputError(f"unknown length policy {length_policy!r}; choose from {', '.join(LENGTH_POLICIES)}")
    if not paths:
        raise InputError("no FASTA file given")
    records: list[_Record] = []
    sources: list[SourceFile] = []
    lengths: list[int] = []
    buffer = bytearray()
    if any(is_vcf(path) for path in paths):
        return _read_vcf_cohort(paths, vcf or VcfOptions(), length_policy, min_records, label_key or "label")
    for path in paths:
        file_records = read_records(Path(path), buffer, cds)
        records += [_Record(file_records.path, record_id(title), title) for title in file_records.titles]
        lengths += file_records.lengths
        sources.append(SourceFile(str(Path(path).resolve()), file_records.sha256, len(file_records.titles)))
    if len(records) < min_records:
        raise InputError(f"need at least {min_records} sequences, found {len(records)} in {', '.join(map(str, paths))}")
    codes = np.frombuffer(buffer, dtype=np.uint8)
    indices, with_gap = _fit_lengths(records, codes, np.asarray(lengths, dtype=np.int64), length_policy)
    alphabet = alphabet_for(with_gap)
    counts = Counter(r.id for r in records)
    warnings = [
        f"duplicate id '{name}' appears {count} times" for name, count in counts.items() if count > 1
    ][:20]
    return SequenceSet(
        ids=[r.id for r in records],
        descriptions=[r.description for r in records],
        indices=indices,
        alphabet=alphabet,
        sources=sources,
        warnings=warnings,
        labels=_labels(records, label_key, labels_from_files),
        origin=", ".join(map(str, paths)),
        read_options={"length_policy": length_policy, "label_key": label_key,
                      "labels_from_files": labels_from_files, "cds": cds},
    )


def _read_vcf_cohort(paths, options: VcfOptions, length_policy: str, min_records: int, label_key: str) -> SequenceSet:
    """Haplotypes of one or more VCF files over the same sites (their samples side by side)."""
    if not all(is_vcf(path) for path in paths):
        raise InputError("VCF and FASTA inputs cannot be mixed: their sequences are built differently")
    parts = [read_vcf(Path(path), options, label_key) for path in paths]
    for path, part in zip(paths[1:], parts[1:]):
        if part.sites.to_dict() | {"skipped": {}} != parts[0].sites.to_dict() | {"skipped": {}}:
            raise InputError(f"{path}: its variant sites differ from those of {paths[0]}")
    titles = [title for part in parts for title in part.titles]
    if len(titles) < min_records:
        raise InputError(f"need at least {min_records} haplotypes, found {len(titles)} in {', '.join(map(str, paths))}")
    records = [_Record(Path(path), record_id(title), title) for path, part in zip(paths, parts) for title in part.titles]
    counts = Counter(r.id for r in records)
    return SequenceSet(
        ids=[r.id for r in records],
        descriptions=titles,
        indices=np.concatenate([part.indices for part in parts]),
        sources=[SourceFile(str(Path(path).resolve()), part.sha256, len(part.titles)) for path, part in zip(paths, parts)],
        warnings=[w for part in parts for w in part.warnings]
        + [f"duplicate id '{name}' appears {count} times" for name, count in counts.items() if count > 1][:20],
        labels=_labels(records, label_key, False),
        origin=", ".join(map(str, paths)),
        read_options={"length_policy": length_policy, "label_key": label_key, "labels_from_files": False,
                      "cds": False, "vcf": dataclasses.asdict(options)},
        sites=parts[0].sites,
    )
