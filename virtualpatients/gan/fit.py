"""Training as a library call: a cohort and a config in, a Run out; checkpoints written into the
run directory as training goes, and `resume` continues from the last one.

Nothing here prints: progress goes to a callback, a stop request comes from another, and
failures are typed errors (Diverged, Interrupted, InputError) for the caller to present."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.sequences import SequenceSet
from ..data.splits import class_indices, holdout_split
from ..atomic import current_umask
from ..errors import Diverged, InputError
from .config import TrainConfig, config_from_dict
from ..runlock import run_lock
from .run import Run, read_training_data

Progress = Callable[[int, "dict[str, float] | None"], None]
"""Called after every step with the step number and, at log steps, the history row."""
StopRequest = Callable[[], "str | None"]
"""Returns a reason (e.g. "SIGTERM") when training should save and stop."""


class RunWriter:
    """Writes each checkpoint into the run directory. The first one appears as a whole: built in
    a temporary folder beside it, then renamed into place (with force, swapped with the old run,
    which is removed only once the new one is there), so no reader or crash ever finds half a
    run. Later ones replace files one by one, each atomically, run.json last; every file carries
    the snapshot (run id and step), which loading checks."""

    def __init__(self, run_dir: Path, cohort_facts: dict, config: TrainConfig, force: bool, run_id: str | None = None):
        self.run_dir, self.facts, self.config = Path(run_dir), cohort_facts, config
        self.run_id = run_id or uuid.uuid4().hex
        self.last_step: int | None = None
        self.replacing = force and run_id is None and self.run_dir.exists()
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise InputError(f"{self.run_dir} is a file, not a run folder")
        if (self.run_dir / "run.json").exists() and not force:
            raise InputError(f"{self.run_dir} already holds a run (resume it, or overwrite it with force)")

    @property
    def snapshot(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "step": self.last_step}

    def __call__(self, state) -> None:
        from .rundir import save_metadata, save_weights
        from .state import save_checkpoint

        target = self.run_dir
        whole = self.replacing or not target.exists()
        if whole:
            target.parent.mkdir(parents=True, exist_ok=True)
            target = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.partial-"))
            target.chmod(0o777 & ~current_umask())  # mkdtemp makes 0700; a run folder gets what mkdir would give
        state.snapshot = {"run_id": self.run_id, "step": state.step}
        try:
            save_checkpoint(target, state)
            generator_state = state.networks["generator"]
            if state.best is not None:  # the run's model is the one the hold-out selected so far
                generator_state = state.best.generator
            save_weights(target, generator_state, state.snapshot)
            selected = state.best.step if state.best else None
            metadata = {**self.facts, "steps_done": state.step, "selected_step": selected, "snapshot": state.snapshot}
            save_metadata(target, state.spec, self.config, state.history, metadata)
            if whole:
                swap_in(target, self.run_dir)
        except BaseException:
            if whole:
                shutil.rmtree(target, ignore_errors=True)
            raise
        self.replacing = False
        self.last_step = state.step


def swap_in(new: Path, run_dir: Path) -> None:
    """Put the folder `new` at `run_dir` in one step. An old run there is exchanged atomically
    (renameat2 RENAME_EXCHANGE on Linux) and then removed; elsewhere it is first moved aside, so
    a crash between the two renames leaves it beside, as .NAME.replaced-*, never lost."""
    if not run_dir.exists():
        new.rename(run_dir)
        return
    if _exchange(new, run_dir):
        shutil.rmtree(new, ignore_errors=True)  # `new` now holds the old run
        return
    aside = Path(tempfile.mkdtemp(dir=run_dir.parent, prefix=f".{run_dir.name}.replaced-"))
    aside.rmdir()
    run_dir.rename(aside)
    new.rename(run_dir)
    shutil.rmtree(aside, ignore_errors=True)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically where the C library offers renameat2; False where it does not."""
    import ctypes
    import os

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange)
    return result == 0


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
        "vcf": options.get("vcf"),  # how VCF input became sequences, to read it again
        "sites": None if data.sites is None else data.sites.to_dict(),  # for VCF output
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
    with run_lock(run_dir) if run_dir is not None and main_process else contextlib.nullcontext():
        if run_dir is not None and main_process:
            run_id = None if _resume is None else (_resume.snapshot or {}).get("run_id") or uuid.uuid4().hex
            writer = RunWriter(Path(run_dir), facts, config, force=force or _resume is not None, run_id=run_id)
        result = _train_locked(data, config, training_rows, held, columns, class_of, training_classes, names,
                               writer, progress, should_stop, warn, _resume)
        timing = {
            "device": result.device, "batch_size_used": result.batch_size, "processes": result.world_size,
            "selected_step": result.selected_step, "latent_scale": result.latent_scale,
            "wall_time_s": round(result.wall_time_s, 3),
            # What the weights depend on besides the seed: the same count reproduces them bit for bit.
            "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
            "ms_per_step": round(1000 * result.wall_time_s / max(1, config.steps - (resumed_from or 0)), 3),
        }
        metadata = {**facts, "steps_done": config.steps, **timing}
        run = Run(result.generator, result.discriminator, result.spec, config, metadata, result.history,
                  path=None if run_dir is None else Path(run_dir), warnings=result.warnings, data=data)
        metadata["diversity_check"] = diversity_check(run, data.indices[training_rows], config.seed)
        if writer is not None:
            from .rundir import save_metadata

            save_metadata(Path(run_dir), result.spec, config, result.history, {**metadata, "snapshot": writer.snapshot})
    return run


