"""Errors that end a command with one clean line and a documented exit code."""

from __future__ import annotations

EXIT_RUNTIME = 1
EXIT_INPUT = 2
EXIT_MISSING_TOOL = 3


class VPError(Exception):
    """A failure the user can act on; the CLI prints the message, never a traceback."""

    exit_code = EXIT_RUNTIME


class InputError(VPError):
    """Bad input file, bad option value or inconsistent data."""

    exit_code = EXIT_INPUT


class MissingToolError(VPError):
    """An external program (NCBI BLAST+) is not installed."""

    exit_code = EXIT_MISSING_TOOL
