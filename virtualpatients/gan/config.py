"""Training configuration: frozen dataclass defaults < a TOML file < command-line flags."""

from __future__ import annotations

import dataclasses
import functools
import tomllib
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError


@dataclass(frozen=True)
class TrainConfig:
    """Every training setting. The defaults are the best recipe measured on held-out data
    (RESULTS.md): the vae-gan trainer (the generator is a VAE's decoder, also judged by the
    discriminator on hard Gumbel-softmax samples), the generator started at the data's base
    frequencies (per class when conditional), the minibatch-std feature and one-sided label
    smoothing. The GAN-only default before it is configs/gan.toml; the original study's
    soft-output GAN is configs/study.toml."""

    trainer: str = "vae-gan"
    """How the generator learns. vae-gan (Larsen et al. 2016): the generator is the decoder of a
    variational autoencoder (an MLP encoder maps each real sequence to a Gaussian over the noise
    space; the generator must rebuild the sequence from a draw of it, with a KL term that keeps
    the codes on the N(0, I) noise it is sampled from), and the discriminator also judges hard
    samples of whole generated sequences (adversarial_weight): reconstruction teaches how the
    positions of one patient go together, which a discriminator alone teaches poorly (the
    GAN-only model huddles around the average). gan: the adversarial loss alone."""
    steps: int = 2500
    """Generator updates; each is preceded by one discriminator update."""
    batch_size: int = 128
    """Real and generated sequences per update; clamped to the data set size."""
    lr: float = 1e-3
    """Adam learning rate of every network (1e-3 suits the VAE part; the GAN-only recipes use
    the DCGAN setting 2e-4)."""
    beta1: float = 0.9
    """Adam beta1 (the GAN-only recipes use 0.5, which damps the oscillation GANs get from
    momentum)."""
    beta2: float = 0.999
    """Adam beta2."""
    noise_dim: int = 32
    """Size of the generator's Gaussian noise input (vae-gan: the code of a sequence)."""
    hidden: tuple[int, ...] = (256, 512)
    """Hidden layer widths of the generator; the discriminator (and vae-gan's encoder) use them
    reversed."""
    leaky_slope: float = 0.2
    """Negative slope of the LeakyReLU activations."""
    seed: int = 0
    """One seed drives parameter init, batch sampling and noise."""
    device: str = "auto"
    """auto (CUDA when available), cpu or cuda."""
    log_every: int = 50
    """Steps between history rows; the only steps that synchronise with the host."""
    checkpoint_every: int = 100
    """Steps between checkpoints (run directory and resumable training state, written
    atomically); one is also written at step 0, at the end and on SIGINT/SIGTERM."""
    length_policy: str = "error"
    """Unequal lengths: error, pad (gap channel '-') or crop to the shortest."""
    loss: str = "gan"
    """gan: minimax with the non-saturating generator loss; wgan-gp: Wasserstein critic with a
    gradient penalty (Gulrajani et al. 2017), the setting of DNA GANs (Killoran et al., FBGAN)."""
    critic_steps: int = 1
    """Discriminator (critic) updates per generator update; 5 is the WGAN-GP setting."""
    gp_weight: float = 10.0
    """Weight of the gradient penalty (wgan-gp only)."""
    output: str = "gumbel"
    """What the discriminator sees of the generator: softmax (soft probabilities, the study's
    model; easy to tell from one-hot data), gumbel (hard one-hot samples by straight-through
    Gumbel-softmax; generation samples too) or hard (straight-through argmax; generation argmax)."""
    temperature: float = 1.0
    """Gumbel-softmax temperature of the backward pass (gumbel output only)."""
    data_bias: bool = True
    """Start the generator at the data: its output bias is set to the log of the training set's
    per-position base frequencies (and the last layer's weights shrunk), so it begins by drawing
    each position independently from the cohort, and training only has to learn the dependencies
    between positions (which variants occur together, how many per patient)."""
    novel_bases: float = 0.05
    """Data-bias smoothing: the expected number of bases per sequence, drawn from the starting
    frequencies, that the data never show at their position (a pseudo-count sized for it, capped
    at add-half; a large value gives add-half, the rule before 2026-11-26, about one such base per
    TP53 sequence)."""
    varying_only: bool = True
    """Train on the positions that vary in the training data only; the others always carry the
    base every training sequence has there, and generation writes it back. The networks get
    smaller and faster (TP53: about 250 of 1,182 positions vary), and no step is spent learning
    that a position never changes. False: every position is modelled."""
    class_bias: bool = True
    """With data_bias and classes: each class also gets its own output bias, started at that
    class's base frequencies, so a conditional model draws a minority class's pattern from the
    first step rather than the majority's (a model without it can ignore a small class)."""
    diversity_weight: float = 0.0
    """Weight of the mode-seeking term (Mao et al. 2019): the generator is also pushed to make two
    noise vectors' outputs differ in proportion to how far apart the noise vectors are, against
    mode collapse when outputs are decided by the noise alone (output "hard"). 0: off."""
    kl_weight: float = 0.1
    """vae-gan: weight (beta) of the KL term, per modelled position. Below 1: sharper reconstructions
    (a one-variant cohort keeps its one variant) and codes less tied to the prior; 0.1 measured
    best on held-out data of three cohorts (RESULTS.md)."""
    kl_warmup: int = 0
    """vae-gan: steps over which the KL weight rises linearly from 0 (annealing, against codes
    that collapse to the prior before the decoder uses them); 0: full weight from the start."""
    prior_components: int = 64
    """vae-gan: components of a learned Gaussian-mixture prior over the generator's codes (0: the noise is
    the code, N(0, I)). A cohort of a few hundred distinct patients has codes on a few hundred
    separate points; a mixture can sit on them where one Gaussian smears mass in between."""
    adversarial_weight: float = 0.01
    """vae-gan: weight of the adversarial (non-saturating) loss on sampled sequences beside the
    reconstruction loss; 0 trains a plain VAE (the discriminator is still trained, as a monitor).
    0.01 raised linkage over the plain VAE; 0.1 was unstable (RESULTS.md)."""
    latent_scales: tuple[float, ...] = (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4)
    """vae-gan with a hold-out: the scales of the generator's noise tried at each log step; the
    kept model is the (step, scale) whose probe is hardest to tell from the held-out sequences,
    the scale folded into the generator's first layer (so generation is unchanged). A scale below
    1 draws nearer the data's core, above 1 more spread out. (1.0) turns it off."""
    label_smoothing: float = 0.1
    """One-sided label smoothing: real targets become 1 - this (gan loss only)."""
    instance_noise: float = 0.0
    """Std of Gaussian noise added to real and generated inputs of the discriminator, decaying
    linearly to 0 over training; blurs the supports of tiny data sets early on."""
    spectral_norm: bool = False
    """Spectral normalisation of the discriminator's linear layers (Miyato et al. 2018)."""
    minibatch_std: bool = True
    """Give the discriminator the batch's feature spread as one more input (Karras et al. 2018), so
    a batch of near-identical sequences (mode collapse) is easy to tell from a real batch."""
    label_key: str = "label"
    """FASTA description key whose value is the class (label=VALUE); classes make a conditional GAN."""
    select_on_holdout: bool = True
    """With a hold-out: keep the weights of the log step whose probe batch is hardest to tell from
    the held-out sequences, both ways (AA_truth and AA_syn nearest 0.5: smallest
    |AA_truth - 0.5| + |AA_syn - 0.5|), rather than the last step's."""
    selection: str = "both"
    """How the hold-out picks the kept step: "both" (AA_truth and AA_syn each near 1/2: smallest
    |AA_truth - 0.5| + |AA_syn - 0.5|) or "mean" (AATS, their mean, near 1/2, which a generator
    easy to tell apart from one side only can fool; the rule before 2026-11-26)."""
    precision: str = "fp32"
    """fp32, or bf16: forward passes under bfloat16 autocast (losses and weights stay float32).
    For GPUs with bfloat16 units; CPUs without them run it slower than fp32."""
    holdout: float = 0.0
    """Share of sequences kept out of training (seeded split, recorded in run.json) as the
    yardstick of a new patient for the privacy metrics; 0 keeps none."""

    def __post_init__(self) -> None:
        # Validated when built, whoever builds it (API, TOML, flags, a saved run): a misspelt
        # loss or output mode is refused instead of silently training something else.
        hints = _hints()
        for item in dataclasses.fields(self):
            object.__setattr__(self, item.name, _coerce(item.name, getattr(self, item.name), hints[item.name]))
        _validate(self)

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["hidden"] = list(self.hidden)
        values["latent_scales"] = list(self.latent_scales)
        return values


