"""Errors shared by the training package and the exporter; importing this needs no torch."""

from __future__ import annotations


class UnsupportedModelError(ValueError):
    """A model directory holds a module or option that fastsbert does not implement."""
