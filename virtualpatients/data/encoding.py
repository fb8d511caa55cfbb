"""Pure, vectorised conversions between DNA text, index arrays and one-hot arrays.

The channel order is the original study's: A=[1,0,0,0], T=[0,1,0,0], C=[0,0,1,0], G=[0,0,0,1].
A fifth channel, the gap symbol '-', exists only for cohorts padded to a common length.
"""

from __future__ import annotations

import numpy as np

BASES = "ATCG"
GAP = "-"
BASES_WITH_GAP = BASES + GAP


def alphabet_for(with_gap: bool) -> str:
    return BASES_WITH_GAP if with_gap else BASES


def _lookup_table(alphabet: str) -> np.ndarray:
    # 255 marks bytes outside the alphabet; lower case maps like upper case.
    table = np.full(256, 255, dtype=np.uint8)
    for index, symbol in enumerate(alphabet):
        table[ord(symbol)] = index
        table[ord(symbol.lower())] = index
    return table


_TABLES = {alphabet: _lookup_table(alphabet) for alphabet in (BASES, BASES_WITH_GAP)}
_TABLE_BYTES = {alphabet: table.tobytes() for alphabet, table in _TABLES.items()}


def encode_bytes(sequence: bytes, alphabet: str = BASES) -> np.ndarray:
    """Map one sequence to uint8 channel indices; symbols outside the alphabet become 255."""
    return _TABLES[alphabet][np.frombuffer(sequence, dtype=np.uint8)]


def translation_table(alphabet: str = BASES) -> bytes:
    """The lookup table as bytes.translate takes it: symbol byte -> channel index, 255 if invalid."""
    return _TABLE_BYTES[alphabet]


def translate(sequence: bytes, alphabet: str = BASES) -> np.ndarray:
    """As encode_bytes, by bytes.translate: the same table, about 3x faster on long inputs."""
    return np.frombuffer(sequence.translate(_TABLE_BYTES[alphabet]), dtype=np.uint8)


def encode(sequences: list[bytes], alphabet: str = BASES) -> np.ndarray:
    """Encode equal-length sequences as an (N, L) uint8 index array (one table lookup)."""
    if not sequences:
        return np.zeros((0, 0), dtype=np.uint8)
    length = len(sequences[0])
    if any(len(s) != length for s in sequences):
        raise ValueError("sequences must have equal length to be encoded together")
    flat = np.frombuffer(b"".join(sequences), dtype=np.uint8)
    return _TABLES[alphabet][flat].reshape(len(sequences), length)


def one_hot(indices: np.ndarray, n_channels: int = 4) -> np.ndarray:
    """(N, L) indices -> (N, L, C) float32 one-hot."""
    return np.eye(n_channels, dtype=np.float32)[indices]


def flat_one_hot(indices: np.ndarray, n_channels: int = 4) -> np.ndarray:
    """(N, L) indices -> (N, L*C) float32 rows: the flattened one-hot the networks, the distance
    products and the classifiers all use."""
    return one_hot(indices, n_channels).reshape(len(indices), -1)


def position_counts(indices: np.ndarray, n_channels: int = 4) -> np.ndarray:
    """(N, L) indices -> (L, C) how many sequences carry each symbol at each position."""
    return np.stack([(indices == c).sum(axis=0) for c in range(n_channels)], axis=1)


def decode(indices: np.ndarray, alphabet: str = BASES) -> np.ndarray:
    """(N, L) indices -> (N, L) uint8 ASCII codes, by lookup; rows are ready to write as bytes."""
    symbols = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
    return symbols[indices]


def decode_strings(indices: np.ndarray, alphabet: str = BASES) -> list[str]:
    """(N, L) indices -> list of N strings."""
    codes = decode(np.atleast_2d(indices), alphabet)
    return [row.tobytes().decode("ascii") for row in codes]
