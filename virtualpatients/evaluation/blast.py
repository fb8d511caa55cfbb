"""Nearest-neighbour identity of generated sequences against a reference set, with NCBI BLAST+.

Each query is aligned against every subject and keeps its best hit; the identity reported is
``nident / qlen * 100``: matches over the whole query, so a query that only partly aligns is not
credited with the identity of the aligned piece (BLAST's ``pident`` is over the aligned length).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, MissingToolError, VPError

_MISSING_MESSAGE = (
    "NCBI BLAST+ (blastn) not found on PATH; install it with 'apt-get install ncbi-blast+' "
    "or 'conda install -c bioconda blast'"
)
_OUTFMT = "6 qseqid sseqid pident length nident qlen slen bitscore evalue"
# megablast (BLAST's default, word size 28) is fast but needs an exact 28-base run: a query
# with a mismatch every 28 bases or less (about 96.5 % identity) gets no hit at all.
# "blastn" (word size 11) finds those at roughly 5x the run time.
TASKS = ("megablast", "dc-megablast", "blastn")
# BLAST silently drops any other character ('-', '*', 'X', spaces) from a query, which shortens
# qlen and inflates the identity, so such sequences are refused instead.
_IUPAC = frozenset("ACGTUNRYKMSWBDHV")


@dataclass(frozen=True)
class BlastHit:
    """Best hit of one query: ``subject_id`` is None and ``identity`` 0.0 when nothing aligned."""

    query_id: str
    subject_id: str | None
    identity: float  # percent, nident / qlen * 100


@dataclass(frozen=True)
class BlastSummary:
    """Per-query best hits (in query order) and their summary statistics."""

    hits: tuple[BlastHit, ...]
    mean_identity: float
    median_identity: float
    no_hit: int

    def to_json(self) -> dict[str, float | int]:
        """Summary numbers only, for metrics files; the per-query hits stay in ``hits``."""
        return {
            "mean_identity": self.mean_identity,
            "median_identity": self.median_identity,
            "no_hit": self.no_hit,
            "n_queries": len(self.hits),
        }


def _tools() -> tuple[str, str] | None:
    blastn = shutil.which("blastn")
    makeblastdb = shutil.which("makeblastdb")
    if blastn is None or makeblastdb is None:
        return None
    return blastn, makeblastdb


def blast_available() -> bool:
    """True when both ``blastn`` and ``makeblastdb`` are on PATH."""
    return _tools() is not None


def _distinct(
    records: Sequence[tuple[str, str]], what: str
) -> tuple[list[str], list[int]]:
    """Distinct sequences in first-seen order, and for each record the index of its sequence.

    Cohorts repeat hotspot variants many times; aligning each copy again only costs time, and
    identical subjects would compete for the ``-max_target_seqs`` slots.
    """
    if not records:
        raise InputError(f"no {what} sequences to compare")
    index: dict[str, int] = {}
    order: list[int] = []
    for record_id, sequence in records:
        # BLAST ignores case unless asked to mask lower case, so dedupe the same way.
        seq = sequence.strip().upper()
        if not seq:
            raise InputError(f"{what} sequence '{record_id}' is empty")
        bad = set(seq) - _IUPAC
        if bad:
            raise InputError(
                f"{what} sequence '{record_id}' has non-nucleotide characters: "
                + " ".join(repr(c) for c in sorted(bad))
            )
        order.append(index.setdefault(seq, len(index)))
    return list(index), order


def _write_fasta(path: Path, prefix: str, sequences: list[str]) -> None:
    # Our own tokens as ids: user ids with spaces, '|' or accession-like shapes would otherwise
    # be rewritten or split by BLAST's id parser and no longer map back.
    with path.open("w", encoding="ascii") as handle:
        for i, seq in enumerate(sequences):
            handle.write(f">{prefix}{i}\n{seq}\n")


def _run(command: list[str], cwd: Path) -> str:
    try:
        result = subprocess.run(command, check=False, capture_output=True, text=True, cwd=cwd)
    except FileNotFoundError as exc:  # removed between the PATH check and the call
        raise MissingToolError(_MISSING_MESSAGE) from exc
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        detail = lines[-1].strip() if lines else f"exit status {result.returncode}"
        raise VPError(f"{Path(command[0]).name} failed: {detail}")
    return result.stdout


def _token_index(token: str, prefix: str) -> int:
    # Without -parse_seqids BLAST may report local ids as 'lcl|s0'; keep the last field.
    token = token.rsplit("|", 1)[-1]
    if not token.startswith(prefix) or not token[len(prefix):].isdigit():
        raise VPError(f"blastn reported an unexpected sequence id {token!r}")
    return int(token[len(prefix):])


def blast_identity(
    queries: Sequence[tuple[str, str]],
    subjects: Sequence[tuple[str, str]],
    *,
    threads: int = 2,
    task: str = "megablast",
) -> BlastSummary:
    """Best-hit identity of each ``(id, sequence)`` query against all subjects.

    ``task`` is BLAST's search mode (one of ``TASKS``); see the note on ``TASKS`` for when
    the default misses distant queries. Empty or empty-sequence inputs raise InputError;
    MissingToolError when BLAST+ is not installed; VPError when BLAST itself fails.
    """
    if threads < 1:
        raise InputError(f"threads must be at least 1, got {threads}")
    if task not in TASKS:
        raise InputError(f"unknown BLAST task {task!r}; choose one of {', '.join(TASKS)}")
    query_seqs, query_of = _distinct(queries, "query")
    subject_seqs, subject_of = _distinct(subjects, "subject")
    tools = _tools()
    if tools is None:
        raise MissingToolError(_MISSING_MESSAGE)
    blastn, makeblastdb = tools
    # First original id for each distinct subject sequence.
    subject_ids: list[str | None] = [None] * len(subject_seqs)
    for (record_id, _), k in zip(subjects, subject_of):
        if subject_ids[k] is None:
            subject_ids[k] = record_id

    with tempfile.TemporaryDirectory(prefix="vp-blast-") as tmp:
        work = Path(tmp)
        _write_fasta(work / "subjects.fasta", "s", subject_seqs)
        _write_fasta(work / "q.fasta", "q", query_seqs)
        # Relative names with cwd=work: BLAST splits -db on spaces, and TMPDIR may have some.
        _run([makeblastdb, "-in", "subjects.fasta", "-dbtype", "nucl", "-out", "db"], work)
        # -max_target_seqs limits the search itself, not just the report, so 1 is not "the best
        # hit" (near-identical variants tie on bitscore and the one with fewer identities can
        # win); allowing every distinct subject lets us pick the best ourselves.
        out = _run(
            [
                blastn, "-task", task, "-query", "q.fasta", "-db", "db", "-dust", "no",
                "-outfmt", _OUTFMT,
                "-max_target_seqs", str(len(subject_seqs)),
                "-num_threads", str(threads),
            ],
            work,
        )

    # best[q] = (bitscore, nident, -subject index, qlen): max() prefers higher score, then more
    # identical bases, then the earliest subject, so ties resolve the same way on every run.
    best: dict[int, tuple[float, int, int, int]] = {}
    for line in out.splitlines():
        fields = line.split("\t")
        if len(fields) != 9:
            continue
        q = _token_index(fields[0], "q")
        s = _token_index(fields[1], "s")
        key = (float(fields[7]), int(fields[4]), -s, int(fields[5]))
        if q not in best or key > best[q]:
            best[q] = key

    hits: list[BlastHit] = []
    for (record_id, _), q in zip(queries, query_of):
        if q in best:
            _, nident, neg_s, qlen = best[q]
            hits.append(BlastHit(record_id, subject_ids[-neg_s], nident / qlen * 100.0))
        else:
            hits.append(BlastHit(record_id, None, 0.0))
    identities = [hit.identity for hit in hits]
    return BlastSummary(
        hits=tuple(hits),
        mean_identity=statistics.fmean(identities),
        median_identity=float(statistics.median(identities)),
        no_hit=sum(hit.subject_id is None for hit in hits),
    )
