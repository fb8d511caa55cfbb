"""vp: learn a cohort's DNA sequences with a GAN and write realistic virtual patients.

The Python API (the `vp` command is a thin layer over it)::

    import virtualpatients as vp

    cohort = vp.read_cohort(["cohort.fasta"], label_key="label")
    config = vp.TrainConfig(steps=2000, loss="wgan-gp")
    run = vp.train(cohort, config, holdout=0.2, run_dir="runs/a")
    fake = run.generate(1000, seed=0, label="functional")
    scores = vp.evaluate(fake, run.training_set, holdout=run.holdout_set)

Names are imported on first use, so `import virtualpatients` (and `vp --help`) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> (module, attribute); attribute None means the module itself
_EXPORTS: dict[str, tuple[str, str | None]] = {
    "SequenceSet": ("data.sequences", "SequenceSet"),
    "read_cohort": ("data.fasta", "read_cohort"),
    "VcfOptions": ("data.vcf", "VcfOptions"),
    "simulate_cohort": ("data.simulate", "simulate_cohort"),
    "TrainConfig": ("gan.config", "TrainConfig"),
    "load_config": ("gan.config", "resolve_config"),
    "train": ("gan.fit", "train"),
    "resume": ("gan.fit", "resume"),
    "Run": ("gan.run", "Run"),
    "load_run": ("gan.run", "load_run"),
    "evaluate": ("evaluation.evaluate", "evaluate"),
    "Evaluation": ("evaluation.evaluate", "Evaluation"),
    "baselines": ("evaluation.baselines", None),
    "GANOverSampler": ("evaluation.sampler", "GANOverSampler"),
    "VPError": ("errors", "VPError"),
    "InputError": ("errors", "InputError"),
    "MissingToolError": ("errors", "MissingToolError"),
    "NetworkError": ("errors", "NetworkError"),
    "Diverged": ("errors", "Diverged"),
    "RunBusy": ("runlock", "RunBusy"),
    "Interrupted": ("errors", "Interrupted"),
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'virtualpatients' has no attribute {name!r}")
    module_name, attribute = _EXPORTS[name]
    module = importlib.import_module(f".{module_name}", __name__)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load lazily above
    from .data.fasta import read_cohort
    from .data.sequences import SequenceSet
    from .data.simulate import simulate_cohort
    from .data.vcf import VcfOptions
    from .errors import Diverged, InputError, Interrupted, MissingToolError, NetworkError, VPError
    from .evaluation import baselines
    from .evaluation.evaluate import Evaluation, evaluate
    from .evaluation.sampler import GANOverSampler
    from .gan.config import TrainConfig
    from .gan.config import resolve_config as load_config
    from .gan.fit import resume, train
    from .gan.run import Run, load_run
    from .runlock import RunBusy
