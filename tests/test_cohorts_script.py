"""scripts/cohorts.py: the demo cohort's hotspot check and the README's forty TP53 sequences."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_file
from virtualpatients.data.encoding import decode_strings

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "cohorts.py"


@pytest.fixture(scope="module")
def cohorts():
    spec = importlib.util.spec_from_file_location("cohorts_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_cohort_is_what_vp_demo_simulates(cohorts):
    from virtualpatients.data.simulate import simulate_cohort

    ids, descriptions, sequences = simulate_cohort(seed=3)
    cohort = cohorts.demo_cohort(seed=3)
    assert cohort.ids == ids and cohort.strings() == sequences
    assert cohort.descriptions[0] == f"{ids[0]} {descriptions[0]}"


def _strings(indices: np.ndarray) -> list[str]:
    return decode_strings(np.atleast_2d(indices))


def test_hotspot_share_of_the_cohort_itself_consensus_and_double_hotspots(cohorts):
    cohort = cohorts.demo_cohort()
    assert cohorts.hotspot_share(cohort, cohort) == 1.0
    assert cohorts.exactly_one_share(cohort, cohort) == (1.0, 1.0)
    consensus = cohorts.consensus(cohort.indices, 4)
    assert cohorts.hotspot_share(_strings(consensus) * 10, cohort) == 0.0
    assert cohorts.exactly_one_share(_strings(consensus) * 10, cohort) == (0.0, 0.0)
    # Two real hotspots in one sequence: two differences, so not "exactly one real hotspot".
    differs = cohort.indices != consensus
    other = next(row for row in range(len(cohort)) if (differs[row] != differs[0]).any())
    double = cohort.indices[0].copy()
    double[differs[other]] = cohort.indices[other][differs[other]]
    assert (double != consensus).sum() == 2
    assert cohorts.hotspot_share(_strings(double) * 5, cohort) == 0.0


def test_a_novel_single_difference_counts_as_one_but_not_real(cohorts):
    cohort = cohorts.demo_cohort()
    consensus = cohorts.consensus(cohort.indices, 4)
    unused = int(np.flatnonzero(~(cohort.indices != consensus).any(axis=0))[10])  # no patient varies here
    novel = consensus.copy()
    novel[unused] = (novel[unused] + 1) % 4
    generated = _strings(novel) + cohort.strings()[:1]
    assert cohorts.exactly_one_share(generated, cohort) == (1.0, 0.5)
    assert cohorts.hotspot_share(generated, cohort) == 0.5
    with pytest.raises(ValueError, match="length"):
        cohorts.hotspot_share(["ACGT"], cohort)


def test_forty_is_twenty_mutants_and_twenty_identical_wild_types(cohorts):
    shared_file("nci_tp53_r21/CellLineDownload_r21.csv")
    shared_file("tp53_cds_reference.fasta")
    data = cohorts.forty(seed=0)
    assert len(data) == 40 and data.length == 1182
    assert data.labels.count("mutated") == 20 and data.labels.count("wildtype") == 20
    labels = np.array(data.labels)
    wild, mutants = data.indices[labels == "wildtype"], data.indices[labels == "mutated"]
    assert (wild == wild[0]).all() and wild[0].tobytes() == cohorts.SequenceSet.from_strings(
        [cohorts.reference_cds()]).indices[0].tobytes()
    differences = (mutants != wild[0]).sum(axis=1)
    assert ((differences >= 1) & (differences <= 4)).all()
    assert len(set(data.ids)) == 40
    assert cohorts.forty(seed=0).ids == data.ids and cohorts.forty(seed=1).ids != data.ids
