"""Errors for bad input: one exception family so callers (the CLI) can map them to exit code 2.

Every message is one line, meant for the user as is, and names the offending value.
"""

from __future__ import annotations

from runwire.actors import RunwireError

__all__ = ["LlmsTxtError", "OutputError", "SourceError"]


class LlmsTxtError(RunwireError, ValueError):
    """Bad input to the llms.txt generator; raised before anything is written."""


class SourceError(LlmsTxtError):
    """The source cannot be used: missing path, not a directory, a URL that does not clone, no text files."""


class OutputError(LlmsTxtError):
    """The output directory cannot be written."""