_DEVICES = ("auto", "cpu", "cuda")
LOSSES = ("gan", "wgan-gp")
TRAINERS = ("vae-gan", "gan")
OUTPUTS = ("softmax", "gumbel", "hard")
PRECISIONS = ("fp32", "bf16")


def _coerce(name: str, value: Any, annotation: Any) -> Any:
    """Convert a TOML or flag value to the field's type, refusing what does not fit."""
    origin = typing.get_origin(annotation)
    try:
        if origin is tuple:
            item_type = typing.get_args(annotation)[0]
            items = value if isinstance(value, (list, tuple)) else [v for v in str(value).split(",") if v.strip()]
            if any(isinstance(v, bool) for v in items):
                raise ValueError
            return tuple(_coerce(name, v if item_type is float else int(v), item_type) for v in items)
        if annotation is int and not isinstance(value, bool):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if annotation is float and not isinstance(value, bool):
            return float(value)
        if annotation is str and isinstance(value, str):
            return value
        if annotation is bool and isinstance(value, bool):
            return value
    except (TypeError, ValueError):
        pass
    raise InputError(f"config: {name} = {value!r} is not a valid {getattr(annotation, '__name__', annotation)}")


@functools.cache
def _hints() -> dict[str, Any]:
    return typing.get_type_hints(TrainConfig)


