"""The command line end to end: stdout carries only data, errors are one line with an exit code."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from Bio import SeqIO

from conftest import require_blast, write_fasta

TRAIN_FLAGS = ["--steps", "30", "--hidden", "32", "--noise-dim", "8", "--batch-size", "16", "--device", "cpu"]


def vp(*args: str, cwd: Path, stdin: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "virtualpatients", *args], cwd=cwd, capture_output=True, input=stdin, timeout=timeout, env=env
    )


def test_train_generate_evaluate_blast_json(tiny_cohort, tmp_path):
    require_blast()
    # Enough steps at a high rate that the generator leaves noise behind and BLAST finds hits.
    flags = [*TRAIN_FLAGS, "--steps", "200", "--lr", "0.002"]
    trained = vp("train", str(tiny_cohort), *flags, "--out", "run1", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr.decode()
    assert trained.stdout == b""
    assert "wrote run to run1" in trained.stderr.decode()
    assert {p.name for p in (tmp_path / "run1").iterdir()} >= {"model.safetensors", "run.json", "history.csv"}
    run = json.loads((tmp_path / "run1" / "run.json").read_text())
    assert run["n_sequences"] == 40 and run["length"] == 60 and run["alphabet"] == "ATCG"
    assert run["config"]["steps"] == 200 and run["training_files"][0]["path"] == str(tiny_cohort.resolve())
    assert len(run["training_files"][0]["sha256"]) == 64 and "torch" in run["versions"]

    generated = vp("generate", "-n", "25", "--seed", "2", cwd=tmp_path)
    assert generated.returncode == 0, generated.stderr.decode()
    (tmp_path / "gen.fasta").write_bytes(generated.stdout)
    records = list(SeqIO.parse(tmp_path / "gen.fasta", "fasta"))
    assert len(records) == 25 and all(len(r.seq) == 60 for r in records)
    assert vp("generate", "-n", "25", "--seed", "2", cwd=tmp_path).stdout == generated.stdout

    evaluated = vp("evaluate", "--generated", "gen.fasta", "--blast", "--json", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr.decode()
    report = json.loads(evaluated.stdout)
    assert report["n_generated"] == 25 and report["n_real"] == 40
    assert 0 <= report["nearest_identity"]["min"] <= report["nearest_identity"]["mean"] <= 1
    assert report["real_baseline_identity"]["mean"] == 1.0  # hotspots repeat: every patient has a twin
    assert report["nearest_identity"]["mean"] > 0.9
    # BLAST's identity over the whole query agrees with the in-process nearest identity.
    assert report["blast"]["no_hit"] == 0
    assert abs(report["blast"]["mean_identity"] - 100 * report["nearest_identity"]["mean"]) < 0.5

    default = vp("evaluate", "-n", "10", "--json", cwd=tmp_path)
    assert default.returncode == 0, default.stderr.decode()
    assert json.loads(default.stdout)["n_generated"] == 10


def test_output_file_refuses_to_overwrite_without_force(tiny_cohort, tmp_path):
    from typer.testing import CliRunner

    from virtualpatients.cli.app import app

    def invoke(*arguments: str):
        return CliRunner().invoke(app, list(arguments))

    assert invoke("train", str(tiny_cohort), *TRAIN_FLAGS, "--steps", "2").exit_code == 0
    assert invoke("generate", "-n", "3", "-o", "out.fasta").exit_code == 0
    again = invoke("generate", "-n", "3", "-o", "out.fasta")
    assert again.exit_code == 2 and "--force" in again.stderr
    assert (tmp_path / "out.fasta").read_text().count(">") == 3  # untouched
    assert invoke("generate", "-n", "4", "-o", "out.fasta", "--force").exit_code == 0
    assert (tmp_path / "out.fasta").read_text().count(">") == 4


def test_generate_into_a_closed_pipe_ends_quietly(tiny_cohort, tmp_path):
    assert vp("train", str(tiny_cohort), *TRAIN_FLAGS, "--steps", "2", cwd=tmp_path).returncode == 0
    command = f"{sys.executable} -m virtualpatients generate -n 1000000 --batch-size 2000 | head -n 3"
    piped = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, timeout=120)
    assert piped.stdout.decode().startswith(">vp_0000001 ") and len(piped.stdout.splitlines()) == 3
    assert piped.stderr == b"", piped.stderr.decode()


@pytest.mark.parametrize(
    "records, expected",
    [
        ([("a", "ACGT"), ("b", "ACNT")], "record 'b': invalid character N at 3"),
        ([("a", "ACGT")], "need at least 2 sequences"),
        ([("a", "ACGT"), ("b", "ACGTA")], "different lengths"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, records, expected):
    path = write_fasta(tmp_path / "bad.fasta", records)
    result = vp("train", str(path), cwd=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 2 and result.stdout == b""
    assert expected in stderr and "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1


def test_missing_model_and_missing_file(tmp_path):
    result = vp("generate", "-n", "2", cwd=tmp_path)
    assert result.returncode == 2 and b"vp train" in result.stderr and b"Traceback" not in result.stderr
    result = vp("train", "nothing.fasta", cwd=tmp_path)
    assert result.returncode == 2 and b"nothing.fasta: no such file" in result.stderr


def test_help_is_fast_enough_to_skip_torch(tmp_path):
    code = "import sys, virtualpatients.cli.app; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).stdout.strip() == b"False"
    assert vp("--help", cwd=tmp_path).returncode == 0


def test_holdout_report_writes_every_plot_and_metric(tiny_cohort, tmp_path):
    trained = vp("train", str(tiny_cohort), *TRAIN_FLAGS, "--steps", "60", "--holdout", "0.25", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr.decode()
    run_dir = Path(vp_last_run(tmp_path))
    run = json.loads((run_dir / "run.json").read_text())
    assert run["holdout"]["n"] == 10 and run["n_sequences"] == 30 and len(run["holdout"]["indices"]) == 10

    reported = vp("report", "-n", "50", cwd=tmp_path)
    assert reported.returncode == 0, reported.stderr.decode()
    assert reported.stdout == b""
    folder = run_dir / "report"
    pngs = {p.name for p in folder.glob("*.png")}
    assert pngs == {
        "discriminator.png", "discriminator_accuracy.png", "losses.png", "nearest_identity.png",
        "dcr.png", "base_frequencies.png", "variants.png", "differences.png", "linkage.png", "pca.png",
    }
    html = (folder / "report.html").read_text()
    assert all(f'src="{name}"' in html for name in pngs)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["n_holdout"] == 10 and metrics["n_real"] == 30 and metrics["n_generated"] == 50
    assert metrics["privacy"]["aats_holdout"] is not None and "privacy_loss" in metrics["privacy"]


def vp_last_run(folder: Path) -> str:
    return (folder / ".vp-last-run").read_text().strip()


def test_an_unexpected_error_is_one_line_with_exit_1(tmp_path, monkeypatch):
    # A bug (here a planted one) must still end as one line and exit 1, not a traceback.
    from typer.testing import CliRunner

    import virtualpatients.cli.demo as demo
    from virtualpatients.cli.app import app

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(demo, "run_demo", broken)
    monkeypatch.delenv("VP_DEBUG", raising=False)
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "d")])
    assert result.exit_code == 1
    assert "unexpected ZeroDivisionError: boom" in result.output and "Traceback" not in result.output


def test_warnings_arrive_while_training_runs_not_after(tiny_cohort, tmp_path):
    import virtualpatients as api

    config = api.TrainConfig(steps=20, log_every=5, hidden=(32,), noise_dim=8, batch_size=100, device="cpu")
    steps_seen, heard = [], []
    api.train(api.read_cohort(tiny_cohort), config, progress=lambda step, row: steps_seen.append(step),
              warn=lambda message: heard.append((len(steps_seen), message)))
    assert heard and heard[0][0] == 0 and "batch size 100" in heard[0][1]  # before the first step

    trained = vp("train", str(tiny_cohort), *TRAIN_FLAGS, "--batch-size", "100", cwd=tmp_path)
    assert trained.returncode == 0
    lines = trained.stderr.decode().splitlines()
    warned = next(i for i, line in enumerate(lines) if "batch size 100" in line)
    assert warned < next(i for i, line in enumerate(lines) if "wrote run to" in line)
    after = "\n".join(lines[next(i for i, line in enumerate(lines) if "wrote run to" in line):])
    assert "warning(s) above" in after
    # The last word is a plain statement of what was produced (a quick verdict on generated output).
    assert ("first look (100 generated): no problem found" in after) != ("poor result (100 generated" in after)
