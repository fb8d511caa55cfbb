"""VCF in (phased haplotypes as sequences) and out (generated haplotypes as a phased VCF)."""

import numpy as np
import pysam
import pytest

import virtualpatients as vp
from conftest import shared_file
from virtualpatients.data.fasta import read_cohort
from virtualpatients.data.vcf import VcfOptions
from virtualpatients.data.vcf_out import format_vcf, sample_names, sites_from_reference
from virtualpatients.errors import InputError

HEADER = """##fileformat=VCFv4.2
##contig=<ID=7>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2\ts3
"""
SITES = [("7", 3, "A", "G", ["0|1", "1|1", "0|0"]), ("7", 5, "C", "T", ["1|0", "0|0", "0|1"])]


def write_vcf(path, sites=SITES, header=HEADER):
    lines = [f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t" + "\t".join(calls)
             for chrom, pos, ref, alt, calls in sites]
    path.write_text(header + "\n".join(lines) + "\n")
    return path


def test_without_a_reference_a_haplotype_is_its_alleles_at_the_sites(tmp_path):
    cohort = read_cohort([write_vcf(tmp_path / "x.vcf")])
    assert cohort.ids == ["s1_A", "s1_B", "s2_A", "s2_B", "s3_A", "s3_B"]
    assert cohort.strings() == ["AT", "GC", "GC", "GC", "AC", "AT"]
    assert cohort.sites.pos == [3, 5] and cohort.sites.alt == [["G"], ["T"]]


def test_bgzip_reads_as_plain_text(tmp_path):
    plain = write_vcf(tmp_path / "x.vcf")
    pysam.tabix_compress(str(plain), str(tmp_path / "x.vcf.gz"))
    assert read_cohort([tmp_path / "x.vcf.gz"]).strings() == read_cohort([plain]).strings()


def test_with_a_reference_region_the_snvs_are_applied_to_the_reference(tmp_path):
    (tmp_path / "ref.fa").write_text(">7\nTTACCCGGTT\n")
    options = VcfOptions(reference=str(tmp_path / "ref.fa"), region="7:2-8")
    cohort = read_cohort([write_vcf(tmp_path / "x.vcf")], vcf=options)
    assert cohort.strings()[:2] == ["TACTCGG", "TGCCCGG"]  # region TACCCGG; SNVs at 3 (A>G) and 5 (C>T)
    wrong = [("7", 4, "G", "T", ["0|1", "0|0", "0|0"])]  # the reference has C at 4
    with pytest.raises(InputError, match="7:4: REF G differs from the reference's C"):
        read_cohort([write_vcf(tmp_path / "wrong.vcf", wrong)], vcf=options)


@pytest.mark.parametrize("site, kind, reason", [
    (("7", 4, "C", "T", ["0/1", "0|0", "0|0"]), "unphased", "sample s1 is unphased"),
    (("7", 4, "C", "T", [".|1", "0|0", "0|0"]), "missing", "sample s1 has genotype .|1"),
    (("7", 4, "C", "T,G", ["0|2", "0|0", "0|0"]), "multiallelic", "2 ALT alleles"),
    (("7", 4, "C", "CT", ["0|1", "0|0", "0|0"]), "indel", "not a single-base substitution"),
])
def test_each_kind_of_unusable_site_is_refused_with_the_site_or_skipped_and_counted(tmp_path, site, kind, reason):
    path = write_vcf(tmp_path / "x.vcf", [SITES[0], site, SITES[1]])
    with pytest.raises(InputError, match=rf"x.vcf: 7:4: {reason}.*; skip such sites with --skip-sites {kind}"):
        read_cohort([path])
    cohort = read_cohort([path], vcf=VcfOptions(skip=(kind,)))
    assert cohort.length == 2 and cohort.sites.skipped == {kind: 1}
    assert any(f"skipped 1 {kind} site(s)" in warning for warning in cohort.warnings)


def test_samples_and_a_sample_sheet_choose_haplotypes_and_give_classes(tmp_path):
    (tmp_path / "keep.txt").write_text("s3\ns1\n")
    (tmp_path / "sheet.tsv").write_text("sample\tsuper_pop\ns1\tEUR\ns2\tAFR\ns3\tEAS\n")
    options = VcfOptions(samples=str(tmp_path / "keep.txt"), labels=str(tmp_path / "sheet.tsv"), label_column="super_pop")
    cohort = read_cohort([write_vcf(tmp_path / "x.vcf")], vcf=options, label_key="label")
    assert cohort.ids == ["s1_A", "s1_B", "s3_A", "s3_B"] and cohort.labels == ["EUR", "EUR", "EAS", "EAS"]
    with pytest.raises(InputError, match="no column 'pop'"):
        read_cohort([tmp_path / "x.vcf"], vcf=VcfOptions(labels=str(tmp_path / "sheet.tsv"), label_column="pop"))


def test_the_yelmen805_vcf_gives_exactly_the_fasta_haplotypes_in_order():
    from_vcf = read_cohort([shared_file("yelmen805/haplotypes_train.vcf")])
    from_fasta = read_cohort([shared_file("yelmen805/haplotypes_train.fasta")])
    assert from_vcf.ids == from_fasta.ids and np.array_equal(from_vcf.indices, from_fasta.indices)


