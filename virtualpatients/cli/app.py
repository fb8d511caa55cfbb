"""Thin typer commands: parse options, call library code, print (data on stdout, the rest on stderr).

Heavy imports (torch, numpy, Biopython) happen inside commands so `vp --help` stays fast.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import sys
import time
from collections import Counter
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape

from . import options as o
from ..errors import InputError, VPError
from ..runlock import run_lock
from .session import check_run_dir, print_verdict

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="vp: learn a cohort's DNA sequences with a GAN and write new virtual patients as FASTA.",
)
# Logs and pipes get 100 columns (rich's default is 80): the tables are laid out for that width.
err = Console(stderr=True, width=None if sys.stderr.isatty() or os.environ.get("COLUMNS") else 100)


def _show_version(value: bool) -> None:
    if value:
        from .. import __version__

        sys.stdout.write(f"vp {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """vp: learn a cohort's DNA sequences with a GAN and write new virtual patients as FASTA."""


DEBUG_ON = {"1", "true", "yes", "on"}
# The place written to fails, not the program: the cause in plain words, exit 1.
PLACE_FAILURES = {"ENOSPC": "no space left on device", "EDQUOT": "disk quota exceeded",
                  "EROFS": "read-only file system", "EACCES": "permission denied", "EPERM": "operation not permitted"}
WRITE_ONLY_FAILURES = {"ENOSPC", "EDQUOT", "EROFS"}  # permissions can refuse a read as well


def _debugging() -> bool:
    return os.environ.get("VP_DEBUG", "").strip().lower() in DEBUG_ON


def _place_failure(error: OSError) -> str | None:
    import errno

    name = errno.errorcode.get(error.errno or 0, "")
    if name not in PLACE_FAILURES:
        return None
    if error.filename is None:  # a write to an open stream names no file
        return PLACE_FAILURES[name]
    where = os.fsdecode(error.filename) if isinstance(error.filename, bytes) else str(error.filename)
    return f"{PLACE_FAILURES[name]}{' while writing' if name in WRITE_ONLY_FAILURES else ':'} {where}"


def _fail(message: str, code: int) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code) from None


