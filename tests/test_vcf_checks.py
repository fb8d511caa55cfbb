"""Malformed VCFs end in one line of vp's own with exit 2 naming the file and the line; htslib
prints nothing; duplicate positions are refused (or skipped on request) and unsorted records are
sorted with a warning."""

import gzip

import numpy as np
import pysam
import pytest
from typer.testing import CliRunner

from virtualpatients.cli.app import app
from virtualpatients.data.fasta import read_cohort
from virtualpatients.data.vcf import VcfOptions, read_vcf
from virtualpatients.data.vcf_checks import record_lines
from virtualpatients.errors import InputError

HEADER = ("##fileformat=VCFv4.2\n##contig=<ID=1>\n"
          '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2\n")


def record(pos, calls=("0|1", "1|0"), ref="A", alt="G", chrom="1"):
    return f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t" + "\t".join(calls) + "\n"


GOOD = HEADER + record(100) + record(200, ("1|1", "0|0")) + record(300)

# (name, file bytes, what the one line says); the records start on line 5.
CORPUS = [
    ("truncated-header", b"##fileformat=VCFv4.2\n##contig=<ID=1", "no #CHROM header line: the header is cut short"),
    ("no-chrom-line", (HEADER.split("#CHROM")[0] + record(100)).encode(), "line 4: a record before the #CHROM"),
    ("bad-pos", (HEADER + record(100) + record("abc") + record(300)).encode(),
     "line 6: POS 'abc' is not a position"),
    ("zero-pos", (HEADER + record(0)).encode(), "line 5: POS '0' is not a position"),
    ("bad-gt", (HEADER + record(100) + record(200, ("0|x", "1|0"))).encode(),
     "line 6: sample s1: GT '0|x': not alleles"),
    ("gt-allele-out-of-range", (HEADER + record(100, ("0|1", "1|5"))).encode(),
     "line 5: sample s2: GT '1|5': allele '5' is not one of the site's 2"),
    ("too-few-columns", (HEADER + record(100) + "1\t200\t.\tA\tG\t.\tPASS\n").encode(),
     "line 6: 7 tab-separated columns, the #CHROM line has 11 (the file may be cut short)"),
    ("too-many-columns", (HEADER + record(100, ("0|1", "1|0", "0|0"))).encode(),
     "line 5: 12 tab-separated columns, the #CHROM line has 11"),
    ("record-cut-short", (GOOD + "1\t400\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|").encode(),
     "line 8: htslib cannot parse this record"),
    ("empty-line", (HEADER + record(100) + "\n" + record(200)).encode(), "line 6: an empty line"),
    ("latin-1-sample-name", HEADER.replace("s1", "J\xfcrgen").encode("latin-1") + record(100).encode(),
     "line 4: a sample name is not UTF-8 text (byte 0xfc)"),
    ("gzip-cut-short", gzip.compress(GOOD.encode())[:-12], "the compressed file is cut short or corrupt"),
    ("empty-file", b"", "no #CHROM header line"),
    ("duplicate-position", (HEADER + record(100) + record(100) + record(300)).encode(),
     "line 6: 1:100 (A>G) again, first at line 5 (A>G): the same site twice; keep the first with "
     "--skip-sites duplicate"),
    ("split-multiallelic", (HEADER + record(100) + record(100, alt="T")).encode(),
     "line 6: 1:100 (A>T) again, first at line 5 (A>G): a multiallelic site split in records?"),
]


def bcf_bytes(tmp_path, text=GOOD) -> bytes:
    source = tmp_path / "source.vcf"
    source.write_text(text)
    target = tmp_path / "source.bcf"
    with pysam.VariantFile(str(source)) as reader, pysam.VariantFile(str(target), "wb", header=reader.header) as out:
        for site in reader:
            out.write(site)
    return target.read_bytes()


def train_on(path):
    return CliRunner().invoke(app, ["train", str(path), "--steps", "1", "-o", str(path.parent / "run")])


@pytest.mark.parametrize("name, content, says", CORPUS, ids=[case[0] for case in CORPUS])
def test_each_malformed_vcf_ends_in_one_line_of_vp_naming_file_and_line_with_exit_2(tmp_path, capfd, name, content,
                                                                                    says):
    path = tmp_path / ("x.vcf.gz" if name.startswith("gzip") else "x.vcf")
    path.write_bytes(content)
    result = train_on(path)
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}") and says in lines[0], result.stderr
    assert capfd.readouterr().err == ""  # htslib wrote nothing to the real stderr (fd 2)


