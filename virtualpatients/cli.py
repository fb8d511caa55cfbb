"""Thin typer commands: parse options, call library code, print (data on stdout, the rest on stderr).

Heavy imports (torch, numpy, Biopython) happen inside commands so `vp --help` stays fast.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from . import options as o
from .errors import InputError, VPError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="vp: learn a cohort's DNA sequences with a GAN and write new virtual patients as FASTA.",
)
err = Console(stderr=True)


def clean_errors(command):
    """End known failures with one line and their exit code; Ctrl-C with 130; a closed pipe quietly."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except VPError as error:
            err.print(f"[bold red]error:[/] {error}", highlight=False, markup=True, soft_wrap=True)
            raise typer.Exit(error.exit_code) from None
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
            if os.environ.get("VP_DEBUG"):
                raise
            err.print(
                f"[bold red]error:[/] unexpected {type(error).__name__}: {error} (set VP_DEBUG=1 for the traceback)",
                highlight=False, markup=True, soft_wrap=True,
            )
            raise typer.Exit(1) from None

    return wrapper


def _warn(messages) -> None:
    for message in messages:
        err.print(f"[yellow]warning:[/] {message}", highlight=False)


def _train(data, config, overrides, labels_from_files, out, force=False, cds=False):
    from .config import resolve_config
    from .distributed import from_environment
    from .fasta import read_cohort
    from .runner import train_run

    main_process = from_environment().is_main  # under torchrun, rank 0 alone talks and writes
    if not data:
        raise InputError("give the FASTA file(s) to train on (or --resume RUN_DIR)")
    settings = resolve_config(config, overrides)
    cohort = read_cohort(
        data, settings.length_policy, label_key=settings.label_key, labels_from_files=labels_from_files, cds=cds
    )
    if main_process:
        _warn(cohort.warnings)
        classes = "" if cohort.labels is None else f", classes {dict(sorted(Counter(cohort.labels).items()))}"
        err.print(f"read {len(cohort)} sequences of length {cohort.length} from {len(data)} file(s){classes}", highlight=False)
    run_dir = out or Path("runs") / time.strftime("run-%Y%m%d-%H%M%S")
    result = train_run(cohort, settings, run_dir, console=err, labels_from_files=labels_from_files, force=force, cds=cds)
    _finish_training(result, run_dir, settings.steps)
    return cohort, run_dir


def _finish_training(result, run_dir, steps) -> None:
    from .distributed import from_environment

    if not from_environment().is_main:
        raise typer.Exit(0)
    _warn(result.warnings)
    processes = f" x {result.world_size} processes" if result.world_size > 1 else ""
    err.print(
        f"wrote run to [bold]{run_dir}[/] ({result.wall_time_s:.1f} s, {steps} steps on {result.device}"
        f"{processes}); `vp generate` and `vp evaluate` use it by default here",
        highlight=False,
    )


@app.command()
@clean_errors
def train(
    data: o.OptionalData = None, config: o.Config = None, steps: o.Steps = None, batch_size: o.BatchSize = None,
    lr: o.Lr = None, noise_dim: o.NoiseDim = None, hidden: o.Hidden = None, seed: o.TrainSeed = None,
    device: o.Device = None, length_policy: o.LengthPolicy = None, holdout: o.Holdout = None, loss: o.Loss = None,
    output: o.Output = None, critic_steps: o.CriticSteps = None, label_key: o.LabelKey = None,
    labels_from_files: o.LabelsFromFiles = False, precision: o.Precision = None,
    checkpoint_every: o.CheckpointEvery = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Run directory to write.")] = None,
    resume: Annotated[
        Optional[Path], typer.Option("--resume", help="Continue this run from its last checkpoint (same data).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing run directory.")] = False,
    cds: o.Cds = False,
) -> None:
    """Train a GAN (conditional when the records carry labels) and write a run directory.

    Several processes: torchrun --nproc_per_node=K -m virtualpatients train ... (see README)."""
    overrides = dict(
        steps=steps, batch_size=batch_size, lr=lr, noise_dim=noise_dim, hidden=hidden, seed=seed, device=device,
        length_policy=length_policy, holdout=holdout, loss=loss, output=output, critic_steps=critic_steps,
        label_key=label_key, precision=precision, checkpoint_every=checkpoint_every,
    )
    if resume is None:
        _train(data, config, overrides, labels_from_files, out, force, cds)
        return
    from .runner import resume_run

    changed = sorted(k for k, v in overrides.items() if v is not None and k != "steps")
    if changed or config is not None or out is not None or labels_from_files or cds:
        raise InputError("--resume continues the saved configuration; only --steps (and the data files) may be given")
    _, result = resume_run(resume, data, steps, err)
    _finish_training(result, resume, result.history[-1]["step"] if result.history else steps)


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
    from .checkpoint import load_run, resolve_run_dir
    from .generate import class_index, generate_fasta
    from .pipeline import write_stream
    from .train import select_device

    run = load_run(resolve_run_dir(model), select_device(device))
    class_index(run, label)  # refuse an unknown label before anything is written
    write_stream(generate_fasta(run, n, seed, batch_size, sample, label), output, force)
    if output is not None:
        err.print(f"wrote {n} sequences to {output}")


