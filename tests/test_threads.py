"""--threads and VP_THREADS reach torch and threadpoolctl and are recorded; the default shares the
cores with other vp processes computing on them; the same seed and thread count give bit-identical
weights whatever else runs."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info
from typer.testing import CliRunner

from safetensors.torch import load_file
from virtualpatients import threads
from virtualpatients.cli.app import app
from virtualpatients.errors import InputError
from virtualpatients.gan.model import rows

BASES = "ACGT"


@pytest.fixture(autouse=True)
def _restore_thread_pools(tmp_path, monkeypatch):
    monkeypatch.setenv(threads.REGISTRY_ENV, str(tmp_path / "registry"))
    monkeypatch.delenv(threads.ENV, raising=False)
    for variable in threads.POOL_VARIABLES:  # apply_threads sets them; monkeypatch puts them back
        monkeypatch.setenv(variable, os.environ.get(variable, ""))
        if not os.environ.get(variable):
            monkeypatch.delenv(variable)
    monkeypatch.setattr(threads, "_registration", None)
    before = torch.get_num_threads()
    yield
    threads.apply_threads(before)


def test_requested_counts_come_from_the_flag_then_the_environment(monkeypatch):
    assert threads.requested_threads(None) is None and threads.requested_threads("auto") is None
    assert threads.requested_threads("3") == 3
    monkeypatch.setenv(threads.ENV, "2")
    assert threads.requested_threads(None) == 2 and threads.requested_threads(1) == 1
    for bad in ("0", "-1", "two", "1.5"):
        with pytest.raises(InputError, match="whole number of threads"):
            threads.requested_threads(bad)


def _cohort(tmp_path, n=120, length=150, labelled=True):
    rng = np.random.default_rng(0)
    rows_ = rng.integers(0, 4, (n, length))
    path = tmp_path / "cohort.fasta"
    path.write_text("".join(f">p{i}" + (f" label={'ab'[i % 2]}" if labelled else "") + "\n"
                            + "".join(BASES[b] for b in row) + "\n" for i, row in enumerate(rows_)))
    return path


def test_the_thread_count_reaches_torch_and_threadpoolctl_and_is_recorded(tmp_path):
    data = _cohort(tmp_path, n=20, length=30)
    result = CliRunner().invoke(app, ["train", str(data), "--steps", "2", "--hidden", "8,8", "--noise-dim", "2",
                                      "--batch-size", "4", "--threads", "1", "-o", str(tmp_path / "run")])
    assert result.exit_code == 0, result.stderr
    assert torch.get_num_threads() == 1
    assert all(pool["num_threads"] == 1 for pool in threadpool_info()), threadpool_info()
    recorded = json.loads((tmp_path / "run" / "run.json").read_text())
    assert recorded["threads"] == 1 and recorded["interop_threads"] >= 1

    result = CliRunner().invoke(app, ["generate", "-n", "2", "-m", str(tmp_path / "run"), "--threads", "x"])
    assert result.exit_code == 2 and "--threads x: give a whole number" in result.stderr


def _hold_registration(env):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import time; from virtualpatients import threads; threads.register(); "
         "print('registered', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, env=env, text=True)
    assert holder.stdout.readline().strip() == "registered"
    return holder


def test_the_default_shares_the_cores_with_the_vp_processes_computing_now():
    threads.register()
    assert threads.sharing_processes() == 1 and threads.default_threads() == threads.available_cores()
    holder = _hold_registration(dict(os.environ))
    try:
        assert threads.sharing_processes() == 2
        assert threads.default_threads() == max(1, threads.available_cores() // 2)
    finally:
        holder.kill()
        holder.wait()
    assert threads.sharing_processes() == 1  # the ended process's entry is not counted, and is removed
    assert sorted(p.name for p in threads._registry().iterdir()) == [f"{os.getpid()}.cores"]


def test_torchrun_ranks_take_one_thread_each_unless_asked(monkeypatch):
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert threads.default_threads() == 1
    assert threads.use_threads("2") == 2 and torch.get_num_threads() == 2


def test_rows_is_indexing_with_a_matrix_product_for_a_backward():
    table = torch.randn(5, 700, requires_grad=True)
    index = torch.randint(0, 5, (256,), generator=torch.Generator().manual_seed(0))
    assert torch.equal(rows(table, index), table[index])  # the same values, bit for bit
    weights = torch.randn(256, 700)
    (rows(table, index) * weights).sum().backward()
    by_product = table.grad.clone()
    table.grad = None
    (table[index] * weights).sum().backward()
    assert torch.allclose(by_product, table.grad, atol=1e-5)


def _train(data, run_dir):
    result = CliRunner().invoke(app, ["train", str(data), "--steps", "60", "--batch-size", "64", "--threads", "2",
                                      "--seed", "3", "-o", str(run_dir)])
    assert result.exit_code == 0, result.stderr
    return {name: load_file(run_dir / name) for name in ("model.safetensors", "checkpoint.safetensors")}


def test_the_same_seed_and_thread_count_give_identical_weights_beside_a_busy_process(tmp_path):
    # Labelled, and batch x positions above torch's parallel grain (32,768): where the class bias
    # gathered by indexing had a backward whose sums followed the threads' finishing order.
    data = _cohort(tmp_path)
    alone = _train(data, tmp_path / "alone")
    busy = subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 60\nwhile time.time() < end: pass"])
    busy_too = subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 60\nwhile time.time() < end: pass"])
    try:
        time.sleep(0.2)
        loaded = _train(data, tmp_path / "loaded")
    finally:
        for process in (busy, busy_too):
            process.kill()
            process.wait()
    for name, tensors in alone.items():  # the kept model, and every network and optimiser moment
        assert tensors.keys() == loaded[name].keys()
        for key, value in tensors.items():
            assert torch.equal(value, loaded[name][key]), (name, key)


def test_asking_for_more_threads_than_the_share_is_warned_about():
    heard = []
    threads.register()
    holder = _hold_registration(dict(os.environ))
    try:
        threads.use_threads(str(threads.available_cores()), warn=heard.append)
    finally:
        holder.kill()
        holder.wait()
    assert len(heard) == 1 and "more threads than cores" in heard[0]
    threads.use_threads("1", warn=heard.append)
    assert len(heard) == 1


def test_openmp_spinning_is_calmed_unless_the_user_set_it(monkeypatch):
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    threads.calm_spinning()
    assert os.environ["GOMP_SPINCOUNT"] == threads.GOMP_SPINCOUNT
    monkeypatch.setenv("GOMP_SPINCOUNT", "INFINITY")
    threads.calm_spinning()
    assert os.environ["GOMP_SPINCOUNT"] == "INFINITY"
