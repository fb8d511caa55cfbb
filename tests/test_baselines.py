import numpy as np
import pytest

from virtualpatients.evaluation import baselines
from virtualpatients.evaluation.baselines import BASELINES, draw_with_backoff, fit_and_sample, redraw_rates, sample_by_class
from virtualpatients.data.encoding import position_counts
from virtualpatients.errors import InputError
from virtualpatients.evaluation.metrics import unique_rows


def random_set(n, length, seed, n_channels=4):
    return np.random.default_rng(seed).integers(0, n_channels, (n, length), dtype=np.uint8)


def frequencies(indices, n_channels=4):
    return position_counts(indices, n_channels) / len(indices)


def rows_in(generated, training):
    """Which generated rows are exact copies of some training row."""
    known = {row.tobytes() for row in training}
    return np.array([row.tobytes() in known for row in generated])


def consensus_differences(indices, training):
    return (indices != frequencies(training).argmax(axis=1)).sum(axis=1)


@pytest.mark.parametrize("kind", BASELINES)
def test_shape_dtype_range_and_seeds(kind):
    training = random_set(30, 25, 0)
    a = fit_and_sample(kind, training, 200, seed=1)
    assert a.shape == (200, 25) and a.dtype == np.uint8 and a.max() < 4
    np.testing.assert_array_equal(a, fit_and_sample(kind, training, 200, seed=1))
    assert not np.array_equal(a, fit_and_sample(kind, training, 200, seed=2))
    assert fit_and_sample(kind, training, 0).shape == (0, 25)


@pytest.mark.parametrize("kind", BASELINES)
def test_row_blocks_do_not_change_the_draws(kind, monkeypatch):
    training = random_set(30, 25, 0)
    whole = fit_and_sample(kind, training, 100, seed=7)
    monkeypatch.setattr(baselines, "ROW_CHUNK", 7)
    np.testing.assert_array_equal(fit_and_sample(kind, training, 100, seed=7), whole)


@pytest.mark.parametrize("kind", BASELINES)
def test_gap_channel(kind):
    training = random_set(40, 20, 3, n_channels=5)
    training[:, -5:] = 4  # padded tail
    generated = fit_and_sample(kind, training, 300, n_channels=5, seed=0)
    assert generated.max() == 4
    assert (generated[:, -5:] == 4).all()


def test_bad_input():
    training = random_set(5, 10, 0)
    with pytest.raises(InputError, match="independent, markov, resample-mutate, copy"):
        fit_and_sample("gan", training, 10)
    with pytest.raises(InputError, match="rows"):
        fit_and_sample("copy", training[:0], 10)
    with pytest.raises(InputError, match="0..3"):
        fit_and_sample("copy", training + 1, 10)
    with pytest.raises(InputError, match="order"):
        fit_and_sample("markov", training, 10, order=40)


def test_independent_reproduces_position_frequencies():
    # 200 rows, 8 positions: each column a shuffled fixed multiset, so the frequencies are exact.
    rng = np.random.default_rng(0)
    column = np.repeat(np.arange(4, dtype=np.uint8), [100, 50, 30, 20])
    training = np.stack([rng.permutation(column) for _ in range(8)], axis=1)
    n = 20_000
    generated = fit_and_sample("independent", training, n, seed=4)
    expected = np.tile([0.5, 0.25, 0.15, 0.10], (8, 1))
    sd = np.sqrt(expected * (1 - expected) / n)
    assert (np.abs(frequencies(generated) - expected) < 5 * sd).all()


def test_markov_keeps_a_correlation_that_independent_loses():
    training = random_set(400, 10, 1)
    training[:, 5] = training[:, 4]
    independent = fit_and_sample("independent", training, 5000, seed=0)
    assert 0.2 < (independent[:, 5] == independent[:, 4]).mean() < 0.3  # sum p^2 ~ 1/4
    for order in (1, 3):
        markov = fit_and_sample("markov", training, 5000, seed=0, order=order)
        assert (markov[:, 5] == markov[:, 4]).all()
        assert (np.abs(frequencies(markov) - frequencies(training)) < 0.04).all()


def test_markov_order_one_follows_position_specific_rules():
    # Even positions: next = base + 1; odd positions: next = 3 - base. First base random.
    training = np.empty((100, 12), dtype=np.uint8)
    training[:, 0] = np.arange(100) % 4
    for i in range(1, 12):
        previous = training[:, i - 1]
        training[:, i] = (previous + 1) % 4 if i % 2 else 3 - previous
    generated = fit_and_sample("markov", training, 2000, seed=0, order=1)
    assert rows_in(generated, training).all()
    assert len(unique_rows(generated)[0]) == 4
    # order 0 is the PWM: the rule is lost
    assert not rows_in(fit_and_sample("markov", training, 200, seed=0, order=0), training).all()


def code(*bases):
    """Context code: the most recent base is the lowest base-4 digit."""
    return sum(base * 4**age for age, base in enumerate(reversed(bases)))


