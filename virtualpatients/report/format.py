"""How metric values are shown: one dotted-path lookup into a summary and one value formatter,
shared by the HTML report, the terminal tables and the GAN-vs-baselines comparison."""

from __future__ import annotations

import math
import numbers
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
    "yes"/"no" and text is shown as it is (cut at MAX_TEXT characters), whatever the style."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; expected one of {', '.join(STYLES)}")
    if value is None or value is MISSING:
        return NA
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if not isinstance(value, numbers.Real):
        text = str(value)
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
