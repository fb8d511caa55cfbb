import numpy as np
import pytest

from virtualpatients.evaluation.composition import (
    base_frequencies,
    fidelity,
    gc_content,
    jensen_shannon,
    kmer_spectrum,
    orf_checks,
    pearson,
    validity,
    variants,
)
from virtualpatients.data.encoding import encode
from virtualpatients.data.simulate import random_orf


def enc(*sequences):
    return encode([s.encode() for s in sequences])


def test_base_frequencies_and_gc():
    rows = enc("ACGT", "AAGG")
    np.testing.assert_allclose(base_frequencies(rows, 4)[1], [0.5, 0, 0.5, 0])  # A T C G order
    np.testing.assert_allclose(gc_content(rows), [0.5, 0.5])


def test_kmer_spectrum_counts_and_js_bounds():
    rows = enc("AAAT")
    spectrum = kmer_spectrum(rows, 2, 4)
    assert spectrum.sum() == 3 and spectrum[0] == 2 and spectrum[1] == 1  # AA twice, AT once
    assert jensen_shannon(spectrum, spectrum) == 0
    assert jensen_shannon(np.array([1.0, 0]), np.array([0, 1.0])) == pytest.approx(1.0)


def test_uniform_random_has_no_fidelity_to_a_position_specific_set():
    rng = np.random.default_rng(0)
    real = np.repeat(rng.integers(0, 4, (1, 300), dtype=np.uint8), 200, axis=0)
    real[: 20] = rng.integers(0, 4, (20, 300))
    generated = rng.integers(0, 4, (2000, 300), dtype=np.uint8)
    summary, _ = fidelity(generated, real, 4)
    assert abs(summary["base_frequency_r"]) < 0.1
    assert summary["kmer_js"]["1"] < 0.01 and summary["kmer_js"]["6"] > 0.3
    same, _ = fidelity(real, real, 4)
    assert same["base_frequency_r"] == pytest.approx(1) and same["kmer_js"]["6"] == 0


def test_variants_against_reference():
    reference = enc("AAAAAAAAAA")[0]
    real = enc("AAAAAAAAAA", "ATAAAAAAAA", "ATAAAAAAAA", "AAAAAAAAAC")
    generated = enc("ATAAAAAAAA", "AAAAAAAAAA", "AAAAAGAAAA", "ATAAAAAAAC")
    summary, arrays = variants(generated, real, 4, reference)
    assert summary["top20_positions"] == [2, 10] and summary["top20_found"] == 2
    assert summary["mean_differences_real"] == 0.75 and summary["mean_differences_generated"] == 1.0
    assert summary["differences_histogram_generated"] == [1, 2, 1]
    np.testing.assert_allclose(arrays["variant_freq_real"][[1, 9]], [0.5, 0.25])
    consensus_summary, _ = variants(generated, real, 4)
    assert consensus_summary["reference"] == "consensus of the real set"


def test_position_r_is_undefined_when_generated_has_no_variants():
    real = enc("AAAA", "ATAA", "AAAA")
    summary, _ = variants(enc("AAAA", "AAAA"), real, 4)
    assert summary["position_r"] is None and summary["generated_with_variants"] == 0
    assert pearson(np.array([1, 2, 3]), np.array([2, 4, 6])) == pytest.approx(1)


def test_orf_validity_with_one_internal_stop():
    rng = np.random.default_rng(1)
    orfs = [random_orf(90, rng) for _ in range(10)]
    broken = orfs[0][:30] + "TAG" + orfs[0][33:]
    real = enc(*orfs)
    generated = enc(broken, *orfs[1:])
    checks = orf_checks(generated)
    assert checks["no_internal_stop"].tolist() == [False] + [True] * 9
    assert checks["starts_with_atg"].all() and checks["ends_with_stop"].all()
    result = validity(generated, real)
    assert result["valid_fraction_real"] == 1.0 and result["valid_fraction_generated"] == 0.9


def test_validity_does_not_apply_to_non_coding_sets():
    rng = np.random.default_rng(2)
    real = rng.integers(0, 4, (50, 90), dtype=np.uint8)
    assert validity(real, real) is None
    assert not orf_checks(enc("ATGAA")).get("starts_with_atg").any()  # not a multiple of 3
