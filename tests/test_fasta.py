import gzip
from pathlib import Path

import numpy as np
import pytest
from Bio import SeqIO

from conftest import write_fasta
from virtualpatients.errors import InputError
from virtualpatients.data.fasta import read_cohort
from virtualpatients.data.sequences import format_fasta, header_value


def read(tmp_path: Path, text: str, policy: str = "error", name: str = "x.fasta"):
    path = tmp_path / name
    path.write_text(text)
    return read_cohort([path], policy)


def test_reads_lower_case_and_takes_length_from_the_data(tmp_path):
    cohort = read(tmp_path, ">a first\nacgtac\ngt\n>b\nACGTACGT\n")
    assert cohort.ids == ["a", "b"] and cohort.length == 8 and cohort.alphabet == "ATCG"
    assert cohort.descriptions[0] == "a first"
    np.testing.assert_array_equal(cohort.indices[0], cohort.indices[1])
    assert len(cohort.sources[0].sha256) == 64 and cohort.sources[0].n_records == 2


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "empty file"),
        ("   \n\n", "empty file"),
        ("hello\nACGT\n", "not a FASTA file"),
        ("\x00\x01\x02>", "not a FASTA file"),
        (">a\nACGT\n>b\n\n>c\nACGT\n", "record 'b': empty sequence"),
        (">a\nACGT\n>b\nACGTACGTACGTACGTNACG\n", "record 'b': invalid character N at 17"),
        (">a\nACGU\n>b\nACGT\n", "invalid character U at 4"),
        (">only\nACGT\n", "need at least 2 sequences, found 1"),
        (">a\nACGT\n>b\nACGTAC\n>c\nACGT\n", "different lengths: 4 (2 records), 6 (1 records)"),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path, text, expected):
    with pytest.raises(InputError) as caught:
        read(tmp_path, text)
    message = str(caught.value)
    assert expected in message and "\n" not in message


def test_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="x.fasta: record 'b'"):
        read(tmp_path, ">a\nACGT\n>b\nAXGT\n")
    with pytest.raises(InputError, match="missing.fasta: no such file"):
        read_cohort([tmp_path / "missing.fasta"])
    with pytest.raises(InputError, match="is a directory"):
        read_cohort([tmp_path])


def test_non_ascii_bytes_are_refused(tmp_path):
    path = tmp_path / "bin.fasta"
    path.write_bytes(b">a\nAC\xffGT\n>b\nACGT\n")
    with pytest.raises(InputError, match="not a FASTA text file"):
        read_cohort([path])


def test_length_policies(tmp_path):
    text = ">a\nACGT\n>b\nACGTAC\n"
    cropped = read(tmp_path, text, "crop")
    assert cropped.length == 4 and cropped.alphabet == "ATCG"
    padded = read(tmp_path, text, "pad")
    assert padded.length == 6 and padded.alphabet == "ATCG-"
    assert padded.indices[0].tolist() == [0, 2, 3, 1, 4, 4]


def test_several_files_and_duplicate_ids_warn(tmp_path):
    first = write_fasta(tmp_path / "a.fasta", [("p1", "ACGT"), ("p2", "ACGA")])
    second = write_fasta(tmp_path / "b.fasta", [("p1", "TTGT")])
    cohort = read_cohort([first, second])
    assert len(cohort) == 3 and len(cohort.sources) == 2
    assert cohort.warnings == ["duplicate id 'p1' appears 2 times"]


def test_format_fasta_wraps_and_biopython_reads_it_back(tmp_path):
    rng = np.random.default_rng(0)
    for length in (1, 69, 70, 71, 141):
        codes = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, size=(3, length))]
        path = tmp_path / f"out{length}.fasta"
        path.write_bytes(format_fasta(["s1 d", "s2", "s3 d3"], codes))
        records = list(SeqIO.parse(path, "fasta"))
        assert [str(r.seq) for r in records] == [row.tobytes().decode() for row in codes]
        assert max(len(line) for line in path.read_text().splitlines() if not line.startswith(">")) <= 70



def test_wrapped_records_read_as_biopython_reads_them(tmp_path):
    text = ">a one\r\nACG \r\nTA\r\n\r\n>b\nAC\nGTA\n>c two words\nACGTA"
    cohort = read(tmp_path, text)
    expected = [str(r.seq) for r in SeqIO.parse(tmp_path / "x.fasta", "fasta")]
    assert ["".join("ATCG"[i] for i in row) for row in cohort.indices] == [s.upper() for s in expected]
    assert cohort.ids == ["a", "b", "c"] and cohort.descriptions[2] == "c two words"


def test_old_mac_and_windows_line_endings_read_as_unix_ones(tmp_path):
    # Lone '\r' ends a line, as in a file Biopython opens itself; the records and labels are the
    # same as the '\n' file's, plain or gzip-compressed.
    unix = ">p1 label=a\nACGTAC\ngt\n\n>p2 label=b\nacgtac\nGT \n>p3   label=a\nTTGTACGA\n"
    mac = unix.replace("\n", "\r").encode()
    expected = read_cohort([write(tmp_path / "unix.fasta", unix.encode())], label_key="label")
    for name, data in [("mac.fasta", mac), ("windows.fasta", unix.replace("\n", "\r\n").encode()),
                       ("mac.fasta.gz", gzip.compress(mac))]:
        cohort = read_cohort([write(tmp_path / name, data)], label_key="label")
        assert cohort.ids == expected.ids == ["p1", "p2", "p3"]
        assert cohort.descriptions == expected.descriptions and cohort.labels == expected.labels == ["a", "b", "a"]
        np.testing.assert_array_equal(cohort.indices, expected.indices)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_utf8_headers_are_read_and_written_back_byte_for_byte(tmp_path):
    path = tmp_path / "x.fasta"
    content = ">Müller_1 label=李[bold]\nACGT\n>p\x1b[31m2 label=b\nACGA\n".encode()
    path.write_bytes(content)
    cohort = read_cohort([path], label_key="label")
    assert cohort.ids == ["Müller_1", "p\x1b[31m2"] and cohort.labels == ["李[bold]", "b"]
    assert cohort.to_fasta() == content


def test_header_values_stay_one_token():
    assert header_value("run-1[x]é") == "run-1[x]é"
    assert header_value("run 1\n%\x1b\udcff") == "run%201%0A%25%1B%FF"
