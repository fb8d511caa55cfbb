"""The one formatter of metric values (report/format.py): known answers."""

import math

import numpy as np
import pytest

from virtualpatients.report.format import MISSING, NA, escape_controls, format_value, lookup

SUMMARY = {
    "n_generated": 30,
    "n_holdout": None,
    "validity": None,
    "privacy": {"aats_train": 0.31, "aats_holdout": None},
    "fidelity": {"kmer_js": {6: 0.06}},  # int keys, as before a JSON round trip
    "json": {"kmer_js": {"6": 0.07}},
}


def test_lookup_follows_dotted_paths():
    assert lookup(SUMMARY, "n_generated") == 30
    assert lookup(SUMMARY, "privacy.aats_train") == 0.31
    assert lookup(SUMMARY, "fidelity.kmer_js.6") == 0.06  # a digit key finds an int key
    assert lookup(SUMMARY, "json.kmer_js.6") == 0.07


def test_lookup_tells_a_missing_key_from_a_present_none():
    assert lookup(SUMMARY, "n_holdout") is None
    assert lookup(SUMMARY, "privacy.aats_holdout") is None
    assert lookup(SUMMARY, "blast") is MISSING
    assert lookup(SUMMARY, "privacy.no_such_key") is MISSING
    assert lookup(SUMMARY, "validity.valid_fraction_generated") is MISSING  # through a None section
    assert lookup(SUMMARY, "n_generated.more") is MISSING  # through a number
    assert lookup(None, "n_generated") is MISSING
    assert lookup({}, "fidelity.kmer_js.6") is MISSING
    assert repr(MISSING) == "MISSING"


@pytest.mark.parametrize("value, style, digits, expected", [
    (0.12345, "%", None, "12.35%"),
    (0.98, "%", None, "98.00%"),
    (1, "%", None, "100.00%"),
    (0.12345, "%", 1, "12.3%"),
    (97.5, "%%", None, "97.50%"),  # BLAST identity, already in percent
    (0.12345, "f", None, "0.123"),
    (0.005, "f", None, "0.0050"),  # small values keep a fourth decimal
    (0.0, "f", None, "0.000"),
    (-0.004, "f", None, "-0.0040"),
    (12.0, "f", 1, "12.0"),
    (0.12345, "f", 4, "0.1235"),
    (12, "i", None, "12"),
    (np.int64(12), "i", None, "12"),
    (12.0, "i", None, "12"),
    (30, "g", None, "30"),
    (12345678, "g", None, "12345678"),  # integers in full
    (0.31, "g", None, "0.31"),
    (0.123456, "g", None, "0.1235"),
    (np.float32(0.5), "g", None, "0.5"),
    (2.0, "g", None, "2"),
])
def test_numbers(value, style, digits, expected):
    assert format_value(value, style, digits) == expected


@pytest.mark.parametrize("style", ["%", "%%", "f", "i", "g"])
@pytest.mark.parametrize("value", [None, MISSING, math.nan, np.float32("nan"), math.inf, -math.inf])
def test_absent_and_not_finite_values_are_na(value, style):
    assert format_value(value, style) == NA == "n/a"


def test_booleans_and_text():
    assert format_value(True) == "yes" and format_value(np.bool_(False), "%") == "no"
    assert format_value("ACGT") == "ACGT"
    long = "A" * 100
    assert format_value(long) == "A" * 77 + "..." and len(format_value(long)) == 80


def test_an_unknown_style_is_refused_even_for_none():
    with pytest.raises(ValueError, match="unknown style"):
        format_value(None, "d")


@pytest.mark.parametrize("text, shown", [
    ("[bold]maj[/bold] 1:100: é 李 🧬 \\ 'q'", "[bold]maj[/bold] 1:100: é 李 🧬 \\ 'q'"),  # as written
    ("a\x1b[31mred", "a\\x1b[31mred"),  # a colour
    ("t\x1b]0;title\x07", "t\\x1b]0;title\\x07"),  # a window title
    ("\u202eabc\u2066x\u200f", "\\u202eabc\\u2066x\\u200f"),  # bidi override, isolate, mark
    ("a\nb\tc\rd\x00\x7f\x85\x9b", "a\\x0ab\\x09c\\x0dd\\x00\\x7f\\x85\\x9b"),  # C0, DEL, C1
    ("x\u2028y", "x\\u2028y"),  # line separator
    ("r\udcff", "r\\udcff"),  # a file name's byte 0xff that is not UTF-8
])
def test_escape_controls_keeps_text_and_escapes_what_a_terminal_acts_on(text, shown):
    assert escape_controls(text) == shown
    assert escape_controls(shown) == shown  # what it writes is printable: escaping twice changes nothing


def test_text_values_are_shown_with_controls_escaped():
    assert format_value("run\x1b[2J", "g") == "run\\x1b[2J"
