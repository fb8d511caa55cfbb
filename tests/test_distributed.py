import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from virtualpatients.gan import distributed
from virtualpatients.gan.distributed import Topology
from virtualpatients.errors import InputError


def torchrun(*arguments: str, timeout: int = 180) -> subprocess.CompletedProcess:
    """Two CPU processes on this machine, as a user would start them."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def test_shards_are_disjoint_cover_every_row_and_depend_on_the_seed():
    shards = [distributed.shard(11, Topology(rank, 3), seed=4) for rank in range(3)]
    assert sorted(np.concatenate(shards).tolist()) == list(range(11))
    assert sorted(len(s) for s in shards) == [3, 4, 4]
    assert not np.array_equal(distributed.shard(11, Topology(0, 3), seed=5), shards[0])
    assert distributed.shard(5, Topology(), seed=4).tolist() == [0, 1, 2, 3, 4]


def test_too_many_processes_for_the_data_is_a_clean_error():
    with pytest.raises(InputError, match="use fewer processes"):
        distributed.shard(5, Topology(0, 3), seed=0)


def test_each_rank_has_its_own_noise_stream_and_rank_zero_keeps_the_seed():
    seeds = {distributed.rank_seed(7, Topology(rank, 4)) for rank in range(4)}
    assert len(seeds) == 4 and distributed.rank_seed(7, Topology(0, 4)) == 7


def test_environment_without_torchrun_is_one_process(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    topology = distributed.from_environment()
    assert topology == Topology() and topology.is_main and not topology.distributed
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(InputError, match="must be integers"):
        distributed.from_environment()


WORKER = """
import hashlib, os, sys
import numpy as np
from virtualpatients.gan.config import TrainConfig
from virtualpatients.data.fasta import read_cohort
from virtualpatients.data.splits import class_indices
from virtualpatients.gan.train import train

cohort = read_cohort([sys.argv[1]])
names, classes = class_indices(cohort.labels)
config = TrainConfig(steps=12, batch_size=8, hidden=(32,), noise_dim=8, device="cpu", log_every=4,
                     trainer="vae-gan" if sys.argv[3] == "vae-gan" else "gan",
                     loss="wgan-gp" if sys.argv[3] == "wgan-gp" else "gan", critic_steps=2 if sys.argv[3] == "wgan-gp" else 1,
                     spectral_norm=True, minibatch_std=True, output="gumbel")
result = train(cohort.indices, 4, config, labels=classes, n_classes=len(names))
digest = hashlib.sha256()
for name, value in sorted(result.generator.state_dict().items()):
    digest.update(value.numpy().tobytes())
for name, value in sorted(result.discriminator.state_dict().items()):
    if "parametrizations" not in name or name.endswith("original"):  # power-iteration vectors are per rank
        digest.update(value.numpy().tobytes())
with open(os.path.join(sys.argv[2], f"rank{os.environ['RANK']}.txt"), "w") as out:
    out.write(f"{digest.hexdigest()} {result.world_size} {len(result.history)}")
"""


@pytest.mark.parametrize("loss", ["gan", "wgan-gp", "vae-gan"])
def test_two_processes_average_gradients_and_end_with_identical_weights(two_class_cohort, tmp_path, loss):
    worker = tmp_path / "worker.py"
    worker.write_text(textwrap.dedent(WORKER))
    completed = torchrun(str(worker), str(two_class_cohort), str(tmp_path), loss)
    assert completed.returncode == 0, completed.stderr[-3000:]
    rank0 = (tmp_path / "rank0.txt").read_text().split()
    rank1 = (tmp_path / "rank1.txt").read_text().split()
    # Each rank trains on its own shard with its own noise: only averaged gradients keep the
    # weights equal. Only rank 0 keeps the history.
    assert rank0[0] == rank1[0]
    assert rank0[1] == rank1[1] == "2"
    assert (rank0[2], rank1[2]) == ("4", "0")


def test_torchrun_vp_train_writes_one_run_that_loads_and_generates(tiny_cohort, tmp_path):
    run_dir = tmp_path / "ddp-run"
    completed = torchrun(
        "-m", "virtualpatients", "train", str(tiny_cohort), "--steps", "15", "--batch-size", "8",
        "--hidden", "32", "--noise-dim", "8", "--device", "cpu", "-o", str(run_dir),
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stderr.count("wrote run to") == 1  # rank 0 alone reports and writes
    metadata = json.loads((run_dir / "run.json").read_text())
    assert metadata["processes"] == 2
    generated = subprocess.run(
        [sys.executable, "-m", "virtualpatients", "generate", "-n", "7", "--model", str(run_dir)],
        capture_output=True, text=True, timeout=120,
    )
    assert generated.returncode == 0, generated.stderr
    assert generated.stdout.count(">") == 7
    assert Path(".vp-last-run").exists()
