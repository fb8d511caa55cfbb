"""Tests for virtualpatients.evaluation.blast: exact identities on synthetic and real TP53 sequences."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest

from virtualpatients.evaluation import blast
from virtualpatients.evaluation.blast import BlastSummary, blast_available, blast_identity
from virtualpatients.errors import InputError, MissingToolError, VPError

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
VARIANTS = DATA / "tp53_germline_variants.fasta"
BASES = np.array(list("ACGT"))


@pytest.fixture
def needs_blast() -> None:
    """Skip without BLAST+, unless VP_REQUIRE_BLAST=1 says a missing BLAST is a failure."""
    if not blast_available():
        reason = "NCBI BLAST+ (blastn, makeblastdb) not on PATH"
        if os.environ.get("VP_REQUIRE_BLAST") == "1":
            pytest.fail(f"{reason} and VP_REQUIRE_BLAST=1")
        pytest.skip(reason)


@pytest.fixture
def variants_path() -> Path:
    """The real variant FASTA; skipped when absent, except on CI where it must be there."""
    if not VARIANTS.is_file():
        reason = f"real data not found at {VARIANTS}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set)")
        pytest.skip(reason)
    return VARIANTS


def read_fasta(path: Path, limit: int) -> list[tuple[str, str]]:
    """First ``limit`` records as (id, sequence); the id is the header's first word."""
    records: list[tuple[str, list[str]]] = []
    with path.open() as handle:
        for line in handle:
            line = line.strip()
            if line.startswith(">"):
                if len(records) == limit:
                    break
                records.append((line[1:].split()[0], []))
            elif line and records:
                records[-1][1].append(line)
    return [(rid, "".join(parts)) for rid, parts in records]


def random_seq(rng: np.random.Generator, length: int) -> np.ndarray:
    return BASES[rng.integers(0, 4, length)]


