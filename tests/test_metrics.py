import numpy as np

from virtualpatients.encoding import encode
from virtualpatients.metrics import basic_report, distinct_count, exact_copy_mask, nearest_identity


def enc(*sequences):
    return encode([s.encode() for s in sequences])


def test_nearest_identity_known_values():
    real = enc("AAAAAAAAAA", "CCCCCCCCCC")
    generated = enc("AAAAAAAAAA", "AAAAACCCCC", "AAAAAAAAAC", "GGGGGGGGGG")
    np.testing.assert_allclose(nearest_identity(generated, real, 4), [1.0, 0.5, 0.9, 0.0])


def test_leave_one_out_excludes_self_but_not_duplicates():
    real = enc("AAAA", "AAAT", "CCCC", "CCCC")
    np.testing.assert_allclose(nearest_identity(real, real, 4, leave_one_out=True), [0.75, 0.75, 1.0, 1.0])


def test_chunked_products_equal_direct_comparison():
    rng = np.random.default_rng(0)
    real, generated = rng.integers(0, 4, (50, 30), dtype=np.uint8), rng.integers(0, 4, (5000, 30), dtype=np.uint8)
    expected = (generated[:, None, :] == real[None, :, :]).mean(-1).max(1)
    np.testing.assert_allclose(nearest_identity(generated, real, 4), expected)


def test_copies_and_distinct():
    real = enc("ACGT", "TTTT")
    generated = enc("ACGT", "ACGT", "ACGA", "TTTT")
    assert exact_copy_mask(generated, real).tolist() == [True, True, False, True]
    assert distinct_count(generated) == 3
    report = basic_report(generated, real, 4)
    assert report["exact_copies"] == 3 and report["distinct"] == 3 and report["n_real"] == 2
    assert report["nearest_identity"]["min"] == 0.75
