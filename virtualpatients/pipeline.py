"""Steps that join the library pieces for the CLI: a training run with its progress bar,
atomic FASTA output, evaluation inputs, and the demo."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .atomic import atomic_writer
from .config import TrainConfig
from .errors import InputError
from .fasta import Cohort


def holdout_split(n_sequences: int, fraction: float, seed: int, labels: list[str] | None = None) -> np.ndarray:
    """Sorted row numbers of a seeded held-out split, stratified by class when there are labels."""
    if fraction <= 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    groups = [np.arange(n_sequences)] if labels is None else [
        np.flatnonzero(np.asarray(labels) == label) for label in sorted(set(labels))
    ]
    held = [rng.permutation(group)[: int(round(fraction * len(group)))] for group in groups]
    held_rows = np.sort(np.concatenate(held))
    if held_rows.size < 1 or n_sequences - held_rows.size < 2:
        raise InputError(f"--holdout {fraction} leaves no usable split of {n_sequences} sequences")
    return held_rows


def class_indices(labels: list[str] | None) -> tuple[list[str], np.ndarray | None]:
    """Sorted class names and each record's class index."""
    if labels is None:
        return [], None
    names = sorted(set(labels))
    if len(names) < 2:
        raise InputError(f"labels: only one class ({names[0]}); a conditional model needs two or more")
    lookup = {name: i for i, name in enumerate(names)}
    return names, np.array([lookup[label] for label in labels], dtype=np.int64)


