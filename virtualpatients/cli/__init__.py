"""The command line: thin typer commands over the library (`vp` and `python -m virtualpatients`)."""

from .app import app, main

__all__ = ["app", "main"]
