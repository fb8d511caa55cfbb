"""GenBank records as (title, sequence) pairs: whole records or their coding sequences (CDS),
for `vp fetch --cds` and for `vp train` reading .gb/.gbk files directly."""

from __future__ import annotations

import io
from pathlib import Path

from Bio import SeqIO

from ..errors import InputError

LINE_WIDTH = 70
SUFFIXES = (".gb", ".gbk", ".genbank", ".gbff")


def genbank_records(source: Path | str, cds: bool) -> list[tuple[str, str]]:
    """(title, sequence) pairs from a GenBank file (a Path) or GenBank text (a str), for FASTA
    output or `vp train`: each CDS with its protein_id and gene when cds=True, else each whole
    record titled 'accession.version description'."""
    if not isinstance(source, Path):
        return _genbank_pairs(source, cds, "GenBank text")
    try:
        text = source.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except OSError as error:
        raise InputError(f"{source}: cannot read file ({error.strerror or error})") from None
    return _genbank_pairs(text, cds, str(source))


def _genbank_pairs(text: str, cds: bool, label: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    try:
        records = list(SeqIO.parse(io.StringIO(text), "genbank"))
        for record in records:
            if not cds:
                pairs.append((f"{record.id} {record.description}".strip(), str(record.seq)))
                continue
            features = [feature for feature in record.features if feature.type == "CDS"]
            for number, feature in enumerate(features, 1):
                suffix = "_cds" if len(features) == 1 else f"_cds{number}"
                notes = [f"{key}={feature.qualifiers[key][0]}" for key in ("protein_id", "gene")
                         if feature.qualifiers.get(key)]
                title = " ".join([record.id + suffix, *notes, f"source={record.id}"])
                pairs.append((title, str(feature.extract(record.seq))))
    # Biopython's GenBank scanner raises assorted types on malformed input; all mean a bad file.
    except Exception as error:
        raise InputError(_one_line(f"{label}: not a readable GenBank file ({error})")) from None
    if not records:
        raise InputError(f"{label}: no GenBank records (expected a line starting with LOCUS)")
    if not pairs:
        raise InputError(f"{label}: no CDS features, so no coding sequences to extract")
    return pairs


def _one_line(message: str) -> str:
    return " ".join(message.split())
