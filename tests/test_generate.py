import numpy as np
import pytest
import torch
from Bio import SeqIO

from virtualpatients.gan.run import Run
from virtualpatients.gan.config import TrainConfig
from virtualpatients.gan.generate import generate_fasta, generate_indices
from virtualpatients.gan.model import ModelSpec, build_models


@pytest.fixture
def run(tmp_path):
    torch.manual_seed(0)
    spec = ModelSpec(length=75, n_channels=4, noise_dim=4, hidden=(8,))
    generator, discriminator = build_models(spec)
    return Run(generator.eval(), discriminator, spec, TrainConfig(), {"alphabet": "ATCG"}, path=tmp_path / "myrun")


def test_last_partial_chunk_is_kept(run):
    chunks = [indices for indices, classes in generate_indices(run, 10, batch_size=3)]
    assert [len(c) for c in chunks] == [3, 3, 3, 1]
    assert all(c.dtype == np.uint8 and c.shape[1] == 75 and c.max() < 4 for c in chunks)
    assert list(generate_indices(run, 0)) == []


def test_same_seed_same_bytes_and_other_seed_differs(run):
    first = b"".join(generate_fasta(run, 20, seed=3))
    assert first == b"".join(generate_fasta(run, 20, seed=3))
    assert first != b"".join(generate_fasta(run, 20, seed=4))


def test_fasta_output_ids_and_description(run, tmp_path):
    path = tmp_path / "g.fasta"
    path.write_bytes(b"".join(generate_fasta(run, 12, seed=1, batch_size=5)))
    records = list(SeqIO.parse(path, "fasta"))
    assert [r.id for r in records] == [f"vp_{i:06d}" for i in range(1, 13)]
    assert records[0].description == "vp_000001 model=myrun seed=1 decode=sample"  # Gumbel models sample
    assert all(len(r.seq) == 75 and set(str(r.seq)) <= set("ACGT") for r in records)


def test_argmax_is_the_mode_and_sampling_follows_the_softmax(run):
    with torch.no_grad():
        noise = torch.randn(1, 4)
    # Make the generator ignore noise and prefer base T (index 1) with probability ~0.7 everywhere.
    last = run.generator.net[-1]
    with torch.no_grad():
        for module in run.generator.net:
            if isinstance(module, torch.nn.Linear):
                module.weight.zero_()
        bias = torch.log(torch.tensor([0.1, 0.7, 0.1, 0.1])).repeat(75)
        last.bias.copy_(bias)
    assert run.generator(noise).argmax(-1).eq(1).all()
    argmax = np.concatenate([c for c, _ in generate_indices(run, 200, seed=0)])
    assert (argmax == 1).all()
    sampled = np.concatenate([c for c, _ in generate_indices(run, 200, seed=0, sample=True)])
    share = np.bincount(sampled.ravel(), minlength=4) / sampled.size
    np.testing.assert_allclose(share, [0.1, 0.7, 0.1, 0.1], atol=0.01)


def test_a_collapsed_or_label_blind_model_is_called_out(tmp_path):
    import torch

    from virtualpatients.gan.config import TrainConfig
    from virtualpatients.gan.model import ModelSpec, build_models
    from virtualpatients.gan.run import Run

    torch.manual_seed(0)
    spec = ModelSpec(length=20, n_channels=4, noise_dim=4, hidden=(8,), n_classes=2)
    generator, discriminator = build_models(spec)
    metadata = {"alphabet": "ATCG", "classes": ["a", "b"], "class_counts": [5, 5], "selected_step": 30}
    history = [{"step": 30, "distinct_probe": 0.01}, {"step": 40, "distinct_probe": 0.9}]
    run = Run(generator.eval(), discriminator, spec, TrainConfig(), metadata, history)
    assert "collapsed" in run.collapse_warning() and "3 distinct" in run.collapse_warning()
    run.history = [{"step": 30, "distinct_probe": 0.5}]
    assert run.collapse_warning() is None

    with torch.no_grad():  # the class inputs (the last two columns of the first layer) are ignored
        generator.net[0].weight[:, -2:] = 0
    assert "labels not respected" in run.label_warning("a")
    assert "labels not respected: generated 'a'" in run.label_warning()  # no label asked: every class checked
    with torch.no_grad():  # now class `a` drives the hidden layer hard, and so the output
        generator.net[0].weight[:, -2] = 50.0
    assert run.label_warning("a") is None and run.label_warning() is None


def test_a_model_far_less_diverse_than_its_data_is_called_collapsed_though_the_probe_passed():
    from virtualpatients.gan.config import TrainConfig
    from virtualpatients.gan.model import ModelSpec, build_models
    from virtualpatients.gan.run import Run

    spec = ModelSpec(length=20, n_channels=4, noise_dim=4, hidden=(8,))
    generator, discriminator = build_models(spec)
    # 38 distinct in a probe of 256 passes the absolute 5% rule; the recorded check compares with real.
    history = [{"step": 30, "distinct_probe": 0.15}]
    check = {"distinct_fraction_generated": 0.35, "distinct_fraction_real": 0.525, "sample_size": 40,
             "mean_pairwise_identity_generated": 0.99895, "mean_pairwise_identity_real": 0.99738, "mode_collapse": True}
    metadata = {"alphabet": "ATCG", "steps_done": 30, "diversity_check": check}
    run = Run(generator.eval(), discriminator, spec, TrainConfig(), metadata, history)
    assert run.collapse_warning() == ("this model is collapsed relative to its training data: 14 distinct in a sample "
                                      "of 40 generated against 21 in 40 real; mean pairwise difference 0.10% against "
                                      "0.26%")
    run.metadata = {**metadata, "diversity_check": {**check, "mode_collapse": False}}
    assert run.collapse_warning() is None
