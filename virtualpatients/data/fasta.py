"""Reading a cohort: equal-length encoded sequences from one or more FASTA or GenBank files
(records.py streams each file), with labels from the descriptions or the file names."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .encoding import BASES_WITH_GAP, GAP, alphabet_for
from .records import read_records, record_id
from ..errors import InputError
from .sequences import SequenceSet, SourceFile

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
) -> SequenceSet:
    """Read, validate and encode FASTA files into one equal-length cohort, with classes if any."""
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
