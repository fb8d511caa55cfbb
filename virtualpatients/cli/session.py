"""What a command-line session adds around the library: a progress bar on stderr, signals that
save and stop training, the last-run pointer, and output streamed to stdout or a file."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..atomic import atomic_write_bytes, atomic_writer
from ..errors import InputError, VPError

LAST_RUN_FILE = ".vp-last-run"


@contextmanager
def stop_on_signals() -> Iterator[Callable[[], str | None]]:
    """The first SIGINT or SIGTERM asks training to stop at the end of the step (and save); a
    second SIGINT stops at once."""
    requested: dict[str, str] = {}

    def handler(number, frame) -> None:
        if requested and number == signal.SIGINT:
            raise KeyboardInterrupt
        requested.setdefault("reason", signal.Signals(number).name)

    with _handling_signals(handler):
        yield lambda: requested.get("reason")


@contextmanager
def _handling_signals(handler) -> Iterator[None]:
    """`handler` for SIGINT and SIGTERM inside the block, the previous handlers after it; only in
    the main thread, the one Python delivers signals to (elsewhere nothing is installed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, handler) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


@contextmanager
def training_progress(console: Console, total: int, start: int = 0, enabled: bool = True):
    """A progress bar with the latest losses and D scores; yields the library's progress callback."""
    progress = Progress(
        TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(), console=console, disable=not enabled, transient=False,
    )
    with progress:
        task = progress.add_task("train", total=total, stats="", completed=start)

        def on_progress(step: int, row: dict | None) -> None:
            if row is None:
                progress.update(task, completed=step)
                return
            stats = (
                f"loss_D {row['loss_d']:.3f} loss_G {row['loss_g']:.3f} "
                f"D(real) {row['d_real']:.3f} D(fake) {row['d_fake']:.3f} distinct {row['distinct_probe']:.2f}"
            )
            progress.update(task, completed=step, stats=stats)

        yield on_progress


def remember_last_run(run_dir: Path, folder: Path | None = None) -> None:
    folder = Path.cwd() if folder is None else folder
    # The path's own bytes: a folder name that is not UTF-8 is still the folder.
    atomic_write_bytes(folder / LAST_RUN_FILE, os.fsencode(Path(run_dir).resolve()) + b"\n")


def resolve_run_dir(model: Path | None, folder: Path | None = None) -> Path:
    """The --model folder, or the run the last `vp train` in this folder wrote."""
    if model is not None:
        return Path(model)
    pointer = (Path.cwd() if folder is None else folder) / LAST_RUN_FILE
    try:
        return Path(os.fsdecode(pointer.read_bytes().rstrip(b"\n")))
    except FileNotFoundError:
        raise InputError("no --model given and no run recorded here; run `vp train DATA.fasta` first") from None


class Signalled(KeyboardInterrupt):
    """SIGINT or SIGTERM while output is written: a BaseException, so every cleanup on the way
    out runs (atomic_writer removes its temporary file)."""

    def __init__(self, number: int):
        super().__init__(signal.Signals(number).name)
        self.number = number


class OutputStopped(VPError):
    """A signal stopped a command while it wrote its output; exit 128 + the signal's number."""

    def __init__(self, number: int, message: str):
        super().__init__(message)
        self.exit_code = 128 + number


@contextmanager
def signals_raise() -> Iterator[dict]:
    """SIGINT and SIGTERM raise Signalled (once) while state["armed"]; once disarmed, as when the
    output is complete and only its rename is left, a signal is kept in state["pending"]."""
    state: dict = {"armed": True, "pending": None}

    def handler(number, frame) -> None:
        if state["armed"]:
            state["armed"] = False  # a second signal must not cut short the cleanup of the first
            raise Signalled(number)
        state["pending"] = state["pending"] or number

    with _handling_signals(handler):
        yield state


def check_output_file(output: Path | None, force: bool = False) -> None:
    """Refuse an output path that cannot be written, before any work is done for it."""
    if output is None:
        return
    output = Path(output)
    if output.is_dir():
        raise InputError(f"{output} is a directory; give a file name to write")
    if output.exists() and not force:
        raise InputError(f"{output} exists; use --force to overwrite it")
    _check_folders(output.parent, output)


def check_run_dir(run_dir: Path | None) -> None:
    """Refuse a run directory path that is (or lies under) an existing file."""
    if run_dir is None:
        return
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(f"{run_dir} is a file, not a run directory; give another --out")
    _check_folders(run_dir.parent, run_dir)


def _check_folders(folder: Path, target: Path) -> None:
    for part in (folder, *folder.parents):
        if part.exists():
            if not part.is_dir():
                raise InputError(f"cannot write {target}: {part} is a file, not a folder")
            return


def write_stream(chunks: Iterable[bytes], output: Path | None, force: bool = False) -> None:
    """Stream to stdout, or to a temporary file renamed onto `output` only once complete; SIGINT
    or SIGTERM meanwhile removes the temporary file and leaves `output` as it was."""
    if output is None:
        for chunk in chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return
    output = Path(output)
    check_output_file(output, force)
    existed = output.exists()
    with signals_raise() as signals:
        try:
            with atomic_writer(output) as stream:
                for chunk in chunks:
                    stream.write(chunk)
                signals["armed"] = False  # complete: a signal now waits until the file is in place
        except Signalled as stop:
            kept = "the old file was kept" if existed else "nothing was written"
            raise OutputStopped(stop.number, f"{stop}: stopped before {output} was complete; {kept}") from None
    if signals["pending"]:
        name = signal.Signals(signals["pending"]).name
        raise OutputStopped(signals["pending"], f"{name}: stopped after {output} was written in full")


def print_verdict(console: Console, summary: dict) -> None:
    """The verdict first: the conditions under which the numbers below mislead."""
    from .console import say

    verdict = summary.get("verdict") or {}
    if verdict.get("reasons"):
        say(f"verdict: {verdict['status']}", style="bold red", console=console)
        for reason in verdict["reasons"]:
            say(f"  - {reason}", console=console)
    elif verdict:
        say(f"verdict: {verdict['status']}", style="bold green", console=console)