def substitute(seq: np.ndarray, positions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Copy of ``seq`` with each position changed to one of the three other bases."""
    out = seq.copy()
    for p in positions:
        out[p] = rng.choice([b for b in BASES if b != seq[p]])
    return out


def spread_positions(
    rng: np.random.Generator, length: int, k: int, gap: int, margin: int = 20
) -> np.ndarray:
    """k sorted random positions at least ``gap`` apart, ``margin`` bases from either end.

    The gap keeps exact runs well above megablast's 28-base word. The margin matters because
    BLAST does not extend an alignment over a mismatch for one or two matches, so a
    substitution at position 1 or 2 from an end also costs the terminal match(es).
    """
    room = length - 2 * margin - (k - 1) * gap
    picks = np.sort(rng.choice(room, size=k, replace=False))
    return margin + picks + np.arange(k) * gap


def as_str(seq: np.ndarray) -> str:
    return "".join(seq)


@pytest.fixture
def synthetic() -> tuple[np.random.Generator, list[np.ndarray]]:
    rng = np.random.default_rng(20240611)
    return rng, [random_seq(rng, 600) for _ in range(5)]


def test_exact_substituted_and_unrelated(needs_blast: None, synthetic) -> None:
    rng, subjects = synthetic
    length = 600
    queries = [(f"copy{i}", as_str(s)) for i, s in enumerate(subjects)]
    expected = [100.0] * len(subjects)
    for i, k in [(0, 1), (1, 3), (2, 7), (3, 12)]:
        positions = np.linspace(40, length - 40, k).astype(int)
        queries.append((f"mut{i}_k{k}", as_str(substitute(subjects[i], positions, rng))))
        expected.append((length - k) / length * 100)
    queries.append(("unrelated", as_str(random_seq(rng, length))))
    expected.append(0.0)

    result = blast_identity(queries, [(f"s{i}", as_str(s)) for i, s in enumerate(subjects)])

    assert [h.query_id for h in result.hits] == [q for q, _ in queries]
    for hit, want in zip(result.hits, expected):
        assert hit.identity == pytest.approx(want, abs=0.01), hit
    assert [h.subject_id for h in result.hits[:9]] == [f"s{i}" for i in range(5)] + [
        "s0", "s1", "s2", "s3"
    ]
    assert result.hits[-1].subject_id is None
    assert result.no_hit == 1
    assert result.mean_identity == pytest.approx(np.mean(expected))
    assert result.median_identity == pytest.approx(np.median(expected))
    assert result.to_json() == {
        "mean_identity": result.mean_identity,
        "median_identity": result.median_identity,
        "no_hit": 1,
        "n_queries": len(queries),
    }


def test_duplicates_keep_first_id_and_query_order(needs_blast: None, synthetic) -> None:
    rng, subjects = synthetic
    a, b, c = (as_str(s) for s in subjects[:3])
    # Odd ids (spaces, '|', accession-like) must come back untouched.
    subject_records = [
        ("gi|1|first a", a), ("b", b), ("a again", a), ("c", c), ("b again", b), ("a 3rd", a),
    ]
    near_c = as_str(substitute(subjects[2], np.array([100, 300, 500]), rng))
    queries = [("z last-named", near_c), ("q|a", a), ("dup b 1", b), ("NM_000546.6", a),
               ("dup b 2", b)]

    result = blast_identity(queries, subject_records, threads=1)

    assert [h.query_id for h in result.hits] == [q for q, _ in queries]
    assert [h.subject_id for h in result.hits] == ["c", "gi|1|first a", "b", "gi|1|first a", "b"]
    assert result.hits[0].identity == pytest.approx(597 / 600 * 100, abs=0.01)
    assert all(h.identity == 100.0 for h in result.hits[1:])
    assert result.no_hit == 0


def test_megablast_misses_dense_substitutions_blastn_task_finds_them(
    needs_blast: None, synthetic
) -> None:
    rng, subjects = synthetic
    # A substitution every 25 bases leaves no exact 28-mer, megablast's seed length.
    positions = np.arange(12, 600, 25)
    query = [("dense", as_str(substitute(subjects[0], positions, rng)))]
    records = [(f"s{i}", as_str(s)) for i, s in enumerate(subjects)]
    assert blast_identity(query, records).no_hit == 1
    hit = blast_identity(query, records, task="blastn").hits[0]
    assert hit.subject_id == "s0"
    assert hit.identity == pytest.approx((600 - len(positions)) / 600 * 100, abs=0.01)


def test_lower_case_is_the_same_sequence(needs_blast: None, synthetic) -> None:
    _, subjects = synthetic
    seq = as_str(subjects[0])
    result = blast_identity([("q", seq.lower())], [("s", seq), ("s lower", seq.lower())])
    assert result.hits[0].subject_id == "s"
    assert result.hits[0].identity == 100.0


def test_empty_inputs_are_input_errors() -> None:
    with pytest.raises(InputError):
        blast_identity([], [("s", "ACGT")])
    with pytest.raises(InputError):
        blast_identity([("q", "ACGT")], [])
    with pytest.raises(InputError):
        blast_identity([("q", "")], [("s", "ACGT")])
    with pytest.raises(InputError):
        blast_identity([("q", "ACGT")], [("s", "ACGT")], task="tblastx")
    # BLAST would silently drop the gap and report the shorter query as a perfect match.
    with pytest.raises(InputError, match="'-'"):
        blast_identity([("q", "ACG-T")], [("s", "ACGT")])
    with pytest.raises(InputError):
        blast_identity([("q", "ACGT")], [("s", "AC GT")])


def test_missing_blast_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin/nonexistent")
    assert not blast_available()
    with pytest.raises(MissingToolError, match="apt-get install ncbi-blast\\+") as info:
        blast_identity([("q", "ACGT")], [("s", "ACGT")])
    assert info.value.exit_code == 3


def test_missing_makeblastdb_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real_which = shutil.which
    monkeypatch.setattr(
        blast.shutil, "which", lambda name, *a, **k: None if name == "makeblastdb"
        else real_which(name, *a, **k)
    )
    assert not blast_available()
    with pytest.raises(MissingToolError):
        blast_identity([("q", "ACGT")], [("s", "ACGT")])


def test_blast_failure_reports_last_stderr_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Stand-in tools: makeblastdb succeeds, blastn fails the way BLAST does (message on stderr).
    for name, body in [
        ("makeblastdb", "exit 0"),
        ("blastn", "echo 'Warning: something' >&2; echo 'BLAST Database error: boom' >&2; exit 1"),
    ]:
        tool = tmp_path / name
        tool.write_text(f"#!/bin/sh\n{body}\n")
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(VPError, match="blastn failed: BLAST Database error: boom") as info:
        blast_identity([("q", "ACGT")], [("s", "ACGT")])
    assert not isinstance(info.value, MissingToolError)


def test_real_variants_best_hit_identity(needs_blast: None, variants_path: Path) -> None:
    records = read_fasta(variants_path, 30)
    assert len(records) == 30
    subjects = np.array([list(seq) for _, seq in records])  # (30, L) characters
    length = subjects.shape[1]
    rng = np.random.default_rng(53)

    queries: list[tuple[str, str]] = []
    expected: list[float] = []
    moved: dict[int, int] = {}  # query index -> subject row it was moved onto
    for n, idx in enumerate(rng.choice(len(records), size=10, replace=False)):
        k = (3, 6, 12)[n % 3]
        source = subjects[idx].copy()
        if n < 3:
            # Swap this record's variant for another record's: the query is named after (and
            # made from) one record, but the closest subject is now another one.
            other = (idx + 1 + n) % len(records)
            differ = subjects[idx] != subjects[other]
            source[differ] = subjects[other][differ]
            moved[n] = other
        mutated = substitute(source, spread_positions(rng, length, k, gap=40), rng)
        queries.append((f"{records[idx][0]}+{k}sub", as_str(mutated)))
        # Variants differ by one or two bases, so the closest subject after mutation may be
        # another variant: the truth is the best over all subjects, not the source record.
        matches = (subjects == mutated).sum(axis=1)
        expected.append(float(matches.max()) / length * 100)
        if n in moved:
            assert np.flatnonzero(matches == matches.max()).tolist() == [moved[n]]

    result: BlastSummary = blast_identity(queries, records)

    assert result.no_hit == 0
    row = {rid: i for i, (rid, _) in enumerate(records)}
    for n, (hit, want, (_, query)) in enumerate(zip(result.hits, expected, queries)):
        assert hit.identity == pytest.approx(want, abs=0.1), hit
        # The reported subject must be one of the closest (ties between variants are allowed).
        matches = (subjects[row[hit.subject_id]] == np.array(list(query))).sum()
        assert matches / length * 100 == pytest.approx(want, abs=0.1), hit
        if n in moved:
            assert hit.subject_id == records[moved[n]][0]
    assert result.mean_identity == pytest.approx(np.mean(expected), abs=0.1)
