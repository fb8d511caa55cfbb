"""Annotated typer options shared by several commands, and the training settings' flags, made
from TrainConfig itself: one definition (field, type, default, docstring) serves the TOML files,
the flags and their help."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

# Flags whose name differs from the config key: `vp generate --output` is a file, so the
# training setting `output` (what the discriminator sees) is --output-mode.
FLAG_NAMES = {"output": "--output-mode"}
# The flag's type where the config type does not read from a command line (widths as "512,512").
FLAG_TYPES = {"hidden": str, "latent_scales": str}


def flag_name(key: str) -> str:
    return FLAG_NAMES.get(key, "--" + key.replace("_", "-"))


def with_config_flags(keys: tuple[str, ...] | None = None) -> Callable:
    """Give a command one option per TrainConfig field (or those in `keys`), defaulting to None
    ("not given"), and pass the given ones to it as `settings={key: value}`."""
    from ..gan.config import TrainConfig, field_docs, _hints

    defaults = TrainConfig()
    hints, docs = _hints(), field_docs()
    names = keys or tuple(hints)

    def decorate(command: Callable) -> Callable:
        # The command's own annotations are strings (postponed evaluation); resolve them in its
        # module, since typer reads the wrapper's signature and annotations.
        resolved = typing.get_type_hints(command, include_extras=True)
        signature = inspect.signature(command)
        params = [p.replace(annotation=resolved.get(p.name, p.annotation))
                  for p in signature.parameters.values() if p.name != "settings"]
        for key in names:
            annotation = FLAG_TYPES.get(key, hints[key])
            default = getattr(defaults, key)
            shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
            help_text = f"{docs.get(key, '')} Default: {shown}; config key: {key}.".strip()
            flag = flag_name(key)
            option = typer.Option(f"{flag}/--no-{flag[2:]}" if annotation is bool else flag, help=help_text,
                                  show_default=False, rich_help_panel="Training settings")
            # The parameter is named apart from the command's own (`vp balance --output` is a file).
            params.append(inspect.Parameter(f"setting_{key}", inspect.Parameter.KEYWORD_ONLY, default=None,
                                            annotation=Annotated[Optional[annotation], option]))

        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            settings = {key: kwargs.pop(f"setting_{key}") for key in names if f"setting_{key}" in kwargs}
            return command(*args, settings=settings, **kwargs)

        wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params} | {"return": resolved.get("return")}
        return wrapper

    return decorate


Data = Annotated[list[Path], typer.Argument(help="FASTA, GenBank or VCF file(s) with the cohort.")]
OptionalData = Annotated[Optional[list[Path]], typer.Argument(help="FASTA, GenBank or VCF file(s) with the cohort.")]
Cds = Annotated[bool, typer.Option("--cds", help="GenBank input: use each record's coding sequence (CDS).")]
Config = Annotated[Optional[Path], typer.Option("--config", help="TOML recipe, e.g. configs/wgan-gp.toml.")]
LabelsFromFiles = Annotated[
    bool, typer.Option("--labels-from-files", help="One class per input file, named by the file's stem.")
]
Model = Annotated[Optional[Path], typer.Option("--model", "-m", help="Run directory; default: the last `vp train` here.")]
Generated = Annotated[Optional[Path], typer.Option(help="Generated FASTA; default: generate -n from the model.")]
Real = Annotated[Optional[Path], typer.Option(help="Real FASTA; default: the model's training split.")]
HoldoutFile = Annotated[
    Optional[Path], typer.Option("--holdout", help="Held-out real FASTA; default: the run's --holdout split.")
]
Reference = Annotated[
    Optional[Path], typer.Option(help="Reference FASTA (first record) for variants; default: real consensus.")
]
Seed = Annotated[int, typer.Option(help="Generation and sampling seed.")]
Sample = Annotated[
    Optional[bool],
    typer.Option("--sample/--argmax", help="Draw bases from the softmax, or take the most likely; default: as trained."),
]
Label = Annotated[Optional[str], typer.Option(help="Only this class (conditional models).")]
Policy = Annotated[str, typer.Option("--length-policy", help="For FASTA inputs: error, pad or crop.")]
Blast = Annotated[bool, typer.Option("--blast", help="Also compare with NCBI BLAST+ (blastn).")]
Utility = Annotated[bool, typer.Option("--utility", help="Classifier utility of balancing (needs labels, a hold-out).")]
Baselines = Annotated[
    bool, typer.Option("--baselines", help="Also score the baseline generators (PWM, Markov, resample-mutate, copy).")
]
RbmBudget = Annotated[Optional[float], typer.Option(
    "--rbm-budget", metavar="SECONDS", help="With --baselines, also train the RBM baseline (Yelmen et al. 2021) for "
    "this many seconds of wall time (e.g. the GAN's) and score it.")]
Force = Annotated[bool, typer.Option(help="Overwrite the output file if it exists.")]
Format = Annotated[str, typer.Option("--format", help="fasta, or vcf (VCF input only: phased, against its sites; "
                                     "pairs of haplotypes make diploid samples).")]


def checked_format(name: str) -> str:
    from ..errors import InputError

    if name not in ("fasta", "vcf"):
        raise InputError(f"--format {name}: choose fasta or vcf")
    return name


# VCF input: (parameter, flag, type, help). Collected into one data.vcf.VcfOptions, passed as `vcf`.
VCF_FLAGS: list[tuple[str, str, Any, str]] = [
    ("reference", "--reference", Optional[Path], "VCF input: reference FASTA; with --region, sequences are the "
     "region with each haplotype's SNVs (default: the alleles at the sites)."),
    ("region", "--region", Optional[str], "VCF input: CHR:START-END of the reference (1-based, inclusive)."),
    ("samples", "--samples", Optional[Path], "VCF input: only the samples named in this file (one a line)."),
    ("labels", "--labels", Optional[Path], "VCF input: tab-separated sample sheet (header; a `sample` column) "
     "giving each sample's class."),
    ("label_column", "--label-column", Optional[str], "VCF input: the sample sheet's class column (default: label)."),
    ("skip_sites", "--skip-sites", Optional[str], "VCF input: skip and count these site kinds instead of refusing "
     "them: any of missing, multiallelic, indel, unphased, duplicate (a second record at a position; the first "
     "is kept) (comma-separated)."),
]


def with_vcf_flags(command: Callable) -> Callable:
    """Give a command the VCF input options and pass them to it as `vcf` (None when none is given)."""
    resolved = typing.get_type_hints(command, include_extras=True)
    signature = inspect.signature(command)
    params = [p.replace(annotation=resolved.get(p.name, p.annotation))
              for p in signature.parameters.values() if p.name != "vcf"]
    for name, flag, annotation, help_text in VCF_FLAGS:
        option = typer.Option(flag, help=help_text, rich_help_panel="VCF input")
        params.append(inspect.Parameter(f"vcf_{name}", inspect.Parameter.KEYWORD_ONLY, default=None,
                                        annotation=Annotated[annotation, option]))

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {name: kwargs.pop(f"vcf_{name}", None) for name, *_ in VCF_FLAGS}
        return command(*args, vcf=vcf_options(**given), **kwargs)

    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params} | {"return": resolved.get("return")}
    return wrapper


def vcf_options(reference=None, region=None, samples=None, labels=None, label_column=None, skip_sites=None):
    if all(value is None for value in (reference, region, samples, labels, label_column, skip_sites)):
        return None
    from ..data.vcf import VcfOptions

    # Absolute paths: the options are recorded with a run, which may be resumed from elsewhere.
    absolute = lambda path: None if path is None else str(Path(path).resolve())  # noqa: E731
    return VcfOptions(
        reference=absolute(reference), region=region, samples=absolute(samples), labels=absolute(labels),
        label_column=label_column or "label",
        skip=tuple(kind.strip() for kind in (skip_sites or "").split(",") if kind.strip()),
    )


THREADS_HELP = ("Threads to compute with (torch, BLAS, scikit-learn); default: VP_THREADS, else this process's "
                "cores shared with the other vp processes computing on them (all of them when alone). The same "
                "seed and count give identical results.")


def with_threads(command: Callable) -> Callable:
    """Give a command --threads and apply the count before it runs. The process registers first and
    chooses after torch is imported (a second or so), so runs started together share the cores."""
    resolved = typing.get_type_hints(command, include_extras=True)
    signature = inspect.signature(command)
    params = [p.replace(annotation=resolved.get(p.name, p.annotation)) for p in signature.parameters.values()]
    option = typer.Option("--threads", help=THREADS_HELP)
    params.append(inspect.Parameter("threads", inspect.Parameter.KEYWORD_ONLY, default=None,
                                    annotation=Annotated[Optional[str], option]))

    @functools.wraps(command)
    def wrapper(*args: Any, threads: str | None = None, **kwargs: Any) -> Any:
        from .. import threads as pools

        pools.requested_threads(threads)  # a bad value is refused before anything is imported or read
        pools.register()
        pools.calm_spinning()
        import torch  # noqa: F401  (the slow import: others started with this one register meanwhile)

        from .console import warn_now

        pools.use_threads(threads, warn=warn_now)
        return command(*args, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params} | {"return": resolved.get("return")}
    return wrapper
