"""FASTA in and out: Biopython parses, one vectorised pass validates and encodes."""

from __future__ import annotations

import hashlib
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from Bio.SeqIO.FastaIO import SimpleFastaParser

from .encoding import BASES, GAP, alphabet_for, encode_bytes
from .errors import InputError

LENGTH_POLICIES = ("error", "pad", "crop")
LINE_WIDTH = 70


@dataclass(frozen=True)
class SourceFile:
    path: str
    sha256: str
    n_records: int


@dataclass(frozen=True)
class Cohort:
    """Validated, equal-length sequences as channel indices, with where they came from."""

    ids: list[str]
    descriptions: list[str]
    indices: np.ndarray  # (N, L) uint8 indices into `alphabet`
    alphabet: str
    sources: list[SourceFile]
    warnings: list[str] = field(default_factory=list)
    labels: list[str] | None = None  # one class per record, or None (unconditional)

    @property
    def length(self) -> int:
        return int(self.indices.shape[1])

    def __len__(self) -> int:
        return int(self.indices.shape[0])


@dataclass(frozen=True)
class _Record:
    path: Path
    id: str
    description: str
    sequence: bytes


def _read_records(path: Path) -> tuple[list[_Record], str]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a FASTA file") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read file ({error.strerror or error})") from None
    if not raw.strip():
        raise InputError(f"{path}: empty file, no FASTA records")
    if not raw.lstrip().startswith(b">"):
        raise InputError(f"{path}: not a FASTA file (the first line does not start with '>')")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{path}: not a FASTA text file (byte 0x{raw[error.start]:02x} at offset {error.start})"
        ) from None
    records = [
        _Record(path, title.split(None, 1)[0] if title.strip() else "", title, seq.encode("ascii"))
        for title, seq in SimpleFastaParser(io.StringIO(text))
    ]
    return records, hashlib.sha256(raw).hexdigest()


def _shown(symbol: str) -> str:
    return symbol if symbol.isprintable() and not symbol.isspace() else repr(symbol)


def _check_alphabet(records: list[_Record]) -> None:
    """Validate every base in one vectorised pass; locate the culprit only on failure."""
    for record in records:
        if not record.sequence:
            raise InputError(f"{record.path}: record '{record.id or '<no id>'}': empty sequence")
    codes = encode_bytes(b"".join(r.sequence for r in records))
    bad = np.flatnonzero(codes == 255)
    if not bad.size:
        return
    ends = np.cumsum([len(r.sequence) for r in records])
    record = records[int(np.searchsorted(ends, bad[0], side="right"))]
    record_bad = np.flatnonzero(encode_bytes(record.sequence) == 255)
    first = int(record_bad[0])
    found = ", ".join(_shown(c) for c in sorted({chr(record.sequence[i]) for i in record_bad}))
    raise InputError(
        f"{record.path}: record '{record.id or '<no id>'}': invalid character "
        f"{_shown(chr(record.sequence[first]))} at {first + 1} (found {found}; only A, C, G, T are allowed)"
    )


def _fit_lengths(records: list[_Record], policy: str) -> tuple[list[bytes], bool]:
    """Return equal-length sequences and whether a gap channel is needed."""
    lengths = Counter(len(r.sequence) for r in records)
    if len(lengths) == 1:
        return [r.sequence for r in records], False
    if policy == "crop":
        shortest = min(lengths)
        return [r.sequence[:shortest] for r in records], False
    if policy == "pad":
        longest = max(lengths)
        return [r.sequence.ljust(longest, GAP.encode()) for r in records], True
    shortest, longest = min(lengths), max(lengths)
    example_short = next(r for r in records if len(r.sequence) == shortest)
    example_long = next(r for r in records if len(r.sequence) == longest)
    found = ", ".join(f"{length} ({count} records)" for length, count in sorted(lengths.items()))
    raise InputError(
        f"records of different lengths: {found}; e.g. {example_short.path}: '{example_short.id}' "
        f"has {shortest}, {example_long.path}: '{example_long.id}' has {longest}; "
        "use --length-policy pad or crop"
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
    paths: list[Path],
    length_policy: str = "error",
    min_records: int = 2,
    label_key: str | None = None,
    labels_from_files: bool = False,
) -> Cohort:
    """Read, validate and encode FASTA files into one equal-length cohort, with classes if any."""
    if length_policy not in LENGTH_POLICIES:
        raise InputError(f"unknown length policy {length_policy!r}; choose from {', '.join(LENGTH_POLICIES)}")
    if not paths:
        raise InputError("no FASTA file given")
    records: list[_Record] = []
    sources: list[SourceFile] = []
    for path in paths:
        file_records, digest = _read_records(Path(path))
        if not file_records:
            raise InputError(f"{path}: no FASTA records")
        records.extend(file_records)
        sources.append(SourceFile(str(Path(path).resolve()), digest, len(file_records)))
    _check_alphabet(records)
    if len(records) < min_records:
        raise InputError(f"need at least {min_records} sequences, found {len(records)} in {', '.join(map(str, paths))}")
    sequences, with_gap = _fit_lengths(records, length_policy)
    alphabet = alphabet_for(with_gap)
    indices = encode_bytes(b"".join(sequences), alphabet).reshape(len(sequences), -1)
    counts = Counter(r.id for r in records)
    warnings = [
        f"duplicate id '{name}' appears {count} times" for name, count in counts.items() if count > 1
    ][:20]
    return Cohort(
        ids=[r.id for r in records],
        descriptions=[r.description for r in records],
        indices=indices,
        alphabet=alphabet,
        sources=sources,
        warnings=warnings,
        labels=_labels(records, label_key, labels_from_files),
    )


def format_fasta(ids: list[str], descriptions: list[str], codes: np.ndarray, width: int = LINE_WIDTH) -> bytes:
    """Serialise (N, L) ASCII codes as FASTA with lines of `width` characters, vectorised."""
    n, length = codes.shape
    if n == 0:
        return b""
    # Insert a newline column after every `width` symbols and at the end of each row,
    # so one reshape turns the whole block into wrapped lines.
    n_lines = -(-length // width)
    padded = np.full((n, n_lines * (width + 1)), ord("\n"), dtype=np.uint8)
    body = padded.reshape(n, n_lines, width + 1)
    full_lines = length // width
    if full_lines:
        body[:, :full_lines, :width] = codes[:, : full_lines * width].reshape(n, full_lines, width)
    tail = length - full_lines * width
    if tail:
        body[:, full_lines, :tail] = codes[:, full_lines * width :]
        body[:, full_lines, tail] = ord("\n")
        keep = full_lines * (width + 1) + tail + 1
    else:
        keep = full_lines * (width + 1)
    rows = padded[:, :keep]
    headers = [
        (f">{name} {text}\n" if text else f">{name}\n").encode("ascii", "replace")
        for name, text in zip(ids, descriptions)
    ]
    return b"".join(h + row.tobytes() for h, row in zip(headers, rows))


__all__ = ["Cohort", "SourceFile", "read_cohort", "format_fasta", "LENGTH_POLICIES", "BASES"]