@functools.cache
def field_docs() -> dict[str, str]:
    """Each field's docstring (the string literal under it in the class body): the one text that
    documents a setting, shown as its flag's help and in configs/default.toml."""
    import ast
    import inspect

    try:
        tree = ast.parse(inspect.getsource(TrainConfig))
    except (OSError, TypeError):  # no source (frozen app): flags go without help
        return {}
    docs: dict[str, str] = {}
    body = tree.body[0].body
    for node, following in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(following, ast.Expr) \
                and isinstance(following.value, ast.Constant) and isinstance(following.value.value, str):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def default_toml(header: str) -> str:
    """configs/default.toml: every key with its default, under its docstring (wrapped at 96)."""
    import textwrap

    def value(item: Any) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, str):
            return f'"{item}"'
        if isinstance(item, list):
            return "[" + ", ".join(map(str, item)) + "]"
        return repr(item)

    lines = [header.rstrip(), "", "[train]"]
    for key, default in TrainConfig().to_dict().items():
        lines += ["# " + line for line in textwrap.wrap(field_docs()[key], 96)]
        lines.append(f"{key} = {value(default)}")
    return "\n".join(lines) + "\n"


def _validate(config: TrainConfig) -> TrainConfig:
    problems = []
    for name in ("steps", "batch_size", "noise_dim", "log_every", "critic_steps", "checkpoint_every"):
        if getattr(config, name) < 1:
            problems.append(f"{name} must be at least 1")
    if not config.hidden or min(config.hidden) < 1:
        problems.append("hidden must list one or more positive widths")
    if not 0 <= config.holdout < 1:
        problems.append("holdout must be at least 0 and below 1")
    if config.trainer not in TRAINERS:
        problems.append(f"trainer must be one of {', '.join(TRAINERS)}")
    if config.trainer == "vae-gan" and config.loss != "gan":
        problems.append("trainer vae-gan trains with loss gan (its adversarial part is the minimax loss); "
                        "wgan-gp needs trainer gan")
    if not (0 <= config.kl_weight < float("inf") and 0 <= config.adversarial_weight < float("inf")):
        problems.append("kl_weight and adversarial_weight must not be negative")
    if config.prior_components < 0:
        problems.append("prior_components must not be negative")
    if config.kl_warmup < 0:
        problems.append("kl_warmup must not be negative")
    if not config.latent_scales or not all(0 < v < float("inf") for v in config.latent_scales):
        problems.append("latent_scales must list one or more positive scales")
    if config.loss not in LOSSES:
        problems.append(f"loss must be one of {', '.join(LOSSES)}")
    if config.output not in OUTPUTS:
        problems.append(f"output must be one of {', '.join(OUTPUTS)}")
    if not 0 < config.temperature < float("inf"):
        problems.append("temperature must be positive and finite")
    if not 0 <= config.label_smoothing < 0.5:
        problems.append("label_smoothing must be at least 0 and below 0.5")
    if not 0 < config.novel_bases < float("inf"):
        problems.append("novel_bases must be positive and finite")
    if not 0 <= config.diversity_weight < float("inf"):
        problems.append("diversity_weight must not be negative")
    if not (0 <= config.instance_noise < float("inf") and 0 <= config.gp_weight < float("inf")):
        problems.append("instance_noise and gp_weight must not be negative")
    if not 0 < config.lr < float("inf"):
        problems.append("lr must be positive and finite")
    if not (0 <= config.beta1 < 1 and 0 <= config.beta2 < 1):
        problems.append("beta1 and beta2 must be at least 0 and below 1")
    if not 0 <= config.leaky_slope < 1:
        problems.append("leaky_slope must be at least 0 and below 1")
    if not 0 <= config.seed < 2**63:
        problems.append("seed must be between 0 and 2^63 - 1")
    if config.selection not in ("both", "mean"):
        problems.append("selection must be both or mean")
    if config.precision not in PRECISIONS:
        problems.append(f"precision must be one of {', '.join(PRECISIONS)}")
    if config.device not in _DEVICES:
        problems.append(f"device must be one of {', '.join(_DEVICES)}")
    if config.length_policy not in ("error", "pad", "crop"):
        problems.append("length_policy must be error, pad or crop")
    if problems:
        raise InputError("config: " + "; ".join(problems))
    return config


