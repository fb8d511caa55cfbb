"""The CLI's stderr console and how failures end: one line, a documented exit code, never a
traceback unless VP_DEBUG asks for one."""

from __future__ import annotations

import functools
import os
import sys
from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

from ..errors import VPError
from ..report.format import escape_controls

# Logs and pipes get 100 columns (rich's default is 80): the tables are laid out for that width.
# No markup, emoji codes or highlighting: names, ids, labels and paths from users appear as
# written ("[bold]maj[/bold]" stays that, "1:100:" is not an emoji); vp styles with Text instead.
err = Console(stderr=True, width=None if sys.stderr.isatty() or os.environ.get("COLUMNS") else 100,
              markup=False, emoji=False, highlight=False)


def say(message: str, lead: str = "", style: str = "", console: Console | None = None) -> None:
    """One line on stderr: an optional lead ("error:", "warning:"), then the message as written,
    with control characters escaped (a header's ESC sequence cannot recolour or retitle the
    terminal) and never wrapped by rich inside a name (the terminal wraps long lines). `style`
    colours the lead, or the whole line when there is none."""
    text = Text()
    if lead:
        text.append(lead, style)
        text.append(" ")
    text.append(escape_controls(message), "" if lead else style)
    (console or err).print(text, soft_wrap=True)


DEBUG_ON = {"1", "true", "yes", "on"}
# The place written to fails, not the program: the cause in plain words, exit 1.
PLACE_FAILURES = {"ENOSPC": "no space left on device", "EDQUOT": "disk quota exceeded",
                  "EROFS": "read-only file system", "EACCES": "permission denied", "EPERM": "operation not permitted",
                  "EIO": "input/output error"}
WRITE_ONLY_FAILURES = {"ENOSPC", "EDQUOT", "EROFS"}  # permissions can refuse a read as well


def _debugging() -> bool:
    return os.environ.get("VP_DEBUG", "").strip().lower() in DEBUG_ON


def place_failure(error: OSError) -> str | None:
    import errno

    name = errno.errorcode.get(error.errno or 0, "")
    if name not in PLACE_FAILURES:
        return None
    if error.filename is None:  # a write to an open stream names no file
        return PLACE_FAILURES[name]
    where = os.fsdecode(error.filename) if isinstance(error.filename, bytes) else str(error.filename)
    return f"{PLACE_FAILURES[name]}{' while writing' if name in WRITE_ONLY_FAILURES else ':'} {where}"


def _fail(message: str, code: int) -> NoReturn:
    say(message, "error:", "bold red")
    raise typer.Exit(code) from None


def clean_errors(command):
    """End known failures with one line and their exit code; Ctrl-C with 130; a closed pipe quietly;
    a full disk or a read-only place with exit 1 and the cause."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except VPError as error:
            _fail(str(error), error.exit_code)
        except KeyboardInterrupt:
            say("interrupted")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # The reader (e.g. `head`) left; point stdout at /dev/null so the exit flush cannot fail.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(0) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as error:  # a bug, not a user error: one line, the traceback on request
            cause = place_failure(error) if isinstance(error, OSError) else None
            if cause is not None:
                _fail(cause, 1)
            if _debugging():
                raise
            _fail(f"unexpected {type(error).__name__}: {error} (set VP_DEBUG=1 for the traceback)", 1)

    return wrapper


def warn_now(message: str) -> None:
    """A warning while training runs: printed above the progress bar (same console)."""
    say(message, "warning:", "yellow")


def warn_all(messages) -> None:
    for message in messages:
        warn_now(message)
