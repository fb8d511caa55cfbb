"""What vp checks while it reads a VCF, so that a malformed file ends with the file, the line and
the reason in vp's words (for most of these htslib says only "truncated file" or "unable to parse
next record"), and htslib's own lines stay off the terminal.

The text pass reads each line once with bytes operations (a tab count, a translate): about a
hundredth of what htslib's parse costs. BCF is binary and left to htslib.
"""

from __future__ import annotations

import gzip
import zlib
from contextlib import contextmanager
from pathlib import Path

from ..errors import InputError
from .records import GZIP_MAGIC

FIXED_COLUMNS = (b"#CHROM", b"POS", b"ID", b"REF", b"ALT", b"QUAL", b"FILTER", b"INFO")
DIGITS = b"0123456789"


def record_lines(path: Path) -> list[int] | None:
    """The 1-based line number of each record of a text VCF, in order (htslib's record k is on line
    result[k]); None for BCF. Refuses, naming the line: a header cut short or missing its #CHROM
    line, sample names that are not UTF-8, a record with another number of columns than the
    #CHROM line, a POS that is not a whole number from 1, a GT-only genotype that is not alleles
    and separators or names an allele the site does not have, an empty line."""
    path = Path(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == GZIP_MAGIC
    try:
        with (gzip.open(path, "rb") if compressed else open(path, "rb")) as stream:
            if stream.read(3) == b"BCF":
                return None
            stream.seek(0)
            return _checked_lines(stream, path)
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise InputError(f"{path}: the compressed file is cut short or corrupt ({error})") from None


def _checked_lines(stream, path: Path) -> list[int]:
    columns: list[bytes] | None = None
    lines: list[int] = []
    for number, line in enumerate(stream, 1):
        where = f"{path}, line {number}"
        line = line.rstrip(b"\r\n")
        if line.startswith(b"##"):
            if columns is not None:
                raise InputError(f"{where}: a ## header line after the #CHROM line")
            continue
        if line.startswith(b"#"):
            columns = _header_columns(line, where)
            continue
        if columns is None:
            raise InputError(f"{where}: a record before the #CHROM header line (the header is missing or cut short)")
        if not line:
            raise InputError(f"{where}: an empty line (a VCF has none; remove it)")
        _check_record(line, columns, where)
        lines.append(number)
    if columns is None:
        raise InputError(f"{path}: no #CHROM header line: the header is cut short or this is not a VCF")
    return lines


def _header_columns(line: bytes, where: str) -> list[bytes]:
    columns = line.split(b"\t")
    if tuple(columns[: len(FIXED_COLUMNS)]) != FIXED_COLUMNS:
        named = "\t".join(FIXED_COLUMNS[i].decode() for i in range(len(FIXED_COLUMNS)))
        raise InputError(f"{where}: the #CHROM line must start with the tab-separated columns {named}")
    for column in columns[len(FIXED_COLUMNS) + 1:]:
        try:
            column.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InputError(f"{where}: a sample name is not UTF-8 text (byte 0x{column[error.start]:02x}); "
                             "re-save the file as UTF-8") from None
    return columns


def _check_record(line: bytes, columns: list[bytes], where: str) -> None:
    n_fields = line.count(b"\t") + 1
    if n_fields != len(columns):
        raise InputError(f"{where}: {n_fields} tab-separated columns, the #CHROM line has {len(columns)}"
                         + (" (the file may be cut short)" if n_fields < len(columns) else ""))
    fields = line.split(b"\t", len(FIXED_COLUMNS) + 1)
    position = fields[1]
    if not position.isdigit() or int(position) < 1:
        raise InputError(f"{where}: POS {_text(position)} is not a position (a whole number from 1)")
    if len(fields) <= len(FIXED_COLUMNS) + 1 or fields[8] != b"GT":
        return  # other FORMAT fields: their values are htslib's to parse
    genotypes = fields[9]
    n_alleles = 1 + (fields[4].count(b",") + 1 if fields[4] != b"." else 0)
    allowed = DIGITS[:n_alleles] + b"|/.\t"  # single-digit alleles the site has, separators, missing
    if not genotypes.translate(None, allowed):
        return  # the common case, decided without splitting the samples
    for name, genotype in zip(columns[len(FIXED_COLUMNS) + 1:], genotypes.split(b"\t")):
        alleles = genotype.replace(b"/", b"|").split(b"|")
        bad = [a for a in alleles if a != b"." and not (a.isdigit() and int(a) < n_alleles)]
        if bad or not genotype:
            reason = (f"allele {_text(bad[0])} is not one of the site's {n_alleles} (0 REF, 1.. ALT, . missing)"
                      if bad and bad[0].isdigit() else "not alleles (0, 1, ...) joined by | or /")
            raise InputError(f"{where}: sample {name.decode('utf-8')}: GT {_text(genotype)}: {reason}")


def _text(value: bytes) -> str:
    return "'" + value.decode("utf-8", "backslashreplace") + "'"


@contextmanager
def htslib_quiet():
    """htslib's own lines ("[E::vcf_parse] ...", "[W::hts_idx_load] ...") off: vp says what went
    wrong, once, in its words."""
    import pysam

    previous = pysam.set_verbosity(0)
    try:
        yield
    finally:
        pysam.set_verbosity(previous)


def parsed(records, path: Path, lines: list[int] | None):
    """(number, record) for each record; a record htslib cannot parse, after vp's own checks
    passed, ends as one InputError naming its line (or, in BCF, how many records came before)."""
    iterator, number = iter(records), 0
    while True:
        try:
            record = next(iterator)
            _ = record.chrom, record.id, record.alleles  # decoded now: bytes that are not UTF-8 fail here
        except StopIteration:
            return
        except (OSError, ValueError) as error:
            if lines is None:
                raise InputError(f"{path}: cut short or corrupt after {number} records (htslib: {error})") from None
            where = f"line {lines[number]}" if number < len(lines) else f"after line {lines[-1] if lines else 0}"
            raise InputError(f"{path}, {where}: htslib cannot parse this record ({error})") from None
        yield number, record
        number += 1


class SiteOrder:
    """Whether records come in position order (each chromosome in one block, in the order first
    seen, positions rising), and which positions were already kept (a second record there is a
    duplicate)."""

    def __init__(self) -> None:
        self.contigs: dict[str, int] = {}
        self.last: tuple[int, int] | None = None
        self.kept: dict[tuple[str, int], tuple[str, str]] = {}
        self.first_unsorted: str | None = None

    def rank(self, chrom: str, pos: int) -> tuple[int, int]:
        return self.contigs.setdefault(chrom, len(self.contigs)), pos

    def see(self, record, where: str) -> None:
        key = self.rank(record.chrom, record.pos)
        if self.last is not None and key < self.last and self.first_unsorted is None:
            self.first_unsorted = f"{where}: {record.chrom}:{record.pos}"
        self.last = key

    def repeated(self, record, where: str, skip: tuple[str, ...], skipped: dict[str, int]) -> bool:
        """True when the position was kept before and duplicates are skipped; refused otherwise."""
        site, alleles = (record.chrom, record.pos), f"{record.ref}>{','.join(record.alts or ())}"
        if site not in self.kept:
            self.kept[site] = (where.rsplit(", ", 1)[-1], alleles)
            return False
        if "duplicate" in skip:
            skipped["duplicate"] += 1
            return True
        first, first_alleles = self.kept[site]
        why = ("the same site twice" if alleles == first_alleles else
               "a multiallelic site split in records? bcftools norm -m+ joins them")
        raise InputError(f"{where}: {record.chrom}:{record.pos} ({alleles}) again, first at {first} ({first_alleles}): "
                         f"{why}; keep the first with --skip-sites duplicate")
