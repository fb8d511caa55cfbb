"""Atomic file output: readers never see half a file, an error leaves the old file (or none).

The temporary file is `.NAME.<pid>.XXXXXXXX.tmp` beside the target. An exception or a signal
turned into one removes it; a process killed outright (kill -9, the OOM killer) cannot, so the
next write of the same target removes leftovers whose writer is gone."""

from __future__ import annotations

import errno
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from .errors import InputError

# Failures of the place written to rather than of the program: re-raised naming the target,
# not the hidden temporary file, so the one-line message points at what the user asked for.
PLACE_ERRORS = {getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM")
                if hasattr(errno, name)}

# atomic_write_bytes looks for leftovers only for payloads this large: a small write is over in
# a moment, and a sweep lists the whole folder, which a cache of many small files makes costly.
SWEEP_MIN_BYTES = 1 << 20


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process may be writing the same target
    if os.name != "posix":
        return True  # os.kill(pid, 0) terminates the process on Windows; keep what we cannot check
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def stale_temporaries(path: Path) -> list[Path]:
    """Temporary files of `path` left by writers that no longer run (on this machine: a writer on
    another host sharing the folder looks dead here)."""
    path = Path(path)
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(\d+)\.[A-Za-z0-9_]+\.tmp")
    prefix = f".{path.name}."
    try:
        names = [entry.name for entry in os.scandir(path.parent) if entry.name.startswith(prefix)]
    except OSError:
        return []
    found = [(name, pattern.fullmatch(name)) for name in names]
    return [path.parent / name for name, match in found if match and not _alive(int(match.group(1)))]


def remove_stale_temporaries(path: Path) -> list[Path]:
    removed = []
    for leftover in stale_temporaries(path):
        try:
            leftover.unlink()
            removed.append(leftover)
        except OSError:
            pass  # gone already (another writer swept it) or not ours to remove
    return removed


@contextmanager
def atomic_writer(path: Path, sweep: bool = True) -> Iterator[BinaryIO]:
    """Yield a stream to a temporary file beside `path`; fsync and rename it there on success.
    `sweep`: first remove temporary files of `path` whose writing process is gone."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a directory; give a file name to write")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(f"cannot write {path}: a part of its folder path is a file") from None
    except OSError as error:
        raise _naming(error, path) from None
    if sweep:
        remove_stale_temporaries(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    except OSError as error:
        raise _naming(error, path) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates 0600 files; give the result the permissions a plain open() would.
        os.chmod(temporary, 0o666 & ~current_umask())
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError) and (named := _naming(error, path)) is not error:
            raise named from error
        raise


def _naming(error: OSError, path: Path) -> OSError:
    """`error` about `path` itself: a write to the open stream raises one naming no file."""
    if error.errno in PLACE_ERRORS:
        return OSError(error.errno, os.strerror(error.errno), str(path))
    return error


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_writer(path, sweep=len(data) >= SWEEP_MIN_BYTES) as stream:
        stream.write(data)