def train_run(
    cohort: Cohort, config: TrainConfig, run_dir: Path, console: Console, quiet: bool = False,
    labels_from_files: bool = False,
):
    """Train on a cohort (less its held-out split) with a progress bar, save the run, remember it."""
    from .checkpoint import remember_last_run, save_run
    from .distributed import from_environment
    from .train import train

    main_process = from_environment().is_main
    held = holdout_split(len(cohort), config.holdout, config.seed, cohort.labels)
    training_rows = np.setdiff1d(np.arange(len(cohort)), held)
    names, class_of = class_indices(cohort.labels)
    training_classes = None if class_of is None else class_of[training_rows]
    progress = Progress(
        TextColumn("[bold]train"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet or not main_process,
        transient=False,
    )
    with progress:
        task = progress.add_task("train", total=config.steps, stats="")

        def on_progress(step: int, row: dict | None) -> None:
            if row is None:
                progress.update(task, completed=step)
                return
            stats = (
                f"loss_D {row['loss_d']:.3f} loss_G {row['loss_g']:.3f} "
                f"D(real) {row['d_real']:.3f} D(fake) {row['d_fake']:.3f} distinct {row['distinct_probe']:.2f}"
            )
            progress.update(task, completed=step, stats=stats)

        result = train(
            cohort.indices[training_rows], len(cohort.alphabet), config, on_progress, training_classes, len(names),
            holdout=cohort.indices[held] if config.select_on_holdout and held.size else None,
            holdout_labels=None if class_of is None else class_of[held],
        )
    metadata = {
        "alphabet": cohort.alphabet,
        "length": cohort.length,
        "n_sequences": len(training_rows),
        "n_records_read": len(cohort),
        "holdout": {"fraction": config.holdout, "n": len(held), "indices": held.tolist()},
        "training_files": [vars(source) for source in cohort.sources],
        "seed": config.seed,
        "device": result.device,
        "batch_size_used": result.batch_size,
        "processes": result.world_size,
        "steps": config.steps,
        "selected_step": result.selected_step,
        "wall_time_s": round(result.wall_time_s, 3),
        "ms_per_step": round(1000 * result.wall_time_s / config.steps, 3),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "classes": names,
        "class_counts": [] if training_classes is None else np.bincount(training_classes, minlength=len(names)).tolist(),
        "labels_from_files": labels_from_files,
        "label_key": None if labels_from_files else config.label_key,
    }
    if main_process:
        save_run(run_dir, result.generator, result.discriminator, config, result.history, metadata)
        remember_last_run(run_dir)
    return result


def write_stream(chunks: Iterable[bytes], output: Path | None, force: bool = False) -> None:
    """Stream to stdout, or to a temporary file renamed onto `output` only once complete."""
    import sys

    if output is None:
        for chunk in chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return
    output = Path(output)
    if output.exists() and not force:
        raise InputError(f"{output} exists; use --force to overwrite it")
    with atomic_writer(output) as stream:
        for chunk in chunks:
            stream.write(chunk)


def evaluation_inputs(
    generated: Path | None,
    real: Path | None,
    holdout: Path | None,
    n: int,
    model: Path | None,
    seed: int,
    sample: bool | None,
    length_policy: str,
    label: str | None = None,
):
    """Generated, real and held-out sets for `vp evaluate` and `vp report`: files where given,
    otherwise N sequences from the model and the model's own training and held-out split.
    With a label the model generates that class only; the real sets keep every class."""
    from .evaluate import SequenceSet, read_set, training_sets

    warnings: list[str] = []
    run = None
    held_set = None
    if generated is None or real is None:
        from .checkpoint import load_run, resolve_run_dir

        run = load_run(resolve_run_dir(model))
    label_key = run.config.label_key if run is not None else "label"
    if real is not None:
        real_set = read_set(real, length_policy, min_records=2, label_key=label_key)
    else:
        real_set, held_set, warnings = training_sets(run.metadata, run.config)
    if holdout is not None:
        held_set = read_set(holdout, length_policy, min_records=2, label_key=label_key)
    if generated is not None:
        generated_set = read_set(generated, length_policy, label_key=label_key)
    else:
        from .generate import generate_all

        indices, labels = generate_all(run, n, seed, sample, label)
        ids = [f"vp_{i:06d}" for i in range(1, n + 1)]
        generated_set = SequenceSet(ids, indices, run.alphabet, f"{n} generated by {run.path}", labels)
    return generated_set, real_set, held_set, warnings, run


def run_utility(run, real_set, held_set, sample: bool | None, seeds: int = 5) -> dict:
    """Classifier utility of balancing, trained on the run's training split, tested on its hold-out."""
    from .generate import generate_all
    from .utility import utility

    if run is None or not run.classes:
        raise InputError("--utility needs a conditional model (trained on labelled records)")
    if held_set is None or held_set.labels is None:
        raise InputError("--utility needs a labelled held-out set: train with --holdout 0.2 or pass --holdout FILE")

    def generate(label: str, n: int, seed: int) -> np.ndarray:
        return generate_all(run, n, seed, sample, label)[0]

    return utility(
        real_set.indices, real_set.labels, held_set.indices, held_set.labels, len(real_set.alphabet), generate, seeds
    )


def read_reference(path: Path | None) -> np.ndarray | None:
    """The first record of a reference FASTA as channel indices."""
    if path is None:
        return None
    from .fasta import read_cohort

    return read_cohort([path], min_records=1).indices[0]


def run_demo(out: Path, steps: int, seed: int, console: Console) -> dict:
    """Simulate a cohort, train, generate and evaluate, writing everything under `out`."""
    from .blast import blast_available
    from .evaluate import evaluate_sets, from_cohort, read_set
    from .fasta import format_fasta, read_cohort
    from .simulate import simulate_cohort
    from .tables import evaluation_table

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ids, descriptions, sequences = simulate_cohort(seed=seed)
    data_path = out / "simulated_cohort.fasta"

    codes = np.frombuffer("".join(sequences).encode(), np.uint8).reshape(len(sequences), -1)
    data_path.write_bytes(format_fasta(ids, descriptions, codes))
    console.print(
        f"[bold]demo:[/] SIMULATED cohort of {len(ids)} patients (random {codes.shape[1]}-base reference, "
        f"one hotspot variant each) -> {data_path}",
        highlight=False,
    )
    # The recipe of configs/gan.toml, smaller: hard Gumbel samples, started at the data's base
    # frequencies, with the minibatch-std feature; the study's soft-output GAN prints the consensus.
    config = TrainConfig(
        steps=steps, batch_size=64, hidden=(256, 256), noise_dim=64, seed=seed, device="cpu", output="gumbel",
        data_bias=True, minibatch_std=True, label_smoothing=0.1, log_every=50,
    )
    cohort = read_cohort([data_path])
    run_dir = out / "run"
    train_run(cohort, config, run_dir, console)

    from .checkpoint import load_run
    from .generate import generate_fasta

    generated_path = out / "generated.fasta"
    write_stream(generate_fasta(load_run(run_dir), 200, seed), generated_path, force=True)
    use_blast = blast_available()
    evaluation = evaluate_sets(read_set(generated_path), from_cohort(cohort, str(data_path)), blast=use_blast)
    report = evaluation.summary
    report_path = out / "evaluation.json"
    report_path.write_text(json.dumps(report, indent=2) + "\n")
    console.print(evaluation_table(report))
    if not use_blast:
        console.print("[yellow]BLAST+ not found: skipped the BLAST comparison (apt-get install ncbi-blast+)[/]")
    console.print(
        f"[bold]demo wrote:[/] {data_path} (simulated data), {run_dir}/ (model.safetensors, run.json, "
        f"history.csv), {generated_path} (200 virtual patients), {report_path} (metrics)",
        highlight=False,
    )
    return report
