"""One writer per run folder, and --force that never loses the old run before the new one exists."""

import os
import subprocess
import sys
import time

import pytest
from conftest import kill_training_at_random_moments

from virtualpatients.errors import InputError
from virtualpatients.gan.run import load_run
from virtualpatients.runlock import RunBusy, lock_path, run_lock, writer_active

HOLD = """
import sys, time
from virtualpatients.runlock import run_lock
with run_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_second_holder_is_refused_at_once_with_who_holds_it(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "run"), "30"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert writer_active(tmp_path / "run")
        started = time.perf_counter()
        with pytest.raises(RunBusy, match=rf"is being written by pid {holder.pid} on .* wait for it"):
            with run_lock(tmp_path / "run"):
                pass
        assert time.perf_counter() - started < 1
    finally:
        holder.kill()
        holder.wait()
    # The operating system released the lock of the killed holder: nothing stale to clean.
    assert not writer_active(tmp_path / "run")
    with run_lock(tmp_path / "run"):
        with run_lock(tmp_path / "run"):  # the CLI and the library call in one process: re-entrant
            assert lock_path(tmp_path / "run").read_text().startswith(f"pid {os.getpid()} ")
    assert issubclass(RunBusy, InputError)  # exit 2


def test_two_vp_train_on_one_folder_one_trains_the_other_exits_2(tiny_cohort, tmp_path):
    command = [sys.executable, "-m", "virtualpatients", "train", str(tiny_cohort), "--steps", "400", "--hidden", "32",
               "--noise-dim", "8", "--batch-size", "16", "--device", "cpu", "--checkpoint-every", "20", "-o", "same"]
    first = subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not writer_active(tmp_path / "same") and time.time() < deadline:
        time.sleep(0.05)
    second = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert second.returncode == 2, second.stderr
    assert f"same is being written by pid {first.pid}" in second.stderr
    assert "wrote run to" not in second.stderr
    _, errors = first.communicate(timeout=240)
    assert first.returncode == 0, errors[-2000:]
    assert load_run(tmp_path / "same").metadata["steps_done"] == 400


OLD_RUNS = """
import sys
from pathlib import Path
from virtualpatients.data.fasta import read_cohort
from virtualpatients.gan.config import TrainConfig
from virtualpatients.gan.fit import train
cohort = read_cohort([sys.argv[1]])
for number in range(int(sys.argv[3])):
    train(cohort, TrainConfig(steps=2, hidden=(16,), noise_dim=4, batch_size=8, device="cpu"),
          run_dir=Path(sys.argv[2]) / f"run{number}")
"""


def test_force_killed_at_any_moment_leaves_the_old_run_or_the_new_one(tiny_cohort, tmp_path):
    kills = 10
    made = subprocess.run([sys.executable, "-c", OLD_RUNS, str(tiny_cohort), str(tmp_path), str(kills)],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr[-2000:]
    kill_training_at_random_moments(tiny_cohort, tmp_path, kills, "steps=100000, checkpoint_every=1, hidden=(64, 64), "
                                    "noise_dim=8, batch_size=8, device='cpu'", force=True, seed=1, max_wait=0.5)
    shapes = []
    for number in range(kills):
        run = load_run(tmp_path / f"run{number}")  # never missing, never of mixed shapes
        shapes.append(run.spec.hidden)
    assert set(shapes) <= {(16,), (64, 64)}, shapes


def test_model_and_run_json_of_different_runs_are_refused_and_of_one_run_load(tiny_cohort, tmp_path):
    import json
    import shutil

    import virtualpatients as vp
    from virtualpatients.gan.config import TrainConfig

    config = TrainConfig(steps=4, hidden=(8,), noise_dim=4, batch_size=8, device="cpu", checkpoint_every=2)
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        vp.train(vp.read_cohort(tiny_cohort), config, run_dir=folder)
    snapshot = json.loads((first / "run.json").read_text())["snapshot"]
    assert snapshot["step"] == 4 and len(snapshot["run_id"]) == 32
    older = tmp_path / "older"
    shutil.copytree(first, older)  # run.json of step 2 beside the model of step 4: a cut checkpoint
    run = json.loads((older / "run.json").read_text())
    (older / "run.json").write_text(json.dumps({**run, "snapshot": {**snapshot, "step": 2}}))
    assert load_run(older).spec.hidden == (8,)
    shutil.copy(second / "model.safetensors", first / "model.safetensors")
    with pytest.raises(InputError, match="model.safetensors and run.json belong to different runs"):
        load_run(first)


def test_a_new_run_folder_gets_the_permissions_mkdir_would_give(tiny_cohort, tmp_path):
    import stat

    import virtualpatients as vp
    from virtualpatients.atomic import current_umask
    from virtualpatients.gan.config import TrainConfig

    vp.train(vp.read_cohort(tiny_cohort), TrainConfig(steps=2, hidden=(8,), noise_dim=4, batch_size=8, device="cpu"),
             run_dir=tmp_path / "run")
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o777 & ~current_umask()  # not mkdtemp's 0700
