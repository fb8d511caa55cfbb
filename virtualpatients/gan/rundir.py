"""Run directories: safetensors weights + run.json metadata + history.csv; no pickle anywhere."""

from __future__ import annotations

import csv
import math
import functools
import io
import json
import platform
import stat
import time
from dataclasses import asdict
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from .. import __version__
from ..atomic import atomic_write_bytes
from .config import TrainConfig, config_from_dict
from ..data.encoding import BASES, BASES_WITH_GAP
from ..errors import InputError
from .model import Discriminator, Generator, ModelSpec, build_models, check_spec, model_bytes

FORMAT = "vp-run"
FORMAT_VERSION = 1
MODEL_FILE = "model.safetensors"
RUN_FILE = "run.json"
HISTORY_FILE = "history.csv"


@functools.lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    """Looked up once per process: importlib.metadata scans site-packages, slow beside frequent
    checkpoints."""
    versions = {"python": platform.python_version(), "virtualpatients": __version__}
    for name in ("torch", "numpy", "biopython", "safetensors"):
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def history_csv(history: list[dict[str, float]]) -> bytes:
    if not history:
        return b""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(history[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    return buffer.getvalue().encode()


def save_weights(run_dir: Path, generator_state: dict, snapshot: dict[str, Any] | None = None) -> None:
    """The generator only: it is all that generation needs (the discriminator, needed to go on
    training, is in checkpoint.safetensors), so a run to share or keep is a fraction of the size.
    `snapshot` (run id and step) is also in run.json: loading checks that the two agree."""
    tensors = {f"generator.{k}": v.detach().cpu().contiguous() for k, v in generator_state.items()}
    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION)}
    if snapshot is not None:
        metadata["snapshot"] = json.dumps(snapshot, sort_keys=True)
    atomic_write_bytes(Path(run_dir) / MODEL_FILE, save(tensors, metadata=metadata))


def save_metadata(
    run_dir: Path, spec: ModelSpec, config: TrainConfig, history: list[dict[str, float]], metadata: dict[str, Any]
) -> None:
    """history.csv, then run.json: run.json is written last, so a folder that has one is a run."""
    run = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": config.to_dict(),
        "model": {**asdict(spec), "hidden": list(spec.hidden)},
        "versions": package_versions(),
        **metadata,
    }
    atomic_write_bytes(Path(run_dir) / HISTORY_FILE, history_csv(history))
    atomic_write_bytes(Path(run_dir) / RUN_FILE, (json.dumps(run, indent=2) + "\n").encode())


def read_run_json(run_dir: Path) -> dict[str, Any]:
    return _read_run_json(Path(run_dir))


RUN_FILE_MAX = 64 * 2**20  # run.json: metadata and history rows, never near this
HEADER_MAX = 16 * 2**20  # a safetensors header: tensor names, shapes and a JSON state


