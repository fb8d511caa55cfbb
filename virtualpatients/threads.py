"""How many threads vp computes with, and applying that count to every thread pool it uses:
torch (intra- and inter-op) and, through threadpoolctl, numpy's BLAS, scikit-learn's OpenMP and
MKL.

Why a count of its own: each process that computes spins as many threads as there are cores,
so two `vp train` runs on a 2-core machine ran 4 threads on 2 cores and each took 2.7 times as
long as alone (BENCHMARKS.md); with one thread each they take what one takes alone. The default
therefore shares this process's cores (os.sched_getaffinity) with the other vp processes that
compute on them now: each registers in a folder of lock files while it computes, and a process
choosing its count divides the cores by the number of live registrations. Alone it gets every
core (2 threads train 25% faster than 1 on 2 cores). `--threads N` or VP_THREADS=N fix the count,
and with it the result: the same seed and the same count give bit-identical weights whatever else
runs (a different count sums in another order, so other, equally good weights).

This module imports no torch at module level: the CLI registers before the heavy imports, so
runs started together see each other.
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

ENV = "VP_THREADS"
REGISTRY_ENV = "VP_THREADS_REGISTRY"  # where processes register (tests use their own folder)


def available_cores() -> int:
    """How many cores this process may run on (a taskset, cgroup cpuset or Slurm allocation), not
    the machine's."""
    return max(1, len(_cores()))


def _cores() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return set(range(os.cpu_count() or 1))


def requested_threads(value: int | str | None) -> int | None:
    """--threads, else VP_THREADS; None (or "auto") for the default share."""
    source = "--threads"
    if value is None:
        value, source = os.environ.get(ENV), ENV
    if value is None or str(value).strip().lower() in ("", "auto"):
        return None
    try:
        count = int(str(value).strip())
    except ValueError:
        raise InputError(f"{source} {value}: give a whole number of threads (1 or more) or auto") from None
    if count < 1:
        raise InputError(f"{source} {value}: give a whole number of threads (1 or more) or auto")
    return count


def _registry() -> Path:
    return Path(os.environ.get(REGISTRY_ENV) or Path(tempfile.gettempdir()) / "vp-computing")


def _distributed() -> bool:
    return int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1")) or 1) > 1


@dataclass
class Registration:
    """This process's entry in the registry: a file holding its cores, locked while it lives."""

    path: Path | None
    descriptor: int | None

    def close(self) -> None:
        if self.descriptor is not None:
            os.close(self.descriptor)  # releases the lock
            self.descriptor = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None


_registration: Registration | None = None


def register() -> None:
    """Enter this process in the registry, once; its entry is removed at exit (and the lock goes
    with the process even if it is killed). A registry that cannot be written is no reason to fail:
    the count is then chosen alone."""
    global _registration
    if _registration is not None:
        return
    folder = _registry()
    try:
        folder.mkdir(mode=0o1777, parents=True, exist_ok=True)
        # Written and locked under another name, then renamed: a reader never finds it unlocked.
        staging, path = folder / f"{os.getpid()}.new", folder / f"{os.getpid()}.cores"
        descriptor = os.open(staging, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(descriptor, ",".join(map(str, sorted(_cores()))).encode())
        os.replace(staging, path)
    except OSError:
        _registration = Registration(None, None)
        return
    _registration = Registration(path, descriptor)
    atexit.register(_registration.close)


# libgomp's threads spin this many times waiting for work before they sleep (300,000 by default).
# A waiting thread that spins holds a core that another run's thread needs: two runs pinned at 2
# threads each on 2 cores took 28x as long as one alone with the default count, 5x with 10,000, and
# one run alone took the same time (BENCHMARKS.md). Read once, when torch loads libgomp.
GOMP_SPINCOUNT = "10000"


def calm_spinning() -> None:
    """Set GOMP_SPINCOUNT (unless the user has) for an OpenMP runtime not loaded yet."""
    os.environ.setdefault("GOMP_SPINCOUNT", GOMP_SPINCOUNT)


def sharing_processes() -> int:
    """Live registered vp processes (this one included) whose cores overlap this process's."""
    mine, own = _cores(), f"{os.getpid()}.cores"
    try:
        entries = [entry for entry in _registry().glob("*.cores") if entry.name != own]
    except OSError:
        entries = []
    others = (_live_cores(entry) for entry in entries)
    return 1 + sum(1 for cores in others if cores is not None and (cores & mine or not cores))


def _live_cores(entry: Path) -> set[int] | None:
    """The cores an entry's process runs on while it holds its lock; None (and the entry removed)
    when nobody holds it, as after a process that ended; None for an entry that cannot be read."""
    try:
        descriptor = os.open(entry, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                return None
            return {int(c) for c in os.read(descriptor, 65536).decode().split(",") if c.strip().isdigit()}
        entry.unlink(missing_ok=True)
        return None
    finally:
        os.close(descriptor)


def default_threads() -> int:
    """This process's share of its cores: one under torchrun (each rank is a process of its own),
    else the cores divided by the vp processes computing on them now, at least one."""
    if _distributed():
        return 1
    return max(1, available_cores() // sharing_processes())


def use_threads(requested: int | str | None = None, warn=None) -> int:
    """Choose the count (requested, VP_THREADS, or the default share) and apply it to torch and to
    every thread pool threadpoolctl finds loaded; returns it. `warn` hears of a count above this
    process's share: OpenMP threads that outnumber the cores wait for each other at every parallel
    step (two runs at --threads 2 on 2 cores took 4.7 times as long as one alone, 28 times before
    calm_spinning)."""
    count = requested_threads(requested)
    register()
    if count is not None and warn is not None and not _distributed():
        sharing = sharing_processes()
        if sharing > 1 and count * sharing > available_cores():
            warn(f"--threads {count} with {sharing - 1} other vp process(es) computing on these "
                 f"{available_cores()} cores: more threads than cores, so each run waits for the others' "
                 f"(leave --threads out to share the cores)")
    count = count or default_threads()
    apply_threads(count)
    return count


# Read when a pool starts: a library loaded later (scipy's OpenBLAS with scikit-learn) and child
# processes start with the count too.
POOL_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def apply_threads(count: int) -> None:
    import torch
    from threadpoolctl import threadpool_limits

    for variable in POOL_VARIABLES:
        os.environ[variable] = str(count)
    torch.set_num_threads(count)
    try:
        torch.set_num_interop_threads(count)
    except RuntimeError:  # only possible before the first inter-op work; then it keeps its pool
        pass
    threadpool_limits(limits=count)  # numpy's OpenBLAS, scikit-learn's OpenMP, MKL: process-wide
