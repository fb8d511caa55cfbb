"""Typed errors: library code raises them with the values at fault; the CLI turns each into one
line and a documented exit code."""

from __future__ import annotations

EXIT_RUNTIME = 1
EXIT_INPUT = 2
EXIT_MISSING_TOOL = 3


class VPError(Exception):
    """A failure the user can act on; the CLI prints the message, never a traceback."""

    exit_code = EXIT_RUNTIME


class InputError(VPError):
    """Bad input file, bad setting or inconsistent data."""

    exit_code = EXIT_INPUT


class MissingToolError(VPError):
    """An external program (NCBI BLAST+) is not installed."""

    exit_code = EXIT_MISSING_TOOL


class NetworkError(VPError):
    """NCBI could not be reached, failed repeatedly or answered with something unreadable."""


class Diverged(VPError):
    """Training produced a non-finite loss or weight at `step`; nothing of that step is saved.
    `last_good_step` is the step of the last checkpoint in the run directory, if one was written."""

    def __init__(self, step: int, what: str = "loss or weights", last_good_step: int | None = None):
        super().__init__(f"training diverged at step {step}: non-finite {what}; nothing saved from it")
        self.step, self.what, self.last_good_step = step, what, last_good_step


class Interrupted(VPError):
    """Training stopped on request (a signal named by `reason`) after saving a checkpoint at `step`."""

    exit_code = 130

    def __init__(self, reason: str, step: int):
        super().__init__(f"{reason} at step {step}")
        self.reason, self.step = reason, step
        self.exit_code = {"SIGINT": 130, "SIGTERM": 143}.get(reason, 130)
