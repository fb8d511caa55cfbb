"""How metric values are shown: one dotted-path lookup into a summary and one value formatter,
shared by the HTML report, the terminal tables and the GAN-vs-baselines comparison."""

from __future__ import annotations

import math
import numbers
import unicodedata
from typing import Any

import numpy as np

NA = "n/a"
MAX_TEXT = 80  # longer text (e.g. a whole reference sequence) is cut, ending in "..."

# Styles of format_value; `digits` is decimals, except for "g" (significant digits).
STYLES = {
    "%": "a fraction as a percent, 2 decimals: 0.12345 -> 12.35%",
    "%%": "a value already in percent (BLAST identity), 2 decimals: 97.5 -> 97.50%",
    "f": "a number, 3 decimals, or 4 when 0 < |value| < 0.01: 0.5 -> 0.500, 0.005 -> 0.0050",
    "i": "an integer: 12 -> 12",
    "g": "a number of unknown scale, 4 significant digits (integers in full): 0.31 -> 0.31, 30 -> 30",
}


# Characters a terminal acts on instead of showing: C0/C1 controls and DEL (colours, cursor moves,
# window titles), bidi embeddings, overrides and isolates (text shown reordered), line and paragraph
# separators, and lone surrogates (file-name bytes that are not UTF-8; they cannot even be printed).
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def _acts_on_terminal(character: str) -> bool:
    return character in _BIDI_CONTROLS or unicodedata.category(character) in _HIDDEN_CATEGORIES


def escape_controls(text: str) -> str:
    """`text` with every character a terminal would act on written as a Python escape (ESC as
    \\x1b, RLO as \\u202e, a lone surrogate as \\udcff); everything else, brackets, colons,
    backslashes and non-ASCII letters included, stays as written."""
    if text.isprintable():  # the common case, and no character of it can act on a terminal
        return text
    return "".join(_escaped(c) if _acts_on_terminal(c) else c for c in text)


def _escaped(character: str) -> str:
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class _Missing:
    """The type of MISSING: a key path that is not in the summary (unlike a present None)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def lookup(summary: dict[str, Any] | None, key_path: str) -> Any:
    """The value at a dotted key path ("privacy.aats_train") of a nested summary.

    The convention, used everywhere: a path that is not there gives MISSING (a key absent, or a
    step through something that is not a dict, such as a section that is None); a value that is
    there is returned as it is, None included. A digit key also finds an int key: kmer_js is keyed
    1..6 in Python and "1".."6" after a JSON round trip."""
    node: Any = summary
    for key in key_path.split("."):
        if not isinstance(node, dict):
            return MISSING
        if key not in node and key.isdigit() and int(key) in node:
            node = node[int(key)]
        elif key in node:
            node = node[key]
        else:
            return MISSING
    return node


def format_value(value: Any, style: str = "g", digits: int | None = None) -> str:
    """`value` as text in one of STYLES. None, MISSING, NaN and infinities are "n/a"; booleans are
    "yes"/"no" and text is shown as it is, controls escaped (cut at MAX_TEXT characters), whatever
    the style."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; expected one of {', '.join(STYLES)}")
    if value is None or value is MISSING:
        return NA
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if not isinstance(value, numbers.Real):
        text = escape_controls(str(value))
        return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."
    if not math.isfinite(value):
        return NA
    if style == "%":
        return f"{100 * value:.{2 if digits is None else digits}f}%"
    if style == "%%":
        return f"{value:.{2 if digits is None else digits}f}%"
    if style == "i":
        return str(int(round(value)))
    if style == "f":
        if digits is None:
            digits = 4 if value and abs(value) < 0.01 else 3
        return f"{value:.{digits}f}"
    if isinstance(value, numbers.Integral):  # "g"
        return str(int(value))
    return f"{value:.{4 if digits is None else digits}g}"
