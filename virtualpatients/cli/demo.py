"""`vp demo`: simulate a cohort, train, generate and evaluate, writing everything under one folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rich.console import Console


def run_demo(out: Path, steps: int | None, seed: int, console: Console) -> dict:
    from ..data.fasta import read_cohort
    from ..data.sequences import format_fasta
    from ..data.simulate import simulate_cohort
    from ..evaluation.blast import blast_available
    from ..evaluation.evaluate import evaluate, read_set
    from ..gan.config import TrainConfig
    from ..gan.fit import train
    from ..report.tables import evaluation_table
    from .console import say
    from .session import print_verdict, training_progress, write_stream

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ids, descriptions, sequences = simulate_cohort(seed=seed)
    data_path = out / "simulated_cohort.fasta"
    codes = np.frombuffer("".join(sequences).encode(), np.uint8).reshape(len(sequences), -1)
    titles = [f"{name} {text}" if text else name for name, text in zip(ids, descriptions)]
    data_path.write_bytes(format_fasta(titles, codes))
    say(f"SIMULATED cohort of {len(ids)} patients (random {codes.shape[1]}-base reference, one hotspot "
        f"variant each) -> {data_path}", "demo:", "bold", console)
    # The default recipe, as `vp train` uses it: what the demo shows is what a user gets.
    config = TrainConfig(seed=seed, device="cpu", **({} if steps is None else {"steps": steps}))
    cohort = read_cohort([data_path])
    run_dir = out / "run"
    with training_progress(console, config.steps) as progress:
        run = train(cohort, config, run_dir=run_dir, progress=progress, force=True)
    generated_path = out / "generated.fasta"
    write_stream(run.generate_fasta(200, seed), generated_path, force=True)
    use_blast = blast_available()
    evaluation = evaluate(read_set(generated_path), cohort.named(str(data_path)), blast=use_blast)
    report = evaluation.summary
    report_path = out / "evaluation.json"
    report_path.write_text(json.dumps(report, indent=2) + "\n")
    print_verdict(console, report)
    console.print(evaluation_table(report))
    if not use_blast:
        say("BLAST+ not found: skipped the BLAST comparison (apt-get install ncbi-blast+)", style="yellow",
            console=console)
    say(f"{data_path} (simulated data), {run_dir}/ (model.safetensors, run.json, history.csv), {generated_path} "
        f"(200 virtual patients), {report_path} (metrics)", "demo wrote:", "bold", console)
    return report