def test_written_vcf_reads_back_with_pysam_and_a_new_base_becomes_an_extra_alt(tmp_path):
    sites = read_cohort([write_vcf(tmp_path / "x.vcf")]).sites
    haplotypes = vp.SequenceSet.from_strings(["GT", "AC", "AC", "CC"])  # C at the first site is new
    text = format_vcf(haplotypes.indices, haplotypes.alphabet, sites, sample_names(4), ["vp_seed=3"])
    (tmp_path / "out.vcf").write_bytes(text)
    with pysam.VariantFile(str(tmp_path / "out.vcf")) as written:
        assert list(written.header.samples) == ["vp_synthetic_000001", "vp_synthetic_000002"]
        first, second = list(written)
        assert (first.ref, first.alts) == ("A", ("G", "C"))
        assert [first.samples[s]["GT"] for s in written.header.samples] == [(1, 0), (0, 2)]
        assert all(first.samples[s].phased for s in written.header.samples)
    with pytest.raises(InputError, match="give an even number"):
        format_vcf(haplotypes.indices[:3], "ATCG", sites, sample_names(3))


def test_fasta_haplotypes_are_written_as_snvs_against_a_reference(tmp_path):
    reference = "ACGTACGTAC"
    haplotypes = vp.SequenceSet.from_strings(["ACGTACGTAC", "ACCTACGTAC", "ACGTACGTAA", "ACCTACGTAC"])
    text = format_vcf(haplotypes.indices, "ATCG", sites_from_reference(reference, "chr17", 1001), sample_names(4))
    (tmp_path / "out.vcf").write_bytes(text)
    (tmp_path / "ref.fa").write_text(f">chr17\n{'N' * 1000}{reference}\n")  # the region starts at 1001
    back = read_cohort([tmp_path / "out.vcf"], vcf=VcfOptions(reference=str(tmp_path / "ref.fa"), region="chr17:1001-1010"))
    assert back.strings() == haplotypes.strings()


def test_vcf_to_model_to_vcf_round_trip_on_a_slice_of_yelmen805(tmp_path):
    source = pysam.VariantFile(str(shared_file("yelmen805/haplotypes_train.vcf")))
    source.subset_samples(list(source.header.samples)[:30])
    with pysam.VariantFile(str(tmp_path / "slice.vcf"), "w", header=source.header) as sliced:
        for number, record in zip(range(60), source):
            sliced.write(record)
    cohort = read_cohort([tmp_path / "slice.vcf"])
    config = vp.TrainConfig(steps=30, hidden=(32,), noise_dim=8, batch_size=16, device="cpu")
    run = vp.train(cohort, config, run_dir=tmp_path / "run")
    # Sampled (the default recipe's decoding): a model trained from VCF sites draws only each
    # site's REF and ALT, so the written VCF stays biallelic and reads back as it was generated.
    (tmp_path / "gen.vcf").write_bytes(vp.load_run(tmp_path / "run").generate_vcf(200, seed=4))
    back = read_cohort([tmp_path / "gen.vcf"])
    assert back.strings() == run.generate(200, seed=4).strings()
    assert back.sites.pos == cohort.sites.pos and back.sites.chrom == cohort.sites.chrom


def test_the_cli_trains_on_vcf_and_writes_vcf_from_generate_baseline_and_balance(tmp_path):
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    names = [f"p{i}" for i in range(24)]
    header = HEADER.replace("\ts1\ts2\ts3", "\t" + "\t".join(names))
    sites = [("7", 10 * (i + 1), "A", "G", [f"{a}|{b}" for a, b in rng.integers(0, 2, (24, 2))]) for i in range(30)]
    write_vcf(tmp_path / "cohort.vcf", sites, header)
    (tmp_path / "sheet.tsv").write_text("sample\tgroup\n" + "".join(f"{n}\t{'rare' if i < 6 else 'common'}\n"
                                                                    for i, n in enumerate(names)))

    def vp_cli(*args):
        done = subprocess.run([sys.executable, "-m", "virtualpatients", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return done

    vp_cli("train", "cohort.vcf", "--labels", "sheet.tsv", "--label-column", "group", "--steps", "20", "--hidden", "16",
           "--noise-dim", "4", "--batch-size", "16", "--device", "cpu", "-o", "run")
    vp_cli("generate", "-n", "8", "--label", "rare", "--format", "vcf", "--argmax", "-o", "gen.vcf")
    assert read_cohort([tmp_path / "gen.vcf"]).length == 30
    vp_cli("baseline", "independent", "cohort.vcf", "-n", "6", "--format", "vcf", "-o", "base.vcf")
    vp_cli("balance", "cohort.vcf", "--model", "run", "--labels", "sheet.tsv", "--label-column", "group",
           "--format", "vcf", "-o", "balanced.vcf")
    with pysam.VariantFile(str(tmp_path / "balanced.vcf")) as balanced:
        samples = list(balanced.header.samples)
    # 12 rare and 36 common haplotypes: 24 rare ones generated, paired into 12 synthetic samples.
    assert samples[:24] == names and len(samples) == 24 + 12
    assert all(name.startswith("vp_synthetic_") and name.endswith("_rare") for name in samples[24:])
