"""Names users choose (labels, record ids, VCF sample names, file and folder names) reach the
terminal as written: no rich markup or emoji codes applied, control characters escaped, exit 0 or
2 and never "unexpected"; the data written (FASTA) carries their exact bytes."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from virtualpatients.cli.app import app
from virtualpatients.cli.console import err
from virtualpatients.data.sequences import header_value
from virtualpatients.report.format import escape_controls

# Each piece is something a terminal or rich would act on, or text that is easy to mangle.
PIECES = ["[bold]", "[/bold]", "[/x]", "[red]x[/red]", "[link=http://x]", ":100:", ":smile:", ":thumbs_up:",
          "\x1b[31m", "\x1b]0;title\x07", "\x1b[2J", "\x07", "\x08", "\x7f", "\x9b", "\u202e", "\u2066", "\u200f",
          "\u061c", "é", "李", "Ω", "🧬", "\\", "'", '"', "%s", "{0}", "$HOME", "&lt;", "<b>", "-", "x" * 90]
pieces = st.one_of(st.sampled_from(PIECES), st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=3))


def _names(allowed, max_chars: int = 150, extra=()):
    return st.lists(st.one_of(pieces, *map(st.just, extra)), min_size=1, max_size=4).map("".join).filter(
        lambda name: len(name) <= max_chars and allowed(name))


def _token(name: str) -> bool:  # a FASTA id or label=VALUE: one whitespace-free token
    return not any(c.isspace() or c in "\r\n\x00" for c in name)


labels = _names(lambda name: _token(name) and "=" not in name)
record_ids = _names(lambda name: _token(name) and not name.startswith(">"))
# A file name's bytes that are not UTF-8 arrive as lone surrogates (os.fsdecode): "\udcff" is 0xff.
folders = _names(lambda name: "/" not in name and "\x00" not in name and name not in (".", "..")
                 and len(name.encode("utf-8", "surrogateescape")) <= 200, extra=("\udcff",))
samples = _names(lambda name: not any(c in "\t\r\n\x00" for c in name) and name.strip() == name and name, 60)
HOSTILE = settings(max_examples=12, deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
BASES = "ACGT"


@contextlib.contextmanager
def wide_console():
    """Tables wide enough that no cell wraps: a name is then one run of characters to look for."""
    before = err.width
    err.width = 10_000
    try:
        yield
    finally:
        err.width = before


def invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    stderr = result.stderr
    assert result.exit_code in (0, 2), (result.exit_code, stderr, result.exception)
    assert "unexpected" not in stderr, stderr
    assert "\x1b" not in stderr and "\u202e" not in stderr, stderr  # no raw control reaches the terminal
    return result.exit_code, result.stdout_bytes, stderr


def _cohort(ids: list[str], classes: list[str], length: int = 12) -> str:
    rows = []
    for i, (ident, label) in enumerate(zip(ids, classes)):
        bases = [BASES[(i * 7 + j * 3) % 4] if j in (i % length, 3) else "ACGT"[j % 4] for j in range(length)]
        rows.append(f">{ident} label={label}\n{''.join(bases)}\n")
    return "".join(rows)


@HOSTILE
@given(names=st.lists(labels, min_size=2, max_size=2, unique=True), ident=record_ids, folder=folders)
def test_hostile_labels_ids_and_folders_are_shown_as_written_and_written_byte_exact(
        tmp_path_factory, names, ident, folder):
    work = tmp_path_factory.mktemp("names")
    data = work / "data.fasta"
    ids = [f"{ident}_{i}" for i in range(12)]
    data.write_bytes(_cohort(ids, [names[i % 2] for i in range(12)]).encode())
    run = work / folder
    with wide_console():
        code, _, stderr = invoke("train", str(data), "--steps", "2", "--hidden", "8,8", "--noise-dim", "2",
                                 "--batch-size", "4", "--device", "cpu", "-o", str(run))
        assert code == 0, stderr
        for name in names:
            assert f"{escape_controls(name)} (6)" in stderr
        assert f"wrote run to {escape_controls(str(run))} (" in stderr

        code, stdout, stderr = invoke("generate", "-n", "3", "-m", str(run), f"--label={names[0]}")
        assert code == 0, stderr
        headers = [line for line in stdout.split(b"\n") if line.startswith(b">")]
        assert len(headers) == 3 and all(line.endswith(f" label={names[0]}".encode()) for line in headers)
        assert all(f" model={header_value(run.name)} ".encode() in line for line in headers)

        unknown = names[0] + "?"
        code, _, stderr = invoke("generate", "-n", "3", "-m", str(run), f"--label={unknown}")
        assert code == 2 and f"unknown label '{escape_controls(unknown)}'" in stderr

        code, _, stderr = invoke("evaluate", "-m", str(run), "-n", "24", "--real", str(data))
        assert code == 0, stderr
        for name in names:
            assert f"class {escape_controls(name)}: recognised" in stderr

        balanced = work / "balanced.fasta"
        code, _, stderr = invoke("balance", str(data), "-m", str(run), "-o", str(balanced), "--target", "8")
        assert code == 0, stderr
        written = balanced.read_bytes()
        for ident_i in ids:
            assert f">{ident_i} ".encode() in written  # real records keep their ids' bytes

    short = work / "short.fasta"
    short.write_bytes((_cohort(ids[:3], [names[0]] * 3) + f">{ident}_short label={names[0]}\nACGT\n").encode())
    code, _, stderr = invoke("train", str(short), "--steps", "1", "-o", str(work / "never"))
    assert code == 2 and f"'{escape_controls(ident)}_short' has 4" in stderr


def _vcf(names: list[str], missing_first: bool) -> str:
    header = ("##fileformat=VCFv4.2\n##contig=<ID=1>\n"
              '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(names) + "\n")
    calls = [".|." if missing_first and i == 0 else "0|1" for i in range(len(names))]
    records = "".join(f"1\t{100 * k}\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(calls if k == 2 else ["1|0"] * len(names))
                      + "\n" for k in (1, 2, 3))
    return header + records


@HOSTILE
@given(names=st.lists(samples, min_size=2, max_size=2, unique=True))
def test_hostile_vcf_sample_names_are_read_and_shown_as_written(tmp_path_factory, names):
    work = tmp_path_factory.mktemp("samples")
    bad, good = work / "missing.vcf", work / "good.vcf"
    bad.write_bytes(_vcf(names, missing_first=True).encode())
    good.write_bytes(_vcf(names, missing_first=False).encode())
    code, _, stderr = invoke("baseline", "copy", str(bad), "-n", "2")
    assert code == 2 and f"sample {escape_controls(names[0])} has genotype .|." in stderr

    code, stdout, stderr = invoke("baseline", "copy", str(good), "-n", "4", "--seed", "1")
    assert code == 0, stderr
    assert stdout.count(b"\n>") + stdout.startswith(b">") == 4


def test_the_issue_cases_markup_in_a_label_and_a_folder_emoji_codes_and_escape_sequences(tmp_path):
    data = tmp_path / "data.fasta"
    data.write_bytes(_cohort([f"p{i}" for i in range(12)], ["[bold]maj[/bold]"] * 8 + ["min"] * 4).encode())
    code, _, stderr = invoke("train", str(data), "--steps", "2", "--hidden", "8,8", "--noise-dim", "2",
                             "--batch-size", "4", "-o", str(tmp_path / "runs" / "a[/x]"))
    assert code == 0  # the run is fine, and so is the exit: `vp train ... && vp generate` goes on
    assert "classes [bold]maj[/bold] (8), min (4)" in stderr and "runs/a[/x] (" in stderr

    vcf = tmp_path / "x.vcf"
    vcf.write_text(_vcf(["s1", "s2"], missing_first=False).replace("1|0\t", "1/0\t", 1))
    code, _, stderr = invoke("baseline", "copy", str(vcf))
    assert code == 2 and f"{vcf}: 1:100: sample s1 is unphased" in stderr and "💯" not in stderr

    hostile = tmp_path / "hostile.fasta"
    hostile.write_bytes(b">p\x1b]0;owned\x07\x1b[8m label=a\nACGT\n>q label=a\nACGTAA\n")
    code, _, stderr = invoke("train", str(hostile), "-o", str(tmp_path / "never"))
    assert code == 2 and "'p\\x1b]0;owned\\x07\\x1b[8m' has 4" in stderr


def test_tables_show_names_literally_on_any_console():
    from rich.console import Console

    from virtualpatients.report.tables import balance_table

    console = Console(width=100, record=True, file=open("/dev/null", "w"))  # markup on, as rich's default
    console.print(balance_table({"[bold]maj[/bold]": 5, "a\x1b[31m:100:": 2}, {"[bold]maj[/bold]": 0, "a\x1b[31m:100:": 3}))
    text = console.export_text()
    assert "[bold]maj[/bold]" in text and "a\\x1b[31m:100:" in text
