"""Training configuration: frozen dataclass defaults < a TOML file < command-line flags."""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 2000
    """Generator updates; each is preceded by one discriminator update."""
    batch_size: int = 64
    """Real and generated sequences per update; clamped to the data set size."""
    lr: float = 2e-4
    """Adam learning rate for both networks (the DCGAN setting)."""
    beta1: float = 0.5
    """Adam beta1; 0.5 damps the oscillation GANs get from momentum."""
    beta2: float = 0.999
    """Adam beta2."""
    noise_dim: int = 100
    """Size of the generator's Gaussian noise input."""
    hidden: tuple[int, ...] = (512, 512)
    """Hidden layer widths of the generator; the discriminator uses them reversed."""
    leaky_slope: float = 0.2
    """Negative slope of the LeakyReLU activations."""
    seed: int = 0
    """One seed drives parameter init, batch sampling and noise."""
    device: str = "auto"
    """auto (CUDA when available), cpu or cuda."""
    log_every: int = 25
    """Steps between history rows; the only steps that synchronise with the host."""
    length_policy: str = "error"
    """Unequal lengths: error, pad (gap channel '-') or crop to the shortest."""
    holdout: float = 0.0
    """Share of sequences kept out of training (seeded split, recorded in run.json) as the
    yardstick of a new patient for the privacy metrics; 0 keeps none."""

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["hidden"] = list(self.hidden)
        return values


_DEVICES = ("auto", "cpu", "cuda")


def _coerce(name: str, value: Any, annotation: Any) -> Any:
    """Convert a TOML or flag value to the field's type, refusing what does not fit."""
    origin = typing.get_origin(annotation)
    try:
        if origin is tuple:
            items = value if isinstance(value, (list, tuple)) else [int(v) for v in str(value).split(",") if v.strip()]
            return tuple(int(v) for v in items)
        if annotation is int and not isinstance(value, bool):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if annotation is float and not isinstance(value, bool):
            return float(value)
        if annotation is str and isinstance(value, str):
            return value
    except (TypeError, ValueError):
        pass
    raise InputError(f"config: {name} = {value!r} is not a valid {getattr(annotation, '__name__', annotation)}")


def _validate(config: TrainConfig) -> TrainConfig:
    problems = []
    for name in ("steps", "batch_size", "noise_dim", "log_every"):
        if getattr(config, name) < 1:
            problems.append(f"{name} must be at least 1")
    if not config.hidden or min(config.hidden) < 1:
        problems.append("hidden must list one or more positive widths")
    if not 0 <= config.holdout < 1:
        problems.append("holdout must be at least 0 and below 1")
    if not config.lr > 0:
        problems.append("lr must be positive")
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
    coerced = {name: _coerce(name, value, hints[name]) for name, value in values.items()}
    return _validate(TrainConfig(**coerced))


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Rebuild a saved config: unknown keys are an error; keys added in later versions of vp take
    their defaults, which reproduce the behaviour of the version that saved the run."""
    hints = typing.get_type_hints(TrainConfig)
    unknown = sorted(set(data) - set(hints))
    if unknown:
        raise InputError(f"saved config has unknown keys {unknown}; was it written by a newer vp?")
    return _validate(TrainConfig(**{k: _coerce(k, v, hints[k]) for k, v in data.items()}))