def _evaluation(
    generated, real, holdout, reference, n, model, seed, sample, length_policy, blast, label=None, baselines=False
):
    from .evaluate import evaluate_sets
    from .pipeline import evaluation_inputs, read_reference

    generated_set, real_set, held_set, warnings, run = evaluation_inputs(
        generated, real, holdout, n, model, seed, sample, length_policy, label
    )
    _warn(warnings)
    reference_indices = read_reference(reference)
    compared = (generated_set, real_set, held_set)
    if label is not None:  # metrics of one class; the utility comparison keeps every class
        compared = tuple(None if s is None else s.of_class(label) for s in compared)
    evaluation = evaluate_sets(*compared, reference_indices, blast=blast, seed=seed)
    if evaluation.summary["diversity"]["warning"]:
        _warn([evaluation.summary["diversity"]["warning"]])
    if baselines:
        from .comparison import attach, evaluate_baselines

        results = evaluate_baselines(generated_set, real_set, held_set, reference_indices, seed, label=label)
        attach(evaluation.summary, evaluation.arrays, results)
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
    from .tables import comparison_table, evaluation_table, jsonable, utility_table

    evaluation, run, (real_set, held_set) = _evaluation(
        generated, real, holdout, reference, n, model, seed, sample, length_policy, blast, label, baselines
    )
    err.print(evaluation_table(evaluation.summary))
    if utility:
        from .pipeline import run_utility

        evaluation.summary["utility"] = run_utility(run, real_set, held_set, sample)
        err.print(utility_table(evaluation.summary["utility"]))
        if baselines:
            from .comparison import baseline_generator

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
    from .checkpoint import HISTORY_FILE, resolve_run_dir
    from .report import read_history, write_report
    from .tables import evaluation_table

    run_dir = resolve_run_dir(model) if (generated is None or real is None or model) else None
    evaluation, _, _ = _evaluation(
        generated, real, holdout, reference, n, model, seed, sample, length_policy, blast, label, baselines
    )
    history = read_history(run_dir / HISTORY_FILE) if run_dir is not None else []
    target = out or (run_dir / "report" if run_dir is not None else Path("vp-report"))
    title = f"vp report: {run_dir.name if run_dir is not None else evaluation.summary['generated_source']}"
    written = write_report(target, evaluation.summary, evaluation.arrays, history, title=title)
    err.print(evaluation_table(evaluation.summary))
    if baselines:
        from .tables import comparison_table

        err.print(comparison_table(evaluation.summary))
    err.print(f"wrote {len(written)} files to [bold]{target}[/]: open {target / 'report.html'}", highlight=False)


@app.command()
@clean_errors
def balance(
    data: o.Data,
    output: Annotated[Path, typer.Option("--output", "-o", help="Balanced FASTA to write.")],
    target: Annotated[str, typer.Option(help="'equal' (up to the largest class) or a count per class.")] = "equal",
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Use this run instead of training.")] = None,
    force: o.Force = False, seed: o.Seed = 0, config: o.Config = None, steps: o.Steps = None,
    loss: o.Loss = None, output_mode: Annotated[Optional[str], typer.Option("--output-mode", help="softmax, gumbel or hard.")] = None,
    label_key: o.LabelKey = None, labels_from_files: o.LabelsFromFiles = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run directory when training.")] = None,
) -> None:
    """Write every real record plus generated records of the smaller classes until classes are balanced."""
    from .balance import balanced_fasta, check_classes, plan_counts
    from .checkpoint import load_run
    from .fasta import read_cohort
    from .pipeline import write_stream
    from .tables import balance_table

    if model is None:
        overrides = dict(steps=steps, loss=loss, output=output_mode, label_key=label_key)
        cohort, model = _train(data, config, overrides, labels_from_files, out)
    run = load_run(model)
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
    from .fetch import fetch as fetch_records
    from .pipeline import write_stream

    if output is not None and output.exists() and not force:
        raise InputError(f"{output} exists; use --force to overwrite it")
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
    import numpy as np

    from .comparison import baseline_set
    from .encoding import decode
    from .evaluate import SequenceSet, from_cohort
    from .fasta import format_fasta, read_cohort
    from .pipeline import write_stream

    if n < 0:
        raise InputError("-n must be zero or more")
    training = from_cohort(read_cohort(data, length_policy, label_key=label_key), "training data")
    labels = None
    if training.labels is not None:  # classes in the training proportions (largest remainders)
        names, counts = np.unique(training.labels, return_counts=True)
        shares = n * counts / counts.sum()
        whole = np.floor(shares).astype(int)
        whole[np.argsort(whole - shares)[: n - whole.sum()]] += 1
        labels = [str(name) for name, count in zip(names, whole) for _ in range(count)]
    like = SequenceSet([""] * n, np.zeros((n, 0), np.uint8), training.alphabet, "request", labels)
    drawn = baseline_set(kind, training, like, seed, order)
    description = f"baseline={kind} seed={seed}" + (f" order={order}" if kind == "markov" else "")
    descriptions = [description + ("" if drawn.labels is None else f" {label_key}={label}")
                    for label in (drawn.labels or [None] * len(drawn.ids))]
    write_stream([format_fasta(drawn.ids, descriptions, decode(drawn.indices, drawn.alphabet))], output, force)


@app.command()
@clean_errors
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for everything the demo writes.")] = Path("vp-demo"),
    steps: Annotated[int, typer.Option(help="Training steps.")] = 1500,
    seed: Annotated[int, typer.Option(help="Seed of the simulation and the training.")] = 0,
) -> None:
    """End-to-end demo on a built-in simulated cohort: simulate, train, generate, evaluate."""
    from .pipeline import run_demo

    run_demo(out, steps, seed, console=err)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
