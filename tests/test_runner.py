import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import kill_training_at_random_moments
import torch
from safetensors.torch import load_file

from virtualpatients.gan.run import load_run
from virtualpatients.gan.config import TrainConfig
from virtualpatients.errors import Diverged, InputError, Interrupted
from virtualpatients.data.fasta import read_cohort
from virtualpatients.data.splits import class_indices
from virtualpatients.gan.state import CHECKPOINT_FILE, load_checkpoint, save_checkpoint
from virtualpatients.gan.fit import resume, train as train_run
from virtualpatients.gan.train import train

SMALL = dict(hidden=(32,), noise_dim=8, batch_size=8, device="cpu", log_every=5)


def stop_after(calls: int):
    """A should_stop that asks to stop after `calls` steps, as a signal would."""
    seen = []

    def should_stop():
        seen.append(1)
        return "SIGINT" if len(seen) >= calls else None

    return should_stop


@pytest.mark.parametrize(
    "recipe",
    [
        dict(trainer="gan", loss="gan", holdout=True),
        dict(trainer="vae-gan", holdout=True, latent_scales=(0.9, 1.0, 1.1), kl_warmup=10),
        dict(trainer="gan", loss="wgan-gp", critic_steps=2, output="gumbel", spectral_norm=True, minibatch_std=True, instance_noise=0.1),
    ],
)
def test_interrupted_then_resumed_ends_bit_identical_to_uninterrupted(two_class_cohort, tmp_path, recipe):
    cohort = read_cohort([two_class_cohort], label_key="label")
    names, classes = class_indices(cohort.labels)
    holdout = recipe.pop("holdout", False)
    config = TrainConfig(steps=30, checkpoint_every=10, **SMALL, **recipe)
    arguments = dict(labels=classes, n_classes=len(names))
    if holdout:
        arguments |= dict(holdout=cohort.indices[::4], holdout_labels=classes[::4])
    uninterrupted = train(cohort.indices, 4, config, **arguments)

    saved = []
    with pytest.raises(Interrupted) as stop:
        train(cohort.indices, 4, config, on_checkpoint=saved.append, should_stop=stop_after(17), **arguments)
    assert stop.value.step == 17 and [s.step for s in saved] == [0, 10, 17]
    save_checkpoint(tmp_path, saved[-1])  # through the file, as `vp train --resume` reads it
    resumed = train(cohort.indices, 4, config, resume=load_checkpoint(tmp_path), **arguments)

    assert ("encoder" in saved[-1].networks) == (config.trainer == "vae-gan")
    for network in ("generator", "discriminator"):
        expected = getattr(uninterrupted, network).state_dict()
        for name, value in getattr(resumed, network).state_dict().items():
            assert torch.equal(value, expected[name]), (network, name)
    assert resumed.history == uninterrupted.history
    assert resumed.selected_step == uninterrupted.selected_step


def test_a_checkpoint_from_another_number_of_processes_is_refused(tiny_cohort, tmp_path):
    cohort = read_cohort([tiny_cohort])
    saved = []
    train(cohort.indices, 4, TrainConfig(steps=3, **SMALL), on_checkpoint=saved.append)
    saved[-1].world_size = 2
    saved[-1].rng_states *= 2
    with pytest.raises(InputError, match="written by 2 process"):
        train(cohort.indices, 4, TrainConfig(steps=6, **SMALL), resume=saved[-1])


def test_divergence_stops_with_a_message_and_keeps_the_last_good_checkpoint(tiny_cohort, tmp_path):
    cohort = read_cohort([tiny_cohort])
    config = TrainConfig(steps=50, lr=1e30, checkpoint_every=1, **SMALL)
    with pytest.raises(Diverged, match=r"diverged at step \d+") as stop:
        train_run(cohort, config, run_dir=tmp_path / "run")
    assert stop.value.last_good_step is not None and stop.value.last_good_step < stop.value.step
    run = load_run(tmp_path / "run")
    assert run.discriminator is None  # the model file holds the generator; the checkpoint has both
    weights = [*run.generator.parameters(), *load_checkpoint(tmp_path / "run").networks["discriminator"].values()]
    assert all(torch.isfinite(p).all() for p in weights)
    assert load_checkpoint(tmp_path / "run").step < 50


