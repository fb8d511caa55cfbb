"""Stream one FASTA file (plain or gzip) into titles and encoded bases, in bounded memory.

Biopython's SimpleFastaParser reads the records; the file is fed to it in blocks, and the bases
of each batch of records are validated and encoded in one table lookup and appended to one
growing byte buffer, so a multi-GB file costs about its encoded size (one byte a base) plus a
block, instead of several copies of the text.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from Bio.SeqIO.FastaIO import SimpleFastaParser

from .encoding import BASES, translate, translation_table
from ..errors import InputError
from .genbank import SUFFIXES as GENBANK_SUFFIXES
from .genbank import genbank_records

BLOCK = 1 << 22  # bytes read at a time
BATCH = 1 << 22  # bases encoded at a time: the temporaries of a batch are a few times this
GZIP_MAGIC = b"\x1f\x8b"
TABLE = translation_table(BASES)
# Whitespace that Biopython strips at the end of each line but would keep if lines were joined first.
_LINE_END_ONLY_WHITESPACE = ("\t", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")


@dataclass
class FileRecords:
    """What one file contributed: titles, sequence lengths, and the checksum of its bytes on disk."""

    path: Path
    titles: list[str] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    sha256: str = ""


class _HashingReader(io.RawIOBase):
    """Hash the bytes on disk (compressed or not) as they are read, without a second pass."""

    def __init__(self, raw) -> None:
        self.raw, self.digest = raw, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self.raw.readinto(buffer)
        self.digest.update(memoryview(buffer)[:count])
        return count


def _blocks(path: Path, hashing: _HashingReader) -> Iterator[str]:
    """ASCII text blocks of the (decompressed) file; bad bytes end as a clean InputError."""
    gzipped = hashing.raw.peek(2)[:2] == GZIP_MAGIC
    stream = gzip.GzipFile(fileobj=io.BufferedReader(hashing), mode="rb") if gzipped else io.BufferedReader(hashing)
    offset = 0
    try:
        while block := stream.read(BLOCK):
            try:
                yield block.decode("ascii")
            except UnicodeDecodeError as error:
                raise InputError(
                    f"{path}: not a FASTA text file (byte 0x{block[error.start]:02x} at offset {offset + error.start}"
                    f"{' of the decompressed data' if gzipped else ''})"
                ) from None
            offset += len(block)
    except (OSError, EOFError, zlib.error) as error:
        if isinstance(error, InputError):
            raise
        raise InputError(f"{path}: cannot read {'gzip ' if gzipped else ''}file ({error})") from None


def _record_pieces(blocks: Iterator[str], path: Path) -> Iterator[str]:
    """Text pieces that each end at a record boundary (just before a line starting with '>'),
    joining blocks only when a boundary arrives, so a huge record is not copied repeatedly."""
    parts: list[str] = []
    started = False
    for block in blocks:
        if not started:
            stripped = "".join(parts + [block]).lstrip()
            if not stripped:
                parts.append(block)
                continue
            if not stripped.startswith(">"):
                raise InputError(f"{path}: not a FASTA file (the first line does not start with '>')")
            started = True
        previous_end = parts[-1][-1:] if parts else ""
        if (previous_end + block).find("\n>") < 0:
            parts.append(block)
            continue
        text = "".join(parts) + block
        cut = text.rfind("\n>") + 1
        yield text[:cut]
        parts = [text[cut:]]
    if not started:
        raise InputError(f"{path}: empty file, no FASTA records")
    yield "".join(parts)


def _unwrapped_lines(text: str) -> Iterator[str]:
    """The lines Biopython's SimpleFastaParser reads, with each record's wrapped sequence lines
    already joined into one line: the records it returns are the same, but its Python loop runs
    twice per record instead of once per 60-80 bases (the reading rate roughly triples).

    Text where joining could change the result (a '>' not at a line start before the first
    record, tabs or other whitespace Biopython strips only at line ends) goes line by line.
    """
    start = text.find(">")
    if start < 0 or (start > 0 and text[start - 1] != "\n") or any(s in text for s in _LINE_END_ONLY_WHITESPACE):
        yield from io.StringIO(text)
        return
    for chunk in text[start + 1 :].split("\n>"):
        title, _, body = chunk.partition("\n")
        yield f">{title}\n"
        sequence = body.replace("\n", "")
        if sequence:
            yield sequence


def _shown(symbol: str) -> str:
    return symbol if symbol.isprintable() and not symbol.isspace() else repr(symbol)


def record_id(title: str) -> str:
    return title.split(None, 1)[0] if title.strip() else ""


def _encode_batch(path: Path, titles: list[str], sequences: list[str], into: bytearray) -> None:
    """Validate and encode a batch of records in one lookup; locate the culprit only on failure."""
    for title, sequence in zip(titles, sequences):
        if not sequence:
            raise InputError(f"{path}: record '{record_id(title) or '<no id>'}': empty sequence")
    translated = "".join(sequences).encode("ascii").translate(TABLE)
    codes = np.frombuffer(translated, dtype=np.uint8)
    if codes.size and codes.max() >= len(BASES):
        first_bad = int(np.argmax(codes == 255))
        ends = np.cumsum([len(s) for s in sequences])
        row = int(np.searchsorted(ends, first_bad, side="right"))
        sequence = sequences[row].encode("ascii")
        record_bad = np.flatnonzero(translate(sequence) == 255)
        found = ", ".join(_shown(c) for c in sorted({chr(sequence[i]) for i in record_bad}))
        raise InputError(
            f"{path}: record '{record_id(titles[row]) or '<no id>'}': invalid character "
            f"{_shown(chr(sequence[record_bad[0]]))} at {record_bad[0] + 1} (found {found}; only A, C, G, T are allowed)"
        )
    into += translated


def read_records(path: Path, into: bytearray, cds: bool = False) -> FileRecords:
    """Append the file's encoded bases to `into`; return its titles, lengths and checksum.
    GenBank files (.gb, .gbk, ...) give their records, or with cds=True their coding sequences."""
    path = Path(path)
    if cds or path.suffix.lower() in GENBANK_SUFFIXES:
        return _read_genbank(path, into, cds)
    result = FileRecords(path)
    try:
        with open(path, "rb") as raw:
            hashing = _HashingReader(raw)
            titles: list[str] = []
            sequences: list[str] = []
            pending = 0
            lines = (line for piece in _record_pieces(_blocks(path, hashing), path) for line in _unwrapped_lines(piece))
            for title, sequence in SimpleFastaParser(lines):
                titles.append(title)
                sequences.append(sequence)
                pending += len(sequence)
                if pending >= BATCH:
                    _encode_batch(path, titles, sequences, into)
                    result.titles += titles
                    result.lengths += [len(s) for s in sequences]
                    titles, sequences, pending = [], [], 0
            _encode_batch(path, titles, sequences, into)
            result.titles += titles
            result.lengths += [len(s) for s in sequences]
            while hashing.read(BLOCK):  # a gzip stream may end before the file: hash every byte on disk
                pass
            result.sha256 = hashing.digest.hexdigest()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a FASTA file") from None
    except PermissionError as error:
        raise InputError(f"{path}: cannot read file ({error.strerror or error})") from None
    if not result.titles:
        raise InputError(f"{path}: no FASTA records")
    return result



def _read_genbank(path: Path, into: bytearray, cds: bool) -> FileRecords:
    pairs = genbank_records(path, cds)
    titles, sequences = [title for title, _ in pairs], [sequence for _, sequence in pairs]
    _encode_batch(path, titles, sequences, into)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return FileRecords(path, titles, [len(s) for s in sequences], digest)
