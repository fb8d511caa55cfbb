"""Everything needed to continue training bit for bit: weights, optimiser moments, step, random
number generator states, history and the checkpoint selection so far, in one safetensors file.

One file, written atomically, so a kill at any moment leaves either the previous checkpoint or
the new one, never a mixture. No pickle: tensors in safetensors, the rest as JSON in its header.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from ..atomic import atomic_write_bytes
from ..errors import InputError

CHECKPOINT_FILE = "checkpoint.safetensors"
FORMAT = "vp-checkpoint"
FORMAT_VERSION = 1
_NETWORKS = ("generator", "discriminator")  # always there; trainers may add more (vae-gan: encoder)


@dataclass
class TrainingState:
    step: int
    networks: dict[str, dict[str, torch.Tensor]]  # generator / discriminator state dicts
    optimisers: dict[str, dict[str, Any]]  # opt_g / opt_d state dicts
    rng_states: list[torch.Tensor]  # one uint8 state per process (rank order)
    history: list[dict[str, float]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    best: Any = None  # the monitor's Selection so far, or None
    world_size: int = 1
    spec: Any = None  # the ModelSpec, for the run directory's metadata; rebuilt from run.json, not stored here
    snapshot: dict[str, Any] | None = None  # run id and step, also in run.json and the model file


def to_bytes(state: TrainingState) -> bytes:
    tensors: dict[str, torch.Tensor] = {}
    for name in state.networks:
        tensors |= {f"{name}.{key}": value for key, value in state.networks[name].items()}
    for name in state.optimisers:
        for index, moments in state.optimisers[name]["state"].items():
            tensors |= {f"{name}.{index}.{key}": torch.as_tensor(value) for key, value in moments.items()}
    for rank, rng_state in enumerate(state.rng_states):
        tensors[f"rng.{rank}"] = rng_state
    best_step = best_distance = best_scale = None
    if state.best is not None:
        best_distance, best_step, best_scale = state.best.distance, state.best.step, state.best.latent_scale
        tensors |= {f"best.generator.{k}": v for k, v in state.best.generator.items()}
        tensors |= {f"best.discriminator.{k}": v for k, v in state.best.discriminator.items()}
    header = {
        "step": state.step,
        "history": state.history,
        "warnings": state.warnings,
        "best_step": best_step,
        "best_distance": best_distance,
        "best_latent_scale": best_scale,
        "world_size": state.world_size,
        "param_groups": {name: state.optimisers[name]["param_groups"] for name in state.optimisers},
        "networks": list(state.networks),
        "snapshot": state.snapshot,
    }
    tensors = {key: value.detach().cpu().contiguous() for key, value in tensors.items()}
    return save(tensors, metadata={"format": FORMAT, "format_version": str(FORMAT_VERSION), "state": json.dumps(header)})


def save_checkpoint(run_dir: Path, state: TrainingState) -> None:
    atomic_write_bytes(Path(run_dir) / CHECKPOINT_FILE, to_bytes(state))


def load_checkpoint(run_dir: Path, limit: int | None = None) -> TrainingState:
    """Read a checkpoint strictly: its format, version and every part must be there; a file
    over `limit` bytes (what the run's declared model can need) is refused before reading."""
    from .rundir import read_regular, safetensors_metadata

    path = Path(run_dir) / CHECKPOINT_FILE
    try:
        raw = read_regular(path, limit)
    except FileNotFoundError:
        raise InputError(f"{path}: no training checkpoint to resume from") from None
    try:
        tensors = load(raw)
        metadata = safetensors_metadata(raw)
    except (SafetensorError, ValueError) as error:  # JSON and UTF-8 decoding errors are ValueErrors
        raise InputError(f"{path}: not a readable checkpoint ({error})") from None
    if metadata.get("format") != FORMAT:
        raise InputError(f"{path}: not a vp training checkpoint")
    if metadata.get("format_version") != str(FORMAT_VERSION):
        raise InputError(
            f"{path}: checkpoint format version {metadata.get('format_version')!r}, this vp reads {FORMAT_VERSION}"
        )
    try:
        header = json.loads(metadata["state"])
        state = _unpack(tensors, header)
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: incomplete checkpoint ({error})") from None
    return state


def _unpack(tensors: dict[str, torch.Tensor], header: dict[str, Any]) -> TrainingState:
    def section(prefix: str) -> dict[str, torch.Tensor]:
        return {key[len(prefix) :]: value for key, value in tensors.items() if key.startswith(prefix)}

    # Checkpoints written before trainers could add networks name only the two of the GAN.
    names = header.get("networks", list(_NETWORKS))
    if not set(_NETWORKS) <= set(names):
        raise ValueError("generator or discriminator missing")
    networks = {name: section(f"{name}.") for name in names}
    optimisers = {}
    for name in header["param_groups"]:
        moments: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in section(f"{name}.").items():
            index, moment = key.split(".", 1)
            moments.setdefault(int(index), {})[moment] = value
        optimisers[name] = {"state": moments, "param_groups": header["param_groups"][name]}
    world_size = int(header["world_size"])
    rng_states = [tensors[f"rng.{rank}"] for rank in range(world_size)]
    best = None
    if header["best_step"] is not None:
        from .monitor import Selection

        best = Selection(float(header["best_distance"]), int(header["best_step"]), section("best.generator."),
                         section("best.discriminator."), float(header.get("best_latent_scale") or 1.0))
    if not all(networks.values()):
        raise ValueError("network weights missing")
    return TrainingState(
        step=int(header["step"]), networks=networks, optimisers=optimisers, rng_states=rng_states,
        history=list(header["history"]), warnings=list(header["warnings"]), best=best, world_size=world_size,
        snapshot=header.get("snapshot"),
    )
