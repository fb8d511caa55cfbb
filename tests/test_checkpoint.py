import json

import pytest
import torch

from virtualpatients.cli.session import resolve_run_dir
from virtualpatients.gan.run import Run, load_run
from virtualpatients.gan.config import TrainConfig
from virtualpatients.errors import InputError
from virtualpatients.gan.model import ModelSpec, build_models

CONFIG = TrainConfig(steps=1, hidden=(6,), noise_dim=3)
SPEC = ModelSpec(length=5, n_channels=4, noise_dim=3, hidden=(6,))


@pytest.fixture
def run_dir(tmp_path):
    torch.manual_seed(0)
    generator, discriminator = build_models(SPEC)
    metadata = {"alphabet": "ATCG", "length": 5, "n_sequences": 2, "training_files": []}
    Run(generator, discriminator, SPEC, CONFIG, metadata, [{"step": 1, "loss_d": 1.0}]).save(tmp_path / "run")
    return tmp_path / "run", generator


def test_save_and_load_restore_every_weight(run_dir):
    path, generator = run_dir
    loaded = load_run(path)
    assert loaded.spec == SPEC and loaded.config == CONFIG and loaded.alphabet == "ATCG"
    for name, tensor in generator.state_dict().items():
        assert torch.equal(loaded.generator.state_dict()[name], tensor)
    assert (path / "history.csv").read_text().splitlines() == ["step,loss_d", "1,1.0"]
    assert not any(p.name.endswith(".tmp") for p in path.iterdir())


def _edit_run(path, **changes):
    run = json.loads((path / "run.json").read_text())
    for key, value in changes.items():
        run[key] = value
    (path / "run.json").write_text(json.dumps(run))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"format_version": 99}, "format version 99"),
        ({"format": "other"}, "not a vp run file"),
        ({"alphabet": "ATCG-"}, "does not match 4 channels"),
        ({"length": 6}, "length 6 does not match"),
        ({"model": {**SPEC.__dict__, "hidden": [7]}}, "weights do not fit the generator"),
    ],
)
def test_inconsistent_metadata_is_refused(run_dir, change, message):
    path, _ = run_dir
    _edit_run(path, **change)
    with pytest.raises(InputError, match=message):
        load_run(path)


def test_missing_corrupt_or_incomplete_weights_are_refused(run_dir, tmp_path):
    path, _ = run_dir
    weights = path / "model.safetensors"
    original = weights.read_bytes()
    weights.write_bytes(original[: len(original) // 2])
    with pytest.raises(InputError, match="too small for the generator run.json describes"):
        load_run(path)
    weights.write_bytes(b"\xff" * 8 + original[8:])  # a header size past the end of the file
    with pytest.raises(InputError, match="not a readable safetensors file"):
        load_run(path)
    from safetensors.torch import load_file, save_file

    weights.write_bytes(original)
    tensors = load_file(str(weights))
    assert not any(k.startswith("discriminator.") for k in tensors)  # generation needs the generator only
    tensors.pop("generator.net.0.bias")
    save_file(tensors, str(weights))
    with pytest.raises(InputError, match="do not fit the generator"):
        load_run(path)
    # A run written when the model file also held the discriminator still loads, strictly.
    torch.manual_seed(0)
    generator, discriminator = build_models(SPEC)
    old = {f"generator.{k}": v for k, v in generator.state_dict().items()}
    old |= {f"discriminator.{k}": v for k, v in discriminator.state_dict().items()}
    save_file(old, str(weights))
    assert load_run(path).discriminator is not None
    old.pop("discriminator.features.0.bias")
    save_file(old, str(weights))
    with pytest.raises(InputError, match="do not fit the discriminator"):
        load_run(path)
    weights.unlink()
    with pytest.raises(InputError, match="missing model weights"):
        load_run(path)
    with pytest.raises(InputError, match="not a vp run directory"):
        load_run(tmp_path / "nowhere")


def test_last_run_pointer(tmp_path):
    with pytest.raises(InputError, match="run `vp train"):
        resolve_run_dir(None, tmp_path)
    assert resolve_run_dir(tmp_path / "given", tmp_path) == tmp_path / "given"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"model": {**SPEC.__dict__, "hidden": [20000, 20000]}}, "too small for the generator run.json describes"),
        ({"model": {**SPEC.__dict__, "hidden": [1000000000]}}, r"GiB of weights, above the budget of 8.0 GiB"),
        ({"model": {**SPEC.__dict__, "length": 10**30}}, "beyond any model this vp can hold"),
        ({"model": {**SPEC.__dict__, "noise_dim": -3}}, r"noise_dim = -3 must be a positive integer"),
        ({"model": {**SPEC.__dict__, "leaky_slope": float("nan")}}, "leaky_slope = nan must be at least 0"),
        ({"config": None}, "saved config is NoneType, not a table of settings"),
        ({"config": {**CONFIG.to_dict(), "beta1": 2}}, "beta1 and beta2 must be at least 0 and below 1"),
    ],
)
def test_declared_shapes_and_numbers_are_checked_before_anything_is_allocated(run_dir, change, message):
    path, _ = run_dir
    _edit_run(path, **change)
    with pytest.raises(InputError, match=message):
        load_run(path)


def test_only_regular_files_are_read(run_dir, tmp_path):
    import os

    path, _ = run_dir
    (path / "model.safetensors").unlink()
    (path / "model.safetensors").mkdir()
    with pytest.raises(InputError, match="model.safetensors: a folder"):
        load_run(path)
    (path / "run.json").unlink()
    os.symlink("/dev/zero", path / "run.json")  # would read until memory runs out
    with pytest.raises(InputError, match="run.json: not a regular file"):
        load_run(path)


def test_a_checkpoint_too_large_for_its_model_or_of_another_shape_is_refused(tiny_cohort, tmp_path):
    import os

    import virtualpatients as vp
    from virtualpatients.gan.state import CHECKPOINT_FILE

    config = TrainConfig(steps=4, hidden=(8,), noise_dim=4, batch_size=8, device="cpu")
    small, other = tmp_path / "small", tmp_path / "other"
    vp.train(vp.read_cohort(tiny_cohort), config, run_dir=small)
    vp.train(vp.read_cohort(tiny_cohort), TrainConfig(**{**config.to_dict(), "hidden": (16,)}), run_dir=other)
    (small / CHECKPOINT_FILE).write_bytes((other / CHECKPOINT_FILE).read_bytes())
    with pytest.raises(InputError, match="the checkpoint does not fit the model its run describes"):
        vp.resume(small, steps=8)
    (small / CHECKPOINT_FILE).unlink()
    os.symlink("/dev/zero", small / CHECKPOINT_FILE)
    with pytest.raises(InputError, match="checkpoint.safetensors: not a regular file"):
        vp.resume(small, steps=8)
