from pathlib import Path

import pytest
from typer.testing import CliRunner

from test_fetch import genbank_text
from virtualpatients.cli.app import app
from virtualpatients.errors import InputError
from virtualpatients.data.fasta import read_cohort
from virtualpatients.data.genbank import genbank_records


def write_genbank(tmp_path: Path, *accessions: str, with_cds: bool = True, suffix: str = ".gb") -> Path:
    path = tmp_path / f"records{suffix}"
    path.write_text("".join(genbank_text(a, with_cds) for a in accessions))
    return path


def test_genbank_files_read_as_whole_records_or_coding_sequences(tmp_path):
    path = write_genbank(tmp_path, "NM_000546.6", "NM_000547.1")
    whole = read_cohort([path])
    assert whole.ids == ["NM_000546.6", "NM_000547.1"] and whole.length == 26
    coding = read_cohort([path], cds=True)
    expected = genbank_records(path, cds=True)[0][1]
    assert coding.length == 18 and "".join("ATCG"[i] for i in coding.indices[0]) == expected
    assert coding.ids == ["NM_000546.6_cds", "NM_000547.1_cds"]
    assert "protein_id=NP_000537.3" in coding.descriptions[0]


def test_cds_of_a_file_without_cds_or_of_fasta_is_refused(tmp_path):
    with pytest.raises(InputError, match="no CDS features"):
        read_cohort([write_genbank(tmp_path, "NM_1.1", "NM_2.1", with_cds=False)], cds=True)
    fasta = tmp_path / "x.fasta"
    fasta.write_text(">a\nACGT\n>b\nACGT\n")
    with pytest.raises(InputError, match="no GenBank records"):
        read_cohort([fasta], cds=True)


def test_vp_train_cds_on_genbank_records_cds_in_the_run_and_resumes(tmp_path):
    path = write_genbank(tmp_path, "NM_000546.6", "NM_000547.1", suffix=".gbk")
    runner = CliRunner()
    arguments = ["--hidden", "4", "--noise-dim", "2", "--device", "cpu"]
    trained = runner.invoke(app, ["train", str(path), "--cds", "--steps", "2", *arguments, "-o", "run"])
    assert trained.exit_code == 0, trained.output
    assert '"cds": true' in Path("run/run.json").read_text()
    resumed = runner.invoke(app, ["train", "--resume", "run", "--steps", "4"])
    assert resumed.exit_code == 0, resumed.output