def test_a_bcf_cut_short_ends_in_one_line_with_exit_2(tmp_path, capfd):
    data = bcf_bytes(tmp_path, HEADER + "".join(record(100 + 10 * i) for i in range(500)))
    for cut in (len(data) // 2, 40):
        path = tmp_path / f"cut{cut}.bcf"
        path.write_bytes(data[:cut])
        result = train_on(path)
        assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.stderr
        assert f"error: {path}" in result.stderr and ("cut short" in result.stderr or "truncated" in result.stderr)
    assert capfd.readouterr().err == ""


def test_bcf_reads_as_its_text_and_quietly_without_an_index(tmp_path, capfd):
    text, binary = tmp_path / "x.vcf", tmp_path / "x.bcf"
    text.write_text(GOOD)
    binary.write_bytes(bcf_bytes(tmp_path))
    assert record_lines(binary) is None and record_lines(text) == [5, 6, 7]
    assert np.array_equal(read_vcf(binary).indices, read_vcf(text).indices)
    assert capfd.readouterr().err == ""  # htslib's "[E::idx_find_and_load] Could not retrieve index file"


def test_a_missing_format_header_line_and_an_undeclared_contig_are_read_quietly(tmp_path, capfd):
    path = tmp_path / "x.vcf"
    path.write_text(GOOD.replace(HEADER.splitlines()[2] + "\n", "").replace("##contig=<ID=1>\n", ""))
    assert read_vcf(path).indices.shape == (4, 3)
    assert capfd.readouterr().err == ""


def test_unsorted_records_are_sorted_with_a_warning_naming_the_first_line(tmp_path):
    shuffled, ordered = tmp_path / "shuffled.vcf", tmp_path / "ordered.vcf"
    sites = [record(100, ("0|1", "1|0")), record(200, ("1|1", "0|0")), record(300, ("0|0", "1|1")),
             record(50, ("1|0", "0|1"), chrom="2")]
    shuffled.write_text(HEADER + sites[2] + sites[0] + sites[3] + sites[1])
    ordered.write_text(HEADER + "".join(sites))
    got, want = read_vcf(shuffled), read_vcf(ordered)
    assert np.array_equal(got.indices, want.indices) and got.sites.pos == want.sites.pos == [100, 200, 300, 50]
    assert got.warnings == [f"{shuffled}, line 6: 1:100: records out of position order; vp sorted the sites by "
                            "position (bcftools sort writes the file sorted)"]
    assert want.warnings == []


def test_unsorted_records_against_a_reference_keep_their_positions(tmp_path):
    reference = tmp_path / "ref.fa"
    reference.write_text(">1\n" + "A" * 400 + "\n")
    pysam.faidx(str(reference))
    path = tmp_path / "x.vcf"
    path.write_text(HEADER + record(300, ("0|0", "1|1")) + record(100))
    cohort = read_cohort([path], vcf=VcfOptions(reference=str(reference), region="1:91-310"))
    reference_base = cohort.alphabet.index("A")
    changed = [tuple(np.flatnonzero(row != reference_base).tolist()) for row in cohort.indices]
    assert changed == [(), (9,), (9, 209), (209,)]  # positions 100 and 300 of 91-310, per haplotype


def test_duplicate_positions_are_skipped_and_counted_on_request(tmp_path):
    path = tmp_path / "x.vcf"
    path.write_text(HEADER + record(100) + record(100, ("1|1", "1|1"), alt="T") + record(300))
    with pytest.raises(InputError, match="line 6: 1:100 .A>T. again"):
        read_vcf(path)
    kept = read_vcf(path, VcfOptions(skip=("duplicate",)))
    assert kept.sites.pos == [100, 300] and kept.sites.alt == [["G"], ["G"]] and kept.sites.skipped == {"duplicate": 1}
    assert kept.warnings == [f"{path}: skipped 1 duplicate site(s)"]


def test_utf8_sample_names_are_read_and_kept(tmp_path):
    path = tmp_path / "x.vcf"
    path.write_text(GOOD.replace("s1", "Jürgen").replace("s2", "李[bold]"))
    assert read_vcf(path).titles[::2] == ["Jürgen_A sample=Jürgen", "李[bold]_A sample=李[bold]"]


def test_a_sample_name_with_a_space_stays_one_fasta_id(tmp_path):
    path = tmp_path / "x.vcf"
    path.write_text(GOOD.replace("\ts2\n", "\tmy sample\n"))
    assert read_vcf(path).titles[2:] == ["my%20sample_A sample=my%20sample", "my%20sample_B sample=my%20sample"]
