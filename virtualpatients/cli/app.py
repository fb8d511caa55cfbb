"""Thin typer commands: parse options, call library code, print (data on stdout, the rest on stderr).

Heavy imports (torch, numpy, Biopython) happen inside commands so `vp --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import options as o
from ..errors import InputError, VPError
from .console import clean_errors, err, say, warn_all
from .session import check_run_dir, print_verdict
from .training import resume_run_dir, train_cohort

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="vp: learn a cohort's DNA sequences with a GAN and write new virtual patients as FASTA.",
)


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


@app.command()
@clean_errors
@o.with_threads
@o.with_config_flags()
@o.with_vcf_flags
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
    vcf=None,
) -> None:
    """Train a GAN (conditional when the records carry labels) and write a run directory.

    Settings come from the defaults, then --config FILE, then the flags. Several processes:
    torchrun --nproc_per_node=K -m virtualpatients train ... (see README)."""
    settings = settings or {}
    check_run_dir(out)  # a file where the run directory should go: refuse before reading the data
    if resume is None:
        train_cohort(data, config, settings, labels_from_files, out, force, cds, vcf)
        return
    changed = sorted(k for k, v in settings.items() if v is not None and k != "steps")
    if changed or config is not None or out is not None or labels_from_files or cds or vcf is not None:
        raise InputError("--resume continues the saved configuration; only --steps (and the data files) may be given")
    resume_run_dir(resume, data, settings.get("steps"))


@app.command()
@clean_errors
@o.with_threads
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
    output_format: Annotated[str, typer.Option("--format", help="fasta, or vcf (phased; pairs of haplotypes "
                                                "make diploid samples).")] = "fasta",
    reference: Annotated[Optional[Path], typer.Option(help="VCF output of a model trained from FASTA: the "
                                                      "reference (first record) to call variants against.")] = None,
) -> None:
    """Write N generated sequences as FASTA or VCF (stdout unless --output)."""
    from ..gan.generate import class_index
    from ..gan.run import Run
    from ..gan.train import select_device
    from .session import check_output_file, resolve_run_dir, write_stream

    if n < 0:
        raise InputError(f"-n {n}: must be zero or more")
    if batch_size < 1:
        raise InputError(f"--batch-size {batch_size}: must be at least 1")
    check_output_file(output, force)  # before the model loads: a bad --output costs nothing
    o.checked_format(output_format)
    run = Run.load(resolve_run_dir(model), select_device(device))
    class_index(run, label)  # refuse an unknown label before anything is written
    warn_all(message for message in (run.collapse_warning(), run.label_warning(label)) if message)
    if output_format == "vcf":
        from .inputs import reference_record

        named_reference = None if reference is None else reference_record(reference)
        chunks = iter([run.generate_vcf(n, seed, label, sample, named_reference)])
    else:
        chunks = run.generate_fasta(n, seed, label, sample, chunk_size=batch_size)
    write_stream(chunks, output, force)
    if output is not None:
        say(f"wrote {n} sequences to {output}")


def _baseline_kinds(baselines: bool, rbm_budget: float | None):
    """--baselines [--rbm-budget S]: False, True (the default set), or the default set and an RBM
    trained for S seconds (one estimator, so the utility comparison reuses its fit)."""
    if rbm_budget is None:
        return baselines
    if not baselines:
        raise InputError("--rbm-budget: the RBM is one of the baselines; add --baselines")
    from ..evaluation.baselines import BASELINES, RBM

    return (*BASELINES, RBM(time_budget_s=rbm_budget))


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
    warn_all(warnings)
    import torch

    evaluation = evaluate(generated_set, real_set, held_set, reference=read_reference(reference), label=label,
                          blast=blast, baselines=baselines, seed=seed, threads=torch.get_num_threads())  # blastn too
    return evaluation, run, (real_set, held_set)


@app.command()
@clean_errors
@o.with_threads
def evaluate(
    generated: o.Generated = None, real: o.Real = None, holdout: o.HoldoutFile = None, reference: o.Reference = None,
    n: Annotated[int, typer.Option("-n", help="How many to generate when --generated is not given.")] = 100,
    model: o.Model = None, seed: o.Seed = 0, sample: o.Sample = None, label: o.Label = None,
    blast: o.Blast = False, utility: o.Utility = False, baselines: o.Baselines = False, rbm_budget: o.RbmBudget = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    length_policy: o.Policy = "error",
) -> None:
    """Compare generated with real sequences: fidelity, variants, validity, diversity, privacy, BLAST+, utility."""
    from ..report.tables import comparison_table, evaluation_table, jsonable, utility_table

    kinds = _baseline_kinds(baselines, rbm_budget)
    evaluation, run, (real_set, held_set) = _evaluation(
        generated, real, holdout, reference, n, model, seed, sample, length_policy, blast, label, kinds
    )
    print_verdict(err, evaluation.summary)
    err.print(evaluation_table(evaluation.summary))
    if utility:
        from ..evaluation.classifier_utility import run_utility

        evaluation.summary["utility"] = run_utility(run, real_set, held_set, sample)
        err.print(utility_table(evaluation.summary["utility"]))
        if baselines:
            from ..evaluation.comparison import baseline_generator

            estimators = {} if kinds is True else {getattr(kind, "kind", kind): kind for kind in kinds}
            for kind, summary in evaluation.summary["baselines"].items():
                generator = baseline_generator(estimators.get(kind, kind), real_set)
                summary["utility"] = run_utility(run, real_set, held_set, sample, generator)
    if baselines:
        err.print(comparison_table(evaluation.summary))
    if as_json:
        sys.stdout.write(json.dumps(jsonable(evaluation.summary), indent=2) + "\n")


@app.command()
@clean_errors
@o.with_threads
def report(
    model: o.Model = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder; default: RUN/report.")] = None,
    generated: o.Generated = None, real: o.Real = None, holdout: o.HoldoutFile = None, reference: o.Reference = None,
    n: Annotated[int, typer.Option("-n", help="How many to generate when --generated is not given.")] = 1000,
    seed: o.Seed = 0, sample: o.Sample = None, label: o.Label = None, blast: o.Blast = False,
    length_policy: o.Policy = "error",
    baselines: Annotated[bool, typer.Option("--baselines/--no-baselines", help="Score the baseline generators too.")]
    = True,
    rbm_budget: o.RbmBudget = None,
) -> None:
    """Write report.html with plots (training curves, identity, DCR, frequencies, variants) and metrics.json."""
    from ..gan.rundir import read_history
    from ..report.html import write_report
    from ..report.tables import evaluation_table
    from .session import resolve_run_dir

    run_dir = resolve_run_dir(model) if (generated is None or real is None or model) else None
    evaluation, _, _ = _evaluation(
        generated, real, holdout, reference, n, model, seed, sample, length_policy, blast, label,
        _baseline_kinds(baselines, rbm_budget)
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
    say(f"wrote {len(written)} files to {target}: open {target / 'report.html'}")


@app.command()
@clean_errors
@o.with_threads
@o.with_config_flags(("steps", "loss", "output", "label_key"))
@o.with_vcf_flags
def balance(
    data: o.Data,
    output: Annotated[Path, typer.Option("--output", "-o", help="Balanced FASTA to write.")],
    target: Annotated[str, typer.Option(help="'equal' (up to the largest class) or a count per class.")] = "equal",
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Use this run instead of training.")] = None,
    force: o.Force = False, seed: o.Seed = 0, config: o.Config = None,
    labels_from_files: o.LabelsFromFiles = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run directory when training.")] = None,
    output_format: o.Format = "fasta",
    settings: dict | None = None,
    vcf=None,
) -> None:
    """Write every real record plus generated records of the smaller classes until classes are balanced."""
    from ..data.fasta import read_cohort
    from ..evaluation.balance import balanced_fasta, balanced_vcf, check_classes, plan_counts
    from ..gan.run import Run
    from ..report.tables import balance_table
    from .session import write_stream

    o.checked_format(output_format)  # before training, not after
    if model is None:
        cohort, model = train_cohort(data, config, settings or {}, labels_from_files, out, vcf=vcf)
    run = Run.load(model)
    if not run.classes:
        raise VPError(f"{model}: this model was trained without labels; balancing needs a conditional model")
    cohort = read_cohort(data, run.config.length_policy, label_key=run.config.label_key,
                         labels_from_files=labels_from_files, vcf=vcf)
    counts = check_classes(cohort, run)
    to_generate = plan_counts(counts, target)
    chunks = ([balanced_vcf(cohort, run, to_generate, seed)] if output_format == "vcf"
              else balanced_fasta(cohort, run, to_generate, seed))
    write_stream(chunks, output, force)
    err.print(balance_table(counts, to_generate))
    say(f"wrote {len(cohort) + sum(to_generate.values())} records to {output}")


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
    say(f"{what}{result.n_records} NCBI records ({result.n_cached} from the cache)"
        + (f" written to {output}" if output else ""))


@app.command()
@clean_errors
@o.with_threads
@o.with_vcf_flags
def baseline(
    kind: Annotated[str, typer.Argument(help="independent, markov, resample-mutate, copy or rbm.")],
    data: o.Data,
    n: Annotated[int, typer.Option("-n", help="Number of sequences.")] = 100,
    seed: Annotated[int, typer.Option(help="Seed; the same seed gives identical output.")] = 0,
    order: Annotated[int, typer.Option(help="Markov order (markov only).")] = 3,
    time_budget: Annotated[Optional[float], typer.Option(
        "--time-budget", help="rbm only: train for at most this many seconds of wall time (default: its 500 "
        "epochs, however long they take); with a budget the output depends on the machine's speed.")] = None,
    label_key: Annotated[str, typer.Option("--label-key", help="Description key of the class.")] = "label",
    length_policy: o.Policy = "error",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    force: o.Force = False,
    output_format: o.Format = "fasta",
    vcf=None,
) -> None:
    """Write N sequences of a baseline generator fitted on DATA (per class when labelled), as FASTA or VCF."""
    from ..data.encoding import decode
    from ..data.fasta import read_cohort
    from ..data.sequences import format_fasta
    from ..evaluation.baselines import make
    from .session import write_stream

    if n < 0:
        raise InputError(f"-n {n}: must be zero or more")
    if time_budget is not None and kind != "rbm":
        raise InputError(f"--time-budget: only the rbm baseline trains, not {kind}")
    o.checked_format(output_format)
    model = make(kind, order, **({} if time_budget is None else {"time_budget_s": time_budget}))
    cohort = read_cohort(data, length_policy, label_key=label_key, vcf=vcf)
    if output_format == "vcf" and (cohort.sites is None or n % 2):
        raise InputError("--format vcf: needs VCF input (its sites) and an even -n (two haplotypes a sample)")
    drawn = model.fit(cohort).sample(n, seed)  # a labelled fit draws classes in the training proportions
    if output_format == "vcf":
        from ..data.vcf_out import format_vcf, sample_names

        header = [f"source=vp baseline {kind}", f"vp_seed={seed}", "vp_note=synthetic haplotypes, not real individuals"]
        write_stream([format_vcf(drawn.indices, drawn.alphabet, cohort.sites, sample_names(n, drawn.labels), header)],
                     output, force)
        return
    description = f"baseline={kind} seed={seed}" + (f" order={order}" if kind == "markov" else "") + (
        f" time_budget={time_budget:g}s" if time_budget is not None else "")
    titles = [f"{name} {description}" + ("" if drawn.labels is None else f" {label_key}={drawn.labels[i]}")
              for i, name in enumerate(drawn.ids)]
    write_stream([format_fasta(titles, decode(drawn.indices, drawn.alphabet))], output, force)


@app.command()
@clean_errors
@o.with_threads
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
