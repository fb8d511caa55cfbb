"""How commands end when something outside the program goes wrong: a signal while writing, an
output path that cannot be one, a full disk; and that VP_DEBUG means what it says."""

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from virtualpatients import atomic
from virtualpatients.cli.app import app
from virtualpatients.cli.session import OutputStopped, write_stream
from virtualpatients.data.simulate import simulate_cohort

TINY_FLAGS = ["--steps", "5", "--hidden", "8", "--noise-dim", "4", "--batch-size", "8", "--device", "cpu"]


def vp_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "virtualpatients", *args]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A run trained for 5 steps by the real command line (a few seconds)."""
    folder = tmp_path_factory.mktemp("tiny_run")
    ids, descriptions, sequences = simulate_cohort(n_patients=40, length=60, n_hotspots=4, seed=1)
    fasta = folder / "tiny.fasta"
    fasta.write_text("".join(f">{i} {d}\n{s}\n" for i, d, s in zip(ids, descriptions, sequences)))
    trained = subprocess.run(vp_command("train", str(fasta), *TINY_FLAGS, "-o", "RUN"), cwd=folder,
                             capture_output=True, timeout=300)
    assert trained.returncode == 0, trained.stderr.decode()
    return folder / "RUN"


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def start_long_generate(run: Path, folder: Path, output: str, *extra: str) -> subprocess.Popen:
    """`vp generate` of far more sequences than it can write before the test stops it; returns
    once its temporary file exists."""
    process = subprocess.Popen(vp_command("generate", "-m", str(run), "-n", "10000000", "--output", output, *extra),
                               cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not temporaries(folder):
        assert process.poll() is None, process.communicate()[1].decode()
        assert time.monotonic() < deadline, "no temporary file appeared"
        time.sleep(0.05)
    time.sleep(0.3)  # let it write a few chunks
    return process


@pytest.mark.parametrize("number, code, old", [(signal.SIGTERM, 143, None), (signal.SIGINT, 130, b"old\n")])
def test_a_signal_while_writing_removes_the_temporary_file(tiny_run, tmp_path, number, code, old):
    target = tmp_path / "f.fasta"
    if old is not None:
        target.write_bytes(old)
    process = start_long_generate(tiny_run, tmp_path, "f.fasta", "--force")
    process.send_signal(number)
    stdout, stderr = process.communicate(timeout=60)
    message = stderr.decode()
    assert process.returncode == code, message
    assert temporaries(tmp_path) == [] and stdout == b""
    assert len(message.strip().splitlines()) == 1 and "Traceback" not in message
    if old is None:
        assert not target.exists() and "nothing was written" in message
    else:
        assert target.read_bytes() == old and "the old file was kept" in message


def test_the_next_write_removes_what_a_killed_writer_left(tiny_run, tmp_path):
    process = start_long_generate(tiny_run, tmp_path, "f.fasta")
    process.kill()  # SIGKILL: no handler runs, the temporary file stays
    process.communicate(timeout=60)
    (left,) = temporaries(tmp_path)
    assert f".f.fasta.{process.pid}." in left.name  # its name says whose it is
    again = subprocess.run(vp_command("generate", "-m", str(tiny_run), "-n", "3", "--output", "f.fasta"),
                           cwd=tmp_path, capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr.decode()
    assert temporaries(tmp_path) == [] and (tmp_path / "f.fasta").read_text().count(">") == 3


def chunks_signalling(number: int, at: int):
    for index in range(5):
        if index == at:
            signal.raise_signal(number)
        yield b">x\nACGT\n"


def test_write_stream_turns_a_signal_into_its_exit_code(tmp_path):
    with pytest.raises(OutputStopped) as caught:
        write_stream(chunks_signalling(signal.SIGTERM, 2), tmp_path / "f.fasta")
    assert caught.value.exit_code == 143 and "nothing was written" in str(caught.value)
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # the handler is gone again


def test_a_signal_after_the_last_chunk_waits_for_the_rename(tmp_path, monkeypatch):
    real_fsync = os.fsync

    def fsync_then_signal(fd):
        real_fsync(fd)
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(atomic.os, "fsync", fsync_then_signal)
    with pytest.raises(OutputStopped) as caught:
        write_stream([b">x\nACGT\n"], tmp_path / "f.fasta")
    assert caught.value.exit_code == 130 and "written in full" in str(caught.value)
    assert (tmp_path / "f.fasta").read_bytes() == b">x\nACGT\n" and temporaries(tmp_path) == []


def invoke(*arguments: str):
    return CliRunner().invoke(app, list(arguments))


def assert_one_line(result, code: int, text: str, bug: bool = False) -> None:
    assert result.exit_code == code, result.output
    assert text in result.stderr and "Traceback" not in result.stderr
    assert ("unexpected" in result.stderr) == bug
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""


def test_generate_into_a_directory_is_bad_input(tiny_run, tmp_path):
    (tmp_path / "folder").mkdir()
    assert_one_line(invoke("generate", "-m", str(tiny_run), "-n", "3", "--output", "folder", "--force"), 2,
                    "folder is a directory")
    assert_one_line(invoke("generate", "-m", str(tiny_run), "-n", "3", "--output", "folder"), 2,
                    "folder is a directory")


def test_train_into_a_file_is_bad_input(tmp_path):
    (tmp_path / "taken").write_text("not a run\n")
    fasta = tmp_path / "data.fasta"
    fasta.write_text(">a\nACGT\n>b\nACGA\n")
    result = invoke("train", str(fasta), *TINY_FLAGS, "--out", "taken")
    assert_one_line(result, 2, "taken is a file, not a run directory")
    assert (tmp_path / "taken").read_text() == "not a run\n"
    assert_one_line(invoke("train", str(fasta), *TINY_FLAGS, "--out", "taken/run"), 2, "taken is a file")


def test_a_full_disk_is_one_plain_line_with_exit_1(tiny_run, tmp_path, monkeypatch):
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, stream):
            self.stream = stream

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.stream, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.stream.close()

    monkeypatch.setattr(atomic.os, "fdopen", lambda *a, **k: FullDisk(real_fdopen(*a, **k)))
    result = invoke("generate", "-m", str(tiny_run), "-n", "3", "--output", "out.fasta")
    assert_one_line(result, 1, "no space left on device while writing out.fasta")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_unwritable_folder_is_one_plain_line_with_exit_1(tiny_run, tmp_path):
    (tmp_path / "locked").mkdir(mode=0o555)
    result = invoke("generate", "-m", str(tiny_run), "-n", "3", "--output", "locked/out.fasta")
    assert_one_line(result, 1, "permission denied: locked/out.fasta")


def test_a_refused_place_names_the_target_not_the_temporary(tiny_run, tmp_path, monkeypatch):
    def refused(*args, dir=None, prefix="", suffix=""):
        raise PermissionError(errno.EACCES, "Permission denied", os.path.join(dir, prefix + "abcdefgh" + suffix))

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refused)
    result = invoke("generate", "-m", str(tiny_run), "-n", "3", "--output", "out.fasta")
    assert_one_line(result, 1, "error: permission denied: out.fasta")


def test_an_errno_of_the_place_needs_no_debugging(monkeypatch):
    import virtualpatients.cli.demo as demo

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", "/mnt/ro/run")

    monkeypatch.setattr(demo, "run_demo", read_only)
    assert_one_line(invoke("demo"), 1, "error: read-only file system while writing /mnt/ro/run")


def test_brackets_in_a_message_are_printed_not_read_as_markup(monkeypatch):
    import virtualpatients.cli.demo as demo
    from virtualpatients.errors import InputError

    def no_hits(*args, **kwargs):
        raise InputError("no NCBI nucleotide records match 'TP53[gene] AND Homo sapiens[orgn]'")

    monkeypatch.setattr(demo, "run_demo", no_hits)
    assert_one_line(invoke("demo"), 2, "match 'TP53[gene] AND Homo sapiens[orgn]'")


@pytest.mark.parametrize("value, traceback", [
    ("0", False), ("false", False), ("no", False), ("off", False), ("", False), ("2", False),
    ("1", True), ("true", True), ("YES", True), (" On ", True),
])
def test_vp_debug_shows_the_traceback_only_when_on(monkeypatch, value, traceback):
    import virtualpatients.cli.demo as demo

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(demo, "run_demo", broken)
    monkeypatch.setenv("VP_DEBUG", value)
    result = invoke("demo")
    assert result.exit_code == 1
    if traceback:
        assert isinstance(result.exception, ZeroDivisionError)
    else:
        assert_one_line(result, 1, "unexpected ZeroDivisionError: boom (set VP_DEBUG=1", bug=True)


def test_the_readme_counts_fetch_attempts_as_the_code_makes_them():
    import inspect
    import re

    from virtualpatients.data.ncbi import EntrezClient

    defaults = inspect.signature(EntrezClient).parameters
    attempts, backoff = defaults["attempts"].default, defaults["backoff"].default
    readme = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text().split())
    stated = re.search(r"get (\d+) attempts in all \(the first and (\d+) retries, after waits of ([\d, and]+) s\)", readme)
    assert stated, "README's `vp fetch` paragraph no longer states the attempts"
    waits = [backoff * 2 ** (attempt - 1) for attempt in range(1, attempts)]
    assert int(stated[1]) == attempts and int(stated[2]) == attempts - 1
    assert [float(w) for w in re.findall(r"\d+", stated[3])] == waits


def test_a_full_disk_while_training_says_which_checkpoint_the_run_keeps_and_how_to_resume(tiny_cohort, tmp_path,
                                                                                          monkeypatch):
    from virtualpatients.gan import state

    real_save, saved = state.save_checkpoint, []

    def fills_the_disk(run_dir, training_state):
        if saved:  # the first checkpoint (step 0) is written; the next finds the disk full
            raise OSError(errno.ENOSPC, "No space left on device", str(Path(run_dir) / state.CHECKPOINT_FILE))
        saved.append(training_state.step)
        real_save(run_dir, training_state)

    monkeypatch.setattr(state, "save_checkpoint", fills_the_disk)
    result = CliRunner().invoke(app, ["train", str(tiny_cohort), "--steps", "20", "--checkpoint-every", "5",
                                      "--hidden", "8", "--noise-dim", "4", "--batch-size", "8", "--device", "cpu",
                                      "-o", str(tmp_path / "run")])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "cannot write the run (no space left on device while writing" in lines[0]
    assert lines[0].endswith(f"{tmp_path / 'run'} keeps its checkpoint of step 0; free space and continue with: "
                             f"vp train --resume {tmp_path / 'run'}")
