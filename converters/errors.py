"""The library's one error type: every failure a caller should expect is a ConversionError."""

from __future__ import annotations


class ConversionError(ValueError):
    """An input (or a rules file) that cannot be converted; the message says why, in one line."""