DIVERSITY_CHECK_MAX = 256  # generated and real sequences compared when training ends


def diversity_check(run: Run, training: np.ndarray, seed: int) -> dict[str, Any]:
    """The kept model's diversity beside the training data's, on samples of one size (distinct
    counts fall with sample size): recorded in run.json, so `vp generate` can warn of a collapse
    relative to the real data even where the probe's absolute 5% rule does not fire."""
    from ..data.distances import diversity

    size = min(len(training), DIVERSITY_CHECK_MAX)
    generated = run.generate(size, seed=seed).indices
    check = diversity(generated, training, len(run.alphabet), seed)
    return {key: check[key] for key in ("distinct_fraction_generated", "distinct_fraction_real", "sample_size",
                                        "mean_pairwise_identity_generated", "mean_pairwise_identity_real",
                                        "mode_collapse")}


def _train_locked(data, config, training_rows, held, columns, class_of, training_classes, names, writer, progress,
                  should_stop, warn, _resume):
    from .train import train as train_loop

    try:
        return train_loop(
            _columns(data.indices[training_rows], columns), len(data.alphabet), config, progress, training_classes,
            len(names), holdout=_columns(data.indices[held], columns) if config.select_on_holdout and held.size else None,
            holdout_labels=None if class_of is None else class_of[held],
            on_checkpoint=writer, should_stop=should_stop, resume=_resume, on_warning=warn,
        )
    except Diverged as error:
        if writer is not None and writer.last_step is not None:
            error.last_good_step = writer.last_step
        raise


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
    from .distributed import from_environment

    run_dir = Path(run_dir)
    with run_lock(run_dir) if from_environment().is_main else contextlib.nullcontext():
        return _resume_locked(run_dir, data, steps, progress, should_stop, warn)


def _resume_locked(run_dir: Path, data, steps, progress, should_stop, warn) -> Run:
    from .model import model_bytes
    from .rundir import HEADER_MAX, read_run_json, spec_from
    from .state import load_checkpoint
    from .vaegan import encoder_bytes

    recorded_run = read_run_json(run_dir)
    config = config_from_dict(recorded_run.get("config"))
    # Weights, two Adam moments and the selected copy of both networks (and the encoder's weights
    # and moments), plus a JSON header.
    spec = spec_from(recorded_run, run_dir)
    encoder = 3 * encoder_bytes(spec) if config.trainer == "vae-gan" else 0
    state = load_checkpoint(run_dir, limit=4 * sum(model_bytes(spec)) + encoder + HEADER_MAX)
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