def read_regular(path: Path, limit: int | None = None) -> bytes:
    """A regular file's bytes (not a device, FIFO or folder: /dev/zero would read forever), at
    most `limit` of them, checked before reading."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise
    except OSError as error:
        raise InputError(f"{path}: cannot read ({error.strerror or error})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise InputError(f"{path}: {kind}")
    if limit is not None and info.st_size > limit:
        raise InputError(f"{path}: {info.st_size} bytes, more than the {limit} a vp file of this kind can hold")
    try:
        with open(path, "rb") as stream:
            return stream.read() if limit is None else stream.read(limit + 1)
    except OSError as error:
        raise InputError(f"{path}: cannot read ({error.strerror or error})") from None


def _read_run_json(run_dir: Path) -> dict[str, Any]:
    path = run_dir / RUN_FILE
    try:
        run = json.loads(read_regular(path, RUN_FILE_MAX))
    except FileNotFoundError:
        raise InputError(f"{run_dir}: not a vp run directory ({RUN_FILE} is missing)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: unreadable run metadata ({error})") from None
    if not isinstance(run, dict) or run.get("format") != FORMAT:
        raise InputError(f"{path}: not a vp run file")
    if run.get("format_version") != FORMAT_VERSION:
        raise InputError(
            f"{path}: run format version {run.get('format_version')!r}, this vp reads version {FORMAT_VERSION}"
        )
    return run


def _spec_from(run: dict[str, Any], path: Path) -> ModelSpec:
    try:
        model = run["model"]
        spec = ModelSpec(
            length=int(model["length"]),
            n_channels=int(model["n_channels"]),
            noise_dim=int(model["noise_dim"]),
            hidden=tuple(int(h) for h in model["hidden"]),
            leaky_slope=float(model["leaky_slope"]),
            n_classes=int(model.get("n_classes", 0)),
            spectral_norm=bool(model.get("spectral_norm", False)),
            minibatch_std=bool(model.get("minibatch_std", False)),
            class_bias=bool(model.get("class_bias", False)),
            prior_components=int(model.get("prior_components", 0)),
        )
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        raise InputError(f"{path}: incomplete model description ({error})") from None
    check_spec(spec, str(path))
    if run.get("alphabet") not in (BASES, BASES_WITH_GAP) or len(run["alphabet"]) != spec.n_channels:
        raise InputError(f"{path}: alphabet {run.get('alphabet')!r} does not match {spec.n_channels} channels")
    classes = run.get("classes") or []
    if len(classes) != spec.n_classes:
        raise InputError(f"{path}: {len(classes)} class names for a model of {spec.n_classes} classes")
    columns = run.get("columns")
    if columns is None:
        if run.get("length") != spec.length:
            raise InputError(f"{path}: length {run.get('length')} does not match the model's {spec.length}")
        return spec
    try:
        positions, template = list(columns["positions"]), str(columns["template"])
    except (KeyError, TypeError) as error:
        raise InputError(f"{path}: incomplete column description ({error})") from None
    length = run.get("length")
    if not isinstance(length, int) or len(template) != length or set(template) - set(run["alphabet"]):
        raise InputError(f"{path}: the template does not match length {length} and alphabet {run['alphabet']!r}")
    if len(positions) != spec.length or positions != sorted(set(positions)) or \
            not all(isinstance(p, int) and 0 <= p < length for p in positions):
        raise InputError(f"{path}: {len(positions)} modelled positions do not fit a model of {spec.length} "
                         f"within length {length}")
    return spec


def spec_from(run: dict[str, Any], run_dir: Path) -> ModelSpec:
    """The model run.json declares, range-checked and within the memory budget."""
    return _spec_from(run, Path(run_dir) / RUN_FILE)


def read_networks(
    run_dir: Path, device: str | torch.device = "cpu"
) -> tuple[ModelSpec, TrainConfig, dict[str, Any], Generator, Discriminator | None]:
    """Rebuild both networks from a run directory; every weight must be present and fit exactly."""
    run_dir = Path(run_dir)
    run, spec, tensors = _consistent_snapshot(run_dir)
    weights_path = run_dir / MODEL_FILE
    config = config_from_dict(run.get("config"))
    generator, discriminator = build_models(spec)
    # Runs written before the model file held the generator only also carry the discriminator.
    with_discriminator = any(k.startswith("discriminator.") for k in tensors)
    networks = [("generator.", generator)] + ([("discriminator.", discriminator)] if with_discriminator else [])
    for prefix, network in networks:
        state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            network.load_state_dict(state, strict=True)
        except RuntimeError as error:
            first_line = str(error).strip().splitlines()
            raise InputError(
                f"{weights_path}: weights do not fit the {prefix[:-1]} described in run.json "
                f"({' '.join(line.strip() for line in first_line[:3])})"
            ) from None
    unexpected = [k for k in tensors if not k.startswith(("generator.", "discriminator."))]
    if unexpected:
        raise InputError(f"{weights_path}: unexpected tensors {unexpected[:3]}")
    generator.to(device).eval()
    if not with_discriminator:
        return spec, config, run, generator, None
    discriminator.to(device).eval()
    return spec, config, run, generator, discriminator


def _consistent_snapshot(run_dir: Path) -> tuple[dict[str, Any], ModelSpec, dict[str, torch.Tensor]]:
    """run.json, the model it declares and the weights, of one snapshot. A writer replaces the files one by one (each
    atomically), so a reader may catch them mid-checkpoint: it reads again while the writer
    holds the folder. Files of two different runs are refused; a newer model beside an older
    run.json of the same run (a checkpoint cut short by a kill) has the shapes run.json describes."""
    from ..runlock import writer_active

    run = _read_run_json(run_dir)
    for attempt in range(100):
        spec = _spec_from(run, run_dir / RUN_FILE)
        raw = _model_bytes(run_dir, spec)
        header = _model_metadata(raw, run_dir / MODEL_FILE)
        ours, theirs = run.get("snapshot"), _parsed(header.get("snapshot"))
        if not isinstance(ours, dict) or theirs is None or theirs == ours:
            break
        if not writer_active(run_dir):
            if theirs.get("run_id") != ours.get("run_id"):
                raise InputError(f"{run_dir}: {MODEL_FILE} and {RUN_FILE} belong to different runs (a replacement "
                                 "of the folder did not finish); train it again")
            break
        time.sleep(0.05)
        run = _read_run_json(run_dir)
    try:
        return run, spec, load(raw)
    except (SafetensorError, ValueError) as error:
        raise InputError(f"{run_dir / MODEL_FILE}: not a readable safetensors file ({error})") from None


def _parsed(text: str | None) -> dict | None:
    try:
        value = json.loads(text) if text else None
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _model_bytes(run_dir: Path, spec: ModelSpec) -> bytes:
    """The model file's bytes, after checking that its size fits the model run.json declares
    (checked against the memory budget already), so nothing large is read or allocated first."""
    path = run_dir / MODEL_FILE
    generator_bytes, _ = model_bytes(spec)
    try:
        size = path.stat().st_size if path.is_file() else None
        if size is not None and size < generator_bytes:
            raise InputError(f"{path}: {size} bytes, too small for the generator run.json describes "
                             f"({generator_bytes} bytes of weights)")
        return read_regular(path, generator_bytes * 3 + HEADER_MAX)  # older runs also hold the discriminator
    except FileNotFoundError:
        raise InputError(f"{path}: missing model weights") from None


def safetensors_metadata(raw: bytes, limit: int | None = None) -> dict[str, str]:
    """The metadata of a safetensors file's bytes (safetensors.torch.load returns only the
    tensors); ValueError when the header is not there, over `limit` bytes or not JSON."""
    size = int.from_bytes(raw[:8], "little") if len(raw) >= 8 else 0
    if not 0 < size <= min(len(raw) - 8, limit or len(raw)):
        raise ValueError(f"header size {size}")
    header = json.loads(raw[8 : 8 + size])
    if not isinstance(header, dict):
        raise ValueError("the header is not a JSON object")
    metadata = header.get("__metadata__") or {}
    return metadata if isinstance(metadata, dict) else {}


def _model_metadata(raw: bytes, path: Path) -> dict[str, str]:
    try:
        return safetensors_metadata(raw, HEADER_MAX)
    except ValueError as error:  # JSON and UTF-8 decoding errors are ValueErrors too
        raise InputError(f"{path}: not a readable safetensors file ({error})") from None


def read_history(run_dir: Path) -> list[dict[str, float]]:
    """Rows of a run's history.csv as floats (an empty cell is NaN); no file or an empty one gives []."""
    history: list[dict[str, float]] = []
    path = Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        return history
    with open(path, newline="") as stream:
        for line, row in enumerate(csv.DictReader(stream), start=2):
            try:
                history.append({k: float(v) if v not in ("", None) else math.nan for k, v in row.items()})
            except (TypeError, ValueError):
                raise InputError(f"{path}: line {line}: not a number in {dict(row)}") from None
    return history