def resolve_config(config_file: Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Defaults, then the TOML file, then the flags that were given (None means not given)."""
    hints = typing.get_type_hints(TrainConfig)
    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            data = tomllib.loads(Path(config_file).read_text())
        except FileNotFoundError:
            raise InputError(f"{config_file}: no such config file") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise InputError(f"{config_file}: not a valid TOML config ({error})") from None
        data = data.get("train", data)
        unknown = sorted(set(data) - set(hints))
        if unknown:
            raise InputError(f"{config_file}: unknown config keys: {', '.join(unknown)}")
        values.update(data)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return TrainConfig(**values)


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Rebuild a saved config: unknown keys are an error; keys added in later versions of vp take
    their defaults, which reproduce the behaviour of the version that saved the run."""
    if not isinstance(data, dict):
        raise InputError(f"saved config is {type(data).__name__}, not a table of settings")
    hints = typing.get_type_hints(TrainConfig)
    unknown = sorted(set(data) - set(hints))
    if unknown:
        raise InputError(f"saved config has unknown keys {unknown}; was it written by a newer vp?")
    return TrainConfig(**{**{k: v for k, v in SAVED_BEFORE.items() if k not in data}, **data})


# Keys added after runs were first saved, with the value that reproduces the older behaviour where
# it differs from today's default.
SAVED_BEFORE: dict[str, Any] = {"class_bias": False, "varying_only": False, "selection": "mean", "novel_bases": 1e9,
                                "trainer": "gan", "prior_components": 0}
