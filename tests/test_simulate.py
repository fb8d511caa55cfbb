from Bio.Seq import Seq

from virtualpatients.data.simulate import simulate_cohort


def test_simulated_cohort_is_seeded_and_each_patient_has_one_variant():
    ids, _, sequences = simulate_cohort(n_patients=50, length=90, n_hotspots=5, seed=3)
    assert simulate_cohort(n_patients=50, length=90, n_hotspots=5, seed=3)[2] == sequences
    assert len(ids) == len(set(ids)) == 50
    consensus = "".join(max("ACGT", key=column.count) for column in zip(*sequences))
    assert all(sum(a != b for a, b in zip(s, consensus)) <= 1 for s in sequences)
    assert 1 < len(set(sequences)) <= 5


def test_reference_is_an_open_reading_frame():
    _, _, sequences = simulate_cohort(n_patients=200, length=90, n_hotspots=3, seed=0)
    consensus = "".join(max("ACGT", key=column.count) for column in zip(*sequences))
    protein = str(Seq(consensus).translate())
    assert consensus.startswith("ATG") and protein.endswith("*") and "*" not in protein[:-1]


def test_every_simulated_patient_is_an_open_reading_frame():
    _, _, sequences = simulate_cohort(n_patients=300, length=90, n_hotspots=25, seed=4)
    for sequence in set(sequences):
        protein = str(Seq(sequence).translate())
        assert protein.endswith("*") and "*" not in protein[:-1]
