"""Hostile input: random bytes and mutated FASTA files end in a clean error or a result, never a
traceback, through the reader and through the CLI."""


import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from virtualpatients.cli.app import app
from virtualpatients.errors import InputError
from virtualpatients.data.fasta import read_cohort

VALID = b">p1 label=a\nACGTACGTAC\nGGTA\n>p2 label=b\nACGTTCGTAC\nGGTA\n>p3 label=a\nACGAACGTACGGTA\n"
PIECES = [b">", b"\n", b"\r\n", b"\r", b" ", b"\t", b"\x00", b"\xff", b"\x1f\x8b", b"N", b"acgt", b"label=", b"=", b""]


@st.composite
def mutated_fasta(draw) -> bytes:
    data = bytearray(VALID)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.sampled_from(PIECES))
        if action == "insert":
            data[at:at] = piece
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        else:
            data[at : at + len(piece)] = piece
    return bytes(data)


hostile = st.one_of(st.binary(max_size=300), mutated_fasta())
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(content=hostile, policy=st.sampled_from(["error", "pad", "crop"]))
def test_the_reader_returns_a_cohort_or_raises_a_clean_input_error(tmp_path_factory, content, policy):
    path = tmp_path_factory.mktemp("fuzz") / "x.fasta"
    path.write_bytes(content)
    try:
        cohort = read_cohort([path], policy, label_key="label")
    except InputError as error:
        assert str(error) and "\n" not in str(error)
        return
    assert cohort.indices.shape[0] == len(cohort.ids) >= 2
    assert cohort.indices.max() < len(cohort.alphabet)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=hostile)
def test_vp_train_on_hostile_files_exits_0_or_2_with_one_clean_line(tmp_path_factory, content):
    folder = tmp_path_factory.mktemp("cli")
    path = folder / "x.fasta"
    path.write_bytes(content)
    result = CliRunner().invoke(app, [
        "train", str(path), "--steps", "1", "--hidden", "4", "--noise-dim", "2", "--batch-size", "2",
        "--device", "cpu", "--length-policy", "pad", "-o", str(folder / "run"),
    ])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, result.stderr


@pytest.mark.parametrize("content", [b"", b"\x00" * 64, b"PK\x03\x04 zip", b'{"format": "vp-run"}', VALID])
def test_foreign_files_as_a_model_are_refused_with_the_reason(tmp_path, content):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "model.safetensors").write_bytes(content)
    (run_dir / "run.json").write_bytes(content)
    result = CliRunner().invoke(app, ["generate", "-n", "2", "--model", str(run_dir)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
