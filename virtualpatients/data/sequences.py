"""The one sequence-set type: equal-length sequences as uint8 channel indices, with ids, optional
class labels and where they came from. Read cohorts, generated sets and baseline draws are all one."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from .encoding import BASES, decode, decode_strings, encode

LINE_WIDTH = 70


@dataclass(frozen=True)
class SourceFile:
    path: str
    sha256: str
    n_records: int


@dataclass(frozen=True)
class SequenceSet:
    """Validated, equal-length sequences as channel indices into `alphabet`."""

    ids: list[str]
    indices: np.ndarray  # (N, L) uint8 indices into `alphabet`
    alphabet: str = BASES
    labels: list[str] | None = None  # one class per record, or None (unconditional)
    descriptions: list[str] | None = None  # FASTA description lines (id first), or None
    origin: str = ""  # where the set came from, for messages and tables
    sources: list[SourceFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    read_options: dict[str, Any] = field(default_factory=dict)  # how the files were read, to re-read them
    sites: Any = None  # data.vcf.Sites: the variant sites behind the columns, for sets read from VCF

    def __post_init__(self) -> None:
        if self.indices.ndim != 2 or len(self.ids) != self.indices.shape[0]:
            raise InputError(f"{self.origin or 'sequence set'}: {len(self.ids)} ids for indices of shape "
                             f"{self.indices.shape}")
        if self.labels is not None and len(self.labels) != len(self.ids):
            raise InputError(f"{self.origin or 'sequence set'}: {len(self.labels)} labels for {len(self.ids)} sequences")

    @classmethod
    def from_strings(
        cls, sequences: Sequence[str], labels: Sequence[str] | None = None, ids: Sequence[str] | None = None,
        origin: str = "strings",
    ) -> SequenceSet:
        """Equal-length DNA strings (A, C, G, T) as a set; ids default to seq1, seq2, ..."""
        if not len(sequences):
            raise InputError(f"{origin}: no sequences")
        data = [s.upper().encode("ascii") for s in sequences]
        if len({len(s) for s in data}) != 1:
            raise InputError(f"{origin}: sequences of different lengths")
        indices = encode(data)
        if (indices >= len(BASES)).any():
            raise InputError(f"{origin}: only A, C, G, T are allowed")
        return cls(
            ids=list(ids) if ids is not None else [f"seq{i}" for i in range(1, len(data) + 1)],
            indices=indices, labels=None if labels is None else [str(label) for label in labels], origin=origin,
        )

    @property
    def length(self) -> int:
        return int(self.indices.shape[1])

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def named(self, origin: str) -> SequenceSet:
        return dataclasses.replace(self, origin=origin)

    def subset(self, rows: np.ndarray, origin: str | None = None) -> SequenceSet:
        rows = np.asarray(rows, dtype=np.int64)
        return dataclasses.replace(
            self,
            ids=[self.ids[i] for i in rows],
            indices=self.indices[rows],
            labels=None if self.labels is None else [self.labels[i] for i in rows],
            descriptions=None if self.descriptions is None else [self.descriptions[i] for i in rows],
            origin=self.origin if origin is None else origin,
        )

    def of_class(self, label: str) -> SequenceSet:
        if self.labels is None:
            raise InputError(f"{self.origin}: no labels, so no class '{label}'")
        rows = np.flatnonzero(np.asarray(self.labels) == label)
        if not rows.size:
            raise InputError(f"{self.origin}: no sequence of class '{label}' (classes: {', '.join(sorted(set(self.labels)))})")
        return self.subset(rows, f"{self.origin}, class {label}")

    def strings(self) -> list[str]:
        return decode_strings(self.indices, self.alphabet)

    def to_fasta(self, label_key: str = "label") -> bytes:
        """FASTA text; a labelled set without descriptions writes label_key=VALUE after the id."""
        if self.descriptions is not None:
            titles = self.descriptions
        elif self.labels is not None:
            titles = [f"{name} {label_key}={label}" for name, label in zip(self.ids, self.labels)]
        else:
            titles = self.ids
        return format_fasta(titles, decode(self.indices, self.alphabet))


def header_value(text: str) -> str:
    """`text` as one KEY=VALUE token of a FASTA description: whitespace, control characters and
    '%' percent-encoded as in GFF3 ("run 1" -> "run%201"), so a folder name with a space or a
    newline neither splits the token nor breaks the record; every other character as written."""
    if text.isprintable() and not any(c.isspace() or c == "%" for c in text):
        return text
    return "".join(
        "".join(f"%{byte:02X}" for byte in c.encode("utf-8", "surrogateescape"))
        if c.isspace() or c == "%" or not c.isprintable() else c
        for c in text
    )


def format_fasta(titles: Sequence[str], codes: np.ndarray | Sequence[str], width: int = LINE_WIDTH) -> bytes:
    """FASTA with lines of `width` characters: the one writer of the project.

    `codes` is an (N, L) array of ASCII codes (equal lengths, vectorised) or a list of strings
    of any lengths. Titles are written after '>' as given (id, then any description)."""
    if not isinstance(codes, np.ndarray):
        lines: list[str] = []
        for title, sequence in zip(titles, codes):
            lines.append(f">{title}")
            lines.extend(sequence[start:start + width] for start in range(0, len(sequence), width))
        return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape") if lines else b""
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
    # Titles as their bytes were read (UTF-8), and a folder name that is not UTF-8 as its own bytes.
    headers = [f">{title}\n".encode("utf-8", "surrogateescape") for title in titles]
    return b"".join(h + row.tobytes() for h, row in zip(headers, rows))
