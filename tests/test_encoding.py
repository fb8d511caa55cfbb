import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from virtualpatients.data.encoding import BASES, decode, decode_strings, encode, encode_bytes, one_hot, position_counts


def test_channel_order_is_the_studys():
    assert BASES == "ATCG"
    encoded = one_hot(encode([b"ATCG"]), 4)[0]
    np.testing.assert_array_equal(encoded, np.eye(4, dtype=np.float32))
    assert encoded.reshape(-1).tolist() == [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]


def test_lower_case_encodes_like_upper_case():
    np.testing.assert_array_equal(encode([b"acgt"]), encode([b"ACGT"]))


def test_symbols_outside_the_alphabet_are_marked():
    assert encode_bytes(b"ANG").tolist() == [0, 255, 3]
    assert encode_bytes(b"A-G", "ATCG-").tolist() == [0, 4, 3]


@given(st.lists(st.text(alphabet="ACGT", min_size=7, max_size=7), min_size=1, max_size=20))
def test_round_trip(sequences):
    indices = encode([s.encode() for s in sequences])
    assert indices.dtype == np.uint8 and indices.shape == (len(sequences), 7)
    assert decode_strings(indices) == sequences
    assert [row.tobytes().decode() for row in decode(indices)] == sequences
    assert (one_hot(indices).sum(axis=-1) == 1).all()


def test_position_counts():
    counts = position_counts(encode([b"AC", b"AG", b"TG"]))
    assert counts.tolist() == [[2, 1, 0, 0], [0, 0, 1, 2]]  # columns A T C G
