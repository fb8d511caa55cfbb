"""Atomic writes: the temporary file names its writer, failures name the target, and leftovers
of writers killed outright are removed by the next write of the same target."""

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from virtualpatients import atomic
from virtualpatients.atomic import atomic_write_bytes, atomic_writer, stale_temporaries
from virtualpatients.errors import InputError


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_the_temporary_file_carries_the_writers_pid(tmp_path):
    with atomic_writer(tmp_path / "f.fasta") as stream:
        stream.write(b">a\nACGT\n")
        (name,) = leftovers(tmp_path)
        assert name.startswith(f".f.fasta.{os.getpid()}.")
    assert leftovers(tmp_path) == [] and (tmp_path / "f.fasta").read_bytes() == b">a\nACGT\n"


def test_leftovers_of_dead_writers_of_the_same_target_are_removed(tmp_path):
    pid = dead_pid()
    stale = tmp_path / f".f.fasta.{pid}.abc123_x.tmp"
    live = tmp_path / f".f.fasta.{os.getppid()}.def456yz.tmp"  # the parent runs: a writer at work
    other_target = tmp_path / f".g.fasta.{pid}.abc123_x.tmp"
    longer_name = tmp_path / f".f.fasta.1.{pid}.abc123_x.tmp"  # a leftover of target "f.fasta.1"
    no_pid = tmp_path / ".f.fasta.abc123_x.tmp"  # the old naming: its writer is unknown, so kept
    for path in (stale, live, other_target, longer_name, no_pid):
        path.write_bytes(b"partial")
    assert stale_temporaries(tmp_path / "f.fasta") == [stale]

    with atomic_writer(tmp_path / "f.fasta") as stream:
        stream.write(b"x")
    assert not stale.exists()
    assert all(path.exists() for path in (live, other_target, longer_name, no_pid))
    assert (tmp_path / "f.fasta").read_bytes() == b"x"


def test_small_byte_writes_skip_the_folder_scan(tmp_path):
    stale = tmp_path / f".cache.txt.{dead_pid()}.abc123_x.tmp"
    stale.write_bytes(b"partial")
    atomic_write_bytes(tmp_path / "cache.txt", b"small")
    assert stale.exists()
    atomic_write_bytes(tmp_path / "cache.txt", bytes(atomic.SWEEP_MIN_BYTES))
    assert not stale.exists()


def test_an_error_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "f.fasta"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), atomic_writer(target) as stream:
        stream.write(b"new, half")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_a_full_disk_names_the_target_not_the_temporary(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(OSError) as caught, atomic_writer(tmp_path / "f.fasta") as stream:
        stream.write(b"data")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(tmp_path / "f.fasta")
    assert leftovers(tmp_path) == [] and not (tmp_path / "f.fasta").exists()


def test_a_directory_or_a_file_in_the_path_is_bad_input(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(InputError, match="is a directory"), atomic_writer(tmp_path / "folder"):
        pass
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="part of its folder path is a file"):
        atomic_write_bytes(tmp_path / "file" / "x.txt", b"x")
