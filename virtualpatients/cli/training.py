"""`vp train` and `vp train --resume` around the library calls: one writer per run folder, the
progress bar and signals, what a stop or a full disk leaves, and the verdict that ends the run."""

from __future__ import annotations

import time
from collections import Counter
from contextlib import nullcontext
from pathlib import Path

import typer

from ..errors import InputError, VPError
from ..runlock import run_lock
from .console import err, place_failure, say, warn_all as _warn, warn_now as _warn_now
from .session import check_run_dir


def train_cohort(data, config, settings, labels_from_files, out, force=False, cds=False, vcf=None):
    from ..gan.config import resolve_config
    from ..gan.distributed import from_environment

    main_process = from_environment().is_main  # under torchrun, rank 0 alone talks and writes
    if not data:
        raise InputError("give the FASTA file(s) to train on (or --resume RUN_DIR)")
    config = resolve_config(config, settings)
    check_run_dir(out)  # `vp balance --out FILE` comes here without the train command's check
    run_dir = out or Path("runs") / time.strftime("run-%Y%m%d-%H%M%S")
    # One writer per run folder: a second `vp train` on it is refused now, not after reading data.
    with run_lock(run_dir) if main_process else nullcontext():
        return _train_held(data, config, labels_from_files, run_dir, force, cds, main_process, vcf)


def _train_held(data, config, labels_from_files, run_dir, force, cds, main_process, vcf):
    from ..data.fasta import read_cohort
    from ..gan.fit import train

    cohort = read_cohort(
        data, config.length_policy, label_key=config.label_key, labels_from_files=labels_from_files, cds=cds, vcf=vcf
    )
    if main_process:
        _warn(cohort.warnings)
        counts = sorted(Counter(cohort.labels or ()).items())
        classes = ", classes " + ", ".join(f"{label} ({n})" for label, n in counts) if counts else ""
        say(f"read {len(cohort)} sequences of length {cohort.length} from {len(data)} file(s){classes}")
    run = _training_session(
        run_dir, config.steps, 0, lambda progress, stop: train(
            cohort, config, run_dir=run_dir, progress=progress, should_stop=stop, force=force, warn=_warn_now
        ),
    )
    _finish_training(run, run_dir)
    return cohort, run_dir


def _training_session(run_dir, steps, start, train_call):
    """Progress bar and signal handling around a library training call; typed stops become
    messages that say what was saved and how to go on."""
    from ..errors import Diverged, Interrupted
    from ..gan.distributed import from_environment
    from .session import stop_on_signals, training_progress

    with training_progress(err, steps, start, enabled=from_environment().is_main) as progress, \
            stop_on_signals() as should_stop:
        try:
            return train_call(progress, should_stop)
        except Interrupted as stop:
            stop.args = (f"{stop.reason} at step {stop.step} of {steps}: checkpoint saved in {run_dir}; "
                         f"continue with: vp train --resume {run_dir}",)
            raise
        except Diverged as error:
            if error.last_good_step is not None:
                error.args = (f"{error}; {run_dir} keeps the last good checkpoint (step {error.last_good_step})",)
            raise
        except OSError as error:
            cause = place_failure(error)  # the place written to failed (full, read-only, ...), not vp
            if cause is None:
                raise
            raise VPError(f"cannot write the run ({cause}); {_what_was_saved(run_dir)}") from None


def _what_was_saved(run_dir) -> str:
    from ..gan.rundir import read_run_json

    try:
        step = read_run_json(run_dir).get("steps_done")
    except InputError:
        return "no checkpoint was saved; free space (or choose another --out) and train again"
    return f"{run_dir} keeps its checkpoint of step {step}; free space and continue with: vp train --resume {run_dir}"


def _finish_training(run, run_dir) -> None:
    from ..gan.distributed import from_environment
    from .session import remember_last_run

    if not from_environment().is_main:
        raise typer.Exit(0)
    remember_last_run(run_dir)
    facts = run.metadata
    processes = f" x {facts['processes']} processes" if facts.get("processes", 1) > 1 else ""
    say(f"wrote run to {run_dir} ({facts['wall_time_s']:.1f} s, {facts['steps_done']} steps on "
        f"{facts['device']}{processes}); `vp generate` and `vp evaluate` use it by default here")
    if run.warnings:
        say(f"{len(run.warnings)} warning(s) above: read them before using this run")
    _first_look(run)  # its verdict covers a collapse too, beside copies and labels


FIRST_LOOK_MAX = 1000  # generated sequences in the check after training: a second or two, not minutes


def _first_look(run) -> None:
    """The last line of `vp train` says plainly whether the result is poor: the verdict of a
    quick evaluation (no baselines, no BLAST) of sequences generated from the kept model."""
    from ..evaluation.evaluate import evaluate

    training, holdout = run.training_set, run.holdout_set
    n = min(max(len(training), 100), FIRST_LOOK_MAX)
    judged = evaluate(run.generate(n, seed=0), training, holdout)["verdict"]
    if judged["reasons"]:
        say(f"({n} generated, judged against the training data):", "poor result", "bold red")
        for reason in judged["reasons"]:
            say(f"  - {reason}")
        say("remedies: a hold-out (--holdout 0.2) to keep the best step, more data, or another recipe "
            "(configs/*.toml); `vp evaluate --baselines` compares with simple generators")
    else:
        say(f"first look ({n} generated): no problem found; `vp evaluate --baselines` for the full comparison")


def resume_run_dir(resume, data, steps):
    """`vp train --resume`: the folder's writer lock first, so a second writer is refused before
    anything is read."""
    from ..gan.distributed import from_environment

    with run_lock(resume) if from_environment().is_main else nullcontext():
        _resume_held(resume, data, steps)


def _resume_held(resume, data, steps):
    from ..gan.fit import resume as resume_run
    from ..gan.rundir import read_run_json

    recorded = read_run_json(resume)
    saved = recorded.get("config")
    total = steps or (saved.get("steps", 0) if isinstance(saved, dict) else 0)
    run = _training_session(resume, total, recorded.get("steps_done") or 0, lambda progress, stop: resume_run(
        resume, data, steps, progress=progress, should_stop=stop, warn=_warn_now))
    _finish_training(run, resume)
