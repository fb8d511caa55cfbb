"""Training as a library call: a cohort and a config in, a Run out; checkpoints written into the
run directory as training goes, and `resume` continues from the last one.

Nothing here prints: progress goes to a callback, a stop request comes from another, and
failures are typed errors (Diverged, Interrupted, InputError) for the caller to present."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..data.sequences import SequenceSet
from ..data.splits import class_indices, holdout_split
from ..errors import Diverged, InputError
from .config import TrainConfig, config_from_dict
from .run import Run, read_training_data

Progress = Callable[[int, "dict[str, float] | None"], None]
"""Called after every step with the step number and, at log steps, the history row."""
StopRequest = Callable[[], "str | None"]
"""Returns a reason (e.g. "SIGTERM") when training should save and stop."""


class RunWriter:
    """Writes each checkpoint into the run directory; the first one appears atomically (built in
    a temporary folder beside it, then renamed), later ones replace files one by one, each
    atomically, with run.json last."""

    def __init__(self, run_dir: Path, cohort_facts: dict, config: TrainConfig, force: bool):
        self.run_dir, self.facts, self.config = Path(run_dir), cohort_facts, config
        self.last_step: int | None = None
        if (self.run_dir / "run.json").exists() and not force:
            raise InputError(f"{self.run_dir} already holds a run (resume it, or overwrite it with force)")

    def __call__(self, state) -> None:
        from .rundir import save_metadata, save_weights
        from .state import save_checkpoint

        target = self.run_dir
        fresh = not target.exists()
        if fresh:
            target.parent.mkdir(parents=True, exist_ok=True)
            target = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.partial-"))
        try:
            save_checkpoint(target, state)
            generator_state = state.networks["generator"]
            if state.best is not None:  # the run's model is the one the hold-out selected so far
                generator_state = state.best.generator
            save_weights(target, generator_state)
            selected = state.best.step if state.best else None
            metadata = {**self.facts, "steps_done": state.step, "selected_step": selected}
            save_metadata(target, state.spec, self.config, state.history, metadata)
            if fresh:
                target.rename(self.run_dir)
        except BaseException:
            if fresh:
                shutil.rmtree(target, ignore_errors=True)
            raise
        self.last_step = state.step


def _facts(data: SequenceSet, config: TrainConfig, held: np.ndarray, training_rows: np.ndarray,
           names: list[str], training_classes: np.ndarray | None, resumed_from: int | None) -> dict[str, Any]:
    """What run.json records about the data and the split."""
    options = data.read_options
    labels_from_files = bool(options.get("labels_from_files"))
    return {
        "alphabet": data.alphabet,
        "length": data.length,
        "n_sequences": len(training_rows),
        "n_records_read": len(data),
        "holdout": {"fraction": config.holdout, "n": len(held), "indices": held.tolist()},
        "training_files": [vars(source) for source in data.sources],
        "seed": config.seed,
        "steps": config.steps,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "classes": names,
        "class_counts": [] if training_classes is None else np.bincount(training_classes, minlength=len(names)).tolist(),
        "labels_from_files": labels_from_files,
        "cds": bool(options.get("cds")),
        "label_key": None if labels_from_files else config.label_key,
        "resumed_from_step": resumed_from,
    }


def modelled_columns(indices: np.ndarray, varying_only: bool) -> np.ndarray | None:
    """The positions the networks model: those that vary in `indices` (at least one), or None
    for all of them."""
    if not varying_only:
        return None
    varying = np.flatnonzero((indices != indices[0]).any(axis=0))
    if len(varying) == indices.shape[1]:
        return None
    return varying if len(varying) else np.array([0])


def _columns(indices: np.ndarray, columns: np.ndarray | None) -> np.ndarray:
    return indices if columns is None else np.ascontiguousarray(indices[:, columns])


def train(
    data: SequenceSet,
    config: TrainConfig | None = None,
    *,
    holdout: float | None = None,
    run_dir: Path | str | None = None,
    progress: Progress | None = None,
    should_stop: StopRequest | None = None,
    force: bool = False,
    warn: Callable[[str], None] | None = None,
    _resume=None,
) -> Run:
    """Train a GAN on `data` (conditional when it carries labels) and return the Run.

    holdout (default: config.holdout) keeps a seeded, class-stratified share out of training, as
    the yardstick of a new patient and for checkpoint selection. With run_dir, the run directory
    is written at step 0, every config.checkpoint_every steps and at the end (force: overwrite a
    run there); without, nothing is written until Run.save. `warn(message)` hears each warning
    as it arises (mode collapse, a clamped batch size); all are in Run.warnings at the end.
    """
    from .distributed import from_environment
    from .train import train as train_loop

    config = TrainConfig() if config is None else config
    if holdout is not None:
        config = dataclasses.replace(config, holdout=holdout)
    main_process = from_environment().is_main
    held = holdout_split(len(data), config.holdout, config.seed, data.labels)
    training_rows = np.setdiff1d(np.arange(len(data)), held)
    names, class_of = class_indices(data.labels)
    training_classes = None if class_of is None else class_of[training_rows]
    resumed_from = None if _resume is None else _resume.step
    facts = _facts(data, config, held, training_rows, names, training_classes, resumed_from)
    columns = modelled_columns(data.indices[training_rows], config.varying_only)
    if columns is not None:
        template = data.indices[training_rows[0]]
        facts["columns"] = {"positions": columns.tolist(),
                            "template": "".join(data.alphabet[i] for i in template)}
    writer = None
    if run_dir is not None and main_process:
        writer = RunWriter(Path(run_dir), facts, config, force=force or _resume is not None)
    try:
        result = train_loop(
            _columns(data.indices[training_rows], columns), len(data.alphabet), config, progress, training_classes,
            len(names), holdout=_columns(data.indices[held], columns) if config.select_on_holdout and held.size else None,
            holdout_labels=None if class_of is None else class_of[held],
            on_checkpoint=writer, should_stop=should_stop, resume=_resume, on_warning=warn,
        )
    except Diverged as error:
        if writer is not None and writer.last_step is not None:
            error.last_good_step = writer.last_step
        raise
    timing = {
        "device": result.device, "batch_size_used": result.batch_size, "processes": result.world_size,
        "selected_step": result.selected_step, "wall_time_s": round(result.wall_time_s, 3),
        "ms_per_step": round(1000 * result.wall_time_s / max(1, config.steps - (resumed_from or 0)), 3),
    }
    metadata = {**facts, "steps_done": config.steps, **timing}
    if writer is not None:
        from .rundir import save_metadata

        save_metadata(Path(run_dir), result.spec, config, result.history, metadata)
    return Run(
        result.generator, result.discriminator, result.spec, config, metadata, result.history,
        path=None if run_dir is None else Path(run_dir), warnings=result.warnings, data=data,
    )


def resume(
    run_dir: Path | str,
    data: list[Path] | None = None,
    steps: int | None = None,
    *,
    progress: Progress | None = None,
    should_stop: StopRequest | None = None,
    warn: Callable[[str], None] | None = None,
) -> Run:
    """Continue a run from its checkpoint on the same data (checked by sha256), to `steps` in all."""
    from .rundir import read_run_json
    from .state import load_checkpoint

    run_dir = Path(run_dir)
    recorded_run = read_run_json(run_dir)
    config = config_from_dict(recorded_run["config"])
    state = load_checkpoint(run_dir)
    if steps is not None:
        if steps <= state.step:
            raise InputError(f"steps {steps}: the checkpoint is already at step {state.step}")
        config = dataclasses.replace(config, steps=steps)
    if state.step >= config.steps:
        raise InputError(f"{run_dir} has finished its {config.steps} steps; give more steps (> {state.step}) to train on")
    recorded = recorded_run.get("training_files") or []
    files = list(data) if data else [Path(source["path"]) for source in recorded]
    cohort = read_training_data(recorded_run, config, files)
    if [s.sha256 for s in cohort.sources] != [source.get("sha256") for source in recorded]:
        raise InputError(
            f"the data differ from what {run_dir} was trained on ({', '.join(map(str, files))}; "
            "compared by sha256): resume needs the same files in the same order"
        )
    return train(cohort, config, run_dir=run_dir, progress=progress, should_stop=should_stop, warn=warn,
                 _resume=state)
