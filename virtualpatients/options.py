"""Annotated typer options shared by several commands (kept apart so cli.py stays readable)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

Data = Annotated[list[Path], typer.Argument(help="FASTA file(s) with the cohort.")]
OptionalData = Annotated[Optional[list[Path]], typer.Argument(help="FASTA file(s) with the cohort.")]
Cds = Annotated[bool, typer.Option("--cds", help="GenBank input: use each record's coding sequence (CDS).")]
CheckpointEvery = Annotated[Optional[int], typer.Option("--checkpoint-every", help="Steps between checkpoints.")]
Config = Annotated[Optional[Path], typer.Option("--config", help="TOML recipe, e.g. configs/wgan-gp.toml.")]
Steps = Annotated[Optional[int], typer.Option(help="Generator updates.")]
BatchSize = Annotated[Optional[int], typer.Option("--batch-size", help="Sequences per update.")]
Lr = Annotated[Optional[float], typer.Option(help="Adam learning rate.")]
NoiseDim = Annotated[Optional[int], typer.Option("--noise-dim", help="Noise vector size.")]
Hidden = Annotated[Optional[str], typer.Option(help="Hidden widths, comma-separated, e.g. 512,512.")]
TrainSeed = Annotated[Optional[int], typer.Option(help="Seed for every random number.")]
Device = Annotated[Optional[str], typer.Option(help="auto, cpu or cuda.")]
LengthPolicy = Annotated[Optional[str], typer.Option("--length-policy", help="Unequal lengths: error, pad or crop.")]
Holdout = Annotated[
    Optional[float], typer.Option(help="Share kept out of training (seeded, per class) as a yardstick, e.g. 0.2.")
]
Loss = Annotated[Optional[str], typer.Option(help="gan or wgan-gp.")]
Output = Annotated[Optional[str], typer.Option(help="What D sees of G: softmax, gumbel or hard.")]
Precision = Annotated[Optional[str], typer.Option(help="fp32 or bf16 (bfloat16 autocast, for GPUs).")]
CriticSteps = Annotated[Optional[int], typer.Option("--critic-steps", help="D updates per G update.")]
LabelKey = Annotated[Optional[str], typer.Option("--label-key", help="Description key of the class (label=VALUE).")]
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
Force = Annotated[bool, typer.Option(help="Overwrite the output file if it exists.")]
