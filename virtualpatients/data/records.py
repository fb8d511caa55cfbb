"""Stream one FASTA file (plain or gzip) into titles and encoded bases, in bounded memory.

The file is parsed as Biopython's SimpleFastaParser parses a file it opens itself, in text mode
with universal newlines ('\\n', '\\r\\n' and old Mac '\\r' all end a line; a property test checks
the records against it), but on bytes and in blocks: each record's sequence lines are cleaned
and encoded piece by piece into one growing byte buffer, so neither a multi-GB file nor one huge
single-line record is ever held whole as text. Reading costs about the encoded size (one byte a
base) plus a few blocks.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .encoding import BASES, translation_table
from ..errors import InputError
from .genbank import SUFFIXES as GENBANK_SUFFIXES
from .genbank import genbank_records

BLOCK = 1 << 22  # bytes read at a time
BATCH = 1 << 22  # bases encoded at a time: the temporaries of a batch are a few times this
GZIP_MAGIC = b"\x1f\x8b"
TABLE = translation_table(BASES)
VALID = (BASES + BASES.lower()).encode("ascii")
# What str.rstrip() strips, in ASCII: Biopython strips it from the end of every line.
WHITESPACE = bytes(range(9, 14)) + bytes(range(28, 33))
# Of that, what a line keeps when it is not at the line's end (Biopython removes spaces anywhere).
_LINE_END_ONLY = b"\t\x0b\x0c\x1c\x1d\x1e\x1f"


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


def _blocks(path: Path, hashing: _HashingReader) -> Iterator[bytes]:
    """Blocks of the (decompressed) file; a gzip stream that is cut short or corrupt ends as a clean
    InputError. Headers may hold UTF-8 text (names with accents, CJK); a byte that is not ASCII in
    a sequence is refused by the encoder, a header that is not UTF-8 by read_records."""
    gzipped = hashing.raw.peek(2)[:2] == GZIP_MAGIC
    stream = gzip.GzipFile(fileobj=io.BufferedReader(hashing), mode="rb") if gzipped else io.BufferedReader(hashing)
    try:
        while block := stream.read(BLOCK):
            yield block
    except (OSError, EOFError, zlib.error) as error:
        raise InputError(f"{path}: cannot read {'gzip ' if gzipped else ''}file ({error})") from None


def _unix_newlines(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """The blocks with every '\\r\\n' and lone '\\r' made '\\n', as text mode reads them; a '\\r' that
    ends a block waits for the next one, which may start with its '\\n'."""
    carry = b""
    for block in blocks:
        block = carry + block
        carry = b"\r" if block.endswith(b"\r") else b""
        if carry:
            block = block[:-1]
        if b"\r" in block:
            block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if block:
            yield block
    if carry:
        yield b"\n"


def _checked(blocks: Iterator[bytes], path: Path) -> Iterator[bytes]:
    """The blocks, once the first text that is not whitespace is found to be a '>'."""
    for block in blocks:
        text = block.lstrip(WHITESPACE)
        if text and text[0] != ord(">"):
            raise InputError(f"{path}: not a FASTA file (the first line does not start with '>')")
        yield block  # whitespace too: the parser must see where the first lines end
        if text:
            yield from blocks
            return
    raise InputError(f"{path}: empty file, no FASTA records")


def _clean(chunk: bytes, held: bytes, special: bool) -> tuple[list[bytes], bytes]:
    """Sequence text -> the bases Biopython keeps of it: each line without its trailing whitespace,
    spaces removed. `held` is whitespace ending the text before, on a line not yet ended: it goes
    if the line ends there, and stays (to be refused as invalid) if a base follows. Without tabs
    and their like (`special`) this is one bytes.translate, whatever the line boundaries."""
    pieces = []
    if not special:
        if held and (rest := chunk.lstrip(b" ")):
            if rest[0] != ord("\n"):
                pieces.append(held)
            held = b""
        pieces.append(chunk.translate(None, b"\n "))
    else:
        lines = chunk.split(b"\n")
        lines[0] = held + lines[0]
        pieces = [line.rstrip(WHITESPACE).replace(b" ", b"") for line in lines]
        held = lines[-1][len(lines[-1].rstrip(WHITESPACE)) :].replace(b" ", b"")
    return [piece for piece in pieces if piece], held


def _parse(blocks: Iterable[bytes]) -> Iterator[str | bytes]:
    """SimpleFastaParser on blocks whose lines end in '\\n': yields each record's title (a str),
    then its sequence in pieces (non-empty bytes). As Biopython does, lines before the first one
    starting with '>' are skipped, and a record ends where a line starts with '>'."""
    title: list[bytes] | None = None  # the title line so far, until its end arrives
    in_record, line_start, held = False, True, b""
    for block in blocks:
        special = any(symbol in block for symbol in _LINE_END_ONLY)
        parts = block.split(b"\n>")  # one C call finds the records; a Python loop per line would be slow
        for index, part in enumerate(parts):
            offset = 0
            if index or (line_start and part[:1] == b">"):
                title, offset = [], 0 if index else 1
            if title is not None:
                end = part.find(b"\n", offset)
                if end < 0 and index == len(parts) - 1:  # the title line goes on in the next block
                    title.append(part[offset:])
                    continue
                end = len(part) if end < 0 else end
                title.append(part[offset:end])
                yield b"".join(title).decode("utf-8").rstrip()
                title, in_record, held, offset = None, True, b"", end + 1
            if in_record and offset < len(part):
                pieces, held = _clean(part[offset:] if offset else part, held, special)
                yield from pieces
        line_start = block.endswith(b"\n")
    if title is not None:
        yield b"".join(title).decode("utf-8").rstrip()


def _shown(symbol: str) -> str:
    if not symbol.isascii():  # one byte of a binary file or of UTF-8 text: the byte says more
        return f"byte 0x{ord(symbol):02x}"
    return symbol if symbol.isprintable() and not symbol.isspace() else repr(symbol)


def record_id(title: str) -> str:
    return title.split(None, 1)[0] if title.strip() else ""


class _Encoder:
    """Validates and encodes sequence pieces into `into`, about BATCH bases at a time in one table
    lookup; only on failure does it locate the record, the position and every invalid character.
    Problems are reported in file order: the first empty or invalid record."""

    def __init__(self, path: Path, into: bytearray, rest: Iterator[str | bytes] | None = None) -> None:
        self.path, self.into, self.rest = path, into, rest or iter(())
        self.titles: list[str] = []
        self.lengths: list[int] = []
        self.pending: list[bytes] = []
        self.size = 0  # bases pending
        self.done = 0  # bases of this file already encoded

    def start(self, title: str) -> None:
        if self.titles and not self.lengths[-1]:
            self._empty()
        self.titles.append(title)
        self.lengths.append(0)

    def add(self, piece: bytes) -> None:
        if self.size + len(piece) > BATCH:
            # Before, not after: a long record's pieces (a block each) are encoded one by one,
            # as joining them would copy them. The piece and the rest are the open record's end.
            self._flush(itertools.chain([piece], self.rest))
        self.lengths[-1] += len(piece)
        self.pending.append(piece)
        self.size += len(piece)

    def finish(self) -> None:
        if self.titles and not self.lengths[-1]:
            self._empty()
        self._flush()

    def _empty(self) -> None:
        self._flush()
        raise InputError(f"{self.path}: record '{record_id(self.titles[-1]) or '<no id>'}': empty sequence")

    def _flush(self, rest: Iterable[str | bytes] = ()) -> None:
        raw = b"".join(self.pending)
        self.pending, self.size = [], 0
        encoded = raw.translate(TABLE)
        first_bad = encoded.find(255)
        if first_bad >= 0:
            self._refuse(raw, first_bad, rest)
        self.into += encoded
        self.done += len(encoded)

    def _refuse(self, raw: bytes, first_bad: int, rest: Iterable[str | bytes]) -> None:
        ends = np.cumsum(self.lengths)
        row = int(np.searchsorted(ends, self.done + first_bad, side="right"))
        start = int(ends[row]) - self.lengths[row]
        found = set(raw[first_bad : int(ends[row]) - self.done].translate(None, VALID))
        if row == len(self.titles) - 1:
            try:  # the record may go on past this batch: read its end for all the characters it holds
                for piece in rest:
                    if isinstance(piece, str):
                        break
                    found.update(piece.translate(None, VALID))
            except (InputError, UnicodeDecodeError):  # a later problem in the file: this one comes first
                pass
        listed = ", ".join(_shown(chr(symbol)) for symbol in sorted(found))
        binary = "not a FASTA text file: " if raw[first_bad] > 127 else ""
        raise InputError(
            f"{self.path}: {binary}record '{record_id(self.titles[row]) or '<no id>'}': invalid character "
            f"{_shown(chr(raw[first_bad]))} at {self.done + first_bad - start + 1} (found {listed}; "
            "only A, C, G, T are allowed)"
        )


def read_records(path: Path, into: bytearray, cds: bool = False) -> FileRecords:
    """Append the file's encoded bases to `into`; return its titles, lengths and checksum.
    GenBank files (.gb, .gbk, ...) give their records, or with cds=True their coding sequences."""
    path = Path(path)
    if cds or path.suffix.lower() in GENBANK_SUFFIXES:
        return _read_genbank(path, into, cds)
    try:
        with open(path, "rb") as raw:
            hashing = _HashingReader(raw)
            events = _parse(_checked(_unix_newlines(_blocks(path, hashing)), path))
            encoder = _Encoder(path, into, events)
            for event in events:
                if isinstance(event, str):
                    encoder.start(event)
                else:
                    encoder.add(event)
            encoder.finish()
            while hashing.read(BLOCK):  # a gzip stream may end before the file: hash every byte on disk
                pass
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: the header of record {len(encoder.titles) + 1} is not UTF-8 text (byte "
                         f"0x{error.object[error.start]:02x}); save the file as UTF-8") from None
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a FASTA file") from None
    except PermissionError as error:
        raise InputError(f"{path}: cannot read file ({error.strerror or error})") from None
    if not encoder.titles:
        raise InputError(f"{path}: no FASTA records")
    return FileRecords(path, encoder.titles, encoder.lengths, hashing.digest.hexdigest())


def _read_genbank(path: Path, into: bytearray, cds: bool) -> FileRecords:
    encoder = _Encoder(path, into)
    for title, sequence in genbank_records(path, cds):
        encoder.start(title)
        if sequence:
            encoder.add(sequence.encode("ascii", "replace"))
    encoder.finish()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return FileRecords(path, encoder.titles, encoder.lengths, digest)
