import gzip
import hashlib
import io
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest
from Bio.SeqIO.FastaIO import SimpleFastaParser
from hypothesis import given, settings
from hypothesis import strategies as st

from virtualpatients.data import records
from virtualpatients.data.encoding import decode_strings
from virtualpatients.errors import InputError
from virtualpatients.data.fasta import read_cohort
from virtualpatients.data.records import _parse, _unix_newlines, read_records


def parsed(path, monkeypatch=None, block=None):
    if block is not None:
        monkeypatch.setattr(records, "BLOCK", block)
        monkeypatch.setattr(records, "BATCH", 7)
    buffer = bytearray()
    result = read_records(path, buffer)
    codes = np.frombuffer(bytes(buffer), np.uint8)
    sequences, start = [], 0
    for length in result.lengths:
        sequences.append(decode_strings(codes[start : start + length])[0])
        start += length
    return result, sequences


def biopython(text):
    """The records Biopython reads from a file it opens itself: text mode, universal newlines."""
    return list(SimpleFastaParser(io.StringIO(text, newline=None)))


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(["\n", ">", "A", "c", "G", "t", " ", "\r", "\r\n", "\t", "x", "\x0b", "\x1f", ">id desc\n"]),
             max_size=60),
    st.lists(st.integers(0, 80), max_size=8),
)
def test_the_parser_gives_the_records_biopython_gives_wherever_the_blocks_are_cut(symbols, cuts):
    data = "".join(symbols).encode()
    cuts = sorted({0, len(data), *(min(cut, len(data)) for cut in cuts)})
    blocks = [data[start:end] for start, end in zip(cuts, cuts[1:])]
    parsed_records = []
    for event in _parse(_unix_newlines(blocks)):
        if isinstance(event, str):
            parsed_records.append((event, b""))
        else:
            parsed_records[-1] = (parsed_records[-1][0], parsed_records[-1][1] + event)
    assert [(title, sequence.decode()) for title, sequence in parsed_records] == biopython(data.decode())


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.text("ab ", max_size=6), st.text("ACGT\n\r ", min_size=1, max_size=30)), min_size=1, max_size=6),
    st.integers(1, 9),
    st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_reading_in_small_blocks_gives_what_biopython_reads_from_the_whole_file(tmp_path_factory, entries, block, newline):
    text = newline + "".join(f">r{i} {title}{newline}{body}{newline}" for i, (title, body) in enumerate(entries))
    expected = biopython(text)
    path = tmp_path_factory.mktemp("blocks") / "x.fasta"
    path.write_bytes(text.encode())
    with pytest.MonkeyPatch.context() as patch:
        if any(not sequence for _, sequence in expected):
            with pytest.raises(InputError, match="empty sequence"):
                parsed(path, patch, block)
            return
        result, sequences = parsed(path, patch, block)
    assert result.titles == [title for title, _ in expected]
    assert sequences == [sequence.upper() for _, sequence in expected]


def test_gzip_windows_line_endings_and_one_very_long_line(tmp_path):
    rng = np.random.default_rng(0)
    long = "".join(rng.choice(list("ACGT"), 300_000))
    text = f">a first\r\n{long}\r\n>b\r\n{long[::-1]}\r\n"
    plain = tmp_path / "x.fasta"
    plain.write_bytes(text.encode())
    packed = tmp_path / "x.fasta.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    for path in (plain, packed):
        result, sequences = parsed(path)
        assert result.titles == ["a first", "b"] and sequences == [long, long[::-1]]
        assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()  # of the bytes on disk
    assert read_cohort([packed]).length == 300_000


@pytest.mark.parametrize(
    "content, message",
    [
        (gzip.compress(b">a\nACGT\n")[:-6], "cannot read gzip file"),
        (b"\x1f\x8b" + b"not gzip at all", "cannot read gzip file"),
        (gzip.compress(b">a\nAC\xffGT\n"), "not a FASTA text file: record .a.: invalid character byte 0xff at 3"),
        (b">a \xc3(\nACGT\n", "the header of record 1 is not UTF-8 text .byte 0xc3."),
        (gzip.compress(b""), "empty file"),
        (b"\n\n  \n", "empty file"),
        (b"ACGT\n>a\nACGT\n", "first line does not start with '>'"),
        (b">a\nACGT\n>b\n\n", "record 'b': empty sequence"),
        (b">a\nACNT\n", "record 'a': invalid character N at 3"),
    ],
)
def test_broken_files_end_in_one_clean_error(tmp_path, content, message):
    path = tmp_path / "broken.fasta.gz"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_records(path, bytearray())


def test_a_large_file_is_read_in_about_its_encoded_size(tmp_path):
    # 60,000 records x 1,000 bases: 61 MB of text, 60 MB encoded. Reading the whole text,
    # then decoding, splitting and joining it, would peak at several times that.
    n, length = 60_000, 1_000
    script = textwrap.dedent(f"""
        import resource, sys
        import numpy as np
        from virtualpatients.data.fasta import read_cohort
        from virtualpatients.data.sequences import format_fasta
        rng = np.random.default_rng(0)
        path = sys.argv[1]
        with open(path, "wb") as out:
            for start in range(0, {n}, 2000):
                codes = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, (2000, {length}), dtype=np.uint8)]
                out.write(format_fasta([f"r{{i}}" for i in range(start, start + 2000)], codes))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        cohort = read_cohort([path])
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(len(cohort), before, after)
    """)
    output = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "large.fasta")], capture_output=True, text=True, check=True
    ).stdout.split()
    n_read, before_kib, after_kib = map(int, output)
    assert n_read == n
    encoded_mib = n * length / 2**20
    growth_mib = (after_kib - before_kib) / 1024
    # Encoded array + ids + one block and batch; the file's text is never held whole.
    assert growth_mib < 1.3 * encoded_mib + 30, (growth_mib, encoded_mib)


@pytest.mark.parametrize("width", [0, 60])
def test_one_huge_record_costs_about_its_encoded_size(tmp_path, width):
    # 16 M bases on one line (or wrapped): joining its lines into one str, encoding and translating
    # it each copied the whole record, a traced peak of 5x the bases. Now pieces of a block are
    # cleaned and encoded one by one: the buffer (1 byte a base) and a few blocks.
    n = 16_000_000
    rng = np.random.default_rng(0)
    bases = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, n, dtype=np.uint8)].tobytes()
    lines = [bases[start : start + width] for start in range(0, n, width)] if width else [bases]
    path = tmp_path / "huge.fasta"
    path.write_bytes(b">huge one record\n" + b"\n".join(lines) + b"\n")
    del bases, lines
    tracemalloc.start()
    try:
        cohort = read_cohort([path], min_records=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert cohort.length == n and cohort.ids == ["huge"]
    assert peak < 2.2 * n + 4 * 2**20, f"peak {peak / n:.2f} bytes a base"


@pytest.mark.parametrize("block", [3, 8, 1 << 22])
def test_an_invalid_character_past_the_first_batch_names_its_record_position_and_all_found(tmp_path, monkeypatch, block):
    path = tmp_path / "bad.fasta"
    path.write_bytes(b">ok\nACGTACGTAC\n>bad one\n" + b"ACGTACGTAC\n" * 3 + b"ANGT\nACGT\n" * 4 + b"AxGT\n>after\nACGT\n")
    monkeypatch.setattr(records, "BLOCK", block)
    monkeypatch.setattr(records, "BATCH", 7)
    with pytest.raises(InputError, match=r"record 'bad': invalid character N at 32 \(found N, x; only A, C, G, T"):
        read_records(path, bytearray())