def test_resume_checks_the_data_and_the_options(tiny_cohort, tmp_path):
    cohort = read_cohort([tiny_cohort])
    train_run(cohort, TrainConfig(steps=10, **SMALL), run_dir=tmp_path / "run")
    with pytest.raises(InputError, match="finished its 10 steps"):
        resume(tmp_path / "run")
    with pytest.raises(InputError, match="already at step 10"):
        resume(tmp_path / "run", steps=5)
    other = tmp_path / "other.fasta"
    other.write_text(tiny_cohort.read_text().replace("A", "C", 1))
    with pytest.raises(InputError, match="differ from what"):
        resume(tmp_path / "run", [other], 20)
    result = resume(tmp_path / "run", steps=20)
    assert result.history[-1]["step"] == 20
    metadata = json.loads((tmp_path / "run" / "run.json").read_text())
    assert (metadata["steps_done"], metadata["resumed_from_step"]) == (20, 10)
    with pytest.raises(InputError, match="already holds a run"):
        train_run(cohort, TrainConfig(steps=10, **SMALL), run_dir=tmp_path / "run")


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda raw: b"", "not a readable checkpoint"),
        (lambda raw: raw[: len(raw) // 2], "not a readable checkpoint"),
        (lambda raw: b">not\nACGT\n" * 40, "not a readable checkpoint"),
    ],
)
def test_a_damaged_checkpoint_is_refused_with_the_reason(tiny_cohort, tmp_path, damage, message):
    cohort = read_cohort([tiny_cohort])
    train_run(cohort, TrainConfig(steps=4, **SMALL), run_dir=tmp_path / "run")
    path = tmp_path / "run" / CHECKPOINT_FILE
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(InputError, match=message):
        resume(tmp_path / "run", steps=8)


def test_a_checkpoint_of_another_format_version_is_refused(tiny_cohort, tmp_path):
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(1)}, str(tmp_path / CHECKPOINT_FILE), metadata={"format": "vp-checkpoint",
                                                                             "format_version": "7"})
    with pytest.raises(InputError, match="format version '7'"):
        load_checkpoint(tmp_path)
    save_file({"x": torch.zeros(1)}, str(tmp_path / CHECKPOINT_FILE))
    with pytest.raises(InputError, match="not a vp training checkpoint"):
        load_checkpoint(tmp_path)


def vp_process(*arguments: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "virtualpatients", *arguments], cwd=cwd, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.mark.parametrize("signal_number, exit_code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_saves_says_how_to_resume_and_resuming_ends_where_an_uninterrupted_run_ends(
    tiny_cohort, tmp_path, signal_number, exit_code
):
    common = ["--hidden", "32", "--noise-dim", "8", "--batch-size", "8", "--device", "cpu", "--checkpoint-every", "1000"]
    process = vp_process("train", str(tiny_cohort), "--steps", "1000000", *common, "-o", "run", cwd=tmp_path)
    wait_for(tmp_path / "run" / "run.json", process)
    time.sleep(0.5)
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == exit_code, stderr
    assert "checkpoint saved in run" in stderr and "continue with: vp train --resume run" in stderr
    stopped_at = load_checkpoint(tmp_path / "run").step
    assert stopped_at > 0
    if signal_number != signal.SIGINT:
        return  # the rest does not depend on which signal stopped the run

    final = stopped_at + 15
    resumed = subprocess.run([sys.executable, "-m", "virtualpatients", "train", "--resume", "run", "--steps", str(final)],
                             cwd=tmp_path, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    straight = subprocess.run([sys.executable, "-m", "virtualpatients", "train", str(tiny_cohort), "--steps", str(final),
                               *common, "-o", "straight"], cwd=tmp_path, capture_output=True, text=True)
    assert straight.returncode == 0, straight.stderr
    first, second = load_file(str(tmp_path / "run" / "model.safetensors")), load_file(
        str(tmp_path / "straight" / "model.safetensors"))
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


def test_kill_9_at_random_moments_never_leaves_a_run_that_cannot_be_loaded(tiny_cohort, tmp_path):
    kills = 20
    kill_training_at_random_moments(tiny_cohort, tmp_path, kills, "steps=100000, checkpoint_every=1, hidden=(64,), "
                                    "noise_dim=8, batch_size=8, device='cpu', log_every=3")
    loaded = 0
    for number in range(kills):
        run_dir = tmp_path / f"run{number}"
        if not run_dir.exists():  # killed before the first checkpoint: no run, nothing half-written
            continue
        run = load_run(run_dir)
        state = load_checkpoint(run_dir)
        assert state.step >= 0 and run.length == 60
        assert all(bool(torch.isfinite(p).all()) for p in run.generator.parameters())
        loaded += 1
    partial = [p.name for p in tmp_path.iterdir() if ".partial-" in p.name]
    assert loaded + len(partial) <= kills
    assert loaded >= kills // 2, (loaded, sorted(os.listdir(tmp_path)))