def test_backoff_to_lower_orders():
    A, T, C, G = range(4)
    # At this position: AT -> C, TT -> C, AG -> G, TG -> G (order 2); T -> C, G -> G (order 1).
    train_contexts = np.array([code(A, T), code(T, T), code(A, G), code(T, G)])
    train_next = np.array([C, C, G, G])
    u = np.linspace(0, 1, 1000, endpoint=False)

    def draw(*context):
        return draw_with_backoff(train_contexts, train_next, np.full(len(u), code(*context)), 2, 4, u)

    assert (draw(T, G) == G).all()  # seen at order 2
    assert (draw(C, T) == C).all()  # unseen CT -> order 1 (T -> C)
    assert (draw(G, G) == G).all()  # unseen GG -> order 1 (G -> G)
    pwm = draw(C, A)  # unseen CA and A -> order 0: C or G, half each
    assert set(np.unique(pwm)) == {C, G} and (pwm == C).mean() == 0.5


def test_binary_search_lookup_matches_the_dense_table(monkeypatch):
    training = random_set(60, 30, 6)
    training[:, 10] = 0  # a position with one context only at order 1
    dense = fit_and_sample("markov", training, 500, seed=3, order=4)
    monkeypatch.setattr(baselines, "DENSE_CONTEXTS", 0)  # as for large context spaces
    np.testing.assert_array_equal(fit_and_sample("markov", training, 500, seed=3, order=4), dense)
    A, T, C, G = range(4)
    train_contexts, train_next = np.array([code(A, T), code(T, G)]), np.array([C, G])
    contexts = np.array([code(T, G), code(C, T), code(C, A)])
    drawn = draw_with_backoff(train_contexts, train_next, contexts, 2, 4, np.zeros(3))
    assert list(drawn) == [G, C, C]


def variant_cohort(n=400, length=50, rate=0.05, seed=0):
    rng = np.random.default_rng(seed)
    reference = rng.integers(0, 4, length, dtype=np.uint8)
    training = np.tile(reference, (n, 1))
    hit = rng.random((n, length)) < rate
    training[hit] = (training[hit] + rng.integers(1, 4, hit.sum())) % 4
    return training


def test_resample_mutate_keeps_differences_from_consensus():
    training = variant_cohort()
    n = 5000
    generated = fit_and_sample("resample-mutate", training, n, seed=0)
    real, fake = consensus_differences(training, training), consensus_differences(generated, training)
    assert abs(fake.mean() - real.mean()) < 5 * real.std() / np.sqrt(n)
    assert (np.abs(frequencies(generated) - frequencies(training)) < 0.02).all()
    assert rows_in(generated, training).mean() < 0.5


def test_redraw_rates_give_the_observed_number_of_changes():
    training = variant_cohort(rate=0.1)
    p = frequencies(training)
    changes = (redraw_rates(training, 4) * (1 - (p**2).sum(axis=1))).sum()
    np.testing.assert_allclose(changes, (1 - p.max(axis=1)).sum())


def test_resample_mutate_with_high_rate_and_without_variation():
    training = random_set(50, 20, 2)
    assert rows_in(fit_and_sample("resample-mutate", training, 500, seed=0), training).mean() < 0.05
    same = np.tile(random_set(1, 20, 3), (10, 1))
    generated = fit_and_sample("resample-mutate", same, 100, seed=0)
    assert (generated == same[0]).all()


def test_copy_draws_training_rows():
    training = random_set(100, 30, 4)
    generated = fit_and_sample("copy", training, 2000, seed=0)
    assert rows_in(generated, training).all()
    assert len(unique_rows(generated)[0]) >= 95


@pytest.mark.parametrize("kind", BASELINES)
@pytest.mark.parametrize("as_array", [False, True])
def test_sample_by_class_keeps_class_patterns(kind, as_array):
    training = random_set(80, 40, 5)
    labels = np.repeat([0, 1], [60, 20])
    training[:60, 10:16], training[60:, 10:16] = 0, 3  # AAAAAA vs GGGGGG
    wanted = [300, 100] if as_array else {1: 100, 0: 300}
    generated, classes = sample_by_class(kind, training, labels, wanted, seed=0)
    assert generated.shape == (400, 40) and list(np.bincount(classes)) == [300, 100]
    assert (generated[classes == 0, 10:16] == 0).all() and (generated[classes == 1, 10:16] == 3).all()


def test_sample_by_class_errors_and_empty():
    training, labels = random_set(10, 8, 0), np.zeros(10, dtype=int)
    with pytest.raises(InputError, match="class 1"):
        sample_by_class("copy", training, labels, {0: 5, 1: 5})
    with pytest.raises(InputError, match="label"):
        sample_by_class("copy", training, labels[:5], {0: 5})
    generated, classes = sample_by_class("markov", training, labels, {0: 0, 1: 0})
    assert generated.shape == (0, 8) and classes.shape == (0,)
