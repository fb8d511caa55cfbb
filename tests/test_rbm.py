"""The RBM baseline (Yelmen et al. 2021) on tiny data made here: it keeps linkage and both modes of
a two-mode set, is seeded, keeps its time budget, and refuses wrong inputs with InputError."""

import json
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import virtualpatients as vp
from virtualpatients.cli.app import app
from virtualpatients.data.sequences import SequenceSet
from virtualpatients.evaluation import baselines
from virtualpatients.evaluation.baselines import RBM, fit_and_sample, make
from virtualpatients.evaluation.comparison import evaluate_baselines

SMALL = dict(hidden=16, k=1, batch_size=50, lr=1e-2, epochs=60, burn_in=100)  # about 0.3 s to fit


def two_modes(n=200, length=30, noise=0.05, seed=0):
    """Half the rows near pattern a, half near b (b differs from a at every position): every
    pair of positions is strongly linked through the mode. Returns (rows, a, b)."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, length)
    b = (a + rng.integers(1, 4, length)) % 4
    rows = np.where((np.arange(n) % 2 == 0)[:, None], a, b).astype(np.uint8)
    flipped = rng.random(rows.shape) < noise
    rows[flipped] = rng.integers(0, 4, flipped.sum())
    return rows, a, b


def as_set(rows, labels=None):
    return SequenceSet([f"s{i}" for i in range(len(rows))], rows, "ATCG", labels, origin="test")


def near(rows, pattern):
    return (rows == pattern).mean(axis=1) > 0.8


def linked(rows, a):
    """Correlation of 'position 0 is a's base' with 'position 1 is a's base'."""
    return np.corrcoef(rows[:, 0] == a[0], rows[:, 1] == a[1])[0, 1]


@pytest.fixture(scope="module")
def fitted():
    rows, a, b = two_modes()
    return RBM(**SMALL).fit(as_set(rows)), rows, a, b


def test_samples_keep_both_modes_and_the_linkage_independent_positions_lose(fitted):
    model, rows, a, b = fitted
    drawn = model.sample(1000, seed=1)
    assert drawn.indices.shape == (1000, 30) and drawn.indices.dtype == np.uint8 and drawn.labels is None
    assert drawn.ids[0] == "rbm_000001" and drawn.origin == "baseline rbm"
    assert 0.3 < near(drawn.indices, a).mean() < 0.7 and 0.3 < near(drawn.indices, b).mean() < 0.7
    independent = fit_and_sample("independent", rows, 1000, seed=1)
    assert linked(rows, a) > 0.7 and linked(drawn.indices, a) > 0.6 and abs(linked(independent, a)) < 0.15
    assert near(independent, a).mean() < 0.05  # a position weight matrix mixes the two modes


def test_the_same_seed_gives_the_same_model_and_samples(fitted):
    model, rows, _, _ = fitted
    again = RBM(**SMALL).fit(as_set(rows))
    np.testing.assert_array_equal(model.sample(200, seed=3).indices, again.sample(200, seed=3).indices)
    assert not np.array_equal(model.sample(200, seed=3).indices, model.sample(200, seed=4).indices)
    assert model.sample(0, seed=3).indices.shape == (0, 30)


def test_positions_that_never_vary_stay_fixed_and_unseen_bases_are_never_drawn():
    rows, _, _ = two_modes(n=60, length=12)
    rows[:, :3] = 2  # never varies
    rows[:, 3] = np.where(np.arange(60) % 2, 0, 3)  # two bases of four seen
    drawn = RBM(**{**SMALL, "epochs": 5, "burn_in": 5}, init="random").fit(as_set(rows)).sample(300, seed=0).indices
    assert (drawn[:, :3] == 2).all() and set(np.unique(drawn[:, 3])) <= {0, 3}
    constant = np.tile(np.uint8([1, 2, 3]), (10, 1))
    assert (RBM(**SMALL).fit(as_set(constant)).sample(5).indices == constant[:5]).all()


def test_the_time_budget_stops_training():
    rows, _, _ = two_modes()
    started = time.perf_counter()
    model = RBM(**{**SMALL, "epochs": None}, time_budget_s=0.5).fit(as_set(rows))  # no epoch limit
    spent = time.perf_counter() - started
    trained = model.models[None]
    assert 0.5 <= trained.seconds < 5 and spent < 10 and trained.epochs > 0
    capped = RBM(**{**SMALL, "epochs": 2}, time_budget_s=60).fit(as_set(rows)).models[None]
    assert capped.epochs == 2 and capped.seconds < 10  # the epochs end it first


def test_a_labelled_fit_trains_one_rbm_per_class():
    rows, a, b = two_modes(n=120)
    labels = ["alpha" if near(row[None], a)[0] else "beta" for row in rows]
    model = make("rbm", **SMALL).fit(as_set(rows, labels))
    assert set(model.models) == {"alpha", "beta"}
    drawn = model.sample(100, seed=0, per_class={"alpha": 30, "beta": 70})
    assert drawn.labels == ["alpha"] * 30 + ["beta"] * 70
    assert near(drawn.indices[:30], a).mean() > 0.9 and near(drawn.indices[30:], b).mean() > 0.9
    only = model.sample(20, seed=0, label="beta")
    assert only.labels == ["beta"] * 20 and near(only.indices, b).mean() > 0.9
    assert sorted(set(model.sample(60, seed=0).labels)) == ["alpha", "beta"]  # training proportions


def test_wrong_inputs_are_input_errors():
    rows, _, _ = two_modes(n=20, length=8)
    for settings in ({"hidden": 0}, {"k": 1.5}, {"lr": -1.0}, {"epochs": 0}, {"time_budget_s": 0},
                     {"burn_in": 0}, {"init": "nowhere"}, {"batch_size": "10"}):
        with pytest.raises(vp.InputError, match="RBM"):
            make("rbm", **settings)
    with pytest.raises(vp.InputError, match="fit the rbm baseline"):
        RBM().sample(5)
    model = RBM(**{**SMALL, "epochs": 1, "burn_in": 1}).fit(as_set(rows))
    with pytest.raises(vp.InputError, match="cannot generate -1"):
        model.sample(-1)
    with pytest.raises(vp.InputError, match="unlabelled"):
        model.sample(5, label="alpha")
    with pytest.raises(vp.InputError, match="trains a model"):
        fit_and_sample("rbm", rows, 5)
    with pytest.raises(vp.InputError, match="no options"):
        make("markov", hidden=5)
    labelled = RBM(**{**SMALL, "epochs": 1, "burn_in": 1}).fit(as_set(rows, ["x", "y"] * 10))
    with pytest.raises(vp.InputError, match="no sequence of class 'z'"):
        labelled.sample(5, label="z")
    with pytest.raises(vp.InputError, match="class 'z' has no training"):
        labelled.sample(5, per_class={"z": 5})


def test_an_rbm_estimator_is_scored_beside_the_other_baselines(fitted):
    model, rows, _, _ = fitted
    real = as_set(rows)
    results = evaluate_baselines(real, real, None, None, kinds=("independent", RBM(**SMALL)))
    assert set(results) == {"independent", "rbm"}
    assert results["rbm"].summary["linkage"]["r"] > results["independent"].summary["linkage"]["r"] + 0.3


def invoke(*arguments):
    return CliRunner().invoke(app, [str(a) for a in arguments])


def test_vp_baseline_rbm_and_its_time_budget(tmp_path):
    rows, _, _ = two_modes(n=40, length=20)
    data = tmp_path / "modes.fasta"
    data.write_bytes(as_set(rows).to_fasta())
    result = invoke("baseline", "rbm", data, "-n", 10, "--time-budget", 0.5, "--seed", 2)
    assert result.exit_code == 0, result.output
    Path("rbm.fasta").write_text(result.stdout)
    drawn = vp.read_cohort([Path("rbm.fasta")])
    assert len(drawn) == 10 and "baseline=rbm seed=2 time_budget=0.5s" in drawn.descriptions[0]
    refused = invoke("baseline", "markov", data, "--time-budget", 1)
    assert refused.exit_code != 0 and "only the rbm baseline trains" in refused.stderr
    refused = invoke("evaluate", "--generated", data, "--real", data, "--rbm-budget", 1)
    assert refused.exit_code != 0 and "add --baselines" in refused.stderr


def test_vp_evaluate_scores_the_rbm_with_rbm_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(baselines, "BASELINES", ("copy",))  # the default set cut to one, for speed
    rows, _, _ = two_modes(n=40, length=20)
    data = tmp_path / "modes.fasta"
    data.write_bytes(as_set(rows).to_fasta())
    result = invoke("evaluate", "--generated", data, "--real", data, "--baselines", "--rbm-budget", 0.3, "--json")
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.stdout)["baselines"]) == ["copy", "rbm"] and "rbm" in result.stderr