def clean_errors(command):
    """End known failures with one line and their exit code; Ctrl-C with 130; a closed pipe quietly;
    a full disk or a read-only place with exit 1 and the cause."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except VPError as error:
            _fail(str(error), error.exit_code)
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # The reader (e.g. `head`) left; point stdout at /dev/null so the exit flush cannot fail.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(0) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as error:  # a bug, not a user error: one line, the traceback on request
            cause = _place_failure(error) if isinstance(error, OSError) else None
            if cause is not None:
                _fail(cause, 1)
            if _debugging():
                raise
            _fail(f"unexpected {type(error).__name__}: {error} (set VP_DEBUG=1 for the traceback)", 1)

    return wrapper


def _warn_now(message: str) -> None:
    """A warning while training runs: printed above the progress bar (same console)."""
    err.print(f"[yellow]warning:[/] {message}", highlight=False)


def _warn(messages) -> None:
    for message in messages:
        _warn_now(message)


def _train(data, config, settings, labels_from_files, out, force=False, cds=False):
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
        return _train_held(data, config, labels_from_files, run_dir, force, cds, main_process)


def _train_held(data, config, labels_from_files, run_dir, force, cds, main_process):
    from ..data.fasta import read_cohort
    from ..gan.fit import train

    cohort = read_cohort(
        data, config.length_policy, label_key=config.label_key, labels_from_files=labels_from_files, cds=cds
    )
    if main_process:
        _warn(cohort.warnings)
        classes = "" if cohort.labels is None else f", classes {dict(sorted(Counter(cohort.labels).items()))}"
        err.print(f"read {len(cohort)} sequences of length {cohort.length} from {len(data)} file(s){classes}", highlight=False)
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
            if error.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EIO):
                raise
            raise VPError(f"cannot write the run ({error.strerror}: {error.filename or run_dir}); "
                          f"{_what_was_saved(run_dir)}") from None


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
    err.print(
        f"wrote run to [bold]{run_dir}[/] ({facts['wall_time_s']:.1f} s, {facts['steps_done']} steps on "
        f"{facts['device']}{processes}); `vp generate` and `vp evaluate` use it by default here",
        highlight=False,
    )
    if run.warnings:
        err.print(f"{len(run.warnings)} warning(s) above: read them before using this run", highlight=False)
    if collapsed := run.collapse_warning():
        err.print(f"[bold red]poor result:[/] {collapsed} (see the warnings above)", highlight=False)
        return
    _first_look(run)


FIRST_LOOK_MAX = 1000  # generated sequences in the check after training: a second or two, not minutes


def _first_look(run) -> None:
    """The last line of `vp train` says plainly whether the result is poor: the verdict of a
    quick evaluation (no baselines, no BLAST) of sequences generated from the kept model."""
    from ..evaluation.evaluate import evaluate

    training, holdout = run.training_set, run.holdout_set
    n = min(max(len(training), 100), FIRST_LOOK_MAX)
    judged = evaluate(run.generate(n, seed=0), training, holdout)["verdict"]
    if judged["reasons"]:
        err.print(f"[bold red]poor result[/] ({n} generated, judged against the training data):", highlight=False)
        for reason in judged["reasons"]:
            err.print(f"  - {reason}", highlight=False, soft_wrap=True)
        err.print("remedies: a hold-out (--holdout 0.2) to keep the best step, more data, or another recipe "
                  "(configs/*.toml); `vp evaluate --baselines` compares with simple generators", highlight=False)
    else:
        err.print(f"first look ({n} generated): no problem found; `vp evaluate --baselines` for the full "
                  "comparison", highlight=False)


@app.command()
@clean_errors
@o.with_config_flags()
def train(
    data: o.OptionalData = None, config: o.Config = None,
    labels_from_files: o.LabelsFromFiles = False,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Run directory to write.")] = None,
    resume: Annotated[
        Optional[Path], typer.Option("--resume", help="Continue this run from its last checkpoint (same data).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing run directory.")] = False,
    cds: o.Cds = False,
    settings: dict | None = None,
) -> None:
    """Train a GAN (conditional when the records carry labels) and write a run directory.

    Settings come from the defaults, then --config FILE, then the flags. Several processes:
    torchrun --nproc_per_node=K -m virtualpatients train ... (see README)."""
    settings = settings or {}
    check_run_dir(out)  # a file where the run directory should go: refuse before reading the data
    if resume is None:
        _train(data, config, settings, labels_from_files, out, force, cds)
        return
    changed = sorted(k for k, v in settings.items() if v is not None and k != "steps")
    if changed or config is not None or out is not None or labels_from_files or cds:
        raise InputError("--resume continues the saved configuration; only --steps (and the data files) may be given")
    steps = settings.get("steps")
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


@app.command()
@clean_errors
def generate(
    n: Annotated[int, typer.Option("-n", help="Number of sequences.")] = 100,
    model: o.Model = None,
    seed: Annotated[int, typer.Option(help="Noise seed; the same seed gives identical output.")] = 0,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    force: o.Force = False,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Sequences per chunk.")] = 4096,
    sample: o.Sample = None,
    label: Annotated[Optional[str], typer.Option(help="Class to generate (conditional models).")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "cpu",
) -> None:
    """Write N generated sequences as FASTA (stdout unless --output)."""
    from ..gan.generate import class_index
    from ..gan.run import Run
    from ..gan.train import select_device
    from .session import check_output_file, resolve_run_dir, write_stream

    if n < 0:
        raise InputError(f"-n {n}: must be zero or more")
    if batch_size < 1:
        raise InputError(f"--batch-size {batch_size}: must be at least 1")
    check_output_file(output, force)  # before the model loads: a bad --output costs nothing
    run = Run.load(resolve_run_dir(model), select_device(device))
    class_index(run, label)  # refuse an unknown label before anything is written
    _warn(message for message in (run.collapse_warning(), run.label_warning(label)) if message)
    write_stream(run.generate_fasta(n, seed, label, sample, chunk_size=batch_size), output, force)
    if output is not None:
        err.print(f"wrote {n} sequences to {output}", highlight=False)


def _evaluation(
    generated, real, holdout, reference, n, model, seed, sample, length_policy, blast, label=None, baselines=False
):
    from ..evaluation.evaluate import evaluate
    from .inputs import evaluation_inputs, read_reference

    if n < 0:
        raise InputError(f"-n {n}: must be zero or more")
    generated_set, real_set, held_set, warnings, run = evaluation_inputs(
        generated, real, holdout, n, model, seed, sample, length_policy, label
    )
    _warn(warnings)
    evaluation = evaluate(generated_set, real_set, held_set, reference=read_reference(reference), label=label,
                          blast=blast, baselines=baselines, seed=seed)
    if evaluation.summary["diversity"]["warning"]:
        _warn([evaluation.summary["diversity"]["warning"]])
    return evaluation, run, (real_set, held_set)


@app.command()
@clean_errors
def evaluate(
    generated: o.Generated = None, real: o.Real = None, holdout: o.HoldoutFile = None, reference: o.Reference = None,
    n: Annotated[int, typer.Option("-n", help="How many to generate when --generated is not given.")] = 100,
    model: o.Model = None, seed: o.Seed = 0, sample: o.Sample = None, label: o.Label = None,
    blast: o.Blast = False, utility: o.Utility = False, baselines: o.Baselines = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    length_policy: o.Policy = "error",
) -> None:
    """Compare generated with real sequences: fidelity, variants, validity, diversity, privacy, BLAST+, utility."""
    from ..report.tables import comparison_table, evaluation_table, jsonable, utility_table

    evaluation, run, (real_set, held_set) = _evaluation(
        generated, real, holdout, reference, n, model, seed, sample, length_policy, blast, label, baselines
    )
    print_verdict(err, evaluation.summary)
    err.print(evaluation_table(evaluation.summary))
    if utility:
        from ..evaluation.classifier_utility import run_utility

        evaluation.summary["utility"] = run_utility(run, real_set, held_set, sample)
        err.print(utility_table(evaluation.summary["utility"]))
        if baselines:
            from ..evaluation.comparison import baseline_generator

            for kind, summary in evaluation.summary["baselines"].items():
                summary["utility"] = run_utility(run, real_set, held_set, sample, baseline_generator(kind, real_set))
    if baselines:
        err.print(comparison_table(evaluation.summary))
    if as_json:
        sys.stdout.write(json.dumps(jsonable(evaluation.summary), indent=2) + "\n")


@app.command()
@clean_errors
def report(
    model: o.Model = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder; default: RUN/report.")] = None,
    generated: o.Generated = None, real: o.Real = None, holdout: o.HoldoutFile = None, reference: o.Reference = None,
    n: Annotated[int, typer.Option("-n", help="How many to generate when --generated is not given.")] = 1000,
    seed: o.Seed = 0, sample: o.Sample = None, label: o.Label = None, blast: o.Blast = False,
    length_policy: o.Policy = "error",
    baselines: Annotated[bool, typer.Option("--baselines/--no-baselines", help="Score the baseline generators too.")]
    = True,
) -> None:
    """Write report.html with plots (training curves, identity, DCR, frequencies, variants) and metrics.json."""
    from ..gan.rundir import read_history
    from ..report.html import write_report
    from ..report.tables import evaluation_table
    from .session import resolve_run_dir

    run_dir = resolve_run_dir(model) if (generated is None or real is None or model) else None
    evaluation, _, _ = _evaluation(
        generated, real, holdout, reference, n, model, seed, sample, length_policy, blast, label, baselines
    )
    history = read_history(run_dir) if run_dir is not None else []
    target = out or (run_dir / "report" if run_dir is not None else Path("vp-report"))
    title = f"vp report: {run_dir.name if run_dir is not None else evaluation.summary['generated_source']}"
    written = write_report(target, evaluation.summary, evaluation.arrays, history, title=title)
    print_verdict(err, evaluation.summary)
    err.print(evaluation_table(evaluation.summary))
    if baselines:
        from ..report.tables import comparison_table

        err.print(comparison_table(evaluation.summary))
    err.print(f"wrote {len(written)} files to [bold]{target}[/]: open {target / 'report.html'}", highlight=False)


@app.command()
@clean_errors
@o.with_config_flags(("steps", "loss", "output", "label_key"))
def balance(
    data: o.Data,
    output: Annotated[Path, typer.Option("--output", "-o", help="Balanced FASTA to write.")],
    target: Annotated[str, typer.Option(help="'equal' (up to the largest class) or a count per class.")] = "equal",
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Use this run instead of training.")] = None,
    force: o.Force = False, seed: o.Seed = 0, config: o.Config = None,
    labels_from_files: o.LabelsFromFiles = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run directory when training.")] = None,
    settings: dict | None = None,
) -> None:
    """Write every real record plus generated records of the smaller classes until classes are balanced."""
    from ..data.fasta import read_cohort
    from ..evaluation.balance import balanced_fasta, check_classes, plan_counts
    from ..gan.run import Run
    from ..report.tables import balance_table
    from .session import write_stream

    if model is None:
        cohort, model = _train(data, config, settings or {}, labels_from_files, out)
    run = Run.load(model)
    if not run.classes:
        raise VPError(f"{model}: this model was trained without labels; balancing needs a conditional model")
    cohort = read_cohort(data, run.config.length_policy, label_key=run.config.label_key, labels_from_files=labels_from_files)
    counts = check_classes(cohort, run)
    to_generate = plan_counts(counts, target)
    write_stream(balanced_fasta(cohort, run, to_generate, seed), output, force)
    err.print(balance_table(counts, to_generate))
    err.print(f"wrote {len(cohort) + sum(to_generate.values())} records to {output}", highlight=False)


@app.command()
@clean_errors
def fetch(
    accessions: Annotated[Optional[list[str]], typer.Argument(help="Nucleotide accessions, e.g. NM_000546.6.")] = None,
    query: Annotated[Optional[str], typer.Option(help='Entrez search, e.g. "TP53[gene] AND Homo sapiens[orgn]".')] = None,
    max_records: Annotated[int, typer.Option("--max", help="Most records a search returns.")] = 100,
    file_format: Annotated[str, typer.Option("--format", help="fasta or gb (GenBank).")] = "fasta",
    cds: o.Cds = False,
    email: Annotated[Optional[str], typer.Option(help="Contact address NCBI requires.", envvar="NCBI_EMAIL")] = None,
    api_key: Annotated[
        Optional[str], typer.Option("--api-key", help="NCBI API key (10 requests/s instead of 3).", envvar="NCBI_API_KEY")
    ] = None,
    cache_dir: Annotated[
        Optional[Path], typer.Option("--cache-dir", help="Download cache; default $VP_CACHE_DIR or ~/.cache.")
    ] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    force: o.Force = False,
) -> None:
    """Download nucleotide records from NCBI (by accession, or search with --query) as FASTA or GenBank."""
    from ..data.ncbi import fetch as fetch_records
    from .session import write_stream

    if output is not None and output.exists() and not force:
        raise InputError(f"{output} exists; use --force to overwrite it")
    if not email:
        raise InputError("NCBI requires a contact email address: pass --email or set NCBI_EMAIL")
    result = fetch_records(
        accessions or None, query, max_records, file_format, cds, email, api_key, cache_dir
    )
    write_stream([result.data], output, force)
    what = f"{result.n_sequences} coding sequences from " if cds else ""
    err.print(
        f"{what}{result.n_records} NCBI records ({result.n_cached} from the cache)"
        + (f" written to {output}" if output else ""),
        highlight=False,
    )


@app.command()
@clean_errors
def baseline(
    kind: Annotated[str, typer.Argument(help="independent, markov, resample-mutate or copy.")],
    data: o.Data,
    n: Annotated[int, typer.Option("-n", help="Number of sequences.")] = 100,
    seed: Annotated[int, typer.Option(help="Seed; the same seed gives identical output.")] = 0,
    order: Annotated[int, typer.Option(help="Markov order (markov only).")] = 3,
    label_key: Annotated[str, typer.Option("--label-key", help="Description key of the class.")] = "label",
    length_policy: o.Policy = "error",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    force: o.Force = False,
) -> None:
    """Write N sequences of a baseline generator fitted on DATA (per class when labelled), as FASTA."""
    from ..data.encoding import decode
    from ..data.fasta import read_cohort
    from ..data.sequences import format_fasta
    from ..evaluation.baselines import make
    from .session import write_stream

    if n < 0:
        raise InputError(f"-n {n}: must be zero or more")
    estimator = make(kind, order).fit(read_cohort(data, length_policy, label_key=label_key))
    drawn = estimator.sample(n, seed)  # a labelled fit draws classes in the training proportions
    description = f"baseline={kind} seed={seed}" + (f" order={order}" if kind == "markov" else "")
    titles = [f"{name} {description}" + ("" if drawn.labels is None else f" {label_key}={drawn.labels[i]}")
              for i, name in enumerate(drawn.ids)]
    write_stream([format_fasta(titles, decode(drawn.indices, drawn.alphabet))], output, force)


@app.command()
@clean_errors
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for everything the demo writes.")] = Path("vp-demo"),
    steps: Annotated[Optional[int], typer.Option(help="Training steps; default: the default recipe's.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulation and the training.")] = 0,
) -> None:
    """End-to-end demo on a built-in simulated cohort: simulate, train, generate, evaluate."""
    from .demo import run_demo

    run_demo(out, steps, seed, console=err)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
