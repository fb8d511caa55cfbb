"""A training run on disk: progress bar, checkpoints written as training goes, Ctrl-C/SIGTERM
that save before exiting, and `--resume` that continues from the last checkpoint."""

from __future__ import annotations

import dataclasses
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .config import TrainConfig, config_from_dict
from .errors import InputError, VPError
from .fasta import Cohort, read_cohort
from .pipeline import class_indices, holdout_split

EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}


class InterruptedRun(VPError):
    """Training stopped by a signal after saving; exit 128 + the signal number."""

    def __init__(self, message: str, signal_name: str):
        super().__init__(message)
        self.exit_code = EXIT_CODES.get(signal_name, 130)


@contextmanager
def stop_on_signals() -> Iterator[Callable[[], str | None]]:
    """The first SIGINT or SIGTERM asks training to stop at the end of the step (and save); a
    second SIGINT stops at once."""
    requested: dict[str, str] = {}

    def handler(number, frame) -> None:
        if requested and number == signal.SIGINT:
            raise KeyboardInterrupt
        requested.setdefault("reason", signal.Signals(number).name)

    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    previous = {number: signal.signal(number, handler) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: requested.get("reason")
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


class RunWriter:
    """Writes each checkpoint into the run directory; the first one appears atomically (built in
    a temporary folder beside it, then renamed), later ones replace files one by one, each
    atomically, with run.json last."""

    def __init__(self, run_dir: Path, cohort_facts: dict, config: TrainConfig, force: bool):
        self.run_dir, self.facts, self.config = Path(run_dir), cohort_facts, config
        self.last_step: int | None = None
        if (self.run_dir / "run.json").exists() and not force:
            raise InputError(f"{self.run_dir} already holds a run; use --resume {self.run_dir} to continue it or --force")

    def __call__(self, state) -> None:
        from .checkpoint import save_metadata, save_weights
        from .resume import save_checkpoint

        target = self.run_dir
        fresh = not target.exists()
        if fresh:
            target.parent.mkdir(parents=True, exist_ok=True)
            target = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.partial-"))
        try:
            save_checkpoint(target, state)
            generator_state, discriminator_state = state.networks["generator"], state.networks["discriminator"]
            if state.best is not None:  # the run's model is the one the hold-out selected so far
                generator_state, discriminator_state = state.best[2], state.best[3]
            save_weights(target, generator_state, discriminator_state)
            metadata = {**self.facts, "steps_done": state.step, "selected_step": state.best[1] if state.best else None}
            save_metadata(target, state.spec, self.config, state.history, metadata)
            if fresh:
                target.rename(self.run_dir)
        except BaseException:
            if fresh:
                shutil.rmtree(target, ignore_errors=True)
            raise
        self.last_step = state.step


def train_run(
    cohort: Cohort, config: TrainConfig, run_dir: Path, console: Console, quiet: bool = False,
    labels_from_files: bool = False, resume=None, force: bool = False, cds: bool = False,
):
    """Train on a cohort (less its held-out split) with a progress bar, checkpointing into
    run_dir as it goes; remember the run."""
    from .checkpoint import remember_last_run
    from .distributed import from_environment
    from .train import Interrupted, train

    main_process = from_environment().is_main
    held = holdout_split(len(cohort), config.holdout, config.seed, cohort.labels)
    training_rows = np.setdiff1d(np.arange(len(cohort)), held)
    names, class_of = class_indices(cohort.labels)
    training_classes = None if class_of is None else class_of[training_rows]
    facts = {
        "alphabet": cohort.alphabet,
        "length": cohort.length,
        "n_sequences": len(training_rows),
        "n_records_read": len(cohort),
        "holdout": {"fraction": config.holdout, "n": len(held), "indices": held.tolist()},
        "training_files": [vars(source) for source in cohort.sources],
        "seed": config.seed,
        "steps": config.steps,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "classes": names,
        "class_counts": [] if training_classes is None else np.bincount(training_classes, minlength=len(names)).tolist(),
        "labels_from_files": labels_from_files,
        "cds": cds,
        "label_key": None if labels_from_files else config.label_key,
        "resumed_from_step": None if resume is None else resume.step,
    }
    writer = RunWriter(run_dir, facts, config, force=force or resume is not None) if main_process else None
    progress = Progress(
        TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(), console=console, disable=quiet or not main_process, transient=False,
    )
    with progress, stop_on_signals() as should_stop:
        task = progress.add_task("train", total=config.steps, stats="", completed=0 if resume is None else resume.step)

        def on_progress(step: int, row: dict | None) -> None:
            if row is None:
                progress.update(task, completed=step)
                return
            stats = (
                f"loss_D {row['loss_d']:.3f} loss_G {row['loss_g']:.3f} "
                f"D(real) {row['d_real']:.3f} D(fake) {row['d_fake']:.3f} distinct {row['distinct_probe']:.2f}"
            )
            progress.update(task, completed=step, stats=stats)

        try:
            result = train(
                cohort.indices[training_rows], len(cohort.alphabet), config, on_progress, training_classes, len(names),
                holdout=cohort.indices[held] if config.select_on_holdout and held.size else None,
                holdout_labels=None if class_of is None else class_of[held],
                on_checkpoint=writer, should_stop=should_stop, resume=resume,
            )
        except Interrupted as stop:
            raise InterruptedRun(
                f"{stop.reason} at step {stop.step} of {config.steps}: checkpoint saved in {run_dir}; "
                f"continue with: vp train --resume {run_dir}", stop.reason,
            ) from None
        except VPError as error:
            if writer is None or writer.last_step is None or "diverged" not in str(error):
                raise
            raise VPError(f"{error}; {run_dir} keeps the last good checkpoint (step {writer.last_step})") from None
    if main_process:
        timing = {
            "device": result.device, "batch_size_used": result.batch_size, "processes": result.world_size,
            "selected_step": result.selected_step, "wall_time_s": round(result.wall_time_s, 3),
            "ms_per_step": round(1000 * result.wall_time_s / max(1, config.steps - (facts["resumed_from_step"] or 0)), 3),
        }
        from .checkpoint import save_metadata

        save_metadata(run_dir, result.spec, config, result.history, {**facts, "steps_done": config.steps, **timing})
        remember_last_run(run_dir)
    return result


def resume_run(run_dir: Path, data: list[Path] | None, steps: int | None, console: Console, quiet: bool = False):
    """Continue a run from its checkpoint on the same data (checked by sha256)."""
    from .checkpoint import read_run_json
    from .resume import load_checkpoint

    run = read_run_json(run_dir)
    config = config_from_dict(run["config"])
    state = load_checkpoint(run_dir)
    if steps is not None:
        if steps <= state.step:
            raise InputError(f"--steps {steps}: the checkpoint is already at step {state.step}")
        config = dataclasses.replace(config, steps=steps)
    if state.step >= config.steps:
        raise InputError(f"{run_dir} has finished its {config.steps} steps; pass --steps N (> {state.step}) to train on")
    recorded = run.get("training_files") or []
    files = list(data) if data else [Path(source["path"]) for source in recorded]
    cds = bool(run.get("cds"))
    cohort = read_cohort(files, config.length_policy, label_key=config.label_key,
                         labels_from_files=bool(run.get("labels_from_files")), cds=cds)
    if [s.sha256 for s in cohort.sources] != [source.get("sha256") for source in recorded]:
        raise InputError(
            f"the data differ from what {run_dir} was trained on ({', '.join(map(str, files))}; "
            "compared by sha256): resume needs the same files in the same order"
        )
    return cohort, train_run(cohort, config, run_dir, console, quiet, bool(run.get("labels_from_files")),
                             resume=state, cds=cds)
