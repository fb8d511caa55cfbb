"""One writer per run folder: an advisory lock held for the whole of a training run.

The lock is `flock` on `.NAME.lock` beside the run folder (not inside it: the folder itself
appears, and is replaced by --force, as a whole). The operating system releases it when the
process ends, however it ends, so a killed run never leaves a stale lock; the file's text only
says who holds it, for the message a second writer gets.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError

_held: dict[Path, int] = {}  # lock path -> nesting depth, so the CLI and the library can both take it


class RunBusy(InputError):
    """Another process is writing this run folder."""


def lock_path(run_dir: Path) -> Path:
    run_dir = Path(os.path.abspath(run_dir))
    return run_dir.parent / f".{run_dir.name}.lock"


@contextmanager
def run_lock(run_dir: Path | str) -> Iterator[None]:
    """Hold the run folder's writer lock, or raise RunBusy at once (no waiting) naming the holder."""
    path = lock_path(Path(run_dir))
    if path in _held:  # this process holds it already (the CLI took it before the library call)
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    try:
        import fcntl
    except ImportError:  # no flock (Windows): one writer is then the user's care
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 4096, 0).decode(errors="replace").strip() or "another process"
            raise RunBusy(f"{Path(run_dir)} is being written by {holder}; wait for it to end, or choose "
                          "another output folder") from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, _holder_text().encode("utf-8", "surrogateescape"), 0)  # argv as its bytes
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]
            os.ftruncate(descriptor, 0)
    finally:
        os.close(descriptor)  # closing releases the flock


def _holder_text() -> str:
    command = " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:])[:200] if sys.argv else "python"
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    return f"pid {os.getpid()} on {socket.gethostname()} since {started} ({command})"


def writer_active(run_dir: Path | str) -> bool:
    """Whether another process holds the run folder's writer lock now (a reader that finds the
    folder's files of different snapshots then waits for the writer to finish)."""
    path = lock_path(Path(run_dir))
    if path in _held or not path.exists():
        return False
    try:
        import fcntl
    except ImportError:
        return False
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
