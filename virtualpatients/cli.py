"""Thin typer commands: parse options, call library code, print (data on stdout, the rest on stderr).

Heavy imports (torch, numpy, Biopython) happen inside commands so `vp --help` stays fast.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from .errors import VPError

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

    return wrapper


def _warn(messages) -> None:
    for message in messages:
        err.print(f"[yellow]warning:[/] {message}", highlight=False)


ModelOption = Annotated[
    Optional[Path], typer.Option("--model", "-m", help="Run directory; default: the last `vp train` here.")
]


@app.command()
@clean_errors
def train(
    data: Annotated[list[Path], typer.Argument(help="FASTA file(s) with the training cohort.")],
    config: Annotated[Optional[Path], typer.Option("--config", help="TOML file of hyperparameters.")] = None,
    steps: Annotated[Optional[int], typer.Option(help="Generator updates.")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Sequences per update.")] = None,
    lr: Annotated[Optional[float], typer.Option(help="Adam learning rate.")] = None,
    noise_dim: Annotated[Optional[int], typer.Option("--noise-dim", help="Noise vector size.")] = None,
    hidden: Annotated[Optional[str], typer.Option(help="Hidden widths, comma-separated, e.g. 512,512.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed for every random number.")] = None,
    device: Annotated[Optional[str], typer.Option(help="auto, cpu or cuda.")] = None,
    length_policy: Annotated[
        Optional[str], typer.Option("--length-policy", help="Unequal lengths: error, pad or crop.")
    ] = None,
    holdout: Annotated[
        Optional[float], typer.Option(help="Share kept out of training (seeded) as a privacy yardstick, e.g. 0.2.")
    ] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Run directory to write.")] = None,
) -> None:
    """Train a GAN on FASTA sequences and write a run directory."""
    from .config import resolve_config
    from .fasta import read_cohort
    from .pipeline import train_run

    overrides = dict(
        steps=steps, batch_size=batch_size, lr=lr, noise_dim=noise_dim, hidden=hidden,
        seed=seed, device=device, length_policy=length_policy, holdout=holdout,
    )
    settings = resolve_config(config, overrides)
    cohort = read_cohort(data, settings.length_policy)
    _warn(cohort.warnings)
    err.print(f"read {len(cohort)} sequences of length {cohort.length} from {len(data)} file(s)")
    run_dir = out or Path("runs") / time.strftime("run-%Y%m%d-%H%M%S")
    result = train_run(cohort, settings, run_dir, console=err)
    err.print(
        f"wrote run to [bold]{run_dir}[/] ({result.wall_time_s:.1f} s, {settings.steps} steps on {result.device}); "
        "`vp generate` and `vp evaluate` use it by default here",
        highlight=False,
    )


@app.command()
@clean_errors
def generate(
    n: Annotated[int, typer.Option("-n", help="Number of sequences.")] = 100,
    model: ModelOption = None,
    seed: Annotated[int, typer.Option(help="Noise seed; the same seed gives identical output.")] = 0,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite --output if it exists.")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Sequences per chunk.")] = 4096,
    sample: Annotated[bool, typer.Option("--sample", help="Draw bases from the softmax instead of argmax.")] = False,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "cpu",
) -> None:
    """Write N generated sequences as FASTA (stdout unless --output)."""
    from .checkpoint import load_run, resolve_run_dir
    from .generate import generate_fasta
    from .pipeline import write_stream
    from .train import select_device

    run = load_run(resolve_run_dir(model), select_device(device))
    chunks = generate_fasta(run, n, seed, batch_size, sample)
    write_stream(chunks, output, force)
    if output is not None:
        err.print(f"wrote {n} sequences to {output}")


GeneratedOption = Annotated[
    Optional[Path], typer.Option(help="Generated FASTA; default: generate -n sequences from the model.")
]
RealOption = Annotated[Optional[Path], typer.Option(help="Real FASTA; default: the model's training split.")]
HoldoutOption = Annotated[
    Optional[Path], typer.Option(help="Held-out real FASTA; default: the run's --holdout split, if any.")
]
ReferenceOption = Annotated[
    Optional[Path], typer.Option(help="Reference FASTA (first record) for variants; default: real consensus.")
]
CountOption = Annotated[int, typer.Option("-n", help="How many to generate when --generated is not given.")]
SeedOption = Annotated[int, typer.Option(help="Generation and sampling seed.")]
SampleOption = Annotated[bool, typer.Option("--sample", help="Sample bases instead of argmax.")]
PolicyOption = Annotated[str, typer.Option("--length-policy", help="For FASTA inputs: error, pad or crop.")]


def _evaluation(generated, real, holdout, reference, n, model, seed, sample, length_policy, blast):
    from .evaluate import evaluate_sets
    from .pipeline import evaluation_inputs, read_reference

    generated_set, real_set, held_set, warnings, run = evaluation_inputs(
        generated, real, holdout, n, model, seed, sample, length_policy
    )
    _warn(warnings)
    reference_indices = read_reference(reference, real_set.alphabet)
    evaluation = evaluate_sets(generated_set, real_set, held_set, reference_indices, blast=blast, seed=seed)
    if evaluation.summary["diversity"]["warning"]:
        _warn([evaluation.summary["diversity"]["warning"]])
    return evaluation, run


@app.command()
@clean_errors
def evaluate(
    generated: GeneratedOption = None,
    real: RealOption = None,
    holdout: HoldoutOption = None,
    reference: ReferenceOption = None,
    n: CountOption = 100,
    model: ModelOption = None,
    seed: SeedOption = 0,
    sample: SampleOption = False,
    blast: Annotated[bool, typer.Option("--blast", help="Also compare with NCBI BLAST+ (blastn).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    length_policy: PolicyOption = "error",
) -> None:
    """Compare generated with real sequences: fidelity, variants, validity, diversity, privacy, BLAST+."""
    from .tables import evaluation_table, jsonable

    evaluation, _ = _evaluation(generated, real, holdout, reference, n, model, seed, sample, length_policy, blast)
    err.print(evaluation_table(evaluation.summary))
    if as_json:
        sys.stdout.write(json.dumps(jsonable(evaluation.summary), indent=2) + "\n")


@app.command()
@clean_errors
def report(
    model: ModelOption = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder; default: RUN/report.")] = None,
    generated: GeneratedOption = None,
    real: RealOption = None,
    holdout: HoldoutOption = None,
    reference: ReferenceOption = None,
    n: CountOption = 1000,
    seed: SeedOption = 0,
    sample: SampleOption = False,
    blast: Annotated[bool, typer.Option("--blast", help="Include NCBI BLAST+ identity.")] = False,
    length_policy: PolicyOption = "error",
) -> None:
    """Write report.html with plots (training curves, identity, DCR, frequencies, variants) and metrics.json."""
    from .checkpoint import HISTORY_FILE, resolve_run_dir
    from .report import read_history, write_report
    from .tables import evaluation_table

    run_dir = resolve_run_dir(model) if (generated is None or real is None or model) else None
    evaluation, run = _evaluation(generated, real, holdout, reference, n, model, seed, sample, length_policy, blast)
    history = read_history(run_dir / HISTORY_FILE) if run_dir is not None else []
    target = out or (run_dir / "report" if run_dir is not None else Path("vp-report"))
    title = f"vp report: {run_dir.name if run_dir is not None else evaluation.summary['generated_source']}"
    written = write_report(target, evaluation.summary, evaluation.arrays, history, title=title)
    err.print(evaluation_table(evaluation.summary))
    err.print(f"wrote {len(written)} files to [bold]{target}[/]: open {target / 'report.html'}", highlight=False)


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
